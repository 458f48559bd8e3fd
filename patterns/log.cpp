#include "patterns/log.hpp"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace choreo {

spdlog::logger& log() {
    static const std::shared_ptr<spdlog::logger> logger = [] {
        auto l = spdlog::stderr_color_mt("choreo");
        const char* level = std::getenv("CHOREO_LOG");
        l->set_level(level ? spdlog::level::from_str(level) : spdlog::level::warn);
        l->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
        return l;
    }();
    return *logger;
}

} // namespace choreo

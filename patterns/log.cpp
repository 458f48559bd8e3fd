#include "patterns/log.hpp"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "patterns/utf8.hpp"

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

std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        if (const auto n = c >= 0x80 ? utf8_sequence(s.substr(i)) : 0; n > 0) {
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        static constexpr char hex[] = "0123456789abcdef";
        out += "\\x";
        out.push_back(hex[c >> 4U]);
        out.push_back(hex[c & 0xFU]);
        ++i;
    }
    return out;
}

} // namespace choreo

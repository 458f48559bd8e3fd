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

namespace {

/// Returns: the length of the valid UTF-8 sequence of two to four bytes at the start of `s`, or
/// 0 if there is none (overlong forms, surrogates and code points past U+10FFFF are not valid).
std::size_t utf8_sequence(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0U) == 0x80U; };
    const unsigned char lead = b(0);
    if (lead >= 0xC2 && lead <= 0xDF) {
        return cont(1) ? 2 : 0;
    }
    if (lead >= 0xE0 && lead <= 0xEF) {
        if (!cont(1) || !cont(2)) {
            return 0;
        }
        const bool overlong = lead == 0xE0 && b(1) < 0xA0;
        const bool surrogate = lead == 0xED && b(1) > 0x9F;
        return overlong || surrogate ? 0 : 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) {
            return 0;
        }
        const bool overlong = lead == 0xF0 && b(1) < 0x90;
        const bool too_large = lead == 0xF4 && b(1) > 0x8F;
        return overlong || too_large ? 0 : 4;
    }
    return 0;
}

} // namespace

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

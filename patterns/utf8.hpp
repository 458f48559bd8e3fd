// UTF-8 validity, as MessagePack's str requires it: what the decoder checks in every string from
// the wire, and what printable() keeps.
#pragma once

#include <cstddef>
#include <string_view>

namespace choreo {

/// Returns: the length of the valid UTF-8 sequence of two to four bytes at the start of `s`, or
/// 0 if there is none (overlong forms, surrogates and code points past U+10FFFF are not valid).
inline std::size_t utf8_sequence(std::string_view s) noexcept {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0U) == 0x80U; };
    if (s.empty()) {
        return 0;
    }
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

/// Returns: whether all of `s` is valid UTF-8 (ASCII, NUL included, is).
inline bool is_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80U) {
            ++i;
            continue;
        }
        const auto n = utf8_sequence(s.substr(i));
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

} // namespace choreo

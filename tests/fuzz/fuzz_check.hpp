// What the fuzz targets share: a property check that libFuzzer reports as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

/// Aborts, naming the property and the source line, unless `condition` holds: libFuzzer then
/// saves the input that broke it.
#define CHOREO_FUZZ_CHECK(condition, property)                                                     \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, property);    \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)

namespace choreo::fuzz {

/// Returns: libFuzzer's input as characters.
inline std::string_view text_of(const std::uint8_t* data, std::size_t size) noexcept {
    return {reinterpret_cast<const char*>(data), size};
}

} // namespace choreo::fuzz

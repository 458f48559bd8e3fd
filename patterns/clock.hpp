// The clock stamped on envelopes and records.
#pragma once

#include <chrono>
#include <cstdint>

namespace choreo {

/// Returns: wall-clock nanoseconds since the epoch (comparable across processes of one host).
inline std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace choreo

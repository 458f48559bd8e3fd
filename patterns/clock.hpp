// The clocks: the wall clock stamped on envelopes and records, the steady clock for latencies.
#pragma once

#include <chrono>
#include <cstdint>

namespace choreo {

/// Returns: wall-clock nanoseconds since the epoch (comparable across processes of one host).
/// For timestamps that cross processes (an envelope's sent_at_ns, a record's at_ns); never for
/// a duration, since the wall clock may be stepped.
inline std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Returns: steady-clock nanoseconds since an unspecified start (this process only). For
/// durations measured in one process: differences are meaningful, the values themselves are
/// not comparable with now_ns() or across processes.
inline std::int64_t steady_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace choreo

// The transport floor: what raw ZeroMQ does on this machine, same transport, same message sizes.
#pragma once

#include <cstddef>

#include "patterns/topology.hpp"

namespace choreo::bench {

struct floor_figures {
    std::size_t type_bytes{};
    std::size_t body_bytes{};
    double one_way_p50_us{}; ///< ping-pong round trip / 2, median
    double one_way_p99_us{};
    double messages_per_s{}; ///< one-way stream DEALER -> ROUTER, as the nodes use
};

/// Measures the floor with a DEALER talking to a ROUTER (the sockets choreo's nodes use), each
/// on its own thread, after a warm-up; every message is checked for its size.
/// Throws: std::runtime_error if a message comes back wrong.
/// With `curve`, both sockets speak CURVE (the floor of a deployment with keys).
floor_figures measure_floor(transport via, std::size_t type_bytes, std::size_t body_bytes,
                            std::size_t round_trips = 4'000, std::size_t stream = 200'000,
                            bool curve = false);

} // namespace choreo::bench

// Stamp coupling's own contracts: the stamp, the events that carry it, and asking for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "patterns/contracts.hpp"

namespace choreo::stamp_coupling {

/// One service's part of the stamp.
struct stamp_entry {
    std::string service;
    std::uint32_t step{}; ///< index of the step (for notified services: the failed step)
    std::string status;   ///< "pending", "done", "failed", "notified"
    std::string outcome;
    std::string detail;
    std::int64_t at_ns{};
    bool operator==(const stamp_entry&) const = default;
    MSGPACK_DEFINE_MAP(service, step, status, outcome, detail, at_ns)
};

/// The workflow state that travels inside the contract.
struct stamp {
    std::string workflow_id; ///< the workflow this stamp belongs to
    std::string state;       ///< "in_progress" or a terminal state
    std::uint32_t version{}; ///< bumped by every service that updates the stamp
    std::vector<stamp_entry> steps;
    std::vector<stamp_entry> notified;
    bool operator==(const stamp&) const = default;
    MSGPACK_DEFINE_MAP(workflow_id, state, version, steps, notified)
};

/// A workflow event with the stamp on it.
struct stamped_event {
    static constexpr std::string_view type_name = "stamped_event";
    msg::workflow_event event;
    stamp_coupling::stamp stamp;
    bool operator==(const stamped_event&) const = default;
    std::string label() const { return event.event; }
    MSGPACK_DEFINE_MAP(event, stamp)
};

/// Ask one service for the latest stamp it passed on. Answered with stamp_reply.
struct stamp_request {
    static constexpr std::string_view type_name = "stamp_request";
    std::string workflow_id; ///< the workflow asked about
    bool operator==(const stamp_request&) const = default;
    MSGPACK_DEFINE_MAP(workflow_id)
};

struct stamp_reply {
    static constexpr std::string_view type_name = "stamp_reply";
    std::string service;
    bool found{};
    stamp_coupling::stamp stamp;
    bool operator==(const stamp_reply&) const = default;
    std::string label() const {
        return found ? "stamp v" + std::to_string(stamp.version) : "no stamp";
    }
    MSGPACK_DEFINE_MAP(service, found, stamp)
};

} // namespace choreo::stamp_coupling

// Stateless choreography's own contracts: asking one service for its live snapshot.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "patterns/contracts.hpp"

namespace choreo::stateless {

/// Ask one service what it did for a workflow. Answered with snapshot_reply.
struct snapshot_request {
    static constexpr std::string_view type_name = "snapshot_request";
    std::string workflow_id; ///< the workflow asked about
    bool operator==(const snapshot_request&) const = default;
    MSGPACK_DEFINE_MAP(workflow_id)
};

struct snapshot_reply {
    static constexpr std::string_view type_name = "snapshot_reply";
    std::string service;
    std::vector<msg::step_record> records; ///< empty: this service knows nothing of it
    bool operator==(const snapshot_reply&) const = default;
    std::string label() const { return std::to_string(records.size()) + " record(s)"; }
    MSGPACK_DEFINE_MAP(service, records)
};

} // namespace choreo::stateless

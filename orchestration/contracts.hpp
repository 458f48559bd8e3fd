// Orchestration's own contracts: the orchestrator's commands and the services' replies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "patterns/contracts.hpp"

namespace choreo::orchestration {

/// Command: the orchestrator asks a service to run one step of a workflow.
struct run_step {
    static constexpr std::string_view type_name = "run_step";
    std::string workflow; ///< workflow name, e.g. "order"
    std::uint32_t step{}; ///< index of the step to run
    msg::value details;   ///< the workflow's business payload
    bool operator==(const run_step&) const = default;
    std::string label() const { return "step " + std::to_string(step); }
    MSGPACK_DEFINE_MAP(workflow, step, details)
};

/// Command: the orchestrator tells a service that a step failed, as the model says it must.
struct tell_failure {
    static constexpr std::string_view type_name = "tell_failure";
    std::string workflow;
    std::uint32_t step{}; ///< index of the step that failed
    std::string event;    ///< the failure's event, e.g. "payment_declined"
    msg::value details;
    bool operator==(const tell_failure&) const = default;
    std::string label() const { return event; }
    MSGPACK_DEFINE_MAP(workflow, step, event, details)
};

/// Reply: what the service did, sent back to the orchestrator on the connection the command
/// came in on. Services never talk to each other.
struct step_finished {
    static constexpr std::string_view type_name = "step_finished";
    msg::step_record record;
    bool operator==(const step_finished&) const = default;
    std::string label() const { return record.outcome; }
    MSGPACK_DEFINE_MAP(record)
};

} // namespace choreo::orchestration

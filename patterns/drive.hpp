// Driving planned workflows: placing them, and the events from outside the chain their plans
// name (planned_workflow::outside_events and interrupt).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "patterns/client.hpp"
#include "patterns/workflow_module.hpp"

namespace choreo {

/// Returns: whether `st` shows the workflow waiting at its first step that awaits an event from
/// outside the chain: the step before that one is done (the steps before it in the model,
/// unrolled loops included, precede it).
bool waits_for_outside(const workflow& wf, const msg::workflow_status& st);

/// Workflows placed by place_and_drive().
struct driven_workflows {
    std::vector<std::string> ids; ///< in plan order
    /// Those interrupted without having been seen waiting for an outside event within the
    /// timeout: their end may differ from the plan's.
    std::vector<std::string> not_waiting;
};

/// Places every plan through `c`, sends each the outside events its plan names at once, and
/// each whose plan names an interrupt that interrupt once its status shows it waiting for an
/// outside event (waits_for_outside), asked every few milliseconds, in plan order. `timeout`
/// runs from the last placement, for all of them: past it, each interrupt not sent yet goes at
/// once, waiting or not (and the workflow ends as it will), so that workflows that never wait
/// hold the others up no longer than that. Blocking: never on the client's io thread.
driven_workflows place_and_drive(client& c, const workflow& wf,
                                 const std::vector<planned_workflow>& plans,
                                 std::chrono::milliseconds timeout);

} // namespace choreo

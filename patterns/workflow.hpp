// A workflow as data: an ordered chain of steps, each run by a named service, with named failures.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "patterns/contracts.hpp"
#include "patterns/result.hpp"

namespace choreo {

class workflow_module;

/// An outcome other than success: it ends the workflow in `terminal` after the services in
/// `notify` (in that order) have been told through `event`.
struct failure {
    std::string outcome;  ///< what the domain service returns, e.g. "card_declined"
    std::string event;    ///< the event announcing it, e.g. "payment_declined"
    std::string terminal; ///< terminal state of the workflow, e.g. "payment_rejected"
    std::vector<std::string> notify;
};

struct step {
    std::string service;
    std::string event; ///< announced on success, e.g. "payment_applied"
    std::vector<failure> failures;
};

/// Step statuses as they appear in step_record.status and stamp_entry.status.
namespace step_status {
inline constexpr std::string_view pending = "pending";
inline constexpr std::string_view done = "done";
inline constexpr std::string_view failed = "failed";
inline constexpr std::string_view notified = "notified";
inline constexpr std::string_view unknown = "unknown";
/// A placeholder: the node asked retired what it knew of this step (see retention.hpp).
inline constexpr std::string_view retired = "retired";
/// The message that was to start this step (or tell this service of a failure) was never sent:
/// its detail names the sender, the peer and the reason (see progress.hpp).
inline constexpr std::string_view send_failed = "send_failed";
} // namespace step_status

/// Overall states besides the terminal ones.
namespace workflow_state {
inline constexpr std::string_view in_progress = "in_progress";
inline constexpr std::string_view unknown = "unknown";
inline constexpr std::string_view completed = "completed";
/// Every node that knew the workflow has retired it; how it ended is no longer known.
inline constexpr std::string_view retired = "retired";
/// Ended by choreo rather than by a step: a message of the workflow could not be sent, or a
/// service refused its command.
inline constexpr std::string_view failed = "failed";
} // namespace workflow_state

struct workflow {
    std::string name;
    std::vector<step> steps;
    /// The module that defines this workflow: its services, generator and predictions.
    /// Null for a model built by hand (it can be inspected but not run).
    const workflow_module* module = nullptr;

    /// Returns: every service taking part, steps first, then notified services, no repeats.
    std::vector<std::string> services() const;
    /// Returns: the failure of step `index` announced by `event`, or nullptr.
    const failure* find_failure(std::uint32_t index, std::string_view event) const;
    /// Returns: every terminal state this workflow can end in, "completed" first.
    std::vector<std::string> terminals() const;
    /// Returns: a bound on the messages one node sends for one workflow under any pattern
    /// (every step and every notice of the worst failure, a progress report and the end, each
    /// once; loops aside), at least 8: what a ledger's kept trace is sized by.
    std::size_t sends_per_workflow_bound() const;
    /// Returns: the number of inter-service hops on the longest (critical) path.
    std::size_t critical_path_hops() const;
};

/// Builds the status of a workflow from the step records that services report.
/// `silent` names services that were asked but did not answer: their steps show as unknown.
/// A record with status "retired" (a service retired its part) shows its step as retired; a
/// workflow not known to have got further than its retired steps is in state "retired".
msg::workflow_status status_from_records(const workflow& wf,
                                         const std::vector<msg::step_record>& records,
                                         const std::set<std::string>& silent = {});

/// Returns: what the owner of the workflow state says of a workflow it retired, having ended
/// in `terminal`: found, that state, and a "retired" placeholder for every step.
msg::workflow_status retired_status(const workflow& wf, std::string_view terminal);

/// Returns: the "retired" placeholders a service answers for its part of a workflow it
/// retired: one per step it runs (it no longer knows which of them it took part in).
std::vector<msg::step_record> retired_records(const workflow& wf, std::string_view service);

} // namespace choreo

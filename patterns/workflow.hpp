// A workflow as data: an ordered chain of steps, each run by a named service, with named failures.
#pragma once

#include <chrono>
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
/// `notify` (in that order) have been told through `event`; or, in a loop that has rounds left,
/// it goes back to an earlier step (`resume`).
struct failure {
    std::string outcome;  ///< what the domain service returns, e.g. "card_declined"
    std::string event;    ///< the event announcing it, e.g. "payment_declined"
    std::string terminal; ///< terminal state of the workflow, e.g. "payment_rejected"
    std::vector<std::string> notify;
    /// Set in a loop's rounds but the last (see repeat()): the step the workflow goes on at, the
    /// first step of the next round, instead of ending; `terminal` and `notify` are then unused.
    std::optional<std::uint32_t> resume{};
};

/// How long a node that owns the workflow state waits for a step by default.
inline constexpr std::chrono::milliseconds default_step_deadline{60'000};
/// How often such an owner re-drives a stuck step by default before it fails the workflow.
inline constexpr std::uint32_t default_step_retries = 3;

struct step {
    std::string service;
    std::string event; ///< announced on success, e.g. "payment_applied"
    std::vector<failure> failures;
    /// How long the owner of the workflow state (front controller, orchestrator) waits for this
    /// step (or a notice of its failure) to act, from when it drove it, before it marks the
    /// workflow stuck and re-drives the step. Choreography without an owner has no use for it.
    std::chrono::milliseconds deadline = default_step_deadline;
    /// The step the workflow goes on to on success; unset: the one that follows. Set by
    /// repeat() on the last step of a loop's round, to leave the loop past its later rounds.
    std::optional<std::uint32_t> next{};
    /// An event from outside the chain this step waits for besides the step before it (the
    /// expert's app reporting back, say): the step runs once both have come, in either order.
    /// Empty: it runs when the step before it is done.
    std::string awaits{};
    /// The step is optional: its failures end the workflow in a terminal state that is no
    /// failure of the workflow (a survey not sent: the ticket still closes).
    bool optional = false;
    /// The round of its loop this step belongs to (1 outside loops, and in a loop's first
    /// round): a status shows the step's index, and the model says which round that is.
    std::uint32_t round = 1;
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
/// The step was reached and waits for the event from outside the chain it awaits
/// (step::awaits); its outcome is that event's name.
inline constexpr std::string_view waiting = "waiting";
/// Markers a service keeps, and shows, of the events from outside the chain it heard: the
/// awaited event came (its name in outcome), or an interrupt did (its event in outcome).
inline constexpr std::string_view signalled = "signalled";
inline constexpr std::string_view interrupted = "interrupted";
} // namespace step_status

/// Overall states besides the terminal ones.
namespace workflow_state {
inline constexpr std::string_view in_progress = "in_progress";
/// The owner of the workflow state found a step past its deadline and is re-driving it; the
/// status names the step (stuck_step) and since when (stuck_since_ns). Not terminal.
inline constexpr std::string_view stuck = "stuck";
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
    /// How often an owner of the workflow state re-drives a step past its deadline (resends
    /// its command) before it ends the workflow "failed" and tells the client.
    std::uint32_t retries = default_step_retries;
    /// Events that enter from outside the chain at any step (a customer's cancel): the client
    /// sends the command named by `outcome` (e.g. "cancel_ticket"); the first step not yet run
    /// at its service when the command came there then fails with `event` (a step whose message
    /// got there first runs), which ends the workflow in `terminal` once `notify` are told.
    /// Steps not run by then are not run. `resume` is unused.
    std::vector<failure> interrupts{};

    /// Returns: every service taking part, steps first, then notified services, no repeats.
    std::vector<std::string> services() const;
    /// Returns: the services that run a step, in step order, no repeats.
    std::vector<std::string> step_services() const;
    /// Returns: the failure of step `index` announced by `event` (one of the step's, or an
    /// interrupt, which every step may end in), or nullptr.
    const failure* find_failure(std::uint32_t index, std::string_view event) const;
    /// Returns: the failures step `index` may end in: its own, then the interrupts.
    std::vector<const failure*> failures_of(std::uint32_t index) const;
    /// Returns: the interrupt a client starts with command `command`, or nullptr.
    const failure* interrupt_by(std::string_view command) const;
    /// Returns: whether some step awaits the outside event `event` (step::awaits).
    bool awaited_from_outside(std::string_view event) const;
    /// Returns: the step that follows step `index` on success; steps.size() past the last.
    std::uint32_t successor(std::uint32_t index) const;
    /// Returns: whether `terminal` is a successful end: "completed", or the end an optional
    /// step's failure leads to.
    bool successful(std::string_view terminal) const;
    /// Returns: every terminal state this workflow can end in, "completed" first.
    std::vector<std::string> terminals() const;
    /// Returns: a bound on the messages one node sends for one workflow under any pattern
    /// (every step and every notice of the worst failure, a progress report and the end, each
    /// once; loops aside), at least 8: what a ledger's kept trace is sized by.
    std::size_t sends_per_workflow_bound() const;
    /// Returns: the number of inter-service hops on the longest (critical) path.
    std::size_t critical_path_hops() const;
    /// Sets the deadline of every step (tests and runs that want stuck workflows found soon).
    void set_step_deadlines(std::chrono::milliseconds deadline);
    /// Returns: the terminal state `record` ends the workflow in where it happened (the last
    /// step done, a failure nobody is told of, the last notice, a message never sent), or "".
    std::string ends_in(const msg::step_record& record) const;
};

/// Returns: `wf` with the loop over steps [first, last] unrolled into `rounds` >= 1 rounds: a
/// failure of step `last` announced by `event` goes back to step `first` (the next round's copy
/// of it) while rounds remain, and ends the workflow as the failure says in the last round. Each
/// round's copy of a step has the step's service, events, deadline and other failures, and its
/// round (step::round); a round's last step leaves the loop on success. Steps after the loop
/// move by (rounds - 1) * (last - first + 1). The same service runs the same step of the model
/// again in a later round under another index, which keeps a step idempotent by its index.
/// Throws: std::invalid_argument if the steps or the failure are not in `wf`, or rounds is 0.
workflow repeat(workflow wf, std::uint32_t first, std::uint32_t last, std::string_view event,
                std::uint32_t rounds);

/// Builds the status of a workflow from the step records that services report.
/// `silent` names services that were asked but did not answer: their steps show as unknown.
/// A record with status "retired" (a service retired its part) shows its step as retired; a
/// workflow not known to have got further than its retired steps is in state "retired".
msg::workflow_status status_from_records(const workflow& wf,
                                         const std::vector<msg::step_record>& records,
                                         const std::set<std::string>& silent = {});

/// Sets `st`'s last_* fields from the record among `records` that acted last (done, failed or
/// notified, the greatest at_ns); leaves them as they are if none has a time.
void note_last_action(const std::vector<msg::step_record>& records, msg::workflow_status& st);

/// Returns: what the owner of the workflow state says of a workflow it retired, having ended
/// in `terminal`: found, that state, and a "retired" placeholder for every step.
msg::workflow_status retired_status(const workflow& wf, std::string_view terminal);

/// Returns: the "retired" placeholders a service answers for its part of a workflow it
/// retired: one per step it runs (it no longer knows which of them it took part in).
std::vector<msg::step_record> retired_records(const workflow& wf, std::string_view service);

} // namespace choreo

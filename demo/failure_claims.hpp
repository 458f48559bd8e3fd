// The chapter's failure claims, measured on choreo-node processes over tcp: recoverability,
// fault tolerance, error handling (stuck workflows) and state management during an outage.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "demo/spawn.hpp"
#include "patterns/pattern.hpp"
#include "patterns/workflow.hpp"

namespace choreo::demo {

/// Sizes and limits of the failure runs. The defaults are the demo's; tests and the bench pass
/// their own.
struct failure_claims_options {
    std::filesystem::path node_binary; ///< choreo-node
    /// Recoverability: mixed workflows placed at once; the middle service is killed after it
    /// has handled a quarter as many messages, and restarted after `restart_after`.
    std::size_t orders = 40;
    std::chrono::milliseconds restart_after{200};
    /// Fault tolerance: happy workflows in flight when the outage begins (waiting at the step
    /// after the middle service), and placed while the node is down.
    std::size_t in_flight = 10;
    std::size_t placed_during = 10;
    /// The step deadline during these runs (3 re-drives): long enough that nothing is failed
    /// during the outage, short enough that an owner re-drives, once back, a step whose reply
    /// was lost with it.
    std::chrono::milliseconds outage_step_deadline{2'000};
    /// Error handling: happy workflows placed while the middle service is paused (SIGSTOP).
    std::size_t held = 5;
    /// Every step's deadline and the re-drives an owner makes before it fails a workflow
    /// (choreo-node --step-deadline, --step-retries); the stuck query's --older-than.
    std::chrono::milliseconds step_deadline{300};
    std::uint32_t retries = 1;
    /// Stuck queries made until every held workflow is listed, one every `stuck_poll`.
    std::chrono::milliseconds stuck_poll{100};
    /// The longest any wait lasts (a run that has not settled by then reports what it saw).
    std::chrono::milliseconds wait{30'000};
    /// A status query's or stuck query's wait for each node's reply.
    std::chrono::milliseconds query_timeout{1'000};
    /// How long the live nodes must acknowledge no workflow message for a spell to be over.
    std::chrono::milliseconds quiet{600};
    std::uint64_t seed = 7;
};

/// Recoverability: one kill of a service mid-stream and its restart.
struct recovery_run {
    std::string pattern;
    std::string victim;
    bool durable{}; ///< the nodes keep a store (else --in-memory)
    std::size_t placed{};
    std::size_t ended{};        ///< exactly once each (a second end is dropped by the client)
    std::size_t as_predicted{}; ///< of those, in the terminal state the module predicted
    std::size_t lost{};         ///< placed, never ended
    /// Domain effects (e.g. "charged_cents:c001") above and below the module's prediction for
    /// every workflow placed: an effect doubled, an effect lost.
    std::size_t effects_doubled{};
    std::size_t effects_lost{};
    std::uint64_t refusals{};   ///< messages the nodes refused (an unknown workflow, say)
    std::uint64_t duplicates{}; ///< messages received again and dropped
    std::uint64_t resent{};     ///< messages sent again, unacknowledged
    fault_tally tally;
    /// Steady-clock times from the restart: to the first workflow ended after it, and to the
    /// last one ended (the backlog drained); zero if none.
    std::chrono::nanoseconds restart_to_first_end{};
    std::chrono::nanoseconds restart_to_drained{};
};

/// Workflows during an outage, and how many made progress.
struct outage_share {
    std::size_t workflows{};
    /// A live node sent a workflow message for it during the outage (a step acted and passed
    /// the workflow on, or its end was told), as the nodes' ledgers record it.
    std::size_t progressed{};
    std::size_t ended{}; ///< the client was told it ended during the outage
};

/// What a status query answered during the outage.
struct outage_status {
    std::string of; ///< "in flight", "placed during", "finished before"
    std::string workflow_id;
    bool found{};
    std::string state;
    std::string last_service; ///< the step that acted last, as the answer knows ("" if unknown)
    std::uint32_t last_step{};
    std::vector<std::string> asked;
    std::vector<std::string> answered;
    std::vector<std::string> silent; ///< asked, no answer within the query's timeout
    std::vector<std::string> errors;
    std::int64_t latency_ns{};
};

/// Fault tolerance and state management: one node down (killed, not yet restarted).
struct outage_run {
    std::string pattern;
    std::string victim;
    std::string role; ///< "owner of the workflow state", "entry", "middle service"
    outage_share in_flight;
    outage_share placed_during;
    std::vector<outage_status> statuses;
    std::chrono::nanoseconds outage{}; ///< from the kill to the restart
    /// Of all placed, ended once the node was back (an owner re-drives, at its step deadline,
    /// what was lost with it).
    std::size_t ended_after{};
    std::size_t placed{};
};

/// Error handling and workflow control: workflows held up by a paused middle service.
struct stuck_run {
    std::string pattern;
    bool owner{};           ///< a node owns the workflow state and watches the deadlines
    std::string detector;   ///< who found them
    std::size_t finished{}; ///< workflows ended before the pause (must not be listed)
    std::size_t held{};
    std::size_t detected{};     ///< marked stuck by the owner, or listed by a stuck query
    std::size_t false_alarms{}; ///< listed or marked but not held
    std::size_t ended_failed{}; ///< ended "failed" by the owner, the client told
    std::size_t not_ended{};    ///< held and never ended while the service was paused
    /// Per detected workflow, placement to detection: to the owner's stuck mark (its wall
    /// clock), or to the first stuck query that listed it; and placement to the client being
    /// told it failed (owner only).
    std::vector<std::int64_t> detection_ns;
    std::vector<std::int64_t> failed_ns;
    std::size_t queries{};          ///< stuck queries made (none with an owner)
    std::uint64_t query_messages{}; ///< their requests and replies
    std::uint64_t query_bytes{};
    std::vector<std::string> silent; ///< nodes a stuck query asked that did not answer
    std::vector<std::string> blind_spots;
    std::chrono::milliseconds step_deadline{};
    std::uint32_t retries{};
};

struct failure_claims {
    std::vector<recovery_run> recovery;
    std::vector<outage_run> outages;
    std::vector<stuck_run> stuck;
};

/// Returns: the node whose outage tests fault tolerance against the middle service: the owner
/// of the workflow state if the pattern has one, else the entry.
std::string central_node(const pattern& p, const workflow& wf);
/// Returns: the middle service: the second step's.
std::string middle_service(const workflow& wf);

/// Kills the middle service after it has handled orders / 4 workflow messages and restarts it;
/// the nodes keep stores if `durable`. Waits until every workflow ended, or until the nodes
/// hold no unacknowledged message and nothing ended for `o.quiet`.
/// Throws: std::runtime_error if the nodes cannot be started.
recovery_run measure_recovery(const pattern& p, const workflow& wf, bool durable,
                              const failure_claims_options& o);

/// Holds the third step's service, places o.in_flight happy workflows and waits until the
/// middle service has acted on each; kills `victim`, releases the held service, places
/// o.placed_during more, waits until the live nodes are quiet, asks the status of one workflow
/// of each kind, and restarts `victim`.
outage_run measure_outage(const pattern& p, const workflow& wf, const std::string& victim,
                          const failure_claims_options& o);

/// Runs a few workflows to their end, pauses the middle service and places o.held happy
/// workflows. With an owner: waits until the client is told each failed. Without: asks the
/// stuck query (older than the step deadline) every o.stuck_poll until it lists them all.
stuck_run measure_stuck(const pattern& p, const workflow& wf, const failure_claims_options& o);

/// Every run for each of `patterns`: recovery in memory and durable, the outage of the central
/// node and of the middle service, stuck workflows.
failure_claims measure_failure_claims(const std::vector<const pattern*>& patterns,
                                      const workflow& wf, const failure_claims_options& o);

/// Prints each claim with its evidence, and what "progress" and "detected" mean.
void print_failure_claims(std::ostream& out, const failure_claims& c,
                          const failure_claims_options& o);

} // namespace choreo::demo

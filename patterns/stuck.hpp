// Finding the workflows that make no progress, as each pattern honestly allows.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "patterns/client.hpp"
#include "patterns/contracts.hpp"
#include "patterns/pattern.hpp"
#include "patterns/workflow.hpp"

namespace choreo {

struct stuck_query {
    /// A workflow is listed once it made no progress for this long (or its owner marked it
    /// stuck).
    std::chrono::nanoseconds older_than{std::chrono::seconds(5)};
    /// The most workflows one node lists in one reply, and the most candidates asked about.
    std::size_t limit = 100;
    /// How long to wait for each node's reply.
    std::chrono::milliseconds timeout{2'000};
};

/// One workflow with no progress.
struct stuck_workflow {
    std::string workflow_id;
    std::string state;     ///< "in_progress" or "stuck"
    msg::step_record last; ///< the step that acted last (service "" and at_ns 0: none known)
    std::int64_t age_ns{}; ///< how long ago it acted (0 if no time is known)
    std::int64_t stuck_since_ns{}; ///< set by an owner of the workflow state
    std::uint32_t redrives{};      ///< set by an owner of the workflow state
};

/// What a stuck query found, what it cost, and what it could not see.
struct stuck_report {
    /// The workflow state has an owner, and its answer is the whole answer.
    bool owner = false;
    std::vector<std::string> asked;
    std::vector<std::string> silent;       ///< asked but did not answer (or refused)
    std::vector<stuck_workflow> workflows; ///< oldest last action first
    /// Some node had more than `limit` workflows to list: more may be stuck than shown.
    bool truncated = false;
    std::uint64_t messages = 0; ///< requests sent and replies received
    /// Bytes of those messages: the replies as received (re-encoded, which the codec does
    /// byte for byte), the requests as encoded here (their envelope's ids and time may take a
    /// few bytes more or less than the ones the client's node wrote).
    std::uint64_t bytes = 0;
    /// What this pattern cannot detect, in words: shown beside the answer, never hidden.
    std::vector<std::string> blind_spots;
    std::vector<std::string> errors;
};

/// Asks where the pattern keeps workflow state (the nodes its status query goes to) for the
/// workflows that made no progress for q.older_than. An owner (front controller, orchestrator)
/// answers in one round. Choreographed services cannot tell alone whether a later service has
/// acted: each lists its candidates (the workflows it acted on last and did not end, at most
/// `limit`), then a second round asks every service for its latest record of those, and a
/// workflow is listed if the latest record anywhere is that old and did not end it.
/// Call from any thread but the client's io thread.
stuck_report find_stuck(client& c, const pattern& p, const workflow& wf, const stuck_query& q);

} // namespace choreo

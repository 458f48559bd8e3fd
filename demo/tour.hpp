// What choreo-demo shows of each pattern: traced workflows, status queries, costs, all measured.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "patterns/client.hpp"
#include "patterns/deployment.hpp"
#include "patterns/ledger.hpp"
#include "patterns/workflow_module.hpp"

namespace choreo::demo {

struct tour_options {
    std::string workflow = "order"; ///< any registered workflow, e.g. "order" or "chain:8:3"
    std::string scenario;           ///< of the batch; empty: the module's mix (its last scenario)
    std::size_t orders = 20;        ///< workflows in the batch
    std::uint64_t seed = 42;
    transport via = transport::inproc;
    std::chrono::milliseconds deadline{30'000};
};

/// Returns: the scenario of the batch: `o.scenario`, or the workflow module's mix if empty.
std::string batch_scenario(const workflow& wf, const tour_options& o);

/// A directed (from, to) pair of nodes that workflow traffic used.
using link = std::pair<std::string, std::string>;

/// One workflow followed message by message.
struct traced_workflow {
    std::string scenario;
    std::string workflow_id;
    std::string details; ///< the business payload, as the module describes it
    std::string expected;
    std::string terminal;
    std::uint32_t path_messages{};        ///< critical path, place_order to workflow_ended
    std::vector<traffic_record> messages; ///< workflow traffic (client included), in send order
    std::set<link> links;                 ///< distinct inter-service links it used
    /// Messages each node (client excluded) sent or received for it, client traffic included.
    std::map<std::string, std::size_t> handled;
};

/// A status query and what it cost.
struct status_shot {
    std::string moment; ///< "mid-flight (held before X)" or "finished"
    status_answer answer;
    std::vector<std::string> sole_answerers; ///< nodes whose reply alone gives the answer
};

/// The measured cost of one scenario's workflows in the batch.
struct scenario_cost {
    std::string scenario;
    std::size_t workflows{};
    double inter_messages{}; ///< per workflow
    double inter_bytes{};    ///< per workflow
    double client_messages{};
    double mean_message_bytes{}; ///< per inter-service message
    std::uint64_t query_messages{};
    std::uint64_t query_bytes{};
    std::size_t query_services{}; ///< nodes asked
};

/// Everything the demo shows of one pattern.
struct tour {
    std::string pattern;
    std::string summary;
    std::string workflow;
    std::vector<std::string> services;    ///< the workflow's domain services
    std::vector<std::string> extra_nodes; ///< the pattern's own nodes (an orchestrator, say)
    std::string scenario;                 ///< of the batch
    std::vector<traced_workflow> traced;  ///< one per traced scenario, the happy path first
    std::vector<status_shot> shots;
    std::vector<scenario_cost> costs;                    ///< per scenario, then "all"
    std::map<std::string, std::size_t> ended, predicted; ///< terminal -> count in the batch
    std::vector<std::string> outcomes;                   ///< batch terminals, in order placed
    std::size_t lost{};                                  ///< workflows that never ended
    std::size_t wrong{};                                 ///< ended other than predicted
    domain_effects effects, predicted_effects;           ///< of every workflow placed
    std::string effects_summary;                         ///< as the module describes them
    std::vector<std::string> effects_differences;        ///< empty: as predicted
    std::map<link, traffic_totals> links;                ///< inter-service, batch + traced
    /// Messages each node sent or received per batch workflow (client traffic included).
    std::map<std::string, double> handled_per_workflow;
    std::uint64_t rejected{};          ///< messages refused by any node
    std::size_t state_bytes{};         ///< workflow state held by all nodes at the end
    std::size_t state_workflows{};     ///< the most workflows one node holds state about
    std::size_t domain_bytes{};        ///< domain data of every domain service at the end
    double state_bytes_per_workflow{}; ///< state_bytes / state_workflows (0 if none)

    /// Returns: every workflow ended as predicted with the predicted domain effects.
    bool as_predicted() const { return lost == 0 && wrong == 0 && effects_differences.empty(); }
};

/// Runs one pattern through the tour on a deployment of it (fresh: no workflows placed yet).
/// Throws: std::runtime_error if a traced workflow never ends (the demo cannot go on), or
/// std::invalid_argument for a scenario the workflow's module does not have.
tour run_tour(deployment& d, const pattern& p, const tour_options& options);

/// A small extra run for a claim: a few workflows of one workflow under one pattern, in this
/// process, every message kept.
struct probe {
    std::string pattern;
    std::string workflow;
    std::size_t steps{};                  ///< of the workflow
    std::size_t failure_branches{};       ///< failures in its model
    std::vector<std::string> extra_nodes; ///< the pattern's own nodes
    std::size_t workflows{};              ///< placed
    bool as_predicted{};                  ///< every one ended in its predicted terminal state
    std::set<link> links;                 ///< distinct inter-service links over all of them
    double messages_per_workflow{};       ///< inter-service
    std::vector<double> hop_bytes;        ///< bytes of each inter-service message of the first
    status_answer query;                  ///< a status query on the first, after it ended
};

/// Runs `workflow_name` under `p`: one workflow of the module's first traced scenario (its
/// happy path), and with `every_branch` also workflows with other business payloads until
/// there is one per failure branch of the model (at most a few dozen drawn from the module's
/// mix), then a status query on the first.
/// Throws: std::invalid_argument for an unknown workflow; std::runtime_error if one never ends.
probe run_probe(const pattern& p, const std::string& workflow_name, bool every_branch,
                const tour_options& options);

} // namespace choreo::demo

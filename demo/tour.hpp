// What choreo-demo shows of each pattern: traced orders, status queries, costs, all measured.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "patterns/client.hpp"
#include "patterns/deployment.hpp"
#include "patterns/ledger.hpp"

namespace choreo::demo {

struct tour_options {
    std::string workflow = "order";
    scenario mix = scenario::mixed;
    std::size_t orders = 20;
    std::uint64_t seed = 42;
    transport via = transport::inproc;
    std::chrono::milliseconds deadline{30'000};
};

/// One order followed message by message.
struct traced_order {
    std::string scenario;
    std::string workflow_id;
    std::string expected;
    std::string terminal;
    std::vector<traffic_record> messages; ///< workflow traffic, in send order
};

/// A status query and what it cost.
struct status_shot {
    std::string moment; ///< "mid-flight" or "finished"
    status_answer answer;
    std::vector<std::string> sole_answerers; ///< services whose reply alone gives the answer
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
    std::size_t query_services{};
};

/// Everything the demo shows of one pattern.
struct tour {
    std::string pattern;
    std::string summary;
    std::string workflow;
    std::vector<traced_order> traced;
    std::vector<status_shot> shots;
    std::vector<scenario_cost> costs;                    ///< per scenario kind, then "all"
    std::map<std::string, std::size_t> ended, predicted; ///< terminal -> count in the batch
    std::vector<std::string> outcomes;                   ///< batch terminals, in order placed
    std::size_t lost{};                                  ///< workflows that never ended
    std::size_t wrong{};                                 ///< ended other than predicted
    domain_effects effects, predicted_effects;
    std::map<std::pair<std::string, std::string>, traffic_totals> links; ///< batch + traced
    std::map<std::string, std::set<std::pair<std::string, std::string>>> links_by_scenario;
    std::uint64_t rejected{};  ///< messages refused by any node
    std::size_t state_bytes{}; ///< workflow state held by the services at the end
};

/// Runs one pattern through the tour on a deployment of it (fresh: no orders placed yet).
/// Throws: std::runtime_error if a traced order never ends (the demo cannot go on).
tour run_tour(deployment& d, const pattern& p, const tour_options& options);

/// Mean bytes of a stamp-carrying message at each hop of a chain of `n` steps (stamp growth).
std::vector<double> bytes_by_hop(const pattern& p, std::size_t n, const tour_options& options);

} // namespace choreo::demo

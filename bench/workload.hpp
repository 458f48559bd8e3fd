// One benchmark run: a pattern, a workload with a number of workflows in flight, measured.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#include "bench/floor.hpp"
#include "patterns/pattern.hpp"
#include "patterns/topology.hpp"

namespace choreo::bench {

struct run_config {
    const pattern* pattern_used = nullptr;
    std::string workflow = "order"; ///< any registered workflow, e.g. "chain:8:3"
    std::string scenario = "mixed"; ///< a scenario of the workflow's module
    std::size_t workflows = 2'000;  ///< measured
    std::size_t warm_up = 200;      ///< run before the clock starts, not measured
    std::size_t inflight = 1;
    std::uint64_t seed = 42;
    transport via = transport::inproc;
    bool spawn = false; ///< one choreo-node process per node of the pattern
    std::chrono::nanoseconds link_delay{0};
    /// Finished workflows each node keeps (node_options::retain_finished); at least the
    /// workflows of the run, or per-workflow traffic of the early ones would be retired.
    std::size_t retain_finished = default_retain_finished;
    std::size_t status_queries = 50;      ///< issued while the measured workload runs
    std::size_t floor_messages = 200'000; ///< streamed to measure the floor's message rate
    std::chrono::seconds deadline{120};
};

struct percentiles {
    double p50{}, p90{}, p99{}, max{};
};

/// What one node did for the measured workflows.
struct node_load {
    std::string node;
    pid_t pid = -1; ///< its process with --spawn, else -1 (a thread of this process)
    /// Messages it sent or received for the measured workflows (inter-service and client,
    /// status queries excluded), per completed workflow.
    double messages_per_workflow{};
    double cpu_us_per_workflow{}; ///< CPU time of its process per completed workflow (--spawn)
    double cpu_share{};           ///< of the CPU time of every node's process together (--spawn)
};

struct run_result {
    run_config config;
    std::size_t completed{};
    std::size_t lost{};  ///< never ended
    std::size_t wrong{}; ///< ended other than the module predicted
    /// Domain effects other than the module predicted, "key: got X, predicted Y" (first few).
    std::vector<std::string> effects_differences;
    std::size_t effects_differing{}; ///< how many keys differ
    double messages_per_workflow{};  ///< inter-service
    double bytes_per_workflow{};
    double mean_message_bytes{};
    percentiles e2e_us; ///< order placed -> terminal event at the client
    double workflows_per_s{};
    double path_messages{}; ///< median messages on a workflow's critical path, as measured
    std::size_t queries{};  ///< status queries answered
    double query_messages{}, query_bytes{}, query_services{}; ///< per query, mean
    percentiles query_us;
    double state_bytes_per_workflow{}; ///< after the run, every node together, per workflow held
    std::size_t state_workflows{};     ///< the most workflows any one node holds state about
    std::size_t domain_bytes{};        ///< domain data of every service, after the run
    std::vector<node_load> nodes;      ///< every node of the pattern, in its order
    std::string busiest_node;          ///< the node handling the most messages per workflow
    double busiest_messages_per_workflow{};
    bool cpu_measured{};          ///< nodes' CPU times were read (--spawn)
    std::string busiest_cpu_node; ///< the node process using the most CPU
    double busiest_cpu_us_per_workflow{};
    double busiest_cpu_share{};
    double nodes_cpu_us_per_workflow{}; ///< every node process together
    long peak_rss_kb{}; ///< this process's peak so far (nodes included when in-process)
    long rss_kb{};      ///< resident at the end of the run, before the services stop
    floor_figures floor;
    double latency_ratio{}; ///< e2e p50 / (path messages x (floor one-way + link delay))
    double rate_ratio{};    ///< workflows/s x messages per workflow / floor messages/s
};

/// Runs one configuration: warm-up, then the measured workload with status queries beside it,
/// then the transport floor for the run's message sizes. Every workflow's terminal state and
/// the domain effects of all of them are checked against the workflow module's predictions.
/// Throws: std::invalid_argument for an unknown workflow or scenario; std::runtime_error if the
/// services cannot be started.
run_result run_workload(const run_config& config);

} // namespace choreo::bench

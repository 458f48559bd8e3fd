// One benchmark run: a pattern, a workload with a number of workflows in flight, measured.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "bench/floor.hpp"
#include "patterns/domain.hpp"
#include "patterns/pattern.hpp"
#include "patterns/topology.hpp"

namespace choreo::bench {

struct run_config {
    const pattern* pattern_used = nullptr;
    std::string workflow = "order";
    scenario mix = scenario::mixed;
    std::size_t workflows = 2'000; ///< measured
    std::size_t warm_up = 200;     ///< run before the clock starts, not measured
    std::size_t inflight = 1;
    std::uint64_t seed = 42;
    transport via = transport::inproc;
    bool spawn = false;
    std::chrono::nanoseconds link_delay{0};
    std::size_t status_queries = 50;      ///< issued while the measured workload runs
    std::size_t floor_messages = 200'000; ///< streamed to measure the floor's message rate
    std::chrono::seconds deadline{120};
};

struct percentiles {
    double p50{}, p90{}, p99{}, max{};
};

struct run_result {
    run_config config;
    std::size_t completed{};
    std::size_t lost{};             ///< never ended
    std::size_t wrong{};            ///< ended other than the generator predicted
    double messages_per_workflow{}; ///< inter-service
    double bytes_per_workflow{};
    double mean_message_bytes{};
    percentiles e2e_us; ///< order placed -> terminal event at the client
    double workflows_per_s{};
    double path_messages{}; ///< median messages on a workflow's critical path
    std::size_t queries{};  ///< status queries answered
    double query_messages{}, query_bytes{}, query_services{}; ///< per query, mean
    percentiles query_us;
    double state_bytes_per_workflow{}; ///< after the run, by whoever holds the state
    std::size_t state_workflows{};
    long peak_rss_kb{}; ///< this process's peak so far (nodes included when in-process)
    long rss_kb{};      ///< resident at the end of the run, before the services stop
    floor_figures floor;
    double latency_ratio{}; ///< e2e p50 / (path messages x (floor one-way + link delay))
    double rate_ratio{};    ///< workflows/s x messages per workflow / floor messages/s
};

/// Runs one configuration: warm-up, then the measured workload with status queries beside it,
/// then the transport floor for the run's message sizes.
/// Throws: std::runtime_error if the services cannot be started.
run_result run_workload(const run_config& config);

} // namespace choreo::bench

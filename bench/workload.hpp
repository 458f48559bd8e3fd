// One benchmark run: a pattern, a workload with a number of workflows in flight, measured.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "bench/floor.hpp"
#include "demo/faults.hpp"
#include "patterns/pattern.hpp"
#include "patterns/store.hpp"
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
    bool curve = false; ///< every socket speaks CURVE, with keys for every node (tcp or ipc)
    std::chrono::nanoseconds link_delay{0};
    /// Finished workflows each node keeps (node_options::retain_finished); at least the
    /// workflows of the run, or per-workflow traffic of the early ones would be retired.
    std::size_t retain_finished = default_retain_finished;
    std::size_t status_queries = 50;      ///< issued while the measured workload runs
    std::size_t floor_messages = 200'000; ///< streamed to measure the floor's message rate
    std::chrono::seconds deadline{120};   ///< give up once no workflow has ended for this long
    demo::fault_plan faults; ///< injected (kill and pause need spawn); a drop seeded by `seed`
    /// Where the nodes keep their stores: given, a fresh subdirectory per run; else a spawned
    /// run's own directory, and memory in one process. in_memory: nothing on disk.
    std::string data_dir;
    bool in_memory = false;
    store_sync sync = store_sync::process_crash; ///< of a durable node's commits
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

/// How a run came back from a kill and restart (a kill fault with restart=DELAY that fired),
/// from the client's clock: from the restart (the node serving again, as the parent saw it)
/// to the first workflow ending after it, and to the backlog drained: every workflow placed
/// before the restart (during the outage too) ended. Warm-up workflows included.
struct recovery_figures {
    std::string victim;
    double restart_at_s{};              ///< since the nodes were started
    std::optional<double> first_end_ms; ///< none if no workflow ended after the restart
    std::optional<double> drained_ms;   ///< none if some of the backlog never ended
    std::size_t backlog{};              ///< placed before the restart, not ended by then
    std::size_t backlog_never_ended{};  ///< of those
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
    /// Delivery, apart from the messages above, over the measured phase per completed workflow:
    /// ack messages (one acknowledges many messages), message ids acknowledged, resends.
    double acks_per_workflow{};
    double acked_per_workflow{};
    double resent_per_workflow{};
    /// A durable node's store over the measured phase, every node together, per completed
    /// workflow: transactions committed, rows written, syncs of its files (fsyncs) as counted
    /// by the store's counting VFS. 0 in memory.
    double store_commits_per_workflow{};
    double store_rows_per_workflow{};
    double store_syncs_per_workflow{};
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
    double latency_ratio{};           ///< e2e p50 / (path messages x (floor one-way + link delay))
    double rate_ratio{};              ///< workflows/s x messages per workflow / floor messages/s
    std::uint64_t dropped_by_fault{}; ///< inter-service sends a drop fault dropped, every node
    std::vector<std::string> fault_events;    ///< what kills and pauses did, as the parent saw it
    std::optional<recovery_figures> recovery; ///< after a kill that fired and a restart
};

/// Runs one configuration: warm-up, then the measured workload with status queries beside it,
/// then the transport floor for the run's message sizes. Every workflow's terminal state and
/// the domain effects of all of them are checked against the workflow module's predictions.
/// Throws: std::invalid_argument for an unknown workflow or scenario; std::runtime_error if the
/// services cannot be started.
run_result run_workload(const run_config& config);

/// A soak: many workflows through one process per node, with the memory of every process
/// read as it goes.
struct soak_config {
    /// The pattern, workflow, scenario (a mix, normally), in-flight count, seed, transport and
    /// stall deadline; `workflows`, `warm_up` and `status_queries` are not used, and every node
    /// is a process of its own whatever `spawn` says.
    run_config run;
    std::size_t workflows = 1'000'000;
    std::size_t every = 100'000; ///< a report each time this many more have ended, and at the end
    /// RSS growth after warm-up up to which a node's memory counts as flat. The warm-up lasts
    /// until every retention structure can be full: the last `run.retain_finished` finished
    /// workflows kept and retired_ids_per_kept times as many retired ids remembered, so growth
    /// runs from the first report at or after warm_up_workflows() to the last (from the first
    /// report if none is that late).
    double flat_limit_pct = 10.0;
    std::size_t warm_up_workflows() const;
};

/// The resident memory of one process, from VmRSS in /proc/PID/status.
struct rss_reading {
    std::string node; ///< a node of the pattern, or "choreo-bench (client)" for this process
    pid_t pid = -1;
    long rss_kb{}; ///< -1 if it could not be read (the process is gone)
};

/// One report: taken when `workflows` had ended (or when the soak gave up, none ending).
struct soak_report {
    std::size_t workflows{};
    double interval_s{};          ///< since the previous report (or the start)
    double workflows_per_s{};     ///< over that interval
    std::vector<rss_reading> rss; ///< every node's process, then this process
};

/// How one process's memory grew after the warm-up: from the first report to the last.
struct rss_growth {
    std::string node;
    long first_kb{}, last_kb{};
    double growth_pct{}; ///< (last - first) / first, in %
    bool flat{};         ///< growth_pct <= soak_config::flat_limit_pct
};

struct soak_result {
    soak_config config;
    std::size_t ended{};
    std::size_t lost{};                           ///< never ended
    std::size_t wrong{};                          ///< ended other than the module predicted
    std::vector<std::string> wrong_examples;      ///< "id ended X, predicted Y" (first few)
    std::vector<std::string> effects_differences; ///< first few
    std::size_t effects_differing{};
    double seconds{};
    double workflows_per_s{};
    std::vector<soak_report> reports;
    std::vector<rss_growth> growth; ///< per process; empty with fewer than two reports
    std::size_t growth_from{};      ///< workflows ended at the report growth runs from
};

/// Runs a soak: `workflows` workflows of the scenario, `inflight` at a time, through one
/// choreo-node process per node (--no-trace) over ipc or tcp, reading every process's RSS each
/// `every` workflows. Each outcome is checked against its prediction when it arrives and then
/// forgotten, and the domain effects of all of them are predicted as they are placed and
/// compared with the nodes' aggregate effects at the end: nothing is kept per workflow beyond
/// those in flight, so the client's own memory stays flat.
/// Throws: std::invalid_argument for an unknown workflow or scenario, inproc, or zero
/// workflows or interval; std::runtime_error if the services cannot be started.
soak_result run_soak(const soak_config& config);

} // namespace choreo::bench

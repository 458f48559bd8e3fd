// choreo-bench --durability: every configuration in memory and durable side by side in one run,
// and how long a pattern takes to recover from a killed node.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/workload.hpp"

namespace choreo::bench {

/// What a --durability run compares and how it recovers.
struct durability_config {
    /// Each configuration: the pattern, workflow, scenario, in-flight count, spawn or not;
    /// storage and faults are set per run here.
    run_config base;
    /// The durable runs, one per sync, beside the run in memory.
    std::vector<store_sync> syncs{store_sync::process_crash, store_sync::machine_crash};
    /// With base.spawn: per victim, kills (and restarts) measured, one run each. 0: none.
    std::size_t recovery_runs = 3;
    std::chrono::milliseconds restart_delay{500};
};

/// One durable node killed and restarted: where, and how the run came back.
struct recovery_run {
    std::string pattern;
    std::string workflow;
    std::string scenario;
    std::string victim;
    std::uint64_t kill_after{};               ///< handled messages, drawn from the seed
    std::optional<recovery_figures> recovery; ///< none if the kill never fired
    std::size_t lost{};                       ///< measured workflows that never ended
};

/// Returns: the storage of a run, "memory", "durable" or "durable+fsync" (machine sync).
std::string storage_label(const run_config& c);

/// Runs `base`'s configuration in memory, then durable under each of `syncs`, one after
/// another in this run. A durable run in one process keeps its stores under base.data_dir, or
/// a directory of its own removed at the end; spawned, choreo-node's own (spawned_services).
std::vector<run_result> run_durability(const durability_config& config);

/// The victims of a pattern's recovery runs: payment (a middle service) and the node the client
/// places orders with (the front controller's, the orchestrator, the first service), those of
/// them the pattern runs for the workflow.
std::vector<std::string> recovery_victims(const pattern& p, const workflow& wf);

/// Kills each victim once per run after a seeded number of handled messages, restarts it after
/// `config.restart_delay` on its data directory and measures the recovery. Requires base.spawn.
std::vector<recovery_run> run_recoveries(const durability_config& config,
                                         const std::vector<std::string>& victims);

/// Per configuration: each storage's e2e percentiles, wf/s, acks, commits, rows and syncs per
/// workflow, and its throughput against the same configuration in memory, with where the time
/// goes when durable falls below `target` of it.
void print_durability(std::ostream& out, const std::vector<run_result>& runs, double target = 0.25);
/// Per pattern and victim: the medians and maxima of the recovery times over the runs.
void print_recoveries(std::ostream& out, const std::vector<recovery_run>& runs);
nlohmann::json durability_to_json(const std::vector<run_result>& runs,
                                  const std::vector<recovery_run>& recoveries);

} // namespace choreo::bench

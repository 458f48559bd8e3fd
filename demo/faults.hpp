// Fault injection, one vocabulary for choreo-demo, choreo-bench, choreo-node and the tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "patterns/deployment.hpp"
#include "patterns/node.hpp"

namespace choreo::demo {

/// The forms of --fault, for help texts and errors.
inline constexpr std::string_view fault_forms =
    "kill:SERVICE@N[:restart=DELAY], pause:SERVICE@N:DURATION, delay:SERVICE:DURATION, "
    "drop:P[:seed=S]";

enum class fault_kind {
    kill,  ///< SIGKILL the node after it has handled N workflow messages; restart after a delay
    pause, ///< SIGSTOP the node after N handled workflow messages, SIGCONT after a duration
    delay, ///< every message the node sends is delayed (node_options::link_delay)
    drop,  ///< every node drops each inter-service workflow send with probability P
};

/// Returns: "kill", "pause", "delay" or "drop".
std::string_view to_string(fault_kind k) noexcept;

/// One --fault. A node's handled messages are the workflow messages (query_id 0) its pattern
/// has acted on: status queries and operator requests do not count.
struct fault {
    fault_kind kind{};
    std::string service;                 ///< kill, pause, delay: the node
    std::uint64_t after = 0;             ///< kill, pause: N >= 1 handled messages
    bool restarts = false;               ///< kill: restarted after `duration`; else it stays down
    std::chrono::nanoseconds duration{}; ///< kill: restart delay; pause: stopped; delay: per send
    double probability = 0;              ///< drop: 0 <= P < 1
    std::optional<std::uint64_t> seed;   ///< drop: its own seed (else the program's --seed)

    /// Returns: the spec in its canonical form, e.g. "kill:payment@412:restart=1000000000ns";
    /// parse_fault reads it back equal.
    std::string text() const;
    /// Returns: kill or pause: a signal to the node's process.
    bool is_process_fault() const noexcept {
        return kind == fault_kind::kill || kind == fault_kind::pause;
    }
    bool operator==(const fault&) const = default;
};

/// A parsed spec, or what is wrong with it.
struct parsed_fault {
    std::optional<fault> value;
    std::string error; ///< empty if value is set
};

/// Reads one --fault spec (see fault_forms). Durations as parse_duration reads them (0 to
/// 10 s). Services are not checked here: plan_error() checks them against a deployment.
parsed_fault parse_fault(std::string_view spec);

/// Several --fault, as given.
struct fault_plan {
    std::vector<fault> faults;

    bool empty() const noexcept { return faults.empty(); }
    /// Returns: a kill or pause is among them (these need a process per node).
    bool has_process_faults() const noexcept;
    /// Returns: the kill or pause of `service`, or null.
    const fault* process_fault_of(std::string_view service) const noexcept;
    /// Returns: the drop for every node, its seed resolved (the fault's own, else `seed`).
    send_drop drop(std::uint64_t seed) const noexcept;
    /// Returns: `base` with the delay and drop faults applied for node `service`.
    node_options options_for(std::string_view service, node_options base, std::uint64_t seed) const;
    /// Returns: `base` with the delay and drop faults applied to the nodes of a one-process
    /// deployment (kill and pause do not apply there: see has_process_faults()).
    deployment_options local_options(deployment_options base, std::uint64_t seed) const;
    /// Returns: the choreo-node arguments (--fault SPEC ...) of every fault, a drop's seed
    /// resolved; without kill and pause if `process_faults` is false (a restarted node).
    std::vector<std::string> node_args(std::uint64_t seed, bool process_faults) const;
};

/// Parses every spec. Returns: the plan, or the first error (prefixed by the spec).
struct parsed_plan {
    fault_plan plan;
    std::string error;
};
parsed_plan parse_faults(const std::vector<std::string>& specs);

/// Returns: nullopt if `plan` fits a deployment of `nodes`, else what is wrong: a service that
/// is no node of it, two kills or pauses of one node, two delays of one node, two drops.
std::optional<std::string> plan_error(const fault_plan& plan,
                                      const std::vector<std::string>& nodes);

/// Adds `--fault SPEC` (repeatable) to `app`, each value checked by parse_fault.
CLI::Option* add_faults(CLI::App& app, std::vector<std::string>& specs, const std::string& more);

} // namespace choreo::demo

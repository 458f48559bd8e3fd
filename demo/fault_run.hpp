// choreo-demo --fault: a batch of workflows run under injected faults, and what became of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "demo/faults.hpp"
#include "demo/spawn.hpp"
#include "demo/tour.hpp"
#include "patterns/deployment.hpp"

namespace choreo::demo {

/// One pattern's batch under faults. Without acknowledgements and resends, a workflow whose
/// message died with a killed node or was dropped never ends: that loss is reported, not hidden.
struct fault_run {
    std::string pattern;
    std::string workflow;
    std::string scenario;
    std::vector<std::string> faults; ///< as given, canonical
    std::size_t placed{};
    std::size_t ended{};        ///< within the wait
    std::size_t as_predicted{}; ///< of those, in the terminal state the module predicted
    std::size_t not_ended{};    ///< placed, never ended within the wait
    std::chrono::milliseconds waited{};
    /// node -> inter-service sends its drop fault dropped (since its last start), or nullopt
    /// if it did not answer (a node killed for good).
    std::map<std::string, std::optional<std::uint64_t>> dropped;
    std::vector<fault_event> events; ///< with --spawn: what the kills and pauses did
    fault_tally tally;
};

/// Returns: node -> the inter-service sends its drop fault dropped (counted since the node's
/// last start), or nullopt for a node that does not answer (killed for good).
std::map<std::string, std::optional<std::uint64_t>> dropped_by_fault(deployment& d);

/// Places `o.orders` workflows of the batch scenario on `d` (fresh) and waits until every one
/// has ended, or until none has ended for a quiet spell (3 s, plus the longest restart delay or
/// pause of the plan) or `o.deadline` has passed. `children` are d's processes, if spawned.
fault_run run_with_faults(deployment& d, const tour_options& o, const fault_plan& plan,
                          const spawned_services* children);

/// Prints what each fault did and what became of the batch.
void print_fault_run(std::ostream& out, const fault_run& r);

} // namespace choreo::demo

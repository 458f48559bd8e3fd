// choreo-bench --failure-claims: the timings behind the chapter's failure claims.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

#include "patterns/pattern.hpp"
#include "patterns/workflow.hpp"

namespace choreo::bench {

/// Runs the failure claims' measurements (demo/failure_claims.hpp) at the bench's sizes for
/// each of `patterns` and prints their timings: recovery after a restart, status queries during
/// an outage, how soon stuck workflows are found and failed, and the stuck query's cost.
/// Returns: the exit status: 0, or 1 if a run could not be made.
int run_failure_claims(std::ostream& out, const std::vector<const pattern*>& patterns,
                       const workflow& wf, std::uint64_t seed);

} // namespace choreo::bench

// The patterns and workflows choreo ships, registered by name.
#pragma once

#include "patterns/pattern.hpp"
#include "patterns/workflow_module.hpp"

namespace choreo {

/// Returns: the registry of every built-in pattern, in the order the chapter presents them,
/// orchestration (the baseline) last.
const registry& builtin_patterns();

/// Returns: the registry of every built-in workflow module (order, chain, ticket).
const workflow_registry& builtin_workflows();

} // namespace choreo

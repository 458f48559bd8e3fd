// The patterns choreo ships, registered by name.
#pragma once

#include "patterns/pattern.hpp"

namespace choreo {

/// Returns: the registry of every built-in pattern, in the order the chapter presents them.
const registry& builtin_patterns();

} // namespace choreo

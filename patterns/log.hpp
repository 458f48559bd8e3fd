// choreo's logger: spdlog to stderr, so that program output on stdout stays clean.
#pragma once

#include <spdlog/spdlog.h>

namespace choreo {

/// Returns: the process-wide logger ("choreo", stderr). Level from CHOREO_LOG
/// (trace, debug, info, warn, error, off); warn by default.
spdlog::logger& log();

} // namespace choreo

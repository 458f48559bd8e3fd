// choreo's logger: spdlog to stderr, so that program output on stdout stays clean.
#pragma once

#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace choreo {

/// Returns: the process-wide logger ("choreo", stderr). Level from CHOREO_LOG
/// (trace, debug, info, warn, error, off); warn by default.
spdlog::logger& log();

/// Returns: `s` fit for a log line or a MessagePack `str`: printable ASCII and valid UTF-8 are
/// kept; control bytes, DEL, backslash and bytes that are not valid UTF-8 are written as \xNN.
/// Names that come from the wire (routing ids, ids, error texts) go through this before they
/// are logged or recorded, so that they can neither forge a log line nor break a strict decoder.
std::string printable(std::string_view s);

} // namespace choreo

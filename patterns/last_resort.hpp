// The last resort around an io_context's run(): an exception that escapes a handler is logged
// and dealt with, never left to std::terminate.
#pragma once

#include <functional>
#include <string_view>

#include <boost/asio/io_context.hpp>

namespace choreo {

/// The exit status of a process ended by exit_on_escape (EX_SOFTWARE).
inline constexpr int escaped_exit_status = 70;

/// What to do when an exception escaped a handler: given its what() ("unknown exception" for
/// anything that is not a std::exception).
using escape_handler = std::function<void(std::string_view what)>;

/// Runs `io` until it stops or runs out of work. An exception that escapes one of its handlers
/// (none should: handlers return errors) is logged as `who`'s and handed to `escaped`; if that
/// returns, `io` runs on (Asio lets run() be called again; the handler that threw is gone).
void run_guarded(boost::asio::io_context& io, std::string_view who, const escape_handler& escaped);

/// For a program's io threads: ends the process with escaped_exit_status. It does not run
/// static destructors, which other threads may still be using.
[[noreturn]] void exit_on_escape(std::string_view what);

} // namespace choreo

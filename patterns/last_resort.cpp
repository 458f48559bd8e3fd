#include "patterns/last_resort.hpp"

#include <cstdlib>
#include <exception>

#include "patterns/log.hpp"

namespace choreo {

void run_guarded(boost::asio::io_context& io, std::string_view who, const escape_handler& escaped) {
    for (;;) {
        std::string what;
        try {
            io.run();
            return;
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
            what = "unknown exception";
        }
        log().critical("{}: an exception escaped a handler: {}", printable(who), printable(what));
        escaped(what);
    }
}

void exit_on_escape(std::string_view what) {
    log().critical("exiting with status {}: {}", escaped_exit_status, printable(what));
    log().flush();
    std::_Exit(escaped_exit_status);
}

} // namespace choreo

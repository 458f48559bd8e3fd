// What choreo's programs share on the command line: one way to fail, one workflow validator.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "patterns/workflow.hpp"

namespace choreo::cli {

/// Parses the command line. Returns: nullopt to go on, or the status to exit with: 0 after
/// --help, 2 after printing what is wrong with the arguments.
inline std::optional<int> parse(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }
    return std::nullopt;
}

/// Accepts "order" or "chain:N" (1 <= N <= 1024), and names them when it refuses.
inline CLI::Validator workflow_name() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            return workflow_by_name(value) ? std::string()
                                           : "unknown workflow '" + value +
                                                 "'; valid: order, chain:N with 1 <= N <= 1024";
        },
        "order|chain:N");
}

} // namespace choreo::cli

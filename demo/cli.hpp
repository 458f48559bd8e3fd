// What choreo's programs share on the command line: one way to fail, one workflow validator.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "patterns/auth.hpp"
#include "patterns/topology.hpp"
#include "patterns/workflow.hpp"
#include "patterns/workflow_module.hpp"
#include "registry/builtin.hpp"

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

/// Returns: the forms of every registered workflow, e.g. "order, chain:N (1 <= N <= 1024)".
inline std::string workflow_forms() {
    return fmt::format("{}", fmt::join(builtin_workflows().usages(), ", "));
}

/// Accepts the name of any registered workflow (builtin_workflows().find()), and names the
/// valid forms when it refuses.
inline CLI::Validator workflow_name() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            return builtin_workflows().find(value)
                       ? std::string()
                       : "unknown workflow '" + value + "'; valid: " + workflow_forms();
        },
        "WORKFLOW");
}

/// Adds `--retain-finished N` (N >= 1) to `app`, read into `n`. `what` says what the default is.
inline CLI::Option* add_retain_finished(CLI::App& app, std::size_t& n, const std::string& what) {
    return app
        .add_option("--retain-finished", n,
                    "finished workflows each node keeps in every per-workflow structure (workflow "
                    "state, domain records, per-workflow traffic); older ones are retired. " +
                        what)
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                std::uint64_t number = 0;
                const auto* end = value.data() + value.size();
                const auto [ptr, ec] = std::from_chars(value.data(), end, number);
                if (ec != std::errc() || ptr != end) {
                    return "'" + value + "' is not a whole number; valid: N >= 1";
                }
                return number == 0 ? "0 would keep no finished workflow at all; valid: N >= 1" : "";
            },
            "N>=1"))
        ->type_name("N");
}

/// Returns: nullopt if `scenario` is a scenario of `wf`'s module, or an error naming the
/// workflow and every valid scenario. Scenarios depend on the workflow, so this is checked
/// after parsing rather than by a validator of its own.
inline std::optional<std::string> scenario_error(const workflow& wf, std::string_view scenario) {
    const auto valid = module_of(wf).scenarios(wf);
    if (std::find(valid.begin(), valid.end(), scenario) != valid.end()) {
        return std::nullopt;
    }
    return fmt::format("unknown scenario '{}' for workflow {}; valid: {}", scenario, wf.name,
                       fmt::join(valid, ", "));
}

/// Adds --keys DIR (CURVE, see `choreo-ctl keygen`) and --insecure.
inline void add_security(CLI::App& app, std::string& keys, bool& insecure) {
    app.add_option("--keys", keys,
                   "keys directory from `choreo-ctl keygen`: every socket speaks CURVE and only "
                   "the topology's keys may connect")
        ->check(CLI::ExistingDirectory);
    app.add_flag("--insecure", insecure,
                 "without --keys, allow binding an address other than loopback (anyone who can "
                 "reach it can speak for any node)");
}

/// Returns: the credentials of `self` from a keys directory, or null if `dir` is empty.
/// Throws: std::invalid_argument naming the file and the reason.
inline std::shared_ptr<const credentials> load_keys(const topology& t, const std::string& dir,
                                                    const std::string& self) {
    if (dir.empty()) {
        return nullptr;
    }
    return std::make_shared<const credentials>(keys_dir::load(t, dir, self));
}

} // namespace choreo::cli

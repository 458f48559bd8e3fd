// What choreo's programs share on the command line: one way to fail, one workflow validator.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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

/// Returns: an empty string if `value` is a valid count of `kept` to retain (a whole number
/// >= 1), else what is wrong with it.
inline std::string retain_error(std::string_view value, std::string_view kept) {
    std::uint64_t number = 0;
    const auto* end = value.data() + value.size();
    const auto [ptr, ec] = std::from_chars(value.data(), end, number);
    if (ec != std::errc() || ptr != end) {
        return "'" + std::string(value) + "' is not a whole number; valid: N >= 1";
    }
    return number == 0 ? "0 would keep no " + std::string(kept) + " at all; valid: N >= 1" : "";
}

/// Returns: an empty string if `value` is a valid `--retain-finished`, else what is wrong.
inline std::string retain_finished_error(std::string_view value) {
    return retain_error(value, "finished workflow");
}

/// Adds `--retain-finished N` (N >= 1) to `app`, read into `n`. `what` says what the default is.
inline CLI::Option* add_retain_finished(CLI::App& app, std::size_t& n, const std::string& what) {
    return app
        .add_option("--retain-finished", n,
                    "finished workflows each node keeps in every per-workflow structure (workflow "
                    "state, domain records, per-workflow traffic); older ones are retired. " +
                        what)
        ->check(CLI::Validator(
            [](std::string& value) -> std::string { return retain_finished_error(value); }, "N>=1"))
        ->type_name("N");
}

/// Adds `--retain-early N` (N >= 1) to `app`, read into `n` (its default shown).
inline CLI::Option* add_retain_early(CLI::App& app, std::size_t& n) {
    return app
        .add_option("--retain-early", n,
                    "workflows whose events from outside the chain came before the step they "
                    "concern are kept apart from the finished ones, up to N; beyond, the oldest "
                    "are evicted, counted and logged (docs/PROTOCOL.md, Retention)")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string { return retain_error(value, "early event"); },
            "N>=1"))
        ->type_name("N")
        ->capture_default_str();
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

/// Where the nodes of a demo or bench run keep their stores (choreo-node --data-dir).
struct storage {
    std::string data_dir; ///< given: each run gets a fresh subdirectory of it
    bool in_memory = false;
};

/// Adds --data-dir DIR and --in-memory; `what` says what the default is.
inline void add_storage(CLI::App& app, storage& s, const std::string& what) {
    auto* dir = app.add_option("--data-dir", s.data_dir,
                               "an existing directory where each run's nodes keep their stores "
                               "(a fresh subdirectory per run, named after its pattern). " +
                                   what)
                    ->check(CLI::ExistingDirectory);
    app.add_flag("--in-memory", s.in_memory, "nodes keep nothing on disk")->excludes(dir);
}

/// Returns: a new directory under `dir` named `name` (or `name-2`, `name-3`, ...), created.
/// Throws: std::filesystem::filesystem_error if it cannot be created.
inline std::filesystem::path fresh_directory(const std::filesystem::path& dir,
                                             const std::string& name) {
    for (int n = 1;; ++n) {
        auto path = dir / (n == 1 ? name : name + "-" + std::to_string(n));
        if (std::filesystem::create_directory(path)) {
            return path;
        }
    }
}

/// Returns: the choreo-node arguments that give a spawned run named `name` its storage: a
/// fresh subdirectory of --data-dir, --in-memory, or none (spawned_services' own directory).
inline std::vector<std::string> spawned_storage(const storage& s, const std::string& name) {
    if (s.in_memory) {
        return {"--in-memory"};
    }
    if (!s.data_dir.empty()) {
        return {"--data-dir", fresh_directory(s.data_dir, name).string()};
    }
    return {};
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

/// Reads a duration such as "200us", "1ms" or "0" (units ns, us or µs, ms, s; a bare number
/// only if it is 0), at most `most`. Returns: the duration, or nullopt if malformed.
inline std::optional<std::chrono::nanoseconds>
parse_duration(std::string_view text, std::chrono::nanoseconds most = std::chrono::seconds(10)) {
    double value = 0;
    const auto* end = text.data() + text.size();
    const auto [rest, ec] = std::from_chars(text.data(), end, value);
    // from_chars also reads "nan" and "inf": NaN would pass every check below.
    if (ec != std::errc{} || !std::isfinite(value) || value < 0) {
        return std::nullopt;
    }
    const std::string unit(rest, end);
    const double scale = unit == "ns"                   ? 1
                         : unit == "us" || unit == "µs" ? 1e3
                         : unit == "ms"                 ? 1e6
                         : unit == "s"                  ? 1e9
                         : unit.empty() && value == 0   ? 1
                                                        : -1;
    if (scale < 0 || value * scale > static_cast<double>(most.count())) {
        return std::nullopt;
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(value * scale));
}

/// The shortest and the longest --step-deadline.
inline constexpr std::chrono::milliseconds shortest_step_deadline{1};
inline constexpr std::chrono::hours longest_step_deadline{24};

/// Reads a `--step-deadline` (a duration from 1 ms to 24 h, its unit given: 500ms, 30s,
/// 3600s), rounded down to whole milliseconds.
/// Returns: the deadline, or what is wrong with `text`.
inline std::variant<std::chrono::milliseconds, std::string>
parse_step_deadline(std::string_view text) {
    const auto d = parse_duration(text, longest_step_deadline);
    if (!d || *d < shortest_step_deadline) {
        return fmt::format("'{}' is not a duration from 1ms to 24h with its unit (ns, us, ms, s), "
                           "e.g. 500ms or 30s",
                           text);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

/// Adds `--step-deadline DURATION` to `app`, read into `text` (empty: not given); its value is
/// checked by parse_step_deadline(), which reads it after parsing.
inline CLI::Option* add_step_deadline(CLI::App& app, std::string& text) {
    return app
        .add_option("--step-deadline", text,
                    "how long a node that owns the workflow state (front controller, "
                    "orchestrator) waits for each step before it marks the workflow stuck and "
                    "re-drives the step (the workflow's retries, then it fails it), in place of "
                    "the workflow model's deadline (60s): 1ms to 24h, e.g. 500ms or 30s. Nodes "
                    "without the state ignore it")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                const auto d = parse_step_deadline(value);
                const auto* error = std::get_if<std::string>(&d);
                return error == nullptr ? std::string() : *error;
            },
            "DURATION"))
        ->type_name("DURATION");
}

/// Returns: an empty string if `value` is a whole number from `low` to `high`, else what is
/// wrong with it, naming what the number counts.
inline std::string count_error(std::string_view value, std::string_view what, std::size_t low,
                               std::size_t high) {
    std::size_t n = 0;
    const auto* end = value.data() + value.size();
    const auto [rest, ec] = std::from_chars(value.data(), end, n);
    if (ec != std::errc{} || rest != end || n < low || n > high) {
        return fmt::format("'{}' is not a number of {} from {} to {}", value, what, low, high);
    }
    return {};
}

/// Accepts a whole number from `low` to `high`, and says what it counts when it refuses one.
inline CLI::Validator count_of(const std::string& what, std::size_t low, std::size_t high) {
    return CLI::Validator(
        [=](std::string& value) -> std::string { return count_error(value, what, low, high); },
        fmt::format("{}..{}", low, high));
}

/// What `--sweep` names: workflows to run one after another.
struct sweep {
    std::vector<workflow> workflows;
    std::optional<std::string> refused; ///< the first item that names no workflow
};

/// Reads a `--sweep` list: comma-separated chain lengths (a bare number N is chain:N) and
/// workflow names. Returns: the workflows in order, or the first item that is neither.
inline sweep parse_sweep(std::string_view text) {
    sweep out;
    std::size_t from = 0;
    while (from <= text.size()) {
        const auto comma = std::min(text.find(',', from), text.size());
        const std::string item(text.substr(from, comma - from));
        from = comma + 1;
        if (comma == text.size() && item.empty()) {
            break; // std::getline ends without an item after a trailing comma
        }
        const bool length =
            !item.empty() && item.find_first_not_of("0123456789") == std::string::npos;
        auto wf = builtin_workflows().find(length ? "chain:" + item : item);
        if (!wf) {
            out.refused = item;
            return out;
        }
        out.workflows.push_back(std::move(wf).value());
    }
    return out;
}

} // namespace choreo::cli

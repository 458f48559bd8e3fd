// libFuzzer target: the parsers of choreo's command-line option values (demo/cli.hpp), and a
// CLI11 command line built as the programs build theirs.
// Input: one byte choosing the parser (modulo their number; '0'..'7' in the seeds), then the
// value, or for the command line its arguments one per line.
// Properties: what a parser accepts it accepts again written out canonically, and it accepts
// exactly what an independent reading of the documented form accepts.
#include "demo/cli.hpp"
#include "demo/faults.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "fuzz_check.hpp"
#include "patterns/topology.hpp"
#include "registry/builtin.hpp"

namespace {

using namespace choreo;

/// Returns: the value of `text` if it is nothing but decimal digits (leading zeros too) and fits
/// a uint64_t.
std::optional<std::uint64_t> whole_number(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (n > (UINT64_MAX - digit) / 10) {
            return std::nullopt;
        }
        n = n * 10 + digit;
    }
    return n;
}

void durations(std::string_view text) {
    const auto d = cli::parse_duration(text);
    if (!d) {
        return;
    }
    CHOREO_FUZZ_CHECK(d->count() >= 0 && d->count() <= 10'000'000'000,
                      "a duration is from 0 to 10 s");
    CHOREO_FUZZ_CHECK(cli::parse_duration(fmt::format("{}ns", d->count())) == d,
                      "a duration written in ns reads back equal");
}

void counts(std::string_view text) {
    constexpr std::size_t low = 1, high = 1'000'000'000;
    const auto error = cli::count_error(text, "workflows", low, high);
    const auto n = whole_number(text);
    CHOREO_FUZZ_CHECK(error.empty() == (n && *n >= low && *n <= high),
                      "a count is a whole number in range");
    CHOREO_FUZZ_CHECK(!error.empty() ||
                          cli::count_error(std::to_string(*n), "workflows", low, high).empty(),
                      "an accepted count written out is accepted");
}

void retain_finished(std::string_view text) {
    const auto error = cli::retain_finished_error(text);
    const auto n = whole_number(text);
    CHOREO_FUZZ_CHECK(error.empty() == (n && *n >= 1), "--retain-finished is N >= 1");
}

void workflow_names(std::string_view text) {
    std::string value(text);
    const auto validated = cli::workflow_name()(value);
    const auto wf = builtin_workflows().find(text);
    CHOREO_FUZZ_CHECK(validated.empty() == wf.ok(), "the validator accepts what find() finds");
    if (!wf) {
        return;
    }
    const auto again = builtin_workflows().find(wf.value().name);
    CHOREO_FUZZ_CHECK(again.ok() && again.value().name == wf.value().name,
                      "a workflow is found again by its name");
    const auto scenarios = module_of(wf.value()).scenarios(wf.value());
    CHOREO_FUZZ_CHECK(!scenarios.empty(), "a workflow has a scenario");
    for (const auto& s : scenarios) {
        CHOREO_FUZZ_CHECK(!cli::scenario_error(wf.value(), s), "its scenarios are accepted");
    }
}

void scenario_names(std::string_view text) {
    for (const auto* name : {"order", "chain:3", "chain:4:2"}) {
        const auto wf = builtin_workflows().find(name).value();
        const auto valid = module_of(wf).scenarios(wf);
        const bool listed = std::find(valid.begin(), valid.end(), text) != valid.end();
        CHOREO_FUZZ_CHECK(!cli::scenario_error(wf, text) == listed,
                          "a scenario is accepted if its module lists it");
    }
}

void sweeps(std::string_view text) {
    const auto swept = cli::parse_sweep(text);
    if (swept.refused) {
        return;
    }
    std::string names;
    for (const auto& wf : swept.workflows) {
        names += (names.empty() ? "" : ",") + wf.name;
    }
    const auto again = cli::parse_sweep(names);
    CHOREO_FUZZ_CHECK(!again.refused && again.workflows.size() == swept.workflows.size(),
                      "a sweep written with the workflows' names reads back");
    for (std::size_t k = 0; k < swept.workflows.size(); ++k) {
        CHOREO_FUZZ_CHECK(again.workflows[k].name == swept.workflows[k].name,
                          "a sweep reads back in order");
    }
}

void names(std::string_view text) {
    if (const auto t = transport_by_name(text)) {
        CHOREO_FUZZ_CHECK(to_string(*t) == text, "a transport is found by its name");
    }
    if (const auto* p = builtin_patterns().find(text)) {
        CHOREO_FUZZ_CHECK(p->name() == text, "a pattern is found by its name");
    }
}

/// --fault specs (selector 6, beside the names: a fault names a node).
void faults(std::string_view text) {
    const auto parsed = demo::parse_fault(text);
    CHOREO_FUZZ_CHECK(parsed.value.has_value() == parsed.error.empty(),
                      "a spec is read or refused with a reason");
    if (!parsed.value) {
        return;
    }
    const auto& f = *parsed.value;
    CHOREO_FUZZ_CHECK(f.kind == demo::fault_kind::drop || !f.service.empty(),
                      "a fault other than drop names a node");
    CHOREO_FUZZ_CHECK(!f.is_process_fault() || f.after >= 1, "a kill or pause needs N >= 1");
    CHOREO_FUZZ_CHECK(f.probability >= 0 && f.probability < 1, "a drop's P is in [0, 1)");
    const auto again = demo::parse_fault(f.text());
    CHOREO_FUZZ_CHECK(again.value && *again.value == f, "a fault written out reads back equal");
}

/// The options of choreo-bench and choreo-ctl with their validators, built once (CLI11 takes
/// a while to build an app) and cleared before each parse.
class command {
public:
    command() {
        auto patterns = builtin_patterns().names();
        patterns.push_back("all");
        app_.add_option("--pattern", v_.pattern_name)->check(CLI::IsMember(patterns));
        app_.add_option("--workflow", v_.workflow_name)->check(cli::workflow_name());
        app_.add_option("--workflows", v_.workflows)
            ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
        app_.add_option("--transport", v_.transport_name)
            ->check(CLI::IsMember({"inproc", "ipc", "tcp"}));
        app_.add_option("--link-delay", v_.delay_text);
        app_.add_option("--sweep", v_.sweep_text);
        app_.add_option("--scenario", v_.scenario_name);
        app_.add_option("--seed", v_.seed);
        auto* soak = app_.add_option("--soak", v_.soak)->check(cli::count_of("workflows", 1, 1000));
        app_.add_option("--soak-every", v_.soak_every)
            ->check(cli::count_of("workflows", 1, 1000))
            ->needs(soak);
        cli::add_retain_finished(app_, v_.retain, "");
        app_.add_flag("--json", v_.json);
        demo::add_faults(app_, v_.faults, "");
        app_.add_subcommand("place")
            ->add_option("--timeout", v_.timeout)
            ->check(CLI::Range(1, 3600));
        app_.add_subcommand("status")->add_option("id", v_.id)->required();
    }

    /// Parses `text`'s lines as the arguments, then checks what the programs check after.
    void run(std::string_view text) {
        v_ = {}; // the defaults again: CLI11 keeps what the last parse stored
        app_.clear();
        std::vector<std::string> args; // CLI11 takes them last first
        std::size_t from = 0;
        while (from < text.size() && args.size() < 64) {
            const auto end = std::min(text.find('\n', from), text.size());
            args.emplace_back(text.substr(from, end - from));
            from = end + 1;
        }
        std::reverse(args.begin(), args.end());
        try {
            app_.parse(args);
        } catch (const CLI::ParseError&) {
            return; // what the programs print and exit 2 on
        }
        CHOREO_FUZZ_CHECK(v_.retain >= 1 && v_.soak <= 1000, "validated values hold");
        CHOREO_FUZZ_CHECK(v_.workflows >= 1 && v_.workflows <= 10'000'000, "ranged values hold");
        static_cast<void>(cli::parse_duration(v_.delay_text));
        static_cast<void>(cli::parse_sweep(v_.sweep_text));
        const auto wf = builtin_workflows().find(v_.workflow_name);
        CHOREO_FUZZ_CHECK(wf.ok(), "a validated workflow is found");
        static_cast<void>(cli::scenario_error(wf.value(), v_.scenario_name));
        const auto plan = demo::parse_faults(v_.faults);
        CHOREO_FUZZ_CHECK(plan.error.empty(), "validated faults parse");
        static_cast<void>(demo::plan_error(plan.plan, {"payment", "email"}));
    }

private:
    struct values {
        std::string pattern_name = "all", workflow_name = "order", delay_text = "0", sweep_text,
                    transport_name = "inproc", scenario_name, id;
        std::size_t workflows = 1, soak = 0, soak_every = 1, retain = 1;
        std::uint64_t seed = 42;
        std::vector<std::string> faults;
        int timeout = 30;
        bool json = false;
    };
    values v_;
    CLI::App app_{"fuzz"};
};

void command_line(std::string_view text) {
    static command c;
    c.run(text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const auto value = fuzz::text_of(data + 1, size - 1);
    switch (data[0] % 8) {
    case 0:
        durations(value);
        break;
    case 1:
        counts(value);
        break;
    case 2:
        retain_finished(value);
        break;
    case 3:
        workflow_names(value);
        break;
    case 4:
        scenario_names(value);
        break;
    case 5:
        sweeps(value);
        break;
    case 6:
        names(value);
        faults(value);
        break;
    default:
        command_line(value);
        break;
    }
    return 0;
}

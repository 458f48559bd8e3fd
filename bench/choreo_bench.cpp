// choreo-bench: the network overhead of each pattern, against the transport's physical limit.
#include <charconv>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench/report.hpp"
#include "bench/workload.hpp"
#include "demo/cli.hpp"
#include "demo/spawn.hpp"
#include "patterns/log.hpp"
#include "registry/builtin.hpp"

namespace {

using namespace choreo;

/// "200us", "1ms", "0" -> nanoseconds; nullopt if malformed.
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text) {
    double value = 0;
    const auto* end = text.data() + text.size();
    const auto [rest, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || value < 0) {
        return std::nullopt;
    }
    const std::string unit(rest, end);
    const double scale = unit == "ns"                   ? 1
                         : unit == "us" || unit == "µs" ? 1e3
                         : unit == "ms"                 ? 1e6
                         : unit == "s"                  ? 1e9
                         : unit.empty() && value == 0   ? 1
                                                        : -1;
    if (scale < 0 || value * scale > 10e9) {
        return std::nullopt;
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(value * scale));
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"choreo-bench: runs the same seeded workload under every pattern and reports "
                 "messages, bytes, latency, throughput and status-query cost, each against the "
                 "transport floor measured in the same run."};
    std::string pattern_name = "all", scenario_name = "all", transport_name = "inproc",
                workflow_name = "order", delay_text = "0", sweep_text, plot_dir, csv_path;
    bench::run_config base;
    bool json = false, csv = false;
    auto patterns = builtin_patterns().names();
    patterns.push_back("all");
    auto scenarios = scenario_names();
    scenarios.push_back("all");
    app.add_option("--pattern", pattern_name, "pattern, or all")
        ->check(CLI::IsMember(patterns))
        ->capture_default_str();
    app.add_option("--scenario", scenario_name,
                   "scenario, or all (happy, payment_rejected, back_order, mixed)")
        ->check(CLI::IsMember(scenarios))
        ->capture_default_str();
    app.add_option("--workflows", base.workflows, "measured workflows per run")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
        ->capture_default_str();
    app.add_option("--warmup", base.warm_up, "workflows run before the clock starts")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}))
        ->capture_default_str();
    app.add_option("--inflight", base.inflight, "workflows kept in flight")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))
        ->capture_default_str();
    app.add_option("--queries", base.status_queries, "status queries issued during each run")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}))
        ->capture_default_str();
    app.add_option("--seed", base.seed)->capture_default_str();
    app.add_option("--floor-messages", base.floor_messages,
                   "messages streamed to measure the floor's rate (round trips: 1/50 of it)")
        ->check(CLI::Range(std::size_t{1'000}, std::size_t{100'000'000}))
        ->capture_default_str();
    app.add_option("--transport", transport_name)
        ->check(CLI::IsMember({"inproc", "ipc", "tcp"}))
        ->capture_default_str();
    app.add_flag("--spawn", base.spawn, "one process per service (tcp unless --transport ipc)");
    app.add_option("--workflow", workflow_name, "order or chain:N")
        ->check(cli::workflow_name())
        ->capture_default_str();
    app.add_option("--sweep", sweep_text, "chain lengths to sweep, e.g. 2,4,8,16,32");
    app.add_option("--link-delay", delay_text,
                   "simulated delay per message sent, e.g. 200us, 1ms (0: none)")
        ->capture_default_str();
    app.add_flag("--json", json, "print JSON instead of the table");
    app.add_flag("--csv", csv, "print CSV instead of the table");
    app.add_option("--csv-file", csv_path, "also write CSV to this file");
    app.add_option("--plot", plot_dir, "write SVG charts (gnuplot) to this folder");
    if (const auto status = cli::parse(app, argc, argv)) {
        return *status;
    }
    const auto delay = parse_duration(delay_text);
    if (!delay) {
        std::cerr << "--link-delay: '" << delay_text
                  << "' is not a duration; valid: 0 or a number with ns, us, ms or s\n";
        return 2;
    }
    base.link_delay = *delay;
    base.via = *transport_by_name(transport_name);
    if (base.spawn && base.via == transport::inproc) {
        base.via = transport::tcp;
    }
    std::vector<std::string> workflows{workflow_name};
    if (!sweep_text.empty()) {
        workflows.clear();
        std::stringstream ss(sweep_text);
        for (std::string n; std::getline(ss, n, ',');) {
            if (!workflow_by_name("chain:" + n)) {
                std::cerr << "--sweep: '" << n << "' is not a chain length between 1 and 1024\n";
                return 2;
            }
            workflows.push_back("chain:" + n);
        }
    }
    std::vector<scenario> mixes;
    if (scenario_name == "all") {
        mixes = {scenario::happy, scenario::payment_rejected, scenario::back_order,
                 scenario::mixed};
    } else {
        mixes = {*scenario_by_name(scenario_name)};
    }
    if (base.spawn) {
        demo::stop_children_on_interrupt();
    }

    std::vector<bench::run_result> runs;
    bool healthy = true;
    try {
        for (const auto& wf : workflows) {
            // chain:N has no error paths: one scenario is enough
            const auto wf_mixes = wf == "order" ? mixes : std::vector<scenario>{scenario::happy};
            for (const auto& p : builtin_patterns().all()) {
                if (pattern_name != "all" && p->name() != pattern_name) {
                    continue;
                }
                for (auto mix : wf_mixes) {
                    auto c = base;
                    c.pattern_used = p.get();
                    c.workflow = wf;
                    c.mix = mix;
                    runs.push_back(bench::run_workload(c));
                    const auto& r = runs.back();
                    healthy = healthy && r.lost == 0 && r.wrong == 0;
                    std::cerr << fmt::format("  {} {} {}: {} workflows, p50 {:.1f} us, {:.0f}/s\n",
                                             p->name(), wf, to_string(mix), r.completed,
                                             r.e2e_us.p50, r.workflows_per_s);
                }
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "choreo-bench: " << e.what() << "\n";
        return 1;
    }
    if (json) {
        std::cout << bench::to_json(runs).dump(2) << "\n";
    } else if (csv) {
        bench::write_csv(std::cout, runs);
    } else {
        bench::print_table(std::cout, runs);
    }
    if (!csv_path.empty()) {
        std::ofstream out(csv_path);
        bench::write_csv(out, runs);
    }
    if (!plot_dir.empty()) {
        const auto svgs = bench::write_plots(plot_dir, runs);
        std::cerr << (svgs.empty()
                          ? fmt::format("plots: data and gnuplot scripts in {} (install "
                                        "gnuplot for SVG)\n",
                                        plot_dir)
                          : fmt::format("plots: {} SVG chart(s) in {}\n", svgs.size(), plot_dir));
    }
    if (!healthy) {
        std::cerr << "choreo-bench: some workflows were lost or ended other than predicted\n";
        return 1;
    }
    return 0;
}

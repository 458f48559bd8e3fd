// choreo-bench: the network overhead of each pattern, against the transport's physical limit.
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include "bench/anatomy.hpp"
#include "bench/durability.hpp"
#include "bench/failure_claims.hpp"
#include "bench/report.hpp"
#include "bench/workload.hpp"
#include "demo/cli.hpp"
#include "demo/faults.hpp"
#include "demo/spawn.hpp"
#include "patterns/log.hpp"
#include "patterns/workflow_module.hpp"
#include "registry/builtin.hpp"

namespace {

using namespace choreo;

/// Returns: the registered patterns `--pattern` selects ("all": every one), in registry order.
std::vector<const pattern*> selected_patterns(const std::string& name) {
    std::vector<const pattern*> out;
    for (const auto& p : builtin_patterns().all()) {
        if (name == "all" || p->name() == name) {
            out.push_back(p.get());
        }
    }
    return out;
}

/// --soak: one soak per selected pattern. Returns: the exit status: 2 for options a soak does
/// not take, 1 if any workflow was lost or not as predicted or the effects differ, else 0 (the
/// memory verdict is printed, not an exit status: memory, like time, belongs to the report).
int run_soaks(const CLI::App& app, bench::run_config base, std::size_t workflows, std::size_t every,
              const std::string& pattern_name, const std::string& scenario_name,
              const std::string& workflow_name, bool json) {
    for (const auto* other :
         {"--sweep", "--csv", "--csv-file", "--plot", "--workflows", "--warmup", "--queries"}) {
        if (app.count(other) > 0) {
            std::cerr << "--soak: " << other << " does not apply to a soak\n";
            return 2;
        }
    }
    if (app.count("--transport") == 0) {
        base.via = transport::ipc;
    } else if (base.via == transport::inproc) {
        std::cerr << "--soak: runs one process per node: --transport ipc or tcp, not inproc\n";
        return 2;
    }
    const auto wf = builtin_workflows().find(workflow_name).value();
    const auto scenario =
        scenario_name == "all" ? module_of(wf).scenarios(wf).back() : scenario_name;
    if (const auto error = cli::scenario_error(wf, scenario)) {
        std::cerr << "--scenario: " << *error << "\n";
        return 2;
    }
    demo::stop_children_on_interrupt();
    std::vector<bench::soak_result> soaks;
    bool healthy = true;
    try {
        for (const auto* p : selected_patterns(pattern_name)) {
            bench::soak_config c;
            c.run = base;
            c.run.pattern_used = p;
            c.run.workflow = wf.name;
            c.run.scenario = scenario;
            c.workflows = workflows;
            c.every = every;
            soaks.push_back(bench::run_soak(c));
            const auto& r = soaks.back();
            healthy = healthy && r.lost == 0 && r.wrong == 0 && r.effects_differing == 0;
        }
    } catch (const std::exception& e) {
        std::cerr << "choreo-bench: " << e.what() << "\n";
        return 1;
    }
    if (json) {
        std::cout << bench::soak_to_json(soaks).dump(2) << "\n";
    } else {
        bench::print_soak_table(std::cout, soaks);
    }
    if (!healthy) {
        std::cerr << "choreo-bench: some workflows were lost or ended other than predicted, or "
                     "their domain effects were not as predicted\n";
        return 1;
    }
    return 0;
}

/// --durability: every configuration of `plan` in memory and durable, then (with --spawn) the
/// recoveries from a kill. Returns: the exit status: 1 if a run lost a workflow without faults
/// or ended one wrongly, else 0.
int run_durability_mode(bench::durability_config config,
                        const std::vector<std::pair<workflow, std::vector<std::string>>>& plan,
                        const std::string& pattern_name, bool json) {
    std::vector<bench::run_result> runs;
    std::vector<bench::recovery_run> recoveries;
    const auto& b = config.base;
    fmt::print(stderr, "durability: {}, {} in flight, stores {}\n",
               b.spawn
                   ? fmt::format("one choreo-node process per node over {}", to_string(b.via))
                   : fmt::format("every node a thread of this process, over {}", to_string(b.via)),
               b.inflight,
               !b.data_dir.empty() ? "under " + b.data_dir
               : b.spawn           ? std::string("in a directory of the run's own")
                                   : std::string("in a temporary directory"));
    try {
        for (const auto& [wf, scenarios] : plan) {
            for (const auto* p : selected_patterns(pattern_name)) {
                for (const auto& scenario : scenarios) {
                    auto c = config;
                    c.base.pattern_used = p;
                    c.base.workflow = wf.name;
                    c.base.scenario = scenario;
                    for (auto& r : bench::run_durability(c)) {
                        std::cerr << fmt::format("  {} {} {} {}: {} workflows, p50 {:.1f} us, "
                                                 "{:.0f}/s\n",
                                                 p->name(), wf.name, scenario,
                                                 bench::storage_label(r.config), r.completed,
                                                 r.e2e_us.p50, r.workflows_per_s);
                        runs.push_back(std::move(r));
                    }
                    if (b.spawn && c.recovery_runs > 0) {
                        for (auto& r : bench::run_recoveries(c, bench::recovery_victims(*p, wf))) {
                            recoveries.push_back(std::move(r));
                        }
                    }
                }
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "choreo-bench: " << e.what() << "\n";
        return 1;
    }
    if (json) {
        std::cout << bench::durability_to_json(runs, recoveries).dump(2) << "\n";
    } else {
        fmt::print(std::cout,
                   "Nodes: {}; {} workflows measured per run after {} of warm-up, {} "
                   "in flight.\n",
                   b.spawn ? fmt::format("one choreo-node process per node ({})", to_string(b.via))
                           : fmt::format("threads of one process ({})", to_string(b.via)),
                   b.workflows, b.warm_up, b.inflight);
        bench::print_durability(std::cout, runs);
        if (!recoveries.empty()) {
            bench::print_recoveries(std::cout, recoveries);
        }
    }
    const bool healthy = std::all_of(runs.begin(), runs.end(), [](const bench::run_result& r) {
        return r.lost == 0 && r.wrong == 0 && r.effects_differing == 0;
    });
    if (!healthy) {
        std::cerr << "choreo-bench: some workflows were lost or ended other than predicted, or "
                     "their domain effects were not as predicted\n";
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"choreo-bench: runs the same seeded workload under every pattern and reports "
                 "messages, bytes, latency, throughput, status-query cost, state and the load of "
                 "the busiest node, each against the transport floor measured in the same run."};
    std::string pattern_name = "all", scenario_name = "all", transport_name = "inproc",
                workflow_name = "order", delay_text = "0", sweep_text, plot_dir, csv_path;
    bench::run_config base;
    bool json = false, csv = false, anatomy = false;
    auto patterns = builtin_patterns().names();
    patterns.push_back("all");
    app.add_option("--pattern", pattern_name, "pattern, or all")
        ->check(CLI::IsMember(patterns))
        ->capture_default_str();
    const auto default_workflow = builtin_workflows().find(workflow_name).value();
    app.add_option(
           "--scenario", scenario_name,
           fmt::format("a scenario of the workflow's module, or all: every one ({}: {})",
                       workflow_name,
                       fmt::join(module_of(default_workflow).scenarios(default_workflow), ", ")))
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
    app.add_flag("--spawn", base.spawn,
                 "one process per node (tcp unless --transport ipc); reports each node's CPU time");
    cli::storage kept;
    cli::add_storage(app, kept,
                     "Without it, --spawn runs keep them in a fresh directory of their own "
                     "(removed at the end) and one-process runs in memory.");
    app.add_option("--workflow", workflow_name, "workflow: " + cli::workflow_forms())
        ->check(cli::workflow_name())
        ->capture_default_str();
    bool curve = false;
    app.add_flag("--curve", curve,
                 "run each configuration twice, without and with CURVE on every socket (tcp "
                 "unless --transport ipc), the floor measured both ways, and print CURVE's cost");
    app.add_option("--sweep", sweep_text,
                   "workflows to run one after another instead of --workflow: chain lengths "
                   "and/or workflow names, e.g. 2,4,8,16,32 or chain:8,chain:8:1,chain:8:2");
    app.add_option("--link-delay", delay_text,
                   "simulated delay per message sent, e.g. 200us, 1ms (0: none)")
        ->capture_default_str();
    app.add_flag("--anatomy", anatomy,
                 "instead of measuring time: run one workflow per pattern and scenario with a "
                 "tap between the nodes, list every message it sent and break the largest of "
                 "each type down by field, with what compact encodings would cost");
    std::size_t soak = 0, soak_every = 100'000;
    auto* soak_option =
        app.add_option("--soak", soak,
                       "run a soak instead: N workflows of the workflow's mix (or --scenario) per "
                       "pattern, one process per node (ipc unless --transport tcp), nodes without "
                       "traces; reports every process's RSS each --soak-every workflows and its "
                       "growth after warm-up (until every retention structure can be full: 11 x "
                       "--retain-finished workflows); flat means <= 10%")
            ->check(cli::count_of("workflows", 1, 1'000'000'000));
    app.add_option("--soak-every", soak_every,
                   "workflows between two soak reports; a last report comes at the end when it "
                   "does not divide --soak")
        ->check(cli::count_of("workflows", 1, 1'000'000'000))
        ->needs(soak_option)
        ->capture_default_str();
    bool durability = false;
    std::string store_sync_name = "both", restart_delay_text = "500ms";
    bench::durability_config durable;
    auto* durability_flag = app.add_flag(
        "--durability", durability,
        "run each configuration in memory and durable (one SQLite database per node), side by "
        "side in one run: latency, wf/s, acks, commits and fsyncs per workflow and the durable "
        "/ in-memory throughput; with --spawn, then the recovery from a kill of payment and of "
        "the entry node (restart to first workflow ended, and to the backlog drained)");
    app.add_option("--store-sync", store_sync_name,
                   "--durability: the durable runs' sync: process (survives a killed process), "
                   "machine (every commit fsynced), or both")
        ->check(CLI::IsMember({"process", "machine", "both"}))
        ->needs(durability_flag)
        ->capture_default_str();
    app.add_option("--recovery-runs", durable.recovery_runs,
                   "--durability --spawn: kills measured per pattern and victim (0: none)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1'000}))
        ->needs(durability_flag)
        ->capture_default_str();
    app.add_option("--restart-delay", restart_delay_text,
                   "--durability --spawn: how long a killed node stays down")
        ->needs(durability_flag)
        ->capture_default_str();
    app.add_flag("--json", json, "print JSON instead of the table");
    app.add_flag("--csv", csv, "print CSV instead of the table");
    app.add_option("--csv-file", csv_path, "also write CSV to this file");
    app.add_option("--plot", plot_dir, "write SVG charts (gnuplot) to this folder");
    std::size_t retain_finished = 0;
    const auto* retain_option = cli::add_retain_finished(
        app, retain_finished,
        fmt::format("Default: the larger of {} and the run's workflows (--warmup + --workflows), "
                    "so that every workflow of a run keeps its per-workflow traffic.",
                    default_retain_finished));
    std::vector<std::string> fault_specs;
    demo::add_faults(app, fault_specs,
                     "kill and pause need --spawn; a kill needs restart=DELAY here (the bench "
                     "gathers its figures from every node). Under faults a run gives up once no "
                     "workflow has ended for 10 s, and lost workflows are reported, not an error.");
    bool failure_claims = false;
    app.add_flag("--failure-claims", failure_claims,
                 "time the failure claims instead (recovery, status queries during an outage, "
                 "stuck workflows found), on choreo-node processes over tcp; --pattern, "
                 "--workflow and --seed apply");
    if (const auto status = cli::parse(app, argc, argv)) {
        return *status;
    }
    if (failure_claims) {
        demo::stop_children_on_interrupt();
        return bench::run_failure_claims(std::cout, selected_patterns(pattern_name),
                                         builtin_workflows().find(workflow_name).value(),
                                         base.seed);
    }
    base.faults = demo::parse_faults(fault_specs).plan; // each checked by the validator
    for (const auto& f : base.faults.faults) {
        if (f.kind == demo::fault_kind::kill && !f.restarts) {
            std::cerr << "choreo-bench: --fault " << f.text()
                      << ": the bench gathers its figures from every node; give restart=DELAY\n";
            return 2;
        }
    }
    if (base.faults.has_process_faults() && !base.spawn) {
        std::cerr << "choreo-bench: --fault kill and pause signal a node's process: they need "
                     "--spawn (one process per node); drop and delay work everywhere\n";
        return 2;
    }
    if (!base.faults.empty()) {
        base.deadline = std::chrono::seconds(10);
    }
    const auto delay = cli::parse_duration(delay_text);
    if (!delay) {
        std::cerr << "--link-delay: '" << delay_text
                  << "' is not a duration; valid: 0 or a number with ns, us, ms or s\n";
        return 2;
    }
    base.link_delay = *delay;
    // A soak is about what a node keeps by default; a measured run keeps all its workflows.
    const auto run_workflows = soak > 0 ? std::size_t{0} : base.warm_up + base.workflows;
    base.retain_finished = retain_option->count() > 0
                               ? retain_finished
                               : std::max(default_retain_finished, run_workflows);
    if (base.retain_finished < run_workflows) {
        std::cerr << "choreo-bench: --retain-finished " << base.retain_finished << " < the run's "
                  << base.warm_up + base.workflows
                  << " workflows: per-workflow figures count only the workflows still kept\n";
    }
    base.via = *transport_by_name(transport_name);
    base.data_dir = kept.data_dir;
    base.in_memory = kept.in_memory;
    if (soak > 0 && !base.faults.empty()) {
        std::cerr << "choreo-bench: --fault is for measured runs, not --soak\n";
        return 2;
    }
    if (soak > 0) {
        return run_soaks(app, base, soak, soak_every, pattern_name, scenario_name, workflow_name,
                         json);
    }
    if ((base.spawn || curve) && base.via == transport::inproc) {
        base.via = transport::tcp;
    }
    if (curve && base.spawn) {
        std::cerr << "--curve: measured in one process; with --spawn, give choreo-node --keys "
                     "(see choreo-ctl keygen)\n";
        return 2;
    }
    std::vector<workflow> workflows;
    if (sweep_text.empty()) {
        workflows.push_back(builtin_workflows().find(workflow_name).value());
    } else {
        auto swept = cli::parse_sweep(sweep_text);
        if (swept.refused) {
            std::cerr << "--sweep: '" << *swept.refused << "' is neither a chain length nor a "
                      << "workflow; valid: " << cli::workflow_forms() << "\n";
            return 2;
        }
        workflows = std::move(swept.workflows);
    }
    // Scenarios belong to the workflow's module: check them for every workflow before running.
    std::vector<std::pair<workflow, std::vector<std::string>>> plan;
    for (auto& wf : workflows) {
        if (scenario_name == "all") {
            auto names = module_of(wf).scenarios(wf);
            plan.emplace_back(std::move(wf), std::move(names));
        } else if (const auto error = cli::scenario_error(wf, scenario_name)) {
            std::cerr << "--scenario: " << *error << "\n";
            return 2;
        } else {
            plan.emplace_back(std::move(wf), std::vector<std::string>{scenario_name});
        }
    }
    if (durability) {
        for (const auto* other :
             {"--curve", "--anatomy", "--in-memory", "--fault", "--csv", "--csv-file", "--plot"}) {
            if (app.count(other) > 0) {
                std::cerr << "--durability: " << other << " does not apply (it runs each "
                          << "configuration in memory and durable, and makes its own kills)\n";
                return 2;
            }
        }
        const auto restart = cli::parse_duration(restart_delay_text);
        if (!restart || *restart > std::chrono::seconds(10)) {
            std::cerr << "--restart-delay: '" << restart_delay_text
                      << "' is not a duration up to 10 s; valid: a number with ns, us, ms or s\n";
            return 2;
        }
        durable.restart_delay = std::chrono::duration_cast<std::chrono::milliseconds>(*restart);
        durable.base = base;
        durable.syncs = store_sync_name == "both"
                            ? std::vector{store_sync::process_crash, store_sync::machine_crash}
                        : store_sync_name == "machine" ? std::vector{store_sync::machine_crash}
                                                       : std::vector{store_sync::process_crash};
        if (base.spawn) {
            demo::stop_children_on_interrupt();
        }
        return run_durability_mode(durable, plan, pattern_name, json);
    }
    if (anatomy) {
        try {
            for (const auto& [wf, scenarios] : plan) {
                for (const auto* p : selected_patterns(pattern_name)) {
                    for (const auto& scenario : scenarios) {
                        const auto seen = bench::tap_one_workflow(*p, wf, scenario, base.seed,
                                                                  std::chrono::seconds(10));
                        bench::print_anatomy(std::cout, *p, wf, scenario, seen);
                    }
                }
            }
        } catch (const std::exception& e) {
            std::cerr << "choreo-bench: " << e.what() << "\n";
            return 1;
        }
        return 0;
    }
    for (const auto& [wf, scenarios] : plan) {
        for (const auto* p : selected_patterns(pattern_name)) {
            if (const auto error = demo::plan_error(base.faults, p->nodes(wf))) {
                std::cerr << "choreo-bench: --fault " << *error << " (under " << p->name() << ", "
                          << wf.name << ")\n";
                return 2;
            }
        }
    }
    if (base.spawn) {
        demo::stop_children_on_interrupt();
    }

    std::vector<bench::run_result> runs;
    bool healthy = true;
    try {
        for (const auto& [wf, scenarios] : plan) {
            for (const auto* p : selected_patterns(pattern_name)) {
                for (const auto& scenario : scenarios) {
                    for (const bool with_curve :
                         curve ? std::vector{false, true} : std::vector{false}) {
                        auto c = base;
                        c.pattern_used = p;
                        c.workflow = wf.name;
                        c.scenario = scenario;
                        c.curve = with_curve;
                        runs.push_back(bench::run_workload(c));
                        const auto& r = runs.back();
                        // Under faults, lost workflows (and the effects they never had) are
                        // the finding, reported below; a wrong end is still an error.
                        healthy = healthy && r.wrong == 0 &&
                                  (!c.faults.empty() || (r.lost == 0 && r.effects_differing == 0));
                        for (const auto& e : r.fault_events) {
                            std::cerr << "    fault: " << e << "\n";
                        }
                        if (!c.faults.empty()) {
                            std::cerr << fmt::format(
                                "    under faults: placed {}, ended {}, not ended {}; "
                                "inter-service sends dropped by a fault {}\n",
                                r.completed + r.lost, r.completed, r.lost, r.dropped_by_fault);
                        }
                        std::cerr << fmt::format(
                            "  {} {} {}{}: {} workflows, p50 {:.1f} us, {:.0f}/s, busiest {} "
                            "({:.1f} msg/wf)\n",
                            p->name(), wf.name, scenario, with_curve ? " (CURVE)" : "", r.completed,
                            r.e2e_us.p50, r.workflows_per_s, r.busiest_node,
                            r.busiest_messages_per_workflow);
                    }
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
        bench::print_curve_cost(std::cout, runs);
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
        std::cerr << "choreo-bench: some workflows were lost or ended other than predicted, or "
                     "their domain effects were not as predicted\n";
        return 1;
    }
    return 0;
}

// choreo-demo: runs the state-management patterns on the same seeded workflows and shows what
// flows.
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "demo/claims.hpp"
#include "demo/cli.hpp"
#include "demo/failure_claims.hpp"
#include "demo/fault_run.hpp"
#include "demo/faults.hpp"
#include "demo/spawn.hpp"
#include "demo/table_11_8.hpp"
#include "demo/text.hpp"
#include "demo/tour.hpp"
#include "patterns/log.hpp"
#include "patterns/remote_deployment.hpp"
#include "registry/builtin.hpp"

namespace {

using namespace choreo;

/// CLI11 validators that name the valid choices in their message.
CLI::Validator one_of(const std::vector<std::string>& choices, const std::string& what) {
    return CLI::Validator(
        [choices, what](std::string& value) -> std::string {
            if (std::find(choices.begin(), choices.end(), value) != choices.end()) {
                return {};
            }
            return fmt::format("unknown {} '{}'; valid: {}", what, value, fmt::join(choices, ", "));
        },
        fmt::format("{{{}}}", fmt::join(choices, ",")));
}

/// What each node keeps: --retain-finished and --retain-early.
struct retention {
    std::size_t finished = default_retain_finished;
    std::size_t early = default_retain_early;
    /// Sets them in `o`.
    void apply(node_options& o) const {
        o.retain_finished = finished;
        o.retain_early = early;
    }
};

/// Runs `run(d, children)` on one choreo-node process per node of `p`, once every node answers.
/// Throws: std::runtime_error naming the nodes that did not answer within 10 s.
template <class Run>
void on_spawned(const pattern& p, const workflow& wf, const demo::tour_options& o,
                const retention& kept_for, const demo::fault_plan& faults, const cli::storage& kept,
                Run&& run) {
    auto node_args = cli::spawned_storage(kept, std::string(p.name()));
    node_args.insert(node_args.end(), {"--retain-early", std::to_string(kept_for.early)});
    demo::spawned_services children(demo::sibling_binary("choreo-node"), p, wf, o.via, {"client"},
                                    {}, kept_for.finished, std::move(node_args), faults, o.seed);
    std::cerr << "choreo-demo: " << p.name() << ": "
              << (children.data_dir().empty()
                      ? std::string("nodes in memory")
                      : "stores in " + children.data_dir().string() +
                            (kept.data_dir.empty() ? " (removed at the end)" : ""))
              << "\n";
    remote_options ropt;
    ropt.node.retain_finished = kept_for.finished;
    ropt.node.retain_early = kept_for.early;
    remote_deployment d(p, wf, children.where(), ropt);
    children.share(d.where());
    if (const auto silent = d.wait_ready(std::chrono::seconds(10)); !silent.empty()) {
        throw std::runtime_error(fmt::format("no answer from {}", fmt::join(silent, ", ")));
    }
    run(d, children);
}

/// Returns: the data directory of a one-process run of `p`: none unless --data-dir was given.
std::filesystem::path local_storage(const cli::storage& kept, const pattern& p) {
    if (kept.data_dir.empty()) {
        return {};
    }
    auto dir = cli::fresh_directory(kept.data_dir, std::string(p.name()));
    std::cerr << "choreo-demo: " << p.name() << ": stores in " << dir.string() << "\n";
    return dir;
}

/// choreo-demo --fault: each chosen pattern's batch under the faults. Returns: the exit status,
/// 0 whatever was lost (a finding, shown), 1 if a run could not be made.
int run_faulted(const std::vector<const pattern*>& chosen, const workflow& wf,
                const demo::tour_options& o, const demo::fault_plan& faults, bool spawn,
                const retention& kept_for, const cli::storage& kept) {
    try {
        if (spawn) {
            demo::stop_children_on_interrupt();
        }
        for (const auto* p : chosen) {
            if (spawn) {
                on_spawned(*p, wf, o, kept_for, faults, kept,
                           [&](remote_deployment& d, demo::spawned_services& children) {
                               demo::print_fault_run(
                                   std::cout, demo::run_with_faults(d, o, faults, &children));
                           });
            } else {
                deployment_options dopt;
                dopt.via = o.via;
                kept_for.apply(dopt.node);
                dopt.node.data_dir = local_storage(kept, *p);
                local_deployment d(*p, wf, faults.local_options(dopt, o.seed));
                demo::print_fault_run(std::cout, demo::run_with_faults(d, o, faults, nullptr));
            }
        }
        return 0;
    } catch (const std::exception& e) {
        log().error("choreo-demo: {}", e.what());
        std::cerr << "choreo-demo: " << e.what() << "\n";
        return 1;
    }
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{fmt::format(
        "choreo-demo: the ways a distributed workflow keeps its state ({}), run side by side "
        "on the same seeded workflows, every figure counted at the transport.",
        fmt::join(builtin_patterns().names(), ", "))};
    std::string pattern_name = "all", transport_name = "inproc";
    demo::tour_options o;
    bool json = false;
    std::string report_dir;
    auto patterns = builtin_patterns().names();
    patterns.push_back("all");
    app.add_option("--pattern", pattern_name, "pattern to run, or all")
        ->check(one_of(patterns, "pattern"))
        ->capture_default_str();
    app.add_option("--scenario", o.scenario,
                   "scenario of the batch, from the workflow's module (default: its mix of every "
                   "scenario, \"mixed\")");
    app.add_option("--orders,--workflows", o.orders, "workflows in the batch (1..1000000)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
        ->capture_default_str();
    app.add_option("--seed", o.seed, "seed of the workload generator (and of --fault drop:P)")
        ->capture_default_str();
    app.add_option("--workflow", o.workflow, "workflow: " + cli::workflow_forms())
        ->check(cli::workflow_name())
        ->capture_default_str();
    app.add_option("--transport", transport_name, "transport between the nodes")
        ->check(one_of({"inproc", "ipc", "tcp"}, "transport"))
        ->capture_default_str();
    bool spawn = false;
    app.add_flag("--spawn", spawn,
                 "run every node as its own choreo-node process (tcp unless --transport ipc)");
    app.add_flag("--json", json, "print a machine-readable summary instead of the tour");
    app.add_option("--report", report_dir,
                   "write a Markdown report with Mermaid and Graphviz diagrams to this folder");
    retention kept_for;
    cli::add_retain_finished(app, kept_for.finished,
                             "Applies to the nodes of the tours (the claims' own runs keep the "
                             "default).")
        ->capture_default_str();
    cli::add_retain_early(app, kept_for.early);
    std::vector<std::string> fault_specs;
    demo::add_faults(app, fault_specs,
                     "kill and pause need --spawn. With faults, the demo runs the batch under "
                     "them instead of the tour, and prints per pattern what each fault did and "
                     "how many workflows were placed, ended, and did not end.");
    cli::storage kept;
    cli::add_storage(app, kept,
                     "Without it, --spawn runs keep them in a fresh directory of their own "
                     "(removed at the end) and one-process runs in memory.");
    bool failure_claims = false;
    app.add_flag("--failure-claims", failure_claims,
                 "measure the chapter's failure claims instead of the tour: recoverability, fault "
                 "tolerance, stuck workflows and status queries during an outage, on choreo-node "
                 "processes over tcp (about 10 s per pattern; --pattern and --seed apply)");
    if (const auto status = cli::parse(app, argc, argv)) {
        return *status;
    }
    const auto wf = builtin_workflows().find(o.workflow).value();
    if (!o.scenario.empty()) {
        if (const auto error = cli::scenario_error(wf, o.scenario)) {
            std::cerr << "choreo-demo: " << *error << "\n";
            return 2;
        }
    }
    const auto faults = demo::parse_faults(fault_specs).plan; // each checked by the validator
    if (!faults.empty() && (json || !report_dir.empty())) {
        std::cerr << "choreo-demo: --fault runs print what each fault did as text; --json and "
                     "--report are for the tour\n";
        return 2;
    }
    if (faults.has_process_faults() && !spawn) {
        std::cerr << "choreo-demo: --fault kill and pause signal a node's process: they need "
                     "--spawn (one process per node); drop and delay work everywhere\n";
        return 2;
    }
    o.via = *transport_by_name(transport_name);
    if (spawn && o.via == transport::inproc) {
        o.via = transport::tcp; // separate processes cannot share inproc
    }

    std::vector<const pattern*> chosen;
    for (const auto& p : builtin_patterns().all()) {
        if (pattern_name == "all" || p->name() == pattern_name) {
            chosen.push_back(p.get());
        }
    }
    for (const auto* p : chosen) {
        if (const auto error = demo::plan_error(faults, p->nodes(wf))) {
            std::cerr << "choreo-demo: --fault " << *error << " (under " << p->name() << ")\n";
            return 2;
        }
    }
    if (failure_claims) {
        if (!faults.empty() || json || !report_dir.empty()) {
            std::cerr << "choreo-demo: --failure-claims makes its own faults and prints text; "
                         "--fault, --json and --report do not apply\n";
            return 2;
        }
        try {
            demo::stop_children_on_interrupt();
            demo::failure_claims_options fo;
            fo.node_binary = demo::sibling_binary("choreo-node");
            fo.seed = o.seed;
            demo::print_failure_claims(std::cout, demo::measure_failure_claims(chosen, wf, fo), fo);
            return 0;
        } catch (const std::exception& e) {
            std::cerr << "choreo-demo: " << e.what() << "\n";
            return 1;
        }
    }
    if (!faults.empty()) {
        return run_faulted(chosen, wf, o, faults, spawn, kept_for, kept);
    }
    try {
        std::vector<demo::tour> tours;
        if (spawn) {
            demo::stop_children_on_interrupt();
        }
        for (const auto* p : chosen) {
            if (spawn) {
                on_spawned(*p, wf, o, kept_for, {}, kept,
                           [&](remote_deployment& d, demo::spawned_services&) {
                               tours.push_back(demo::run_tour(d, *p, o));
                           });
            } else {
                deployment_options dopt;
                dopt.via = o.via;
                dopt.keep_trace = true;
                kept_for.apply(dopt.node);
                dopt.node.data_dir = local_storage(kept, *p);
                local_deployment d(*p, wf, dopt);
                tours.push_back(demo::run_tour(d, *p, o));
            }
            if (!json) {
                demo::print_tour(std::cout, tours.back(), o);
            }
        }
        const auto measured = demo::measure_for_claims(chosen, o);
        const auto claims = demo::judge_claims(tours, measured);
        std::optional<demo::table_11_8> table;
        if (wf.name == "ticket") {
            // The chapter's own case study: Table 11-8 and its ADR, from this run.
            demo::lost_tickets_options control;
            control.seed = o.seed;
            control.node_binary = demo::sibling_binary("choreo-node");
            table = demo::measure_table_11_8(chosen, tours, o, control);
        }
        if (json) {
            auto j = demo::to_json(tours, claims, measured, o);
            if (table) {
                j["table_11_8"] = demo::to_json(*table);
            }
            std::cout << j.dump(2) << "\n";
        } else {
            demo::print_comparison(std::cout, tours);
            if (!claims.empty()) {
                demo::print_claims(std::cout, claims);
            }
            if (table) {
                demo::print_table_11_8(std::cout, *table);
            }
            std::cout << "\nThe failure claims (recoverability, fault tolerance, stuck workflows, "
                         "status during an outage): choreo-demo --failure-claims\n";
        }
        if (!report_dir.empty()) {
            auto files = demo::write_report(report_dir, tours, claims, measured, o);
            if (table) {
                files.push_back(demo::write_table_11_8(report_dir, *table));
            }
            const std::size_t diagrams = files.size() - 1 - (table ? 1 : 0);
            (json ? std::cerr : std::cout)
                << "\nreport written: " << files.front().string() << " (+" << diagrams
                << (table ? " diagram files, table_11_8.md)\n" : " diagram files)\n");
        }
        bool healthy = true;
        for (const auto& t : tours) {
            healthy = healthy && t.as_predicted();
        }
        // A claim not held is a finding the output shows, not a failure of the run.
        return healthy ? 0 : 1;
    } catch (const std::exception& e) {
        log().error("choreo-demo: {}", e.what());
        std::cerr << "choreo-demo: " << e.what() << "\n";
        return 1;
    }
}

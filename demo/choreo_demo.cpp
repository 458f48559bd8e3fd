// choreo-demo: runs the state-management patterns on the same seeded orders and shows what flows.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "demo/claims.hpp"
#include "demo/cli.hpp"
#include "demo/spawn.hpp"
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

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"choreo-demo: three ways a choreographed workflow keeps its state (front "
                 "controller, stateless choreography, stamp coupling), run side by side on the "
                 "same seeded orders, every figure counted at the transport."};
    std::string pattern_name = "all", scenario_name = "mixed", transport_name = "inproc";
    demo::tour_options o;
    bool json = false;
    std::string report_dir;
    auto patterns = builtin_patterns().names();
    patterns.push_back("all");
    app.add_option("--pattern", pattern_name, "pattern to run, or all")
        ->check(one_of(patterns, "pattern"))
        ->capture_default_str();
    app.add_option("--scenario", scenario_name, "scenario mix of the batch")
        ->check(one_of(scenario_names(), "scenario"))
        ->capture_default_str();
    app.add_option("--orders", o.orders, "orders in the batch (1..1000000)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
        ->capture_default_str();
    app.add_option("--seed", o.seed, "seed of the order generator")->capture_default_str();
    app.add_option("--workflow", o.workflow, "workflow: order or chain:N")
        ->check(cli::workflow_name())
        ->capture_default_str();
    app.add_option("--transport", transport_name, "transport between the nodes")
        ->check(one_of({"inproc", "ipc", "tcp"}, "transport"))
        ->capture_default_str();
    bool spawn = false;
    app.add_flag("--spawn", spawn,
                 "run every service as its own choreo-node process (tcp unless --transport ipc)");
    app.add_flag("--json", json, "print a machine-readable summary instead of the tour");
    app.add_option("--report", report_dir,
                   "write a Markdown report with Mermaid and Graphviz diagrams to this folder");
    if (const auto status = cli::parse(app, argc, argv)) {
        return *status;
    }
    o.mix = *scenario_by_name(scenario_name);
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
    try {
        std::vector<demo::tour> tours;
        const auto wf = workflow_by_name(o.workflow).value();
        if (spawn) {
            demo::stop_children_on_interrupt();
        }
        for (const auto* p : chosen) {
            if (spawn) {
                demo::spawned_services children(demo::sibling_binary("choreo-node"), *p, wf, o.via);
                remote_deployment d(*p, wf, children.where());
                if (const auto silent = d.wait_ready(std::chrono::seconds(10)); !silent.empty()) {
                    throw std::runtime_error(
                        fmt::format("no answer from {}", fmt::join(silent, ", ")));
                }
                tours.push_back(demo::run_tour(d, *p, o));
            } else {
                deployment_options dopt;
                dopt.via = o.via;
                dopt.keep_trace = true;
                local_deployment d(*p, wf, dopt);
                tours.push_back(demo::run_tour(d, *p, o));
            }
            if (!json) {
                demo::print_tour(std::cout, tours.back(), o);
            }
        }
        std::vector<demo::claim_verdict> claims;
        if (tours.size() > 1) {
            demo::stamp_growth growth;
            for (std::size_t n : {2U, 8U, 32U}) {
                growth.lengths.push_back(n);
                growth.bytes_by_hop.push_back(
                    demo::bytes_by_hop(*builtin_patterns().find("stamp_coupling"), n, o));
            }
            claims = demo::judge_claims(tours, growth);
        }
        if (json) {
            std::cout << demo::to_json(tours, claims, o).dump(2) << "\n";
        } else {
            demo::print_comparison(std::cout, tours);
            if (!claims.empty()) {
                demo::print_claims(std::cout, claims);
            }
        }
        if (!report_dir.empty()) {
            const auto files = demo::write_report(report_dir, tours, claims, o);
            (json ? std::cerr : std::cout) << "\nreport written: " << files.front().string()
                                           << " (+" << files.size() - 1 << " diagram files)\n";
        }
        bool healthy = true;
        for (const auto& t : tours) {
            healthy = healthy && t.lost == 0 && t.wrong == 0 && t.effects == t.predicted_effects;
        }
        return healthy ? 0 : 1;
    } catch (const std::exception& e) {
        log().error("choreo-demo: {}", e.what());
        std::cerr << "choreo-demo: " << e.what() << "\n";
        return 1;
    }
}

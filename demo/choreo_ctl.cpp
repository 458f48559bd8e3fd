// choreo-ctl: drives a running choreo deployment: place workflows, ask for a workflow's status.
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "demo/cli.hpp"
#include "patterns/clock.hpp"
#include "patterns/drive.hpp"
#include "patterns/remote_deployment.hpp"
#include "patterns/stuck.hpp"
#include "registry/builtin.hpp"

namespace {

using namespace choreo;

int place(remote_deployment& d, const std::string& scenario, std::size_t count, std::uint64_t seed,
          std::chrono::seconds timeout) {
    const auto& module = module_of(d.flow());
    auto generator = module.make_workload(d.flow(), scenario, seed);
    if (!generator) {
        throw std::invalid_argument(*cli::scenario_error(d.flow(), scenario));
    }
    const auto plans = generator.value()->take(count);
    // The events from outside the chain the plans name (an expert's report, a customer's
    // cancel) go with them.
    auto driven = place_and_drive(d.client(), d.flow(), plans, timeout);
    const auto ids = std::move(driven.ids);
    for (const auto& id : driven.not_waiting) {
        std::cout << fmt::format("  {} interrupted before it was seen waiting\n", id);
    }
    d.client().wait_for(ids, timeout);
    std::map<std::string, std::size_t> ended, predicted;
    std::size_t lost = 0, wrong = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        ++predicted[plans[i].expected_terminal];
        const auto o = d.client().outcome(ids[i]);
        if (!o) {
            ++lost;
            std::cout << fmt::format("  {} did not end within {}s\n", ids[i], timeout.count());
            continue;
        }
        ++ended[o->terminal];
        if (o->terminal != plans[i].expected_terminal) {
            ++wrong;
            std::cout << fmt::format("  {} ended {}, predicted {}\n", ids[i], o->terminal,
                                     plans[i].expected_terminal);
        }
    }
    std::cout << fmt::format("placed {} {} {} workflows ({} .. {})\n", count, scenario,
                             d.flow().name, ids.front(), ids.back());
    for (const auto& [terminal, n] : predicted) {
        std::cout << fmt::format("  {:<18} {:>6} ended, {:>6} predicted\n", terminal,
                                 ended[terminal], n);
    }
    std::cout << (lost + wrong == 0 ? "every workflow ended as predicted\n"
                                    : fmt::format("{} lost, {} not as predicted\n", lost, wrong));
    return lost + wrong == 0 ? 0 : 1;
}

int status(remote_deployment& d, const std::string& id) {
    const auto a = d.client().status(id);
    std::cout << fmt::format("{}: {}\n", id, a.status.found ? a.status.state : "not found");
    for (const auto& r : a.status.steps) {
        std::cout << fmt::format("  {:<16} {:<9} {:<20} {}\n", r.service, r.status, r.outcome,
                                 r.detail);
    }
    for (const auto& r : a.status.notified) {
        std::cout << fmt::format("  {:<16} {:<9} {:<20} {}\n", r.service, r.status, r.outcome,
                                 r.detail);
    }
    std::cout << fmt::format("cost: {} messages, {} bytes, asked {} ({}), answered {}, {:.2f} ms\n",
                             a.cost.messages, a.cost.bytes, a.asked.size(),
                             fmt::join(a.asked, ", "), a.answered.size(),
                             static_cast<double>(a.latency_ns) / 1e6);
    for (const auto& e : a.errors) {
        std::cout << "error: " << e << "\n";
    }
    return a.status.found ? 0 : 1;
}

std::string age(std::int64_t ns) {
    return ns == 0 ? "?" : fmt::format("{:.1f}s", static_cast<double>(ns) / 1e9);
}

int stuck(remote_deployment& d, std::chrono::nanoseconds older_than, std::size_t limit) {
    stuck_query q;
    q.older_than = older_than;
    q.limit = limit;
    const auto r = find_stuck(d.client(), d.used_pattern(), d.flow(), q);
    std::cout << fmt::format("{} workflow(s) with no progress for {}, as {} sees them ({}):\n",
                             r.workflows.size(), age(older_than.count()), d.used_pattern().name(),
                             r.owner ? "asked the owner of the workflow state"
                                     : "asked every service");
    const auto now = now_ns();
    for (const auto& w : r.workflows) {
        auto line = w.last.service.empty()
                        ? fmt::format("  {:<24} {:<11} nothing acted yet", w.workflow_id, w.state)
                        : fmt::format("  {:<24} {:<11} last: step {} {} {} {}, {} ago",
                                      w.workflow_id, w.state, w.last.step, w.last.service,
                                      w.last.status, w.last.outcome, age(w.age_ns));
        if (w.stuck_since_ns != 0) {
            line += fmt::format("; stuck for {}, re-driven {} time(s)", age(now - w.stuck_since_ns),
                                w.redrives);
        }
        std::cout << line << "\n";
    }
    if (r.truncated) {
        std::cout << fmt::format("  (a node had more than {} to list: more may be stuck)\n", limit);
    }
    std::cout << fmt::format("cost: {} messages, {} bytes, asked {} ({})\n", r.messages, r.bytes,
                             r.asked.size(), fmt::join(r.asked, ", "));
    std::cout << "cannot detect:\n";
    for (const auto& b : r.blind_spots) {
        std::cout << "  - " << b << "\n";
    }
    for (const auto& e : r.errors) {
        std::cout << "error: " << e << "\n";
    }
    return r.silent.empty() ? 0 : 1;
}

/// Prints each node's counters, what it holds and its early events evicted, then the domain
/// effects of every node that answered. Returns: 0, or 1 if a node did not answer.
int inspect(remote_deployment& d) {
    msg::domain_effects effects;
    int silent = 0;
    for (const auto& n : d.nodes()) {
        try {
            const auto r = d.inspect(n, 0, 0);
            std::cout << fmt::format(
                "{}: received {} messages ({} bytes), rejected {}, duplicates {}, backlog {}, "
                "unacked {}, resent {}; workflow state {} workflows ({} bytes), domain data {} "
                "bytes; early events evicted {}\n",
                r.node, r.received_messages, r.received_bytes, r.rejected, r.duplicates, r.backlog,
                r.unacked, r.resent, r.state_workflows, r.state_bytes, r.domain_bytes,
                r.early_evicted);
            for (const auto& [key, value] : r.effects) {
                effects[key] += value;
            }
        } catch (const std::runtime_error& e) {
            std::cout << fmt::format("{}: silent ({})\n", n, e.what());
            ++silent;
        }
    }
    std::cout << "effects: " << module_of(d.flow()).describe(effects) << "\n";
    return silent == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"choreo-ctl: drives a running choreo deployment (see choreo-node)."};
    std::string topology_file, pattern_name = "front_controller", workflow_name = "order",
                               me = "client";
    app.add_option("--topology", topology_file, "topology file of the deployment")->required();
    app.add_option("--pattern", pattern_name, "the pattern the services run")
        ->check(CLI::IsMember(builtin_patterns().names()))
        ->capture_default_str();
    app.add_option("--workflow", workflow_name, "workflow: " + cli::workflow_forms())
        ->check(cli::workflow_name())
        ->capture_default_str();
    app.add_option("--as", me, "this client's name in the topology (its inbox is bound there)")
        ->capture_default_str();
    std::string keys;
    bool insecure = false;
    cli::add_security(app, keys, insecure);
    app.require_subcommand(1);

    auto* keygen_cmd = app.add_subcommand(
        "keygen", "write a CURVE key pair for every line of the topology into a directory");
    std::string keys_out;
    keygen_cmd->add_option("--out", keys_out, "directory for NAME.key and NAME.key_secret")
        ->required();

    auto* place_cmd = app.add_subcommand("place", "place seeded workflows and wait for them");
    std::string scenario_name;
    std::size_t count = 10;
    std::uint64_t seed = 42;
    int timeout = 30;
    place_cmd->add_option("--scenario", scenario_name,
                          "a scenario of the workflow's module (default: its mix, \"mixed\")");
    place_cmd->add_option("--count", count)
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
        ->capture_default_str();
    place_cmd->add_option("--seed", seed)->capture_default_str();
    place_cmd->add_option("--timeout", timeout, "seconds to wait for the workflows to end")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();

    auto* status_cmd = app.add_subcommand("status", "ask for a workflow's status");
    std::string id;
    status_cmd->add_option("id", id, "workflow id")->required();
    auto* stuck_cmd = app.add_subcommand(
        "stuck", "list the workflows with no progress, as the pattern allows (and what it cannot "
                 "see)");
    std::string older_than = "5s";
    std::size_t stuck_limit = 100;
    stuck_cmd
        ->add_option("--older-than", older_than,
                     "no progress for this long, e.g. 500ms or 5s (at most 10s)")
        ->check([](const std::string& text) {
            return cli::parse_duration(text) ? std::string()
                                             : "expected a duration such as 500ms or 5s, at "
                                               "most 10s, not '" +
                                                   text + "'";
        })
        ->capture_default_str();
    stuck_cmd
        ->add_option("--limit", stuck_limit,
                     "the most workflows one node lists (each reply stays this small)")
        ->check(CLI::Range(std::size_t{1}, max_stuck_entries))
        ->capture_default_str();
    auto* inspect_cmd = app.add_subcommand(
        "inspect", "print every node's counters, the state it holds and its early events evicted "
                   "(an operator's request: with --keys, this client's line must be one)");
    if (const auto status = cli::parse(app, argc, argv)) {
        return *status;
    }
    auto wf = builtin_workflows().find(workflow_name).value();
    if (scenario_name.empty()) {
        scenario_name = module_of(wf).scenarios(wf).back(); // the mix of every scenario
    }
    if (const auto error = cli::scenario_error(wf, scenario_name); error && *place_cmd) {
        std::cerr << "choreo-ctl: " << *error << "\n";
        return 2;
    }
    try {
        auto where = topology::load(topology_file);
        if (*keygen_cmd) {
            keys_dir::generate(where, keys_out);
            std::cout << fmt::format("wrote {} key pairs to {} (secret keys mode 0600)\n",
                                     where.entries().size(), keys_out);
            return 0;
        }
        remote_options o;
        o.client_name = me;
        o.node.keys = cli::load_keys(where, keys, me);
        o.node.insecure = insecure;
        remote_deployment d(*builtin_patterns().find(pattern_name), std::move(wf), std::move(where),
                            o);
        if (const auto silent = d.wait_ready(std::chrono::seconds(5)); !silent.empty()) {
            std::cerr << fmt::format("choreo-ctl: no answer from {}\n", fmt::join(silent, ", "));
            if (!*stuck_cmd && !*inspect_cmd) {
                return 1; // a node that does not answer is what these two must report
            }
        }
        if (*place_cmd) {
            return place(d, scenario_name, count, seed, std::chrono::seconds(timeout));
        }
        if (*stuck_cmd) {
            return stuck(d, *cli::parse_duration(older_than), stuck_limit);
        }
        if (*inspect_cmd) {
            return inspect(d);
        }
        return status(d, id);
    } catch (const std::invalid_argument& e) {
        std::cerr << "choreo-ctl: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "choreo-ctl: " << e.what() << "\n";
        return 1;
    }
}

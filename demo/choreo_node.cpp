// choreo-node: one node of a workflow under one pattern (a service, or a node the pattern adds,
// such as an orchestrator), as a process of its own.
#include <csignal>
#include <filesystem>
#include <iostream>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "demo/cli.hpp"
#include "demo/faults.hpp"
#include "patterns/last_resort.hpp"
#include "patterns/log.hpp"
#include "patterns/service_node.hpp"
#include "registry/builtin.hpp"

int main(int argc, char** argv) {
    using namespace choreo;
    CLI::App app{"choreo-node: runs one node of a choreo workflow (a service, or a node the "
                 "pattern adds, such as an orchestrator) as its own process, bound to the endpoint "
                 "the topology file gives it, or (--bind) to an endpoint of its own that it "
                 "reports before it reads the topology. SIGINT or SIGTERM stop it cleanly."};
    std::string pattern_name, service, topology_file, bind_to, workflow_name = "order";
    bool no_trace = false;
    unsigned link_delay_us = 0;
    app.add_option("--pattern", pattern_name, "state-management pattern")
        ->required()
        ->check(CLI::IsMember(builtin_patterns().names()));
    app.add_option("--service", service,
                   "the node this process runs: a service of the workflow, or a node of the "
                   "pattern's own")
        ->required();
    auto* from_file = app.add_option("--topology", topology_file,
                                     "topology file: NAME ENDPOINT [service|client|operator]; "
                                     "the node binds the endpoint it names");
    app.add_option("--bind", bind_to,
                   "bind this endpoint instead (tcp://127.0.0.1:* lets the OS pick the port), "
                   "print one line 'bound NAME ENDPOINT' on stdout, then read the topology (the "
                   "file's format) from stdin up to its end; it must give this node the "
                   "endpoint bound. stdout is stderr from then on. For a parent that starts "
                   "the nodes (choreo-demo --spawn, choreo-bench --spawn) and learns their "
                   "ports from them")
        ->excludes(from_file);
    app.add_option("--workflow", workflow_name, "workflow: " + cli::workflow_forms())
        ->check(cli::workflow_name())
        ->capture_default_str();
    app.add_option("--link-delay-us", link_delay_us,
                   "simulated network delay added to every message sent, in microseconds")
        ->check(CLI::Range(0U, 10'000'000U))
        ->capture_default_str();
    std::size_t retain_finished = default_retain_finished;
    cli::add_retain_finished(app, retain_finished,
                             "The kept trace holds the messages of about the last N workflows "
                             "(docs/PROTOCOL.md, Retention).")
        ->capture_default_str();
    std::size_t retain_early = default_retain_early;
    cli::add_retain_early(app, retain_early);
    std::string keys;
    bool insecure = false;
    cli::add_security(app, keys, insecure);
    std::string step_deadline;
    cli::add_step_deadline(app, step_deadline);
    std::vector<std::string> fault_specs;
    demo::add_faults(app, fault_specs,
                     "Only the faults of this node act here (a drop acts on every node; without "
                     "seed=S its seed is 0). A killed node is not restarted and a paused one not "
                     "continued by choreo-node itself: choreo-demo --spawn and choreo-bench "
                     "--spawn do that for their children.");
    std::uint32_t step_retries = default_step_retries;
    app.add_option("--step-retries", step_retries,
                   "how often such an owner re-drives a stuck step before it ends the workflow "
                   "failed")
        ->check(CLI::Range(0U, 1'000'000U))
        ->capture_default_str();
    app.add_flag("--no-trace", no_trace,
                 "count messages but do not keep each one (long runs; inspect gets no entries)");
    constexpr std::string_view default_data_dir = "choreo-data";
    std::string data_dir(default_data_dir);
    bool in_memory = false;
    std::string sync_name = "process";
    std::uint64_t snapshot_every = node_options{}.snapshot_every_batches;
    auto* dir_option =
        app.add_option("--data-dir", data_dir,
                       "directory of the node's store, DIR/SERVICE.db (SQLite, WAL): its outbox, "
                       "the message ids it applied, a journal of what it applied and snapshots "
                       "of its state. A node restarted on it carries on where it stopped. The "
                       "directory must exist, except the default, which is created")
            ->capture_default_str();
    app.add_flag("--in-memory", in_memory, "keep nothing on disk: a restarted node starts empty")
        ->excludes(dir_option);
    app.add_option("--store-sync", sync_name,
                   "process: a commit survives the process being killed; machine: also a crash "
                   "of the machine (an fsync per commit)")
        ->check(CLI::IsMember({"process", "machine"}))
        ->capture_default_str();
    app.add_option("--snapshot-every", snapshot_every,
                   "committed batches after which a snapshot of the node's state replaces its "
                   "journal (also after 10 times as many journaled messages)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000}))
        ->capture_default_str();
    if (const auto status = cli::parse(app, argc, argv)) {
        return *status;
    }
    if (topology_file.empty() && bind_to.empty()) {
        std::cerr << "choreo-node: --topology FILE or --bind ENDPOINT is required\n";
        return 2;
    }
    auto wf = builtin_workflows().find(workflow_name).value();
    if (!step_deadline.empty()) { // checked by its validator
        wf.set_step_deadlines(
            std::get<std::chrono::milliseconds>(cli::parse_step_deadline(step_deadline)));
    }
    wf.retries = step_retries;
    const auto& used = *builtin_patterns().find(pattern_name);
    const auto nodes = used.nodes(wf);
    auto domain = domain_for(used, wf, service);
    if (!domain) {
        std::cerr << fmt::format("choreo-node: '{}' is not a node of {} under {}; valid: {}\n",
                                 service, workflow_name, pattern_name, fmt::join(nodes, ", "));
        return 2;
    }
    const auto faults = demo::parse_faults(fault_specs).plan; // each checked by the validator
    if (const auto error = demo::plan_error(faults, nodes)) {
        std::cerr << "choreo-node: --fault " << *error << "\n";
        return 2;
    }
    topology where;
    node_options options;
    try {
        if (!bind_to.empty()) {
            where.set(service, bind_to);
            // The topology comes after binding: the node starts with every public key of its
            // keys directory, and learns which belong to the deployment, and which are
            // operators, with the topology (node::set_keys).
            if (!keys.empty()) {
                options.keys =
                    std::make_shared<const credentials>(keys_dir::load_all(keys, service));
            }
        } else {
            where = topology::load(topology_file);
            where.require(nodes);
            options.keys = cli::load_keys(where, keys, service);
        }
    } catch (const std::invalid_argument& e) {
        std::cerr << "choreo-node: " << e.what() << "\n";
        return 2;
    }

    zmq::context_t context;
    boost::asio::io_context io;
    ledger book(!no_trace, retain_finished, wf.sends_per_workflow_bound());
    options.insecure = insecure;
    options.link_delay = std::chrono::microseconds(link_delay_us);
    options.retain_finished = retain_finished;
    options.retain_early = retain_early;
    if (!in_memory) {
        std::error_code ignored;
        if (data_dir == default_data_dir && !std::filesystem::exists(data_dir, ignored)) {
            std::filesystem::create_directory(data_dir, ignored); // refused below if it failed
        }
        options.data_dir = data_dir;
        options.sync =
            sync_name == "machine" ? store_sync::machine_crash : store_sync::process_crash;
        options.snapshot_every_batches = snapshot_every;
        options.snapshot_every_messages = snapshot_every * 10;
    }
    options = faults.options_for(service, options, 0);
    std::unique_ptr<service_node> made;
    try {
        made = std::make_unique<service_node>(context, io, used, wf, service,
                                              std::move(domain).value(), book, options);
    } catch (const store_refused& e) {
        std::cerr << "choreo-node: data directory refused: " << e.what() << "\n";
        return 2;
    }
    service_node& self = *made;
    int status = 0;
    self.net().on_store_failed([&](std::string_view why) {
        std::cerr << "choreo-node: " << service << ": stopped: the store refused a commit: " << why
                  << "\n";
        status = 1;
        io.stop();
    });
    if (const auto* f = faults.process_fault_of(service)) {
        // Raised by the node itself, right after its N-th handled message: the count is exact,
        // whatever the timing. What it sent while handling that message may not have left yet.
        self.on_handled([f, &service, handled = std::uint64_t{0}](const incoming&) mutable {
            if (++handled != f->after) {
                return;
            }
            const bool kill = f->kind == demo::fault_kind::kill;
            std::cerr << fmt::format("choreo-node: {}: fault {}: {} after {} handled messages\n",
                                     service, f->text(), kill ? "SIGKILL" : "SIGSTOP", handled)
                      << std::flush;
            ::raise(kill ? SIGKILL : SIGSTOP);
        });
    }
    auto endpoint = *where.endpoint_of(service);
    try {
        endpoint = self.net().bind(endpoint);
    } catch (const zmq::error_t& e) {
        std::cerr << "choreo-node: cannot bind " << service << " to " << endpoint << ": "
                  << e.what() << "\n";
        return 1;
    } catch (const std::invalid_argument& e) {
        std::cerr << "choreo-node: " << e.what() << "\n";
        return 2;
    }
    if (!bind_to.empty()) {
        std::cout << "bound " << service << " " << endpoint << std::endl;
        try {
            where = topology::parse(std::cin);
            where.require(nodes);
        } catch (const std::invalid_argument& e) {
            std::cerr << "choreo-node: the topology from stdin: " << e.what() << "\n";
            return 2;
        }
        if (where.endpoint_of(service) != endpoint) {
            std::cerr << "choreo-node: the topology from stdin gives " << service << " "
                      << where.endpoint_of(service).value_or("no endpoint") << ", not " << endpoint
                      << ", the endpoint it bound\n";
            return 2;
        }
        if (!keys.empty()) {
            try {
                self.net().set_keys(cli::load_keys(where, keys, service));
            } catch (const std::invalid_argument& e) {
                std::cerr << "choreo-node: " << e.what() << "\n";
                return 2;
            }
        }
        ::dup2(STDERR_FILENO, STDOUT_FILENO); // the parent reads no more from stdout
    }
    self.net().set_topology(where);
    self.net().start();

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) {
            return;
        }
        log().info("{}: signal {}, stopping", service, signal);
        self.net().drain_and_stop();
        io.stop();
    });
    const auto& recovered = self.recovered();
    std::cerr << fmt::format("choreo-node: {} ({}, {}) on {}{}{}\n", service, pattern_name,
                             workflow_name, endpoint, options.keys ? ", CURVE" : "",
                             self.durable() == nullptr
                                 ? std::string(", in memory")
                                 : fmt::format(", store {} ({} replayed, {} to resend)",
                                               self.durable()->db().path().string(),
                                               recovered.replayed, recovered.unacked));
    // A program's io thread: an exception escaping a handler ends the process, non-zero.
    run_guarded(io, service, exit_on_escape);
    const auto c = self.net().counters();
    std::cerr << fmt::format("choreo-node: {} stopped: received {}, sent {}, refused {}, "
                             "never accepted by a peer {}, dropped by a fault {}\n",
                             service, c.received, c.sent, c.rejected, c.backlog,
                             c.dropped_by_fault);
    return status;
}

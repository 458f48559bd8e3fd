#include "bench/workload.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include "demo/cli.hpp"
#include "demo/fault_run.hpp"
#include "demo/spawn.hpp"
#include "patterns/deployment.hpp"
#include "patterns/drive.hpp"
#include "patterns/remote_deployment.hpp"
#include "patterns/workflow_module.hpp"
#include "registry/builtin.hpp"

namespace choreo::bench {
namespace {

using clock_type = std::chrono::steady_clock;

percentiles percentiles_of(std::vector<double> v) {
    if (v.empty()) {
        return {};
    }
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
        const auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size()));
        return v[std::min(v.size() - 1, rank)];
    };
    return {at(0.50), at(0.90), at(0.99), v.back()};
}

/// What drive() does to place a workflow and to hear one end. Both hooks run with the loop's
/// lock held, so they never run at once: `place` on the caller's thread for the first workflows
/// in flight, then on the client's io thread like `ended`.
struct drive_hooks {
    std::function<void(std::size_t)> place;             ///< places the i-th (from 0)
    std::function<void(const workflow_outcome&)> ended; ///< sees each end; may be empty
    std::size_t report_every = 0;                       ///< 0: no reports
    /// Called on the caller's thread each time `report_every` more have ended, and once all
    /// have: with how many had ended and when the last of them did.
    std::function<void(std::size_t, clock_type::time_point)> report;
};

/// Keeps `inflight` workflows going until `total` have been placed and have ended, or none has
/// ended for `stall`. Returns: how many ended.
std::size_t drive(deployment& d, std::size_t total, std::size_t inflight,
                  std::chrono::seconds stall, drive_hooks hooks) {
    // The client's hook runs on its io thread and may outlive a stall here: it owns its state,
    // and stops placing (and calling the hooks) once this function has given up.
    struct loop {
        std::mutex m;
        std::condition_variable progressed;
        std::size_t total = 0, next = 0, ended = 0;
        drive_hooks hooks;
        std::deque<std::pair<std::size_t, clock_type::time_point>> reached; ///< reports due
        bool closed = false;
        void place_next() { // with m held
            if (!closed && next < total) {
                hooks.place(next++);
            }
        }
    };
    auto l = std::make_shared<loop>();
    l->total = total;
    l->hooks = std::move(hooks);
    const auto every = l->hooks.report ? l->hooks.report_every : 0;
    d.client().on_ended([l, every](const workflow_outcome& o) {
        std::lock_guard lock(l->m);
        if (l->closed) {
            return;
        }
        ++l->ended;
        if (l->hooks.ended) {
            l->hooks.ended(o);
        }
        l->place_next(); // closed loop: one ends, the next starts
        const bool due = every != 0 && (l->ended % every == 0 || l->ended == l->total);
        if (due) {
            l->reached.emplace_back(l->ended, clock_type::now());
        }
        if (due || l->ended == l->total) {
            l->progressed.notify_all();
        }
    });
    std::unique_lock lock(l->m);
    for (std::size_t i = 0; i < std::min(inflight, total); ++i) {
        l->place_next();
    }
    auto report_reached = [&] {
        while (!l->reached.empty()) {
            const auto [n, at] = l->reached.front();
            l->reached.pop_front();
            lock.unlock(); // a report (reading /proc, say) must not hold up the client
            l->hooks.report(n, at);
            lock.lock();
        }
    };
    auto last_progress = clock_type::now();
    std::size_t seen = 0;
    while (l->ended < total) {
        l->progressed.wait_for(lock, std::min<clock_type::duration>(stall, std::chrono::seconds(1)),
                               [&] { return !l->reached.empty() || l->ended == total; });
        report_reached();
        if (l->ended != seen) {
            seen = l->ended;
            last_progress = clock_type::now();
        } else if (clock_type::now() - last_progress >= stall) {
            break;
        }
    }
    report_reached(); // those reached while the last report was being made
    l->closed = true;
    return l->ended;
}

/// Sends the events from outside the chain that plans name, as a client of the workflow must
/// (a ticket's expert report, a customer's cancel): the outside events at once, on the thread
/// that placed the workflow; an interrupt from a thread of its own once the workflow waits for
/// an outside event (its status asked every 2 ms, for at most `patience`), so that the client's
/// io thread, which places the next workflow when one ends, never waits. Only a workflow that
/// waits for its interrupt is queued, so the queue holds at most the workflows in flight.
class outside_driver {
public:
    outside_driver(deployment& d, std::chrono::milliseconds patience)
        : d_(d), patience_(patience) {}
    outside_driver(const outside_driver&) = delete;
    outside_driver& operator=(const outside_driver&) = delete;
    ~outside_driver() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        wake_.notify_all();
        if (worker_.joinable()) {
            worker_.join();
        }
    }

    /// Sends what `plan` names for the workflow just placed as `id`.
    void placed(const std::string& id, const planned_workflow& plan) {
        for (const auto& e : plan.outside_events) {
            // A plan names only events of its model: nothing to refuse here.
            static_cast<void>(d_.client().send_outside(id, e, plan.details));
        }
        if (plan.interrupt.empty()) {
            return;
        }
        std::lock_guard lock(m_);
        due_.push_back({id, plan.interrupt, plan.details});
        if (!worker_.joinable()) {
            worker_ = std::thread([this] { run(); });
        }
        wake_.notify_one();
    }

private:
    struct pending {
        std::string id, interrupt;
        msg::value details;
    };

    void run() {
        for (;;) {
            pending next;
            {
                std::unique_lock lock(m_);
                wake_.wait(lock, [&] { return stop_ || !due_.empty(); });
                if (stop_) {
                    return;
                }
                next = std::move(due_.front());
                due_.pop_front();
            }
            const auto until = clock_type::now() + patience_;
            while (!waits_for_outside(d_.flow(), d_.client().status(next.id).status) &&
                   clock_type::now() < until && !stopping()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            static_cast<void>(d_.client().send_outside(next.id, next.interrupt, next.details));
        }
    }

    bool stopping() {
        std::lock_guard lock(m_);
        return stop_;
    }

    deployment& d_;
    std::chrono::milliseconds patience_;
    std::mutex m_;
    std::condition_variable wake_;
    std::deque<pending> due_;
    bool stop_ = false;
    std::thread worker_;
};

/// Keeps `inflight` workflows going until every plan has been placed and has ended, or none
/// has ended for `stall`.
/// Returns: the ids, in the order of `plans` (empty where a workflow was never placed).
std::vector<std::string> drive(deployment& d, const std::vector<planned_workflow>& plans,
                               std::size_t inflight, std::chrono::seconds stall) {
    std::vector<std::string> ids(plans.size());
    outside_driver outside(d, stall);
    drive(d, plans.size(), inflight, stall,
          {[&](std::size_t i) {
               ids[i] = d.client().place(plans[i].details);
               outside.placed(ids[i], plans[i]);
           },
           {},
           0,
           {}});
    return ids;
}

/// Adds the workflows that were placed, with their ids, to `placed`.
void add_placed(placed_workflows& placed, const std::vector<std::string>& ids,
                const std::vector<planned_workflow>& plans) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (!ids[i].empty()) {
            placed.emplace_back(ids[i], plans[i]);
        }
    }
}

/// Returns: the acks and resends of every node so far (remote: as their inspect_replies tell).
delivery_totals delivery_of(deployment& d) {
    if (auto* remote = dynamic_cast<remote_deployment*>(&d)) {
        delivery_totals sum = remote->client_ledger().delivery();
        for (const auto& r : remote->inspect_all()) {
            sum.acks_sent.add(traffic_totals{r.acks_sent, r.acks_bytes});
            sum.acked_ids += r.acked_ids;
            sum.resent.messages += r.resent;
        }
        return sum;
    }
    return d.traffic().delivery();
}

/// A durable store's counts: transactions, rows written, file syncs.
struct store_totals {
    std::uint64_t commits{}, rows{}, syncs{};
};

/// Returns: what every node's store has done so far (remote: as their inspect_replies tell,
/// since each process opened its database).
store_totals store_of(deployment& d) {
    store_totals sum;
    if (auto* remote = dynamic_cast<remote_deployment*>(&d)) {
        for (const auto& r : remote->inspect_all()) {
            sum.commits += r.store_commits;
            sum.rows += r.store_rows_written;
            sum.syncs += r.store_syncs;
        }
    } else if (auto* local = dynamic_cast<local_deployment*>(&d)) {
        // Counters read from this thread while a node commits may be one commit apart from its
        // syncs: read until two readings a few milliseconds apart agree (2 s at most).
        const auto read = [&] {
            store_totals t;
            for (const auto& name : local->nodes()) {
                const auto c = local->counters(name);
                t.commits += c.store_commits;
                t.rows += c.store_rows_written;
                t.syncs += c.store_syncs;
            }
            return t;
        };
        const auto until = clock_type::now() + std::chrono::seconds(2);
        sum = read();
        for (;;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            const auto again = read();
            if ((again.commits == sum.commits && again.rows == sum.rows &&
                 again.syncs == sum.syncs) ||
                clock_type::now() >= until) {
                return again;
            }
            sum = again;
        }
    }
    return sum;
}

/// Returns: `after - before` per workflow, 0 if a count went back (a node restarted since).
double per_workflow(std::uint64_t before, std::uint64_t after, double n) {
    return after >= before ? static_cast<double>(after - before) / n : 0.0;
}

/// Returns: how the run came back from its first restart, or nullopt if no node restarted.
/// `placed`: every workflow of the run with its id.
std::optional<recovery_figures> recovery_of(const demo::spawned_services& children, deployment& d,
                                            const placed_workflows& placed) {
    const auto events = children.fault_events();
    const auto restart = std::find_if(events.begin(), events.end(), [](const demo::fault_event& e) {
        return e.what == "restarted";
    });
    if (restart == events.end()) {
        return std::nullopt;
    }
    recovery_figures f;
    f.victim = restart->service;
    f.restart_at_s = std::chrono::duration<double>(restart->at).count();
    // The client's outcomes carry steady_ns() of this process: the same clock as the events'.
    const auto at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (children.started_at() + restart->at).time_since_epoch())
                           .count();
    std::optional<std::int64_t> first_end, drained;
    for (const auto& [id, plan] : placed) {
        const auto o = d.client().outcome(id);
        if (o && o->ended_ns >= at_ns) {
            first_end = std::min(first_end.value_or(o->ended_ns), o->ended_ns);
        }
        if (o && o->placed_ns >= at_ns) {
            continue; // placed after the restart: not the backlog
        }
        if (!o) {
            // Never ended: placed before the restart, or after it (then outcome() cannot say
            // when); either way the backlog was not drained.
            ++f.backlog;
            ++f.backlog_never_ended;
        } else if (o->ended_ns >= at_ns) {
            ++f.backlog;
            drained = std::max(drained.value_or(o->ended_ns), o->ended_ns);
        }
    }
    const auto ms = [&](std::int64_t t) { return static_cast<double>(t - at_ns) / 1e6; };
    if (first_end) {
        f.first_end_ms = ms(*first_end);
    }
    if (f.backlog_never_ended == 0) {
        f.drained_ms = drained ? ms(*drained) : 0.0;
    }
    return f;
}

/// Waits until an in-process deployment is quiet: every message sent has been received (the
/// nodes share one ledger), twice in a row a millisecond apart. Messages that follow a
/// workflow's end (a notification, a last progress report) are then all counted.
void wait_quiet(deployment& d, std::chrono::milliseconds timeout) {
    if (dynamic_cast<local_deployment*>(&d) == nullptr) {
        return; // a remote deployment's ledgers are only gathered on request
    }
    const auto until = clock_type::now() + timeout;
    for (int quiet = 0; quiet < 2 && clock_type::now() < until;) {
        const auto& book = d.traffic();
        quiet = book.sent().messages == book.received().messages ? quiet + 1 : 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

/// Returns: the CPU time (user + system, every thread) a process has used so far, in µs, or
/// nullopt if it cannot be read. The process's CPU clock counts nanoseconds; /proc/PID/stat's
/// utime + stime, the fallback, counts clock ticks (10 ms), too coarse for a short run.
std::optional<double> cpu_us_of(pid_t pid) {
    clockid_t clock{};
    timespec t{};
    if (::clock_getcpuclockid(pid, &clock) == 0 && ::clock_gettime(clock, &t) == 0) {
        return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
    }
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    std::getline(in, text);
    const auto name_end = text.rfind(')'); // the command name may hold spaces and parentheses
    if (name_end == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(text.substr(name_end + 1));
    std::string skipped;
    for (int field = 3; field < 14; ++field) { // state ... cmajflt
        fields >> skipped;
    }
    unsigned long long user = 0, system = 0;
    fields >> user >> system;
    if (!fields) {
        return std::nullopt;
    }
    return static_cast<double>(user + system) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Returns: each process's CPU time so far, by node name (unreadable ones left out).
std::map<std::string, double> cpu_times(const std::vector<std::pair<std::string, pid_t>>& procs) {
    std::map<std::string, double> out;
    for (const auto& [name, pid] : procs) {
        if (const auto us = cpu_us_of(pid)) {
            out[name] = *us;
        }
    }
    return out;
}

/// Returns: messages sent + received by each node of an in-process deployment so far.
std::map<std::string, double> handled_by_node(local_deployment& d) {
    std::map<std::string, double> out;
    for (const auto& name : d.nodes()) {
        const auto c = d.counters(name);
        out[name] = static_cast<double>(c.sent + c.received);
    }
    return out;
}

/// Returns: a process's resident memory, VmRSS in /proc/PID/status, in kB; -1 if unreadable.
long rss_kb_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("VmRSS:")) {
            return std::strtol(line.c_str() + 6, nullptr, 10);
        }
    }
    return -1;
}

/// The nodes of a run (in this process, or one process each) and the deployment over them.
struct services {
    std::unique_ptr<demo::spawned_services> children;
    std::unique_ptr<deployment> d;
};

/// Returns: choreo-node's arguments for the nodes of a spawned run of `c`.
std::vector<std::string> node_args_of(const run_config& c, bool soak) {
    auto args =
        cli::spawned_storage({c.data_dir, c.in_memory}, std::string(c.pattern_used->name()));
    if (soak) {
        args.emplace_back("--no-trace");
    }
    if (!c.in_memory && c.sync == store_sync::machine_crash) {
        args.insert(args.end(), {"--store-sync", "machine"});
    }
    return args;
}

/// Starts the nodes of `c`. A soak keeps no history anywhere: nodes run with --no-trace and
/// the client forgets each workflow once it has ended.
services start_services(const run_config& c, const workflow& wf, bool soak) {
    services s;
    node_options node;
    node.link_delay = c.link_delay;
    node.sync = c.sync;
    node.retain_finished = c.retain_finished;
    if (c.spawn) {
        s.children = std::make_unique<demo::spawned_services>(
            demo::sibling_binary("choreo-node"), *c.pattern_used, wf, c.via,
            std::vector<std::string>{"client"}, c.link_delay, c.retain_finished,
            node_args_of(c, soak), c.faults, c.seed);
        remote_options o;
        o.node = node;
        o.keep_history = !soak;
        auto remote =
            std::make_unique<remote_deployment>(*c.pattern_used, wf, s.children->where(), o);
        s.children->share(remote->where());
        if (!remote->wait_ready(std::chrono::seconds(10)).empty()) {
            throw std::runtime_error("spawned nodes did not answer");
        }
        s.d = std::move(remote);
    } else {
        deployment_options o;
        o.via = c.via;
        o.keep_trace = false;
        if (!c.data_dir.empty()) {
            node.data_dir = cli::fresh_directory(c.data_dir, std::string(c.pattern_used->name()));
        }
        o.node = node;
        o.curve = c.curve;
        s.d = std::make_unique<local_deployment>(*c.pattern_used, wf,
                                                 c.faults.local_options(o, c.seed));
    }
    return s;
}

/// Compares the deployment's domain effects with `predicted`. A remote node may still be
/// applying the last notifications: looks again for up to `patience`.
/// Returns: every difference, "key: got X, predicted Y".
std::vector<std::string> effects_against(deployment& d, const domain_effects& predicted,
                                         std::chrono::seconds patience) {
    const auto until = clock_type::now() + patience;
    for (;;) {
        auto differences = effects_differences(d.effects(), predicted);
        if (differences.empty() || clock_type::now() >= until) {
            return differences;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

/// Keeps the first few of `all` in `kept` (a report shows a sample, not thousands).
void keep_first(std::vector<std::string>& kept, const std::vector<std::string>& all) {
    kept.assign(all.begin(),
                all.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(5, all.size())));
}

/// Returns: a workflow's model and its module's generator of `c.scenario`.
/// Throws: std::invalid_argument for an unknown workflow or scenario.
std::pair<workflow, std::unique_ptr<workload>> workload_of(const run_config& c) {
    auto wf = builtin_workflows().find(c.workflow);
    if (!wf) {
        throw std::invalid_argument("unknown workflow " + c.workflow);
    }
    auto generator = module_of(wf.value()).make_workload(wf.value(), c.scenario, c.seed);
    if (!generator) {
        throw std::invalid_argument("workflow " + c.workflow + " has no scenario " + c.scenario);
    }
    return {std::move(wf).value(), std::move(generator).value()};
}

} // namespace

run_result run_workload(const run_config& c) {
    run_result r;
    r.config = c;
    auto [wf, generator] = workload_of(c);
    const auto& module = module_of(wf);
    auto [children, d] = start_services(c, wf, false);
    auto* local = dynamic_cast<local_deployment*>(d.get());
    constexpr auto quiet_timeout = std::chrono::seconds(2);

    placed_workflows placed;
    const auto warm = generator->take(c.warm_up);
    add_placed(placed, drive(*d, warm, c.inflight, c.deadline), warm);
    wait_quiet(*d, quiet_timeout);

    const auto plans = generator->take(c.workflows);
    std::atomic<bool> running{true};
    std::vector<status_answer> answers;
    std::thread asker;
    std::vector<std::string> ids;
    const auto processes =
        children ? children->processes() : std::vector<std::pair<std::string, pid_t>>{};
    const auto handled_before = local ? handled_by_node(*local) : std::map<std::string, double>{};
    const auto delivery_before = delivery_of(*d);
    const auto store_before = store_of(*d);
    const auto cpu_before = cpu_times(processes);
    const auto start = clock_type::now();
    {
        // Status queries go out beside the workload, on workflows placed so far.
        asker = std::thread([&] {
            // alternately the latest workflow to end and, likely, one still in flight
            for (std::size_t q = 0; q < c.status_queries && running; ++q) {
                const auto n = std::max<std::size_t>(1, d->client().ended_count()) + q % 2;
                answers.push_back(d->client().status(d->client().workflow_id(n)));
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        });
        ids = drive(*d, plans, c.inflight, c.deadline);
    }
    const auto elapsed = clock_type::now() - start;
    const auto cpu_after = cpu_times(processes);
    running = false;
    asker.join();
    wait_quiet(*d, quiet_timeout);
    add_placed(placed, ids, plans);

    std::vector<double> e2e, path;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto o = ids[i].empty() ? std::nullopt : d->client().outcome(ids[i]);
        if (!o) {
            ++r.lost;
            continue;
        }
        ++r.completed;
        r.wrong += o->terminal != plans[i].expected_terminal ? 1 : 0;
        e2e.push_back(static_cast<double>(o->ended_ns - o->placed_ns) / 1e3);
        path.push_back(o->path_messages);
    }
    r.e2e_us = percentiles_of(e2e);
    r.path_messages = percentiles_of(path).p50;
    r.workflows_per_s =
        static_cast<double>(r.completed) / std::chrono::duration<double>(elapsed).count();

    // Every workflow placed, warm-up included, must have had the effects the module predicts.
    // A remote node may still be applying the last notifications: look again for a while.
    const auto differences =
        effects_against(*d, module.predict(wf, placed), std::chrono::seconds(r.lost > 0 ? 0 : 5));
    r.effects_differing = differences.size();
    keep_first(r.effects_differences, differences);

    const auto& book = d->traffic(); // gathered from every node if remote
    const auto inter = book.of_workflows(ids).inter_service;
    const auto n = static_cast<double>(std::max<std::size_t>(1, r.completed));
    r.messages_per_workflow = static_cast<double>(inter.messages) / n;
    r.bytes_per_workflow = static_cast<double>(inter.bytes) / n;
    r.mean_message_bytes =
        inter.messages ? static_cast<double>(inter.bytes) / static_cast<double>(inter.messages) : 0;
    const auto delivery_after = delivery_of(*d);
    r.acks_per_workflow = static_cast<double>(delivery_after.acks_sent.messages -
                                              delivery_before.acks_sent.messages) /
                          n;
    r.acked_per_workflow =
        static_cast<double>(delivery_after.acked_ids - delivery_before.acked_ids) / n;
    r.resent_per_workflow =
        static_cast<double>(delivery_after.resent.messages - delivery_before.resent.messages) / n;
    const auto store_after = store_of(*d);
    r.store_commits_per_workflow = per_workflow(store_before.commits, store_after.commits, n);
    r.store_rows_per_workflow = per_workflow(store_before.rows, store_after.rows, n);
    r.store_syncs_per_workflow = per_workflow(store_before.syncs, store_after.syncs, n);

    std::vector<double> query_latency;
    std::map<std::string, double> asked_by_queries;
    for (const auto& a : answers) {
        ++r.queries;
        r.query_messages += static_cast<double>(a.cost.messages);
        r.query_bytes += static_cast<double>(a.cost.bytes);
        r.query_services += static_cast<double>(a.asked.size());
        query_latency.push_back(static_cast<double>(a.latency_ns) / 1e3);
        for (const auto& s : a.asked) {
            asked_by_queries[s] += 1;
        }
    }
    if (r.queries > 0) {
        const auto q = static_cast<double>(r.queries);
        r.query_messages /= q;
        r.query_bytes /= q;
        r.query_services /= q;
    }
    r.query_us = percentiles_of(query_latency);

    // Messages each node handled for the measured workflows: in process, its counters over the
    // measured phase less the status queries it answered (a request in, a reply out); remote,
    // the gathered trace of the measured workflows (sends only, so each counts at both ends).
    std::map<std::string, double> handled;
    if (local) {
        const auto after = handled_by_node(*local);
        for (const auto& [name, count] : after) {
            handled[name] =
                std::max(0.0, count - handled_before.at(name) - 2 * asked_by_queries[name]);
        }
    } else {
        const std::unordered_set<std::string> measured(ids.begin(), ids.end());
        for (const auto& t : book.trace()) {
            if (t.query_id == 0 && measured.contains(t.workflow_id)) {
                handled[t.from] += 1;
                handled[t.to] += 1;
            }
        }
    }
    double cpu_total = 0;
    for (const auto& [name, pid] : processes) {
        if (cpu_before.contains(name) && cpu_after.contains(name)) {
            cpu_total += cpu_after.at(name) - cpu_before.at(name);
        }
    }
    r.cpu_measured = !processes.empty() && cpu_total > 0;
    for (const auto& name : d->nodes()) {
        node_load load;
        load.node = name;
        load.messages_per_workflow = handled[name] / n;
        for (const auto& [proc, pid] : processes) {
            if (proc == name) {
                load.pid = pid;
            }
        }
        if (r.cpu_measured && cpu_before.contains(name) && cpu_after.contains(name)) {
            const auto used = cpu_after.at(name) - cpu_before.at(name);
            load.cpu_us_per_workflow = used / n;
            load.cpu_share = used / cpu_total;
        }
        if (r.busiest_node.empty() ||
            load.messages_per_workflow > r.busiest_messages_per_workflow) {
            r.busiest_node = name;
            r.busiest_messages_per_workflow = load.messages_per_workflow;
        }
        if (r.cpu_measured &&
            (r.busiest_cpu_node.empty() || load.cpu_share > r.busiest_cpu_share)) {
            r.busiest_cpu_node = name;
            r.busiest_cpu_share = load.cpu_share;
            r.busiest_cpu_us_per_workflow = load.cpu_us_per_workflow;
        }
        r.nodes.push_back(load);
    }
    r.nodes_cpu_us_per_workflow = cpu_total / n;

    const auto state_bytes = d->workflow_state_bytes();
    r.state_workflows = d->workflows_with_state();
    r.state_bytes_per_workflow = r.state_workflows ? static_cast<double>(state_bytes) /
                                                         static_cast<double>(r.state_workflows)
                                                   : 0.0;
    r.domain_bytes = d->domain_bytes();
    if (!c.faults.empty()) {
        for (const auto& [node, dropped] : demo::dropped_by_fault(*d)) {
            r.dropped_by_fault += dropped.value_or(0);
        }
        if (children) {
            r.recovery = recovery_of(*children, *d, placed);
        }
        for (const auto& e :
             children ? children->fault_events() : std::vector<demo::fault_event>{}) {
            r.fault_events.push_back(fmt::format("+{:.3f} s {} {}: {}",
                                                 std::chrono::duration<double>(e.at).count(),
                                                 e.what, e.service, e.detail));
        }
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    r.peak_rss_kb = usage.ru_maxrss;
    if (std::ifstream statm("/proc/self/statm"); statm) {
        long size = 0, resident = 0;
        statm >> size >> resident;
        r.rss_kb = resident * (::sysconf(_SC_PAGESIZE) / 1024);
    }
    d.reset();
    children.reset();

    // The floor, for this run's mean message: a type frame of a typical contract name.
    const auto body = static_cast<std::size_t>(std::max(1.0, r.mean_message_bytes - 14));
    r.floor = measure_floor(c.via, 14, body, std::max<std::size_t>(100, c.floor_messages / 50),
                            c.floor_messages, c.curve);
    const auto hop_us =
        r.floor.one_way_p50_us + std::chrono::duration<double, std::micro>(c.link_delay).count();
    r.latency_ratio = r.path_messages > 0 ? r.e2e_us.p50 / (r.path_messages * hop_us) : 0;
    r.rate_ratio = r.workflows_per_s * r.messages_per_workflow / r.floor.messages_per_s;
    return r;
}

std::size_t soak_config::warm_up_workflows() const {
    return (retired_ids_per_kept + 1) * run.retain_finished;
}

soak_result run_soak(const soak_config& config) {
    soak_result r;
    r.config = config;
    auto c = config.run;
    c.spawn = true;
    if (c.via == transport::inproc) {
        throw std::invalid_argument("a soak runs one process per node: ipc or tcp, not inproc");
    }
    if (config.workflows == 0 || config.every == 0) {
        throw std::invalid_argument("a soak needs at least one workflow and a report interval");
    }
    auto [wf, generator] = workload_of(c);
    const auto& module = module_of(wf);
    auto [children, d] = start_services(c, wf, true);
    auto processes = children->processes();
    processes.emplace_back("choreo-bench (client)", ::getpid());

    // Only what is in flight is kept: each workflow's predicted terminal until it ends. The
    // domain effects are predicted in batches as workflows are placed: a module's prediction
    // is the standard data plus what each workflow does to it, so batches add up.
    const auto baseline = module.predict(wf, {});
    auto predicted = baseline;
    placed_workflows unpredicted;
    auto fold = [&] {
        for (const auto& [key, n] : module.predict(wf, unpredicted)) {
            const auto base = baseline.find(key);
            predicted[key] += n - (base == baseline.end() ? 0 : base->second);
        }
        unpredicted.clear();
    };
    constexpr std::size_t fold_every = 1'000;
    std::unordered_map<std::string, std::string> expected; // in flight: id -> terminal

    outside_driver outside(*d, c.deadline);
    drive_hooks hooks;
    hooks.place = [&](std::size_t) {
        auto plan = generator->next();
        const auto id = d->client().place(plan.details);
        outside.placed(id, plan);
        expected.emplace(id, plan.expected_terminal);
        unpredicted.emplace_back(id, std::move(plan));
        if (unpredicted.size() == fold_every) {
            fold();
        }
    };
    hooks.ended = [&](const workflow_outcome& o) {
        const auto it = expected.find(o.workflow_id);
        if (it == expected.end()) {
            return; // not one of this soak's: the client has logged it
        }
        if (o.terminal != it->second) {
            ++r.wrong;
            if (r.wrong_examples.size() < 5) {
                r.wrong_examples.push_back(fmt::format("{} ended {}, predicted {}", o.workflow_id,
                                                       o.terminal, it->second));
            }
        }
        expected.erase(it);
    };
    const auto start = clock_type::now();
    auto previous = std::pair{std::size_t{0}, start};
    auto report_at = [&](std::size_t ended, clock_type::time_point at) {
        soak_report report;
        report.workflows = ended;
        report.interval_s = std::chrono::duration<double>(at - previous.second).count();
        report.workflows_per_s =
            report.interval_s > 0 ? static_cast<double>(ended - previous.first) / report.interval_s
                                  : 0.0;
        for (const auto& [name, pid] : processes) {
            report.rss.push_back({name, pid, rss_kb_of(pid)});
        }
        previous = {ended, at};
        fmt::print(stderr, "  {} soak: {} workflows, {:.0f}/s\n", c.pattern_used->name(), ended,
                   report.workflows_per_s); // progress: a soak runs for minutes
        r.reports.push_back(std::move(report));
    };
    hooks.report_every = config.every;
    hooks.report = report_at;
    r.ended = drive(*d, config.workflows, c.inflight, c.deadline, std::move(hooks));
    if (r.ended < config.workflows) { // stalled: the memory as it was when the soak gave up
        report_at(r.ended, clock_type::now());
    }
    r.seconds = std::chrono::duration<double>(previous.second - start).count();
    r.workflows_per_s = r.seconds > 0 ? static_cast<double>(r.ended) / r.seconds : 0.0;
    r.lost = config.workflows - r.ended;
    fold();

    const auto differences =
        effects_against(*d, predicted, std::chrono::seconds(r.lost > 0 ? 0 : 5));
    r.effects_differing = differences.size();
    keep_first(r.effects_differences, differences);

    // Growth runs from the first report after warm-up (the first report if none is that late).
    auto from = std::find_if(r.reports.begin(), r.reports.end(), [&](const soak_report& s) {
        return s.workflows >= config.warm_up_workflows();
    });
    if (from == r.reports.end() || std::next(from) == r.reports.end()) {
        from = r.reports.begin();
    }
    if (r.reports.size() >= 2) {
        r.growth_from = from->workflows;
        const auto& first = from->rss;
        const auto& last = r.reports.back().rss;
        for (std::size_t i = 0; i < first.size() && i < last.size(); ++i) {
            rss_growth g;
            g.node = first[i].node;
            g.first_kb = first[i].rss_kb;
            g.last_kb = last[i].rss_kb;
            g.growth_pct = g.first_kb > 0 ? 100.0 * static_cast<double>(g.last_kb - g.first_kb) /
                                                static_cast<double>(g.first_kb)
                                          : 0.0;
            g.flat = g.first_kb > 0 && g.last_kb > 0 && g.growth_pct <= config.flat_limit_pct;
            r.growth.push_back(g);
        }
    }
    d.reset();
    children.reset();
    return r;
}

} // namespace choreo::bench

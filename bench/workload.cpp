#include "bench/workload.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include "demo/spawn.hpp"
#include "patterns/deployment.hpp"
#include "patterns/remote_deployment.hpp"

namespace choreo::bench {
namespace {

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

/// Keeps `inflight` workflows going until every plan has been placed and has ended.
/// Returns: the ids, in the order of `plans` (empty where a workflow was never placed).
std::vector<std::string> drive(deployment& d, const std::vector<planned_order>& plans,
                               std::size_t inflight, std::chrono::seconds deadline) {
    // The hook runs on the client's io thread and may outlive a deadline here: it owns its
    // state, and stops placing once this function has given up.
    struct loop {
        std::mutex m;
        std::condition_variable all_ended;
        std::vector<std::string> ids;
        std::size_t next = 0, ended = 0;
        bool closed = false;
    };
    auto l = std::make_shared<loop>();
    l->ids.resize(plans.size());
    auto place_next = [&d, &plans, l] {
        std::lock_guard lock(l->m);
        if (!l->closed && l->next < plans.size()) {
            const auto i = l->next++;
            l->ids[i] = d.client().place(plans[i].order);
        }
    };
    d.client().on_ended([l, place_next](const workflow_outcome&) {
        place_next(); // closed loop: one ends, the next starts
        std::lock_guard lock(l->m);
        if (++l->ended == l->ids.size()) {
            l->all_ended.notify_all();
        }
    });
    for (std::size_t i = 0; i < std::min(inflight, plans.size()); ++i) {
        place_next();
    }
    std::unique_lock lock(l->m);
    l->all_ended.wait_for(lock, deadline, [&] { return l->ended == l->ids.size(); });
    l->closed = true;
    return l->ids;
}

} // namespace

run_result run_workload(const run_config& c) {
    run_result r;
    r.config = c;
    const auto wf = workflow_by_name(c.workflow);
    if (!wf) {
        throw std::invalid_argument("unknown workflow " + c.workflow);
    }
    std::unique_ptr<demo::spawned_services> children;
    std::unique_ptr<deployment> d;
    node_options node;
    node.link_delay = c.link_delay;
    if (c.spawn) {
        children = std::make_unique<demo::spawned_services>(
            demo::sibling_binary("choreo-node"), *c.pattern_used, wf.value(), c.via,
            std::vector<std::string>{"client"}, c.link_delay);
        remote_options o;
        o.node = node;
        auto remote =
            std::make_unique<remote_deployment>(*c.pattern_used, wf.value(), children->where(), o);
        if (!remote->wait_ready(std::chrono::seconds(10)).empty()) {
            throw std::runtime_error("spawned services did not answer");
        }
        d = std::move(remote);
    } else {
        deployment_options o;
        o.via = c.via;
        o.keep_trace = false;
        o.node = node;
        d = std::make_unique<local_deployment>(*c.pattern_used, wf.value(), o);
    }

    order_generator gen(c.seed, c.mix, wf.value());
    drive(*d, gen.take(c.warm_up), c.inflight, c.deadline);

    const auto plans = gen.take(c.workflows);
    std::atomic<bool> running{true};
    std::vector<status_answer> answers;
    std::size_t state_bytes = 0, state_workflows = 0;
    std::thread asker;
    std::vector<std::string> ids;
    const auto start = std::chrono::steady_clock::now();
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
    const auto elapsed = std::chrono::steady_clock::now() - start;
    running = false;
    asker.join();
    state_bytes = d->workflow_state_bytes();
    state_workflows = d->workflows_with_state();

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

    const auto inter = d->traffic().of_workflows(ids).inter_service;
    const auto n = static_cast<double>(std::max<std::size_t>(1, r.completed));
    r.messages_per_workflow = static_cast<double>(inter.messages) / n;
    r.bytes_per_workflow = static_cast<double>(inter.bytes) / n;
    r.mean_message_bytes =
        inter.messages ? static_cast<double>(inter.bytes) / static_cast<double>(inter.messages) : 0;

    std::vector<double> query_latency;
    for (const auto& a : answers) {
        ++r.queries;
        r.query_messages += static_cast<double>(a.cost.messages);
        r.query_bytes += static_cast<double>(a.cost.bytes);
        r.query_services += static_cast<double>(a.asked.size());
        query_latency.push_back(static_cast<double>(a.latency_ns) / 1e3);
    }
    if (r.queries > 0) {
        const auto q = static_cast<double>(r.queries);
        r.query_messages /= q;
        r.query_bytes /= q;
        r.query_services /= q;
    }
    r.query_us = percentiles_of(query_latency);
    r.state_workflows = state_workflows;
    r.state_bytes_per_workflow =
        state_workflows ? static_cast<double>(state_bytes) / static_cast<double>(state_workflows)
                        : 0.0;
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
                            c.floor_messages);
    const auto hop_us =
        r.floor.one_way_p50_us + std::chrono::duration<double, std::micro>(c.link_delay).count();
    r.latency_ratio = r.e2e_us.p50 / (r.path_messages * hop_us);
    r.rate_ratio = r.workflows_per_s * r.messages_per_workflow / r.floor.messages_per_s;
    return r;
}

} // namespace choreo::bench

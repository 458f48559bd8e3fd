#include "demo/tour.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace choreo::demo {
namespace {

std::vector<scenario> traced_scenarios(const workflow& wf) {
    if (wf.name == "order") {
        return {scenario::happy, scenario::payment_rejected, scenario::back_order};
    }
    return {scenario::happy};
}

std::string await_end(deployment& d, const std::string& id, std::chrono::milliseconds deadline) {
    if (!d.client().wait_for({id}, deadline)) {
        throw std::runtime_error("workflow " + id + " did not end within the deadline");
    }
    return d.client().outcome(id)->terminal;
}

status_shot shoot(deployment& d, const pattern& p, const std::string& id, std::string moment) {
    status_shot shot{std::move(moment), d.client().status(id), {}};
    for (const auto& m : shot.answer.replies) {
        if (p.assemble_status(d.flow(), {m}, {}) == shot.answer.status) {
            shot.sole_answerers.push_back(m.env.sender);
        }
    }
    return shot;
}

/// A status query on a workflow held between two services: the one after the middle is held.
status_shot mid_flight(deployment& d, const pattern& p, const tour_options& o,
                       std::vector<std::pair<std::string, planned_order>>& placed) {
    const auto& steps = d.flow().steps;
    const std::size_t held_step = std::min<std::size_t>(2, steps.size() - 1);
    const auto& held = steps[held_step].service;
    d.hold(held);
    order_generator gen(o.seed + 1000, scenario::happy, d.flow());
    const auto plan = gen.next();
    const auto id = d.client().place(plan.order);
    placed.emplace_back(id, plan);
    const auto until = std::chrono::steady_clock::now() + o.deadline;
    auto reached = [&](const status_answer& a) {
        return held_step == 0 || (a.status.steps.size() > held_step - 1 &&
                                  a.status.steps[held_step - 1].status == step_status::done);
    };
    while (!reached(d.client().status(id)) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    auto shot = shoot(d, p, id, "mid-flight (held before " + held + ")");
    d.release(held);
    await_end(d, id, o.deadline);
    return shot;
}

} // namespace

tour run_tour(deployment& d, const pattern& p, const tour_options& o) {
    tour t;
    t.pattern = std::string(p.name());
    t.summary = std::string(p.summary());
    t.workflow = d.flow().name;

    std::vector<std::pair<std::string, planned_order>> placed; // for the effects prediction
    for (auto s : traced_scenarios(d.flow())) {
        order_generator gen(o.seed, s, d.flow());
        const auto plan = gen.next();
        traced_order tr{std::string(to_string(s)),
                        d.client().place(plan.order),
                        plan.expected_terminal,
                        "",
                        {}};
        placed.emplace_back(tr.workflow_id, plan);
        tr.terminal = await_end(d, tr.workflow_id, o.deadline);
        for (auto& r : d.traffic().trace_of(tr.workflow_id)) {
            if (r.query_id == 0) {
                t.links_by_scenario[tr.scenario].insert({r.from, r.to});
                tr.messages.push_back(std::move(r));
            }
        }
        t.traced.push_back(std::move(tr));
    }
    t.shots.push_back(mid_flight(d, p, o, placed));
    t.shots.push_back(shoot(d, p, t.traced.front().workflow_id, "finished"));

    // The batch: o.orders orders of the chosen mix, every outcome checked.
    order_generator gen(o.seed, o.mix, d.flow());
    const auto plans = gen.take(o.orders);
    std::vector<std::string> ids;
    for (const auto& plan : plans) {
        ids.push_back(d.client().place(plan.order));
    }
    d.client().wait_for(ids, o.deadline);
    std::map<std::string, std::vector<std::string>> by_kind;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto kind = std::string(to_string(plans[i].kind));
        by_kind[kind].push_back(ids[i]);
        ++t.predicted[plans[i].expected_terminal];
        placed.emplace_back(ids[i], plans[i]);
        const auto out = d.client().outcome(ids[i]);
        t.outcomes.push_back(out ? out->terminal : "lost");
        if (!out) {
            ++t.lost;
            continue;
        }
        ++t.ended[out->terminal];
        t.wrong += out->terminal != plans[i].expected_terminal ? 1 : 0;
    }
    by_kind["all"] = ids;
    const auto& book = d.traffic();
    for (const auto& [kind, kind_ids] : by_kind) {
        scenario_cost c{kind, kind_ids.size(), 0, 0, 0, 0, 0, 0, 0};
        const auto w = book.of_workflows(kind_ids);
        const auto& inter = w.inter_service;
        const auto& client = w.client;
        const auto n = static_cast<double>(kind_ids.size());
        c.inter_messages = static_cast<double>(inter.messages) / n;
        c.inter_bytes = static_cast<double>(inter.bytes) / n;
        c.client_messages = static_cast<double>(client.messages) / n;
        c.mean_message_bytes =
            inter.messages ? static_cast<double>(inter.bytes) / static_cast<double>(inter.messages)
                           : 0.0;
        const auto q = d.client().status(kind_ids.front());
        c.query_messages = q.cost.messages;
        c.query_bytes = q.cost.bytes;
        c.query_services = q.asked.size();
        t.costs.push_back(c);
    }
    // "all" last
    std::stable_partition(t.costs.begin(), t.costs.end(),
                          [](const scenario_cost& c) { return c.scenario != "all"; });
    for (const auto& r : d.traffic().trace()) {
        if (r.query_id == 0 && !r.workflow_id.empty()) {
            t.links[{r.from, r.to}].add(r.bytes);
        }
    }
    t.effects = d.effects();
    t.predicted_effects = d.flow().name == "order" ? predict_effects(placed) : t.effects;
    t.rejected = d.rejected();
    t.state_bytes = d.workflow_state_bytes();
    return t;
}

std::vector<double> bytes_by_hop(const pattern& p, std::size_t n, const tour_options& o) {
    deployment_options dopt;
    dopt.via = o.via;
    dopt.keep_trace = true;
    local_deployment d(p, chain_workflow(n), dopt);
    order_generator gen(o.seed, scenario::happy, d.flow());
    const auto id = d.client().place(gen.next().order);
    await_end(d, id, o.deadline);
    std::vector<double> out;
    for (const auto& r : d.book().trace_of(id)) {
        if (!r.client && r.query_id == 0) {
            out.push_back(static_cast<double>(r.bytes));
        }
    }
    return out;
}

} // namespace choreo::demo

#include "demo/tour.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "patterns/drive.hpp"
#include "registry/builtin.hpp"

namespace choreo::demo {
namespace {

/// Returns: a seeded generator of `scenario` from the workflow's module.
/// Throws: std::invalid_argument naming the valid scenarios if the module has no such one.
std::unique_ptr<workload> workload_of(const workflow& wf, const std::string& scenario,
                                      std::uint64_t seed) {
    const auto& m = module_of(wf);
    auto w = m.make_workload(wf, scenario, seed);
    if (!w) {
        throw std::invalid_argument(fmt::format("unknown scenario '{}' for workflow {}; valid: {}",
                                                scenario, wf.name,
                                                fmt::join(m.scenarios(wf), ", ")));
    }
    return std::move(w).value();
}

/// The scenario whose workflows take the happy path: the first one the module traces.
std::string happy_scenario(const workflow& wf) {
    const auto traced = module_of(wf).traced_scenarios(wf);
    return traced.empty() ? module_of(wf).scenarios(wf).front() : traced.front();
}

std::size_t failure_branches(const workflow& wf) {
    std::size_t n = 0;
    for (const auto& s : wf.steps) {
        n += s.failures.size();
    }
    return n;
}

workflow_outcome await_end(deployment& d, const std::string& id,
                           std::chrono::milliseconds deadline) {
    if (!d.client().wait_for({id}, deadline)) {
        throw std::runtime_error("workflow " + id + " did not end within the deadline");
    }
    return *d.client().outcome(id);
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

/// A status query on a workflow held between two domain services: the one after the middle
/// (at most the third step's) is held, so its step cannot run until released.
status_shot mid_flight(deployment& d, const pattern& p, const tour_options& o,
                       placed_workflows& placed) {
    const auto& steps = d.flow().steps;
    const std::size_t held_step = std::min<std::size_t>(2, steps.size() - 1);
    const auto& held = steps[held_step].service; // a domain service, never a pattern's own node
    d.hold(held);
    const auto plan = workload_of(d.flow(), happy_scenario(d.flow()), o.seed + 1000)->next();
    // Its plan's outside events (a ticket's expert report) are sent at once: it still waits in
    // the held service.
    const auto id = place_and_drive(d.client(), d.flow(), {plan}, o.deadline).ids.front();
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

std::string batch_scenario(const workflow& wf, const tour_options& o) {
    return o.scenario.empty() ? module_of(wf).scenarios(wf).back() : o.scenario;
}

tour run_tour(deployment& d, const pattern& p, const tour_options& o) {
    const auto& wf = d.flow();
    const auto& module = module_of(wf);
    tour t;
    t.pattern = std::string(p.name());
    t.summary = std::string(p.summary());
    t.workflow = wf.name;
    t.services = d.services();
    t.extra_nodes = p.extra_nodes(wf);
    t.scenario = batch_scenario(wf, o);
    const auto nodes = d.nodes();
    const std::set<std::string> node_names(nodes.begin(), nodes.end());

    placed_workflows placed; // every workflow placed, for the effects prediction
    for (const auto& s : module.traced_scenarios(wf)) {
        const auto plan = workload_of(wf, s, o.seed)->next();
        traced_workflow tr;
        tr.scenario = s;
        tr.details = module.describe(plan.details);
        tr.expected = plan.expected_terminal;
        tr.workflow_id = place_and_drive(d.client(), wf, {plan}, o.deadline).ids.front();
        placed.emplace_back(tr.workflow_id, plan);
        const auto out = await_end(d, tr.workflow_id, o.deadline);
        tr.terminal = out.terminal;
        tr.path_messages = out.path_messages;
        for (auto& r : d.traffic().trace_of(tr.workflow_id)) {
            if (r.query_id != 0) {
                continue;
            }
            if (!r.client) {
                tr.links.insert({r.from, r.to});
            }
            for (const auto* who : {&r.from, &r.to}) {
                if (node_names.contains(*who)) {
                    ++tr.handled[*who];
                }
            }
            tr.messages.push_back(std::move(r));
        }
        t.traced.push_back(std::move(tr));
    }
    if (t.traced.empty()) {
        throw std::runtime_error("the module of " + wf.name + " traces no scenario");
    }
    t.shots.push_back(mid_flight(d, p, o, placed));
    t.shots.push_back(shoot(d, p, t.traced.front().workflow_id, "finished"));

    // The batch: o.orders workflows of the chosen scenario, every outcome checked.
    const auto plans = workload_of(wf, t.scenario, o.seed)->take(o.orders);
    // Placed with the outside events their plans name (none for order and chain:N).
    const auto ids = place_and_drive(d.client(), wf, plans, o.deadline).ids;
    d.client().wait_for(ids, o.deadline);
    std::map<std::string, std::vector<std::string>> by_scenario;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        by_scenario[plans[i].scenario].push_back(ids[i]);
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
    by_scenario["all"] = ids;
    const auto& book = d.traffic();
    for (const auto& [scenario, scenario_ids] : by_scenario) {
        scenario_cost c{scenario, scenario_ids.size(), 0, 0, 0, 0, 0, 0, 0};
        const auto w = book.of_workflows(scenario_ids);
        const auto& inter = w.inter_service;
        const auto n = static_cast<double>(scenario_ids.size());
        c.inter_messages = static_cast<double>(inter.messages) / n;
        c.inter_bytes = static_cast<double>(inter.bytes) / n;
        c.client_messages = static_cast<double>(w.client.messages) / n;
        c.mean_message_bytes =
            inter.messages ? static_cast<double>(inter.bytes) / static_cast<double>(inter.messages)
                           : 0.0;
        const auto q = d.client().status(scenario_ids.front());
        c.query_messages = q.cost.messages;
        c.query_bytes = q.cost.bytes;
        c.query_services = q.asked.size();
        t.costs.push_back(c);
    }
    std::stable_partition(t.costs.begin(), t.costs.end(),
                          [](const scenario_cost& c) { return c.scenario != "all"; });

    const std::unordered_set<std::string> batch(ids.begin(), ids.end());
    for (const auto& r : book.trace()) {
        if (r.query_id != 0 || r.workflow_id.empty()) {
            continue;
        }
        if (!r.client) {
            t.links[{r.from, r.to}].add(r.bytes);
        }
        if (batch.contains(r.workflow_id)) {
            for (const auto* who : {&r.from, &r.to}) {
                if (node_names.contains(*who)) {
                    t.handled_per_workflow[*who] += 1.0;
                }
            }
        }
    }
    for (auto& [node_name, n] : t.handled_per_workflow) {
        n /= static_cast<double>(std::max<std::size_t>(ids.size(), 1));
    }

    t.effects = d.effects();
    t.predicted_effects = module.predict(wf, placed);
    t.effects_differences = effects_differences(t.effects, t.predicted_effects);
    t.effects_summary = module.describe(t.effects);
    t.rejected = d.rejected();
    t.state_bytes = d.workflow_state_bytes();
    t.state_workflows = d.workflows_with_state();
    t.domain_bytes = d.domain_bytes();
    t.state_bytes_per_workflow =
        t.state_workflows == 0
            ? 0.0
            : static_cast<double>(t.state_bytes) / static_cast<double>(t.state_workflows);
    return t;
}

probe run_probe(const pattern& p, const std::string& workflow_name, bool every_branch,
                const tour_options& o) {
    auto found = builtin_workflows().find(workflow_name);
    if (!found) {
        throw std::invalid_argument("unknown workflow " + workflow_name);
    }
    deployment_options dopt;
    dopt.via = o.via;
    dopt.keep_trace = true;
    local_deployment d(p, std::move(found).value(), dopt);
    const auto& wf = d.flow();

    probe r;
    r.pattern = std::string(p.name());
    r.workflow = wf.name;
    r.steps = wf.steps.size();
    r.failure_branches = failure_branches(wf);
    r.extra_nodes = p.extra_nodes(wf);

    std::vector<planned_workflow> plans{workload_of(wf, happy_scenario(wf), o.seed)->next()};
    if (every_branch && r.failure_branches > 0) {
        // Distinct business payloads from the module's mix, until there are as many as
        // branches (a failure branch is chosen by the payload): one workflow per branch.
        auto mix = workload_of(wf, module_of(wf).scenarios(wf).back(), o.seed);
        std::set<std::string> seen{std::string(plans.front().details.bytes())};
        for (int drawn = 0; drawn < 64 && seen.size() < 1 + r.failure_branches; ++drawn) {
            auto plan = mix->next();
            if (seen.insert(std::string(plan.details.bytes())).second) {
                plans.push_back(std::move(plan));
            }
        }
    }
    const auto ids = place_and_drive(d.client(), wf, plans, o.deadline).ids;
    if (!d.client().wait_for(ids, o.deadline)) {
        throw std::runtime_error(fmt::format("{} under {}: a workflow did not end within the "
                                             "deadline",
                                             wf.name, p.name()));
    }
    r.workflows = ids.size();
    r.as_predicted = true;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        r.as_predicted =
            r.as_predicted && d.client().outcome(ids[i])->terminal == plans[i].expected_terminal;
    }
    for (const auto& rec : d.book().trace()) {
        if (rec.query_id == 0 && !rec.client && !rec.workflow_id.empty()) {
            r.links.insert({rec.from, rec.to});
        }
    }
    for (const auto& rec : d.book().trace_of(ids.front())) {
        if (rec.query_id == 0 && !rec.client) {
            r.hop_bytes.push_back(static_cast<double>(rec.bytes));
        }
    }
    r.messages_per_workflow =
        static_cast<double>(d.book().of_workflows(ids).inter_service.messages) /
        static_cast<double>(ids.size());
    r.query = d.client().status(ids.front());
    return r;
}

} // namespace choreo::demo

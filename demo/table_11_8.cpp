#include "demo/table_11_8.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "demo/fault_run.hpp"
#include "demo/faults.hpp"
#include "demo/spawn.hpp"
#include "patterns/clock.hpp"
#include "patterns/deployment.hpp"
#include "patterns/drive.hpp"
#include "patterns/remote_deployment.hpp"
#include "patterns/stuck.hpp"
#include "patterns/workflow_module.hpp"
#include "registry/builtin.hpp"
#include "workflows/ticket/ticket.hpp"

namespace choreo::demo {
namespace {

using namespace std::chrono_literals;

/// The tickets these runs place, on the ticket module's standard data: c003's south laptop is
/// declined by its first expert and fixed by the second; c002's north network is fixed at once.
const ticket::trouble_ticket reassigned{"c003", "laptop", "south"};
const ticket::trouble_ticket fixed_at_once{"c002", "network", "north"};

/// Polls `id`'s status until `ready` holds. Throws: std::runtime_error at the deadline.
template <class Ready>
msg::workflow_status await_status(deployment& d, const std::string& id, Ready ready,
                                  std::chrono::milliseconds deadline, const char* what) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    auto st = d.client().status(id).status;
    while (!ready(st)) {
        if (std::chrono::steady_clock::now() >= until) {
            throw std::runtime_error(fmt::format("ticket {} never {}", id, what));
        }
        std::this_thread::sleep_for(5ms);
        st = d.client().status(id).status;
    }
    return st;
}

void await_end(deployment& d, const std::string& id, std::chrono::milliseconds deadline) {
    if (!d.client().wait_for({id}, deadline)) {
        throw std::runtime_error("ticket " + id + " did not end within the deadline");
    }
}

table_11_8_column::query cost_of(const status_answer& a) {
    return {a.cost.messages, a.cost.bytes, a.asked.size(), false, a.status.state};
}

/// State query: a ticket mid-reassignment (round 1's expert failed, round 2's assignment held)
/// and a ticket cancelled while it waits for the expert. Returns: the reassigned ticket's path.
reassigned_path measure_state_query(const pattern& p, const workflow& wf, const tour_options& o,
                                    table_11_8_column& c) {
    deployment_options dopt;
    dopt.via = transport::inproc;
    local_deployment d(p, wf, dopt);
    const auto details = msg::value::of(reassigned);
    const auto id = d.client().place(details);
    await_status(
        d, id, [&](const msg::workflow_status& s) { return waits_for_outside(wf, s); }, o.deadline,
        "waited for its expert");
    d.hold("ticket_assignment");
    static_cast<void>(d.client().send_outside(id, std::string(ticket::expert_reported), details));
    std::size_t first = 0; // the first step that awaits the expert's report
    while (first < wf.steps.size() && wf.steps[first].awaits.empty()) {
        ++first;
    }
    await_status(
        d, id,
        [&](const msg::workflow_status& s) {
            return s.steps.size() > first && s.steps[first].status == step_status::failed;
        },
        o.deadline, "saw its first expert fail");
    const auto mid = d.client().status(id);
    c.mid_reassignment = cost_of(mid);
    bool right = mid.status.state == workflow_state::in_progress &&
                 mid.status.steps.size() == wf.steps.size();
    for (std::size_t i = 0; right && i < mid.status.steps.size(); ++i) {
        const auto want = i < first    ? step_status::done
                          : i == first ? step_status::failed
                                       : step_status::pending;
        right = mid.status.steps[i].status == want;
    }
    c.mid_reassignment.right = right;
    d.release("ticket_assignment");
    await_end(d, id, o.deadline);
    reassigned_path path{d.client().status(id).status.steps, d.client().outcome(id)->terminal};

    const auto cancel_details = msg::value::of(fixed_at_once);
    const auto cid = d.client().place(cancel_details);
    await_status(
        d, cid, [&](const msg::workflow_status& s) { return waits_for_outside(wf, s); }, o.deadline,
        "waited for its expert");
    static_cast<void>(
        d.client().send_outside(cid, std::string(ticket::cancel_command), cancel_details));
    await_end(d, cid, o.deadline);
    const auto after = d.client().status(cid);
    c.after_cancel = cost_of(after);
    std::vector<std::string> told;
    for (const auto& r : after.status.notified) {
        told.push_back(r.service);
    }
    c.after_cancel.right = after.status.state == "cancelled" &&
                           told == std::vector<std::string>{"notification", "expert_app"};
    return path;
}

} // namespace

namespace {

/// The spell: waits until every ticket ended, none ended for o.quiet, or o.wait passed.
void await_spell(client& c, const std::vector<std::string>& ids, const lost_tickets_options& o) {
    const auto until = std::chrono::steady_clock::now() + o.wait;
    auto last_progress = std::chrono::steady_clock::now();
    std::size_t ended = c.ended_count();
    while (!c.wait_for(ids, std::chrono::milliseconds(100))) {
        const auto now = std::chrono::steady_clock::now();
        if (c.ended_count() != ended) {
            ended = c.ended_count();
            last_progress = now;
        }
        if (now >= until || now - last_progress >= o.quiet) {
            return;
        }
    }
}

std::vector<planned_workflow> mixed(const workflow& wf, std::size_t n, std::uint64_t seed) {
    auto generator = module_of(wf).make_workload(wf, "mixed", seed);
    if (!generator) {
        throw std::invalid_argument("no mixed scenario in " + wf.name);
    }
    return generator.value()->take(n);
}

/// Returns: the plan of one fault `spec`, its canonical form kept in r.fault.
/// Throws: std::invalid_argument if `spec` is not a fault.
fault_plan one_fault(const std::string& spec, lost_tickets& r) {
    const auto parsed = parse_fault(spec);
    if (!parsed.value) {
        throw std::invalid_argument(parsed.error);
    }
    r.fault = parsed.value->text();
    fault_plan plan;
    plan.faults.push_back(*parsed.value);
    return plan;
}

/// The spell on a deployment under its fault: o.tickets mixed tickets placed and driven, waited
/// for (await_spell). Sets r.detector and r.placed. Returns: the tickets' ids.
std::vector<std::string> run_spell(client& c, const pattern& p, const workflow& wf,
                                   const lost_tickets_options& o, lost_tickets& r) {
    const auto owner_plan = p.plan_status_query(wf, "").ask;
    r.detector = owner_plan.size() == 1 ? owner_plan.front() : std::string();
    // A cancel goes once its ticket waits for the expert, or within half a step deadline: a
    // ticket left waiting for its customer past the deadline would be re-driven, lost or not.
    auto ids = place_and_drive(c, wf, mixed(wf, o.tickets, o.seed), o.step_deadline / 2).ids;
    r.placed = ids.size();
    await_spell(c, ids, o);
    return ids;
}

/// The stuck query at the end of a spell: which of the lost not ended it lists, at what cost.
void ask_stuck(client& c, const pattern& p, const workflow& wf, const lost_tickets_options& o,
               const std::set<std::string>& not_ended, lost_tickets& r) {
    stuck_query q;
    q.older_than = o.step_deadline;
    q.limit = o.tickets + 10;
    q.timeout = o.query_timeout;
    const auto report = find_stuck(c, p, wf, q);
    r.query_messages = report.messages;
    r.query_nodes = report.asked.size();
    r.query_silent = report.silent;
    for (const auto& w : report.workflows) {
        if (not_ended.contains(w.workflow_id)) {
            ++r.listed;
            r.listed_age_ns.push_back(w.age_ns);
        } else {
            ++r.listed_not_lost;
        }
    }
}

} // namespace

lost_tickets measure_lost_tickets(const pattern& p, const workflow& model,
                                  const lost_tickets_options& o) {
    lost_tickets r;
    auto wf = model;
    wf.set_step_deadlines(o.step_deadline);
    wf.retries = 1'000'000; // re-driven, never failed, while it is measured
    r.step_deadline = o.step_deadline;
    r.retries = wf.retries;
    const auto plan = one_fault(fmt::format("drop:{}:seed={}", o.drop, o.seed), r);
    deployment_options dopt;
    dopt.via = transport::inproc;
    // A dropped send is resent only after the spell: until then it is lost, as it is without
    // acknowledgements; what finds it in time is the pattern's.
    dopt.node.resend_initial = o.wait + o.wait;
    dopt.node.resend_max = dopt.node.resend_initial;
    local_deployment d(p, wf, plan.local_options(dopt, o.seed));
    auto& c = d.client();
    const auto ids = run_spell(c, p, wf, o, r);

    // Per ticket: its first send dropped, its owner's first re-drive (the node's incidents).
    std::map<std::string, std::int64_t> first_drop, first_redrive;
    for (const auto& n : d.nodes()) {
        for (const auto& i : d.incidents(n)) {
            auto& first = i.what == incident_dropped ? first_drop : first_redrive;
            const auto [it, fresh] = first.try_emplace(i.workflow_id, i.at_ns);
            if (!fresh) {
                it->second = std::min(it->second, i.at_ns);
            }
        }
        r.dropped += d.counters(n).dropped_by_fault;
    }
    std::set<std::string> not_ended;
    for (const auto& id : ids) {
        const auto outcome = c.outcome(id);
        r.ended += outcome ? 1 : 0;
        const bool hit = first_drop.contains(id);
        const auto redrive = first_redrive.find(id);
        const bool redriven = redrive != first_redrive.end();
        if (!hit || (outcome && !redriven)) {
            r.false_alarms += redriven ? 1 : 0;
            continue; // not lost: no drop stopped it
        }
        ++r.lost;
        if (redriven) {
            ++r.detected;
            r.detected_after_ns.push_back(
                std::max<std::int64_t>(0, redrive->second - first_drop.at(id)));
        }
        if (!outcome) {
            ++r.not_ended;
            not_ended.insert(id);
        } else if (outcome->terminal == workflow_state::failed) {
            ++r.ended_failed;
        } else {
            ++r.recovered;
        }
    }
    ask_stuck(c, p, wf, o, not_ended, r);
    return r;
}

lost_tickets measure_killed_tickets(const pattern& p, const workflow& model,
                                    const lost_tickets_options& o) {
    lost_tickets r;
    auto wf = model;
    wf.set_step_deadlines(o.step_deadline);
    r.step_deadline = o.step_deadline;
    r.retries = o.retries;
    const auto plan = one_fault(fmt::format("kill:{}@{}", o.victim, o.kill_after), r);
    spawned_services children(
        o.node_binary, p, wf, transport::tcp, {"client"}, {}, default_retain_finished,
        {"--in-memory", "--step-deadline", fmt::format("{}ms", o.step_deadline.count()),
         "--step-retries", std::to_string(o.retries)},
        plan, o.seed);
    remote_options ro;
    ro.query_timeout = o.query_timeout;
    remote_deployment d(p, wf, children.where(), ro);
    children.share(d.where());
    if (const auto silent = d.wait_ready(o.wait); !silent.empty()) {
        throw std::runtime_error(fmt::format("no answer from {}", fmt::join(silent, ", ")));
    }
    auto& c = d.client();
    const auto ids = run_spell(c, p, wf, o, r);

    std::set<std::string> not_ended;
    for (const auto& id : ids) {
        const auto outcome = c.outcome(id);
        r.ended += outcome ? 1 : 0;
        // Only an owner marks a ticket stuck: without one, no status is read (every service is
        // asked, the victim too, and it never answers).
        const auto st = r.detector.empty() ? msg::workflow_status{} : c.status(id).status;
        const bool marked = st.stuck_since_ns != 0;
        if (outcome && outcome->terminal != workflow_state::failed) {
            r.false_alarms += marked ? 1 : 0;
            continue; // it ended by itself
        }
        ++r.lost;
        if (marked) {
            ++r.detected;
            r.detected_after_ns.push_back(
                st.last_at_ns != 0 ? std::max<std::int64_t>(0, st.stuck_since_ns - st.last_at_ns)
                                   : 0);
        }
        if (!outcome) {
            ++r.not_ended;
            not_ended.insert(id);
        } else {
            ++r.ended_failed;
        }
    }
    ask_stuck(c, p, wf, o, not_ended, r);
    return r;
}

namespace {

/// Returns: "p50 / max ms" over `ns`, "-" if empty.
std::string ms_p50_max(std::vector<std::int64_t> ns) {
    if (ns.empty()) {
        return "-";
    }
    std::sort(ns.begin(), ns.end());
    return fmt::format("{:.0f} / {:.0f} ms", static_cast<double>(ns[(ns.size() - 1) / 2]) / 1e6,
                       static_cast<double>(ns.back()) / 1e6);
}

/// Scalability in CPU time: control.cpu_tickets mixed tickets on a fresh one-process
/// deployment; each node's thread's CPU time over the batch, per ticket.
void measure_cpu(const pattern& p, const workflow& wf, const tour_options& o,
                 const lost_tickets_options& control, table_11_8_column& c) {
    deployment_options dopt;
    dopt.via = transport::inproc;
    local_deployment d(p, wf, dopt);
    const auto plans = mixed(wf, control.cpu_tickets, control.seed);
    const auto before = d.cpu_used();
    const auto ids = place_and_drive(d.client(), wf, plans, o.deadline).ids;
    if (!d.client().wait_for(ids, o.deadline)) {
        throw std::runtime_error("a ticket of the CPU batch did not end within the deadline");
    }
    const auto after = d.cpu_used();
    const auto n = static_cast<double>(ids.size());
    c.cpu_tickets = ids.size();
    for (const auto& [node, used] : after) {
        const auto it = before.find(node);
        const auto us =
            static_cast<double>((used - (it == before.end() ? used.zero() : it->second)).count()) /
            1e3 / n;
        c.cpu_us_per_ticket += us;
        if (us > c.busiest_cpu_us_per_ticket) {
            c.busiest_cpu_us_per_ticket = us;
            c.busiest_cpu_node = node;
        }
    }
}

} // namespace

table_11_8 measure_table_11_8(const std::vector<const pattern*>& patterns,
                              const std::vector<tour>& tours, const tour_options& o,
                              const lost_tickets_options& control) {
    if (tours.empty() || tours.front().workflow != "ticket") {
        throw std::invalid_argument("Table 11-8 is measured on the ticket workflow's tours");
    }
    const auto wf = builtin_workflows().find("ticket").value();
    table_11_8 out;
    for (std::size_t k = 0; k < tours.size() && k < patterns.size(); ++k) {
        const auto& t = tours[k];
        table_11_8_column c;
        c.pattern = t.pattern;
        std::set<link> happy, all_links;
        for (const auto& tr : t.traced) {
            c.scenarios[tr.scenario] = {tr.messages.size(), tr.links.size(), tr.handled.size()};
            c.ended[tr.scenario] = tr.terminal;
            (tr.scenario == t.traced.front().scenario ? happy : all_links)
                .insert(tr.links.begin(), tr.links.end());
        }
        for (const auto& l : all_links) {
            c.links_added_by_errors += happy.contains(l) ? 0 : 1;
        }
        const auto all = std::find_if(t.costs.begin(), t.costs.end(),
                                      [](const scenario_cost& s) { return s.scenario == "all"; });
        for (const auto& [node, n] : t.handled_per_workflow) {
            if (n > c.busiest_per_ticket) {
                c.busiest_per_ticket = n;
                c.busiest_node = node;
            }
        }
        if (all != t.costs.end()) {
            c.messages_per_ticket = all->inter_messages + all->client_messages;
        }
        auto path = measure_state_query(*patterns[k], wf, o, c);
        if (k == 0) {
            out.reassigned = std::move(path);
        }
        measure_cpu(*patterns[k], wf, o, control, c);
        c.drops = measure_lost_tickets(*patterns[k], wf, control);
        if (!control.node_binary.empty()) {
            c.kill = measure_killed_tickets(*patterns[k], wf, control);
        }
        out.columns.push_back(std::move(c));
    }
    return out;
}

namespace {

/// A Mermaid flowchart of the reassigned ticket over the model's steps, folded: a round's steps
/// are one node each, and the loop back to assignment is an edge per failed round.
std::string loop_diagram(const workflow& wf, const reassigned_path& path) {
    std::string s = "```mermaid\nflowchart LR\n";
    // The folded node of step i: its index in round 1 (steps of later rounds fold onto it).
    std::size_t loop_len = 0;
    for (const auto& st : wf.steps) {
        loop_len += st.round == 2 ? 1 : 0;
    }
    auto folded = [&](std::size_t i) { return i - (wf.steps[i].round - 1) * loop_len; };
    std::set<std::size_t> drawn;
    for (std::size_t i = 0; i < path.steps.size() && i < wf.steps.size(); ++i) {
        if (path.steps[i].status == step_status::pending) {
            continue;
        }
        if (drawn.insert(folded(i)).second) {
            s += fmt::format("    s{}[\"{}\"]\n", folded(i), wf.steps[i].service);
        }
    }
    s += "    s_end((\"" + path.terminal + "\"))\n";
    std::size_t i = 0;
    while (i < path.steps.size()) {
        const auto& r = path.steps[i];
        std::size_t next = wf.steps.size();
        std::string label;
        if (r.status == step_status::done) {
            next = wf.successor(static_cast<std::uint32_t>(i));
            label = r.outcome;
        } else if (r.status == step_status::failed) {
            const auto* f = wf.find_failure(static_cast<std::uint32_t>(i), r.outcome);
            if (f != nullptr && f->resume) {
                next = *f->resume;
                label = fmt::format("{}: round {}", r.outcome, wf.steps[next].round);
            } else {
                label = r.outcome;
            }
        } else {
            break;
        }
        const auto to = next < wf.steps.size() ? fmt::format("s{}", folded(next)) : "s_end";
        s += fmt::format("    s{} -->|\"{}\"| {}\n", folded(i), label, to);
        if (next >= wf.steps.size()) {
            break;
        }
        i = next;
    }
    return s + "```\n";
}

const table_11_8_column* column_of(const table_11_8& t, const std::string& pattern) {
    for (const auto& c : t.columns) {
        if (c.pattern == pattern) {
            return &c;
        }
    }
    return nullptr;
}

} // namespace

void print_table_11_8(std::ostream& out, const table_11_8& t, bool diagram) {
    const auto wf = builtin_workflows().find("ticket").value();
    if (diagram) {
        out << "\n== A reassigned ticket (its status after it ended): the loop back to "
               "assignment ==\n"
            << loop_diagram(wf, t.reassigned);
    }

    out << "\n== Table 11-8, measured in this run ==\n";
    auto row = [&](const std::string& criterion, auto cell) {
        out << fmt::format("{:<46}", criterion);
        for (const auto& c : t.columns) {
            out << " | " << fmt::format("{:<30}", cell(c));
        }
        out << "\n";
    };
    row("criterion", [](const table_11_8_column& c) { return c.pattern; });
    for (const auto f : {&table_11_8_column::drops, &table_11_8_column::kill}) {
        if (t.columns.empty() || (t.columns.front().*f).fault.empty()) {
            continue;
        }
        const auto& f0 = t.columns.front().*f;
        row(fmt::format("workflow control: --fault {}", f0.fault), [&](const table_11_8_column& c) {
            const auto& r = c.*f;
            return f == &table_11_8_column::drops ? fmt::format("{} of {} lost ({} sends dropped)",
                                                                r.lost, r.placed, r.dropped)
                                                  : fmt::format("{} of {} lost", r.lost, r.placed);
        });
        row("  detected by itself (owner's deadline)", [&](const table_11_8_column& c) {
            const auto& r = c.*f;
            return r.detector.empty()
                       ? fmt::format("nobody: 0 of {}", r.lost)
                       : fmt::format("{} of {}{}", r.detected, r.lost,
                                     r.false_alarms == 0
                                         ? std::string()
                                         : fmt::format(", {} false", r.false_alarms));
        });
        row("  how long after the loss, p50 / max",
            [&](const table_11_8_column& c) { return ms_p50_max((c.*f).detected_after_ns); });
        row("  then: recovered / failed / not ended", [&](const table_11_8_column& c) {
            const auto& r = c.*f;
            return fmt::format("{} / {} / {}", r.recovered, r.ended_failed, r.not_ended);
        });
        row("  stuck query at the end lists", [&](const table_11_8_column& c) {
            const auto& r = c.*f;
            return fmt::format(
                "{} of {}{}, {} msgs {} nodes{}", r.listed, r.not_ended,
                r.listed_not_lost == 0 ? std::string()
                                       : fmt::format(" +{} ended", r.listed_not_lost),
                r.query_messages, r.query_nodes,
                r.query_silent.empty() ? std::string()
                                       : fmt::format(" ({} silent)", r.query_silent.size()));
        });
    }
    if (!t.columns.empty() && !t.columns.front().drops.fault.empty()) {
        const auto& r = t.columns.front().drops;
        out << fmt::format(
            "(workflow control: {} mixed tickets per fault, every step due within {} ms. drop: in "
            "one process, a dropped send not resent within the spell; lost: stopped by a drop "
            "(not ended, or ended only after a re-drive); after: from its dropped send to the "
            "owner's first re-drive. kill: one choreo-node per node, the victim never "
            "restarted, an owner fails a ticket after {} re-drives; after: from the last step the "
            "owner saw act to its stuck mark. +N ended: listed too, though they ended at the "
            "silent victim)\n",
            r.placed, r.step_deadline.count(), t.columns.front().kill.retries);
    }
    row("state query: mid-reassignment", [](const table_11_8_column& c) {
        const auto& q = c.mid_reassignment;
        return fmt::format("{} msgs {} B {} nodes, {}", q.messages, q.bytes, q.nodes,
                           q.right ? "right" : "WRONG");
    });
    row("state query: after a cancel", [](const table_11_8_column& c) {
        const auto& q = c.after_cancel;
        return fmt::format("{} msgs {} B {} nodes, {}", q.messages, q.bytes, q.nodes,
                           q.right ? "right" : "WRONG");
    });
    for (const auto* s : {"happy", "reassign", "cancelled", "no_expert", "survey_down"}) {
        std::string ended;
        if (!t.columns.empty() && t.columns.front().ended.contains(s)) {
            ended = t.columns.front().ended.at(s);
        }
        row(fmt::format("error handling: {} ({})", s, ended), [&](const table_11_8_column& c) {
            const auto it = c.scenarios.find(s);
            return it == c.scenarios.end()
                       ? std::string("-")
                       : fmt::format("{} msgs, {} links, {} nodes", it->second.messages,
                                     it->second.links, it->second.nodes);
        });
    }
    row("  links the errors add to happy",
        [](const table_11_8_column& c) { return fmt::format("{}", c.links_added_by_errors); });
    row("scalability: busiest node", [](const table_11_8_column& c) {
        return fmt::format("{} {:.1f}/{:.1f} msgs", c.busiest_node, c.busiest_per_ticket,
                           c.messages_per_ticket);
    });
    row("  its share of a ticket's msgs", [](const table_11_8_column& c) {
        return c.messages_per_ticket > 0
                   ? fmt::format("{:.0f}%", 100.0 * c.busiest_per_ticket / c.messages_per_ticket)
                   : std::string("-");
    });
    row("  busiest node's CPU per ticket", [](const table_11_8_column& c) {
        return c.cpu_us_per_ticket > 0
                   ? fmt::format("{} {:.0f}/{:.0f} us ({:.0f}%)", c.busiest_cpu_node,
                                 c.busiest_cpu_us_per_ticket, c.cpu_us_per_ticket,
                                 100.0 * c.busiest_cpu_us_per_ticket / c.cpu_us_per_ticket)
                   : std::string("-");
    });
    out << fmt::format(
        "(error handling: the traced tickets' workflow messages, client's included; links: "
        "distinct service-to-service pairs; scalability: messages per ticket of the tour's "
        "batch, CPU time of each node's thread over {} mixed tickets in one process, the "
        "transport's threads aside)\n",
        t.columns.empty() ? 0 : t.columns.front().cpu_tickets);

    // The ADR's three requirements, judged from the figures above.
    out << "\n== The ADR's requirements, judged from these figures ==\n";
    // An owner meets it if it found by itself every ticket each fault lost.
    std::vector<std::string> detect, right_cheap, by_itself;
    for (const auto& c : t.columns) {
        bool all = !c.drops.detector.empty();
        std::vector<std::string> shares;
        for (const auto* r : {&c.drops, &c.kill}) {
            if (!r->fault.empty()) {
                all = all && r->detected == r->lost && r->lost > 0;
                shares.push_back(fmt::format("{} of {}", r->detected, r->lost));
            }
        }
        by_itself.push_back(fmt::format("{} {}", c.pattern, fmt::join(shares, " and ")));
        if (all) {
            detect.push_back(c.pattern);
        }
    }
    out << "1. Tracking lost or mis-tracked tickets: lost tickets found without anyone asking: "
        << fmt::format("{}", fmt::join(by_itself, ", "))
        << "; without an owner only a stuck query asking every service lists them, when someone "
           "asks. Favours "
        << (detect.empty() ? "none" : fmt::format("{}", fmt::join(detect, ", "))) << ".\n";

    std::vector<std::string> no_new_links, fewest_messages;
    std::size_t least_messages_total = 0;
    for (const auto& c : t.columns) {
        if (c.links_added_by_errors == 0) {
            no_new_links.push_back(c.pattern);
        }
        std::size_t total = 0;
        for (const auto& [s, cost] : c.scenarios) {
            total += cost.messages;
        }
        if (fewest_messages.empty() || total < least_messages_total) {
            fewest_messages = {c.pattern};
            least_messages_total = total;
        } else if (total == least_messages_total) {
            fewest_messages.push_back(c.pattern);
        }
    }
    out << "2. Error handling: every pattern ended every traced ticket as predicted (the tours "
           "above). Error paths add no link to the happy path's under "
        << (no_new_links.empty() ? std::string("no pattern")
                                 : fmt::format("{}", fmt::join(no_new_links, ", ")))
        << " (every error decided in one place); the fewest messages over the traced tickets ("
        << least_messages_total << ") go under "
        << fmt::format("{}", fmt::join(fewest_messages, " and ")) << ". Favours "
        << (no_new_links.empty() ? std::string("none")
                                 : fmt::format("{}", fmt::join(no_new_links, ", ")))
        << " in coupling, " << fmt::format("{}", fmt::join(fewest_messages, " and "))
        << " in traffic.\n";

    std::vector<std::string> all_right, cheapest;
    std::uint64_t least_messages = 0;
    for (const auto& c : t.columns) {
        if (c.mid_reassignment.right && c.after_cancel.right) {
            all_right.push_back(c.pattern);
        }
        const auto m = c.mid_reassignment.messages;
        if (cheapest.empty() || m < least_messages) {
            cheapest = {c.pattern};
            least_messages = m;
        } else if (m == least_messages) {
            cheapest.push_back(c.pattern);
        }
    }
    out << "3. Ticket status: answered right under "
        << fmt::format("{}", fmt::join(all_right, ", ")) << "; cheapest (" << least_messages
        << " messages) under " << fmt::format("{}", fmt::join(cheapest, " and ")) << ". Favours "
        << fmt::format("{}", fmt::join(cheapest, " and ")) << ".\n";
    if (const auto* orch = column_of(t, "orchestration")) {
        out << fmt::format("Consequence the ADR accepts: the orchestrator handles {:.0f}% of a "
                           "ticket's messages, every one",
                           orch->messages_per_ticket > 0
                               ? 100.0 * orch->busiest_per_ticket / orch->messages_per_ticket
                               : 0.0);
        if (orch->cpu_us_per_ticket > 0) {
            out << fmt::format("; its busiest node ({}) uses {:.0f}% of a ticket's CPU time",
                               orch->busiest_cpu_node,
                               100.0 * orch->busiest_cpu_us_per_ticket / orch->cpu_us_per_ticket);
            std::vector<std::string> others;
            for (const auto& c : t.columns) {
                if (&c != orch && c.cpu_us_per_ticket > 0) {
                    others.push_back(
                        fmt::format("{} {:.0f}%", c.pattern,
                                    100.0 * c.busiest_cpu_us_per_ticket / c.cpu_us_per_ticket));
                }
            }
            if (!others.empty()) {
                out << fmt::format(" (the busiest node's share under {})", fmt::join(others, ", "));
            }
        }
        out << ".\n";
    }
    auto in = [](const std::vector<std::string>& v, const std::string& x) {
        return std::find(v.begin(), v.end(), x) != v.end();
    };
    std::vector<std::string> all_three, two;
    for (const auto& c : t.columns) {
        const int met = (in(detect, c.pattern) ? 1 : 0) + (in(cheapest, c.pattern) ? 1 : 0) +
                        (in(no_new_links, c.pattern) ? 1 : 0);
        if (met == 3) {
            all_three.push_back(fmt::format(
                "{} (busiest node {:.0f}%)", c.pattern,
                c.messages_per_ticket > 0 ? 100.0 * c.busiest_per_ticket / c.messages_per_ticket
                                          : 0.0));
        } else if (met == 2) {
            two.push_back(c.pattern);
        }
    }
    out << "Overall, these figures favour "
        << (all_three.empty()
                ? std::string("no pattern on all three requirements")
                : fmt::format("{} on all three requirements", fmt::join(all_three, " and ")))
        << (two.empty() ? std::string("") : fmt::format("; {} meets two", fmt::join(two, ", ")))
        << ". Choreography without an owner is the cheapest in "
           "messages and the least concentrated.\n";
}

namespace {

nlohmann::json lost_json(const lost_tickets& r) {
    if (r.fault.empty()) {
        return nullptr;
    }
    return {{"fault", r.fault},
            {"step_deadline_ms", r.step_deadline.count()},
            {"retries", r.retries},
            {"placed", r.placed},
            {"ended", r.ended},
            {"dropped", r.dropped},
            {"lost", r.lost},
            {"detector", r.detector},
            {"detected", r.detected},
            {"detected_after_ns", r.detected_after_ns},
            {"false_alarms", r.false_alarms},
            {"recovered", r.recovered},
            {"ended_failed", r.ended_failed},
            {"not_ended", r.not_ended},
            {"stuck_query",
             {{"listed", r.listed},
              {"listed_not_lost", r.listed_not_lost},
              {"listed_age_ns", r.listed_age_ns},
              {"messages", r.query_messages},
              {"nodes", r.query_nodes},
              {"silent", r.query_silent}}}};
}

nlohmann::json query_json(const table_11_8_column::query& q) {
    return {{"messages", q.messages},
            {"bytes", q.bytes},
            {"nodes", q.nodes},
            {"right", q.right},
            {"state", q.state}};
}

} // namespace

nlohmann::json to_json(const table_11_8& t) {
    auto columns = nlohmann::json::array();
    for (const auto& c : t.columns) {
        nlohmann::json scenarios = nlohmann::json::object();
        for (const auto& [name, cost] : c.scenarios) {
            scenarios[name] = {{"messages", cost.messages},
                               {"links", cost.links},
                               {"nodes", cost.nodes},
                               {"ended", c.ended.contains(name) ? c.ended.at(name) : ""}};
        }
        columns.push_back(
            {{"pattern", c.pattern},
             {"workflow_control", {{"drop", lost_json(c.drops)}, {"kill", lost_json(c.kill)}}},
             {"state_query",
              {{"mid_reassignment", query_json(c.mid_reassignment)},
               {"after_cancel", query_json(c.after_cancel)}}},
             {"error_handling",
              {{"scenarios", scenarios}, {"links_added_by_errors", c.links_added_by_errors}}},
             {"scalability",
              {{"busiest_node", c.busiest_node},
               {"busiest_messages_per_ticket", c.busiest_per_ticket},
               {"messages_per_ticket", c.messages_per_ticket},
               {"busiest_cpu_node", c.busiest_cpu_node},
               {"busiest_cpu_us_per_ticket", c.busiest_cpu_us_per_ticket},
               {"cpu_us_per_ticket", c.cpu_us_per_ticket},
               {"cpu_tickets", c.cpu_tickets}}}});
    }
    return {{"columns", columns}};
}

std::filesystem::path write_table_11_8(const std::filesystem::path& dir, const table_11_8& t) {
    const auto wf = builtin_workflows().find("ticket").value();
    const auto path = dir / "table_11_8.md";
    std::ofstream out(path);
    out << "# Table 11-8 and the ADR, measured\n\nA reassigned ticket, from its status after it "
           "ended: the loop back to assignment.\n\n"
        << loop_diagram(wf, t.reassigned) << "\n```text";
    print_table_11_8(out, t, false);
    out << "```\n";
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
    return path;
}

} // namespace choreo::demo

#include "demo/table_11_8.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "demo/fault_run.hpp"
#include "demo/faults.hpp"
#include "patterns/clock.hpp"
#include "patterns/deployment.hpp"
#include "patterns/drive.hpp"
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

/// Workflow control: notification holds the ticket's third step past its deadline.
void measure_control(const pattern& p, const workflow& model, const tour_options& o,
                     table_11_8_column& c) {
    auto wf = model;
    const auto step_deadline = 200ms;
    wf.set_step_deadlines(step_deadline);
    wf.retries = 1'000'000; // re-driven, never failed, while it is measured
    deployment_options dopt;
    dopt.via = transport::inproc;
    local_deployment d(p, wf, dopt);
    d.hold("notification");
    const auto details = msg::value::of(fixed_at_once);
    const auto placed_at = now_ns();
    const auto id = d.client().place(details);
    static_cast<void>(d.client().send_outside(id, std::string(ticket::expert_reported), details));
    const bool owner = p.plan_status_query(wf, id).ask.size() == 1;
    // An owner marks it stuck by itself; nobody else can: then wait until it is three step
    // deadlines old, long enough for an owner to have marked it, and look.
    const auto st = await_status(
        d, id,
        [&](const msg::workflow_status& s) {
            return owner ? s.state == workflow_state::stuck
                         : s.last_at_ns != 0 &&
                               now_ns() - s.last_at_ns >=
                                   3 * std::chrono::nanoseconds(step_deadline).count();
        },
        o.deadline, "was marked stuck by its owner");
    c.step_deadline_ms = static_cast<double>(step_deadline.count());
    if (st.state == workflow_state::stuck) {
        c.detected_by = p.entry(wf);
        c.detected_after_ms = static_cast<double>(st.stuck_since_ns - placed_at) / 1e6;
        c.redrives = st.redrives;
    }
    stuck_query q;
    q.older_than = step_deadline;
    const auto report = find_stuck(d.client(), p, wf, q);
    c.stuck_query_found =
        report.workflows.size() == 1 && report.workflows.front().workflow_id == id;
    c.stuck_query_messages = report.messages;
    c.stuck_query_nodes = report.asked.size();
    d.release("notification");
    await_end(d, id, o.deadline);
    const auto e = d.effects();
    const auto told = e.find("sms:c002:expert_on_the_way");
    c.completed_once = d.client().outcome(id)->terminal == workflow_state::completed &&
                       told != e.end() && told->second == 1;
}

} // namespace

table_11_8_column::lost_tickets measure_lost_tickets(const pattern& p, const workflow& model,
                                                     const lost_tickets_options& o) {
    table_11_8_column::lost_tickets r;
    auto wf = model;
    // A step that waits for a person (the expert's visit, reported from outside the chain)
    // keeps the model's deadline: at a machine's pace it would be re-driven while the person
    // is still at work. Every other step is due within o.step_deadline.
    for (auto& st : wf.steps) {
        if (st.awaits.empty()) {
            st.deadline = o.step_deadline;
        }
    }
    wf.retries = 1'000'000; // re-driven, never failed, while it is measured
    r.step_deadline = o.step_deadline;
    const auto parsed = parse_fault(fmt::format("drop:{}:seed={}", o.drop, o.seed));
    if (!parsed.value) {
        throw std::invalid_argument(parsed.error);
    }
    fault_plan plan;
    plan.faults.push_back(*parsed.value);
    r.fault = parsed.value->text();
    deployment_options dopt;
    dopt.via = transport::inproc;
    // A dropped send is resent only after the spell: until then it is lost, as it is without
    // acknowledgements; what finds it in time is the pattern's.
    dopt.node.resend_initial = o.wait + o.wait;
    dopt.node.resend_max = dopt.node.resend_initial;
    local_deployment d(p, wf, plan.local_options(dopt, o.seed));
    auto& c = d.client();
    const auto owner_plan = p.plan_status_query(wf, "").ask;
    const bool owner = owner_plan.size() == 1;
    r.detector = owner ? owner_plan.front() : std::string();

    auto generator = module_of(wf).make_workload(wf, "mixed", o.seed);
    if (!generator) {
        throw std::invalid_argument("no mixed scenario in " + wf.name);
    }
    const auto plans = generator.value()->take(o.tickets);
    const auto ids = place_and_drive(c, wf, plans, o.step_deadline).ids;
    r.placed = ids.size();
    const auto until = std::chrono::steady_clock::now() + o.wait;
    auto last_progress = std::chrono::steady_clock::now();
    std::size_t ended = 0;
    while (!c.wait_for(ids, std::chrono::milliseconds(100))) {
        const auto now = std::chrono::steady_clock::now();
        if (c.ended_count() != ended) {
            ended = c.ended_count();
            last_progress = now;
        }
        if (now >= until || now - last_progress >= o.quiet) {
            break;
        }
    }

    std::set<std::string> not_ended;
    for (const auto& id : ids) {
        const auto outcome = c.outcome(id);
        r.ended += outcome ? 1 : 0;
        const auto st = c.status(id).status;
        if (outcome && st.redrives == 0) {
            continue;
        }
        ++r.lost;
        if (!outcome) {
            ++r.not_ended;
            not_ended.insert(id);
        } else {
            ++r.recovered;
        }
        // The owner clears its mark once the step it re-drove acted; its re-drives stay.
        if (st.stuck_since_ns != 0 || st.redrives > 0) {
            ++r.marked_by_owner;
        } else if (!outcome) {
            // Unmarked and not ended: it waits at a step with a person's deadline, or a
            // pattern without an owner holds it.
            for (std::size_t i = 0; i < st.steps.size() && i < wf.steps.size(); ++i) {
                if (st.steps[i].status == step_status::pending) {
                    r.at_person_step += wf.steps[i].awaits.empty() ? 0 : 1;
                    break;
                }
            }
        }
    }
    r.dropped = 0;
    for (const auto& [node, n] : dropped_by_fault(d)) {
        r.dropped += n.value_or(0);
    }
    stuck_query q;
    q.older_than = o.step_deadline;
    q.limit = o.tickets + 10;
    const auto report = find_stuck(c, p, wf, q);
    r.query_messages = report.messages;
    r.query_nodes = report.asked.size();
    for (const auto& w : report.workflows) {
        if (not_ended.contains(w.workflow_id)) {
            ++r.listed_by_query;
            r.listed_age_ns.push_back(w.age_ns);
        } else {
            ++r.listed_not_lost;
        }
    }
    return r;
}

namespace {

/// Returns: "X ms" or "X..Y ms" over `ns`, "-" if empty.
std::string ms_range(std::vector<std::int64_t> ns) {
    if (ns.empty()) {
        return "-";
    }
    std::sort(ns.begin(), ns.end());
    const auto lo = static_cast<double>(ns.front()) / 1e6;
    const auto hi = static_cast<double>(ns.back()) / 1e6;
    return ns.front() == ns.back() ? fmt::format("{:.0f} ms", lo)
                                   : fmt::format("{:.0f}..{:.0f} ms", lo, hi);
}

std::string yes_no(bool b) {
    return b ? "yes" : "NO";
}

} // namespace

table_11_8 measure_table_11_8(const std::vector<const pattern*>& patterns,
                              const std::vector<tour>& tours, const tour_options& o) {
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
        measure_control(*patterns[k], wf, o, c);
        lost_tickets_options lo;
        lo.seed = o.seed;
        c.drops = measure_lost_tickets(*patterns[k], wf, lo);
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

void print_table_11_8(std::ostream& out, const table_11_8& t) {
    const auto wf = builtin_workflows().find("ticket").value();
    out << "\n== A reassigned ticket (its status after it ended): the loop back to assignment ==\n"
        << loop_diagram(wf, t.reassigned);

    out << "\n== Table 11-8, measured: one ticket per figure unless said ==\n";
    auto row = [&](const std::string& criterion, auto cell) {
        out << fmt::format("{:<46}", criterion);
        for (const auto& c : t.columns) {
            out << " | " << fmt::format("{:<30}", cell(c));
        }
        out << "\n";
    };
    row("criterion", [](const table_11_8_column& c) { return c.pattern; });
    row("workflow control: lost step", [](const table_11_8_column& c) {
        return c.detected_by.empty()
                   ? std::string("nobody detects it")
                   : fmt::format("{} after {:.0f} ms", c.detected_by, c.detected_after_ms);
    });
    row("  (1 ticket lost, step deadline)", [](const table_11_8_column& c) {
        return fmt::format("{} of 1 detected; {:.0f} ms", c.detected_by.empty() ? 0 : 1,
                           c.step_deadline_ms);
    });
    row("  stuck query finds it", [](const table_11_8_column& c) {
        return fmt::format("{}: {} msgs, {} nodes", yes_no(c.stuck_query_found),
                           c.stuck_query_messages, c.stuck_query_nodes);
    });
    if (!t.columns.empty()) {
        const auto& d0 = t.columns.front().drops;
        out << fmt::format(
            "(workflow control under drops: {} mixed tickets, --fault {}, a dropped "
            "send not resent within the spell, step deadline {} ms but at a person's "
            "step; lost: not ended, or ended only by the owner's re-drive)\n",
            d0.placed, d0.fault, d0.step_deadline.count());
    }
    row("workflow control: tickets lost to drops", [](const table_11_8_column& c) {
        return fmt::format("{} of {} ({} sends dropped)", c.drops.lost, c.drops.placed,
                           c.drops.dropped);
    });
    row("  detected by the owner's step deadline", [](const table_11_8_column& c) {
        return c.drops.detector.empty() ? fmt::format("no owner: 0 of {}", c.drops.lost)
                                        : fmt::format("{} {} of {}", c.drops.detector,
                                                      c.drops.marked_by_owner, c.drops.lost);
    });
    row("  lost on the way to a person's step", [](const table_11_8_column& c) {
        return fmt::format("{} (the model's deadline)", c.drops.at_person_step);
    });
    row("  re-driven and ended / not ended", [](const table_11_8_column& c) {
        return fmt::format("{} / {}", c.drops.recovered, c.drops.not_ended);
    });
    row("  a stuck query at the end lists", [](const table_11_8_column& c) {
        return fmt::format("{} of {} not ended; {} msgs, {} nodes", c.drops.listed_by_query,
                           c.drops.not_ended, c.drops.query_messages, c.drops.query_nodes);
    });
    row("  detected after", [](const table_11_8_column& c) {
        return c.drops.detector.empty()
                   ? fmt::format("when asked: {} old", ms_range(c.drops.listed_age_ns))
                   : fmt::format("its step deadline, {} ms", c.drops.step_deadline.count());
    });
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
    out << "(error handling: the traced tickets' workflow messages, client's included; links: "
           "distinct service-to-service pairs; scalability: per ticket of the tour's batch)\n";

    // The ADR's three requirements, judged from the figures above.
    out << "\n== The ADR's requirements, judged from these figures ==\n";
    std::vector<std::string> detect, right_cheap;
    for (const auto& c : t.columns) {
        if (!c.detected_by.empty()) {
            detect.push_back(c.pattern);
        }
    }
    out << "1. Tracking lost or mis-tracked tickets: "
        << (detect.empty()
                ? std::string("no pattern detects a lost step by itself")
                : fmt::format("detected by the owner under {}", fmt::join(detect, " and ")))
        << "; without an owner a stuck query finds it only when someone asks";
    if (const auto* s = column_of(t, "stateless")) {
        out << fmt::format(" ({} messages to {} nodes under stateless)", s->stuck_query_messages,
                           s->stuck_query_nodes);
    }
    std::vector<std::string> by_itself;
    for (const auto& c : t.columns) {
        by_itself.push_back(
            fmt::format("{} {} of {}", c.pattern, c.drops.marked_by_owner, c.drops.lost));
    }
    out << ". Under drops, lost tickets detected without anyone asking: "
        << fmt::format("{}", fmt::join(by_itself, ", ")) << ". Favours "
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
                           "ticket's messages, every one.\n",
                           orch->messages_per_ticket > 0
                               ? 100.0 * orch->busiest_per_ticket / orch->messages_per_ticket
                               : 0.0);
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

} // namespace choreo::demo

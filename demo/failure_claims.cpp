#include "demo/failure_claims.hpp"

#include <algorithm>
#include <csignal>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "patterns/clock.hpp"
#include "patterns/remote_deployment.hpp"
#include "patterns/stuck.hpp"
#include "patterns/workflow_module.hpp"

namespace choreo::demo {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// choreo-node processes over tcp, their client bound and every node answering.
struct spawned_run {
    spawned_run(const pattern& p, const workflow& wf, const failure_claims_options& o,
                std::vector<std::string> node_args, fault_plan plan = {})
        : started(clock_type::now()),
          children(o.node_binary, p, wf, transport::tcp, {"client"}, {}, default_retain_finished,
                   std::move(node_args), std::move(plan), o.seed),
          d(p, wf, children.where(), client_options(o)) {
        children.share(d.where());
        if (const auto silent = d.wait_ready(o.wait); !silent.empty()) {
            throw std::runtime_error(fmt::format("no answer from {}", fmt::join(silent, ", ")));
        }
    }
    static remote_options client_options(const failure_claims_options& o) {
        remote_options r;
        r.query_timeout = o.query_timeout;
        return r;
    }
    /// When the children's clock of fault events started, within the time a constructor takes.
    clock_type::time_point started;
    spawned_services children;
    remote_deployment d;
};

std::vector<planned_workflow> plans_of(const workflow& wf, std::string_view scenario, std::size_t n,
                                       std::uint64_t seed) {
    auto gen = module_of(wf).make_workload(wf, scenario, seed);
    if (!gen) {
        throw std::invalid_argument("no scenario " + std::string(scenario) + " in " + wf.name);
    }
    return gen.value()->take(n);
}

std::vector<std::string> place_all(deployment& d, const std::vector<planned_workflow>& plans) {
    std::vector<std::string> ids;
    for (const auto& p : plans) {
        ids.push_back(d.client().place(p.details));
    }
    return ids;
}

/// Returns: the inspect_reply of a node, or nullopt if it does not answer.
std::optional<msg::inspect_reply> inspect(deployment& d, const std::string& node,
                                          milliseconds timeout) {
    const auto answer = d.client().ask(node, msg::inspect_request{0, 0}, timeout);
    const auto* r = answer ? msg::get_if<msg::inspect_reply>(&answer.value().payload) : nullptr;
    return r != nullptr ? std::optional(*r) : std::nullopt;
}

/// Returns: the workflow messages every node but `except` acknowledged (status queries and
/// inspections, this one included, are not acknowledged), or nullopt if one did not answer.
std::optional<std::uint64_t> received_by(deployment& d, const std::string& except,
                                         milliseconds timeout) {
    std::uint64_t n = 0;
    for (const auto& node : d.nodes()) {
        if (node == except) {
            continue;
        }
        const auto r = inspect(d, node, timeout);
        if (!r) {
            return std::nullopt;
        }
        n += r->acked_ids;
    }
    return n;
}

/// Waits until the nodes but `except` have acknowledged nothing for `o.quiet`, or o.wait passed.
void await_quiet(deployment& d, const std::string& except, const failure_claims_options& o) {
    const auto until = clock_type::now() + o.wait;
    std::optional<std::uint64_t> last;
    auto since = clock_type::now();
    while (clock_type::now() < until) {
        std::this_thread::sleep_for(milliseconds(100));
        const auto now = received_by(d, except, o.query_timeout);
        if (!now || now != last) {
            last = now;
            since = clock_type::now();
        } else if (clock_type::now() - since >= o.quiet) {
            return;
        }
    }
}

std::int64_t to_ns(clock_type::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

double ms(std::int64_t ns) {
    return static_cast<double>(ns) / 1e6;
}

std::string share(std::size_t part, std::size_t whole) {
    return whole == 0 ? "-"
                      : fmt::format("{}/{} ({:.0f}%)", part, whole,
                                    100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string median_ms(std::vector<std::int64_t> ns) {
    if (ns.empty()) {
        return "-";
    }
    std::sort(ns.begin(), ns.end());
    return fmt::format("{:.0f} ms", ms(ns[ns.size() / 2]));
}

} // namespace

std::string central_node(const pattern& p, const workflow& wf) {
    const auto plan = p.plan_status_query(wf, "");
    return plan.ask.size() == 1 ? plan.ask.front() : p.entry(wf);
}

std::string middle_service(const workflow& wf) {
    if (wf.steps.size() < 3) {
        throw std::invalid_argument(wf.name + " has fewer than three steps");
    }
    return wf.steps[1].service;
}

recovery_run measure_recovery(const pattern& p, const workflow& wf, bool durable,
                              const failure_claims_options& o) {
    recovery_run r;
    r.pattern = p.name();
    r.victim = middle_service(wf);
    r.durable = durable;
    const auto after = std::max<std::size_t>(1, o.orders / 4);
    const auto plan = parse_faults({fmt::format("kill:{}@{}:restart={}ms", r.victim, after,
                                                o.restart_after.count())})
                          .plan;
    spawned_run s(p, wf, o,
                  durable ? std::vector<std::string>{} : std::vector<std::string>{"--in-memory"},
                  plan);
    const auto plans = plans_of(wf, "mixed", o.orders, o.seed);
    const auto ids = place_all(s.d, plans);
    r.placed = ids.size();

    // Settled: every workflow ended; or, once the victim is back, nothing ended for o.quiet and
    // no node holds a message unacknowledged (nothing will be resent).
    const auto until = clock_type::now() + o.wait;
    std::size_t last = 0;
    auto since = clock_type::now();
    while (!s.d.client().wait_for(ids, milliseconds(100)) && clock_type::now() < until) {
        const auto now = s.d.client().ended_count();
        if (now != last) {
            last = now;
            since = clock_type::now();
            continue;
        }
        if (s.children.tally().restarts == 0 || clock_type::now() - since < o.quiet) {
            continue;
        }
        std::uint64_t unacked = 0;
        bool all = true;
        for (const auto& n : s.d.nodes()) {
            const auto reply = inspect(s.d, n, o.query_timeout);
            all = all && reply.has_value();
            unacked += reply ? reply->unacked : 0;
        }
        if (all && unacked == 0) {
            break;
        }
    }

    placed_workflows placed;
    std::optional<std::int64_t> restart_ns;
    for (const auto& e : s.children.fault_events()) {
        if (e.what == "restarted") {
            restart_ns = to_ns(s.started) +
                         std::chrono::duration_cast<std::chrono::nanoseconds>(e.at).count();
        }
    }
    std::int64_t first = 0, drained = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        placed.emplace_back(ids[i], plans[i]);
        const auto outcome = s.d.client().outcome(ids[i]);
        if (!outcome) {
            continue;
        }
        ++r.ended;
        r.as_predicted += outcome->terminal == plans[i].expected_terminal ? 1 : 0;
        if (restart_ns && outcome->ended_ns >= *restart_ns) {
            const auto since_restart = outcome->ended_ns - *restart_ns;
            first = first == 0 ? since_restart : std::min(first, since_restart);
            drained = std::max(drained, since_restart);
        }
    }
    r.lost = r.placed - r.ended;
    r.restart_to_first_end = std::chrono::nanoseconds(first);
    r.restart_to_drained = std::chrono::nanoseconds(r.lost == 0 ? drained : 0);
    const auto want = module_of(wf).predict(wf, placed);
    auto got = s.d.effects();
    std::set<std::string> keys;
    for (const auto& [k, n] : want) {
        keys.insert(k);
    }
    for (const auto& [k, n] : got) {
        keys.insert(k);
    }
    for (const auto& k : keys) {
        const auto g = got.contains(k) ? got.at(k) : 0;
        const auto w = want.contains(k) ? want.at(k) : 0;
        r.effects_doubled += g > w ? 1 : 0;
        r.effects_lost += g < w ? 1 : 0;
    }
    for (const auto& reply : s.d.inspect_all()) {
        r.refusals += reply.rejected;
        r.duplicates += reply.duplicates;
        r.resent += reply.resent;
    }
    r.tally = s.children.tally();
    return r;
}

outage_run measure_outage(const pattern& p, const workflow& wf, const std::string& victim,
                          const failure_claims_options& o) {
    outage_run r;
    r.pattern = p.name();
    r.victim = victim;
    const auto owner = p.plan_status_query(wf, "").ask;
    r.role = owner.size() == 1 && owner.front() == victim ? "owner of the workflow state"
             : victim == p.entry(wf)                      ? "entry"
                                                          : "middle service";
    const auto held = wf.steps.at(2).service;
    if (victim == held) {
        throw std::invalid_argument(victim + " is the service the in-flight workflows wait at");
    }
    spawned_run s(p, wf, o,
                  {"--step-deadline", fmt::format("{}ms", o.outage_step_deadline.count()),
                   "--step-retries", "3"});
    auto& c = s.d.client();
    const auto all_plans = plans_of(wf, "happy", 1 + o.in_flight + o.placed_during, o.seed);
    const std::vector<planned_workflow> first(all_plans.begin(), all_plans.begin() + 1);
    const auto in_flight_end = all_plans.begin() + 1 + static_cast<std::ptrdiff_t>(o.in_flight);
    const std::vector<planned_workflow> before(all_plans.begin() + 1, in_flight_end);
    const std::vector<planned_workflow> during(in_flight_end, all_plans.end());
    const auto finished = place_all(s.d, first);
    if (!c.wait_for(finished, o.wait)) {
        throw std::runtime_error("a workflow did not end with every node up");
    }

    // In flight: every one has passed the middle service and waits at the held one.
    s.d.hold(held);
    const auto in_flight = place_all(s.d, before);
    const auto until = clock_type::now() + o.wait;
    for (const auto& id : in_flight) {
        while (clock_type::now() < until) {
            const auto st = c.status(id).status;
            if (st.steps.size() > 1 && st.steps[1].status == step_status::done) {
                break;
            }
            std::this_thread::sleep_for(milliseconds(20));
        }
    }
    await_quiet(s.d, "", o);

    s.children.kill(victim, SIGKILL);
    const auto t0 = clock_type::now();
    const auto t0_wall = now_ns();
    s.d.release(held);
    const auto placed_during = place_all(s.d, during);
    await_quiet(s.d, victim, o);
    const std::vector<std::pair<std::string, std::string>> asked_about{
        {"in flight", in_flight.at(0)},
        {"placed during", placed_during.at(0)},
        {"finished before", finished.at(0)}};
    for (const auto& [of, id] : asked_about) {
        const auto a = c.status(id);
        std::vector<std::string> silent;
        for (const auto& n : a.asked) {
            if (std::find(a.answered.begin(), a.answered.end(), n) == a.answered.end()) {
                silent.push_back(n);
            }
        }
        r.statuses.push_back({of, id, a.status.found, a.status.state, a.status.last_service,
                              a.status.last_step, a.asked, a.answered, silent, a.errors,
                              a.latency_ns});
    }
    const auto t1 = clock_type::now();
    const auto t1_wall = now_ns();
    r.outage = t1 - t0;
    s.children.restart(victim);

    std::vector<std::string> ids = finished;
    ids.insert(ids.end(), in_flight.begin(), in_flight.end());
    ids.insert(ids.end(), placed_during.begin(), placed_during.end());
    c.wait_for(ids, o.wait);
    r.placed = ids.size();
    for (const auto& id : ids) {
        r.ended_after += c.outcome(id) ? 1 : 0;
    }
    const auto& book = s.d.traffic();
    auto tally = [&](const std::vector<std::string>& group, outage_share& out) {
        out.workflows = group.size();
        for (const auto& id : group) {
            const auto trace = book.trace_of(id);
            const bool acted = std::any_of(trace.begin(), trace.end(), [&](const auto& t) {
                return t.query_id == 0 && t.type != "ack" && t.from != c.name() &&
                       t.at_ns >= t0_wall && t.at_ns <= t1_wall;
            });
            out.progressed += acted ? 1 : 0;
            const auto outcome = c.outcome(id);
            out.ended +=
                outcome && outcome->ended_ns >= to_ns(t0) && outcome->ended_ns <= to_ns(t1) ? 1 : 0;
        }
    };
    tally(in_flight, r.in_flight);
    tally(placed_during, r.placed_during);
    return r;
}

stuck_run measure_stuck(const pattern& p, const workflow& wf, const failure_claims_options& o) {
    stuck_run r;
    r.pattern = p.name();
    r.step_deadline = o.step_deadline;
    r.retries = o.retries;
    const auto owner_plan = p.plan_status_query(wf, "").ask;
    r.owner = owner_plan.size() == 1;
    r.detector = r.owner ? owner_plan.front() + "'s step deadline"
                         : "a stuck query asking every service (choreo-ctl stuck)";
    spawned_run s(p, wf, o,
                  {"--step-deadline", fmt::format("{}ms", o.step_deadline.count()),
                   "--step-retries", std::to_string(o.retries)});
    auto& c = s.d.client();
    const auto plans = plans_of(wf, "happy", 3 + o.held, o.seed);
    const auto finished =
        place_all(s.d, std::vector<planned_workflow>(plans.begin(), plans.begin() + 3));
    if (!c.wait_for(finished, o.wait)) {
        throw std::runtime_error("a workflow did not end with every node up");
    }
    r.finished = finished.size();

    const auto paused = middle_service(wf);
    const pid_t pid = s.children.pid_of(paused);
    ::kill(pid, SIGSTOP);
    std::vector<std::string> held;
    std::map<std::string, std::int64_t> placed_at;
    for (auto it = plans.begin() + 3; it != plans.end(); ++it) {
        const auto at = now_ns();
        held.push_back(c.place(it->details));
        placed_at[held.back()] = at;
    }
    r.held = held.size();
    const std::set<std::string> held_ids(held.begin(), held.end());

    stuck_query q;
    q.older_than = o.step_deadline;
    q.limit = r.held + r.finished + 10;
    q.timeout = o.query_timeout;
    if (r.owner) {
        c.wait_for(held, o.wait);
        for (const auto& id : held) {
            const auto outcome = c.outcome(id);
            if (outcome && outcome->terminal == workflow_state::failed) {
                ++r.ended_failed;
                r.failed_ns.push_back(outcome->ended_ns - outcome->placed_ns);
            }
            r.not_ended += outcome ? 0 : 1;
            const auto st = c.status(id).status;
            if (st.stuck_since_ns != 0) {
                ++r.detected;
                r.detection_ns.push_back(st.stuck_since_ns - placed_at.at(id));
            }
        }
        for (const auto& id : finished) {
            r.false_alarms += c.status(id).status.stuck_since_ns != 0 ? 1 : 0;
        }
        // One stuck query, for what it costs and what it says the owner cannot see.
        const auto report = find_stuck(c, p, wf, q);
        r.queries = 1;
        r.query_messages = report.messages;
        r.query_bytes = report.bytes;
        r.silent = report.silent;
        r.blind_spots = report.blind_spots;
    } else {
        std::set<std::string> listed, alarms;
        const auto until = clock_type::now() + o.wait;
        while (listed.size() < held.size() && clock_type::now() < until) {
            std::this_thread::sleep_for(o.stuck_poll);
            const auto report = find_stuck(c, p, wf, q);
            const auto at = now_ns();
            ++r.queries;
            r.query_messages += report.messages;
            r.query_bytes += report.bytes;
            r.blind_spots = report.blind_spots;
            for (const auto& n : report.silent) {
                if (std::find(r.silent.begin(), r.silent.end(), n) == r.silent.end()) {
                    r.silent.push_back(n);
                }
            }
            for (const auto& w : report.workflows) {
                if (!held_ids.contains(w.workflow_id)) {
                    alarms.insert(w.workflow_id);
                } else if (listed.insert(w.workflow_id).second) {
                    r.detection_ns.push_back(at - placed_at.at(w.workflow_id));
                }
            }
        }
        r.detected = listed.size();
        r.false_alarms = alarms.size();
        for (const auto& id : held) {
            r.not_ended += c.outcome(id) ? 0 : 1;
        }
    }
    ::kill(pid, SIGCONT);
    return r;
}

failure_claims measure_failure_claims(const std::vector<const pattern*>& patterns,
                                      const workflow& wf, const failure_claims_options& o) {
    failure_claims c;
    for (const auto* p : patterns) {
        c.recovery.push_back(measure_recovery(*p, wf, false, o));
        c.recovery.push_back(measure_recovery(*p, wf, true, o));
        c.outages.push_back(measure_outage(*p, wf, central_node(*p, wf), o));
        c.outages.push_back(measure_outage(*p, wf, middle_service(wf), o));
        c.stuck.push_back(measure_stuck(*p, wf, o));
    }
    return c;
}

void print_failure_claims(std::ostream& out, const failure_claims& c,
                          const failure_claims_options& o) {
    out << "\n== The chapter's failure claims, measured (choreo-node processes over tcp) ==\n";

    out << "\nRecoverability (Table 11-1: an advantage of orchestration; Table 11-5: a "
           "disadvantage of choreography)\n";
    out << fmt::format("  {} mixed workflows placed at once; the middle service SIGKILLed after "
                       "{} handled messages and restarted after {} ms; in memory (--in-memory) "
                       "against durable (a store per node, the default)\n",
                       o.orders, std::max<std::size_t>(1, o.orders / 4), o.restart_after.count());
    out << fmt::format("  {:<17} {:<10} {:<8} {:>5} {:>6} {:>10} {:>8} {:>8} {:>8} {:>10} {:>7}\n",
                       "pattern", "node", "store", "lost", "ended", "predicted", "doubled",
                       "e. lost", "refused", "duplicates", "resent");
    std::size_t durable_lost = 0, memory_lost = 0;
    for (const auto& r : c.recovery) {
        out << fmt::format(
            "  {:<17} {:<10} {:<8} {:>5} {:>6} {:>10} {:>8} {:>8} {:>8} {:>10} {:>7}{}\n",
            r.pattern, r.victim, r.durable ? "durable" : "memory", r.lost, r.ended, r.as_predicted,
            r.effects_doubled, r.effects_lost, r.refusals, r.duplicates, r.resent,
            r.tally.kills == 1 && r.tally.restarts == 1 ? "" : "  (the kill did not happen)");
        (r.durable ? durable_lost : memory_lost) += r.lost + r.effects_doubled + r.effects_lost;
    }
    out << "  (doubled, e. lost: domain effects, such as one customer's charges, above or below "
           "the prediction for every workflow placed)\n";
    out << fmt::format("  -> durable: {} workflows or effects lost or doubled in all; in memory: "
                       "{}.{}\n",
                       durable_lost, memory_lost,
                       durable_lost == 0 ? " Recovery comes from the nodes' stores and resends, in "
                                           "every pattern run: not from orchestration."
                                         : " Not every pattern recovered with its store.");

    out << "\nFault tolerance (Table 11-5: an advantage of choreography; Table 11-1: a "
           "disadvantage of orchestration)\n";
    out << fmt::format("  One node SIGKILLed and restarted once the live nodes were quiet for {} "
                       "ms. In flight: {} happy workflows past the middle service, held at the "
                       "third step's service until the kill. Placed during: {} more, after the "
                       "kill. Step deadline {} ms, 3 re-drives.\n",
                       o.quiet.count(), o.in_flight, o.placed_during,
                       o.outage_step_deadline.count());
    out << "  progressed: a live node sent a workflow message for it between the kill and the "
           "restart (a step acted and passed it on, or its end was told), as the nodes' ledgers "
           "record it; ended: the client was told it ended in that time\n";
    out << fmt::format("  {:<17} {:<18} {:<28} {:>16} {:>8} {:>16} {:>8} {:>10}\n", "pattern",
                       "node down", "role", "in flight prog.", "ended", "placed prog.", "ended",
                       "ended after");
    for (const auto& r : c.outages) {
        out << fmt::format("  {:<17} {:<18} {:<28} {:>16} {:>8} {:>16} {:>8} {:>10}\n", r.pattern,
                           r.victim, r.role, share(r.in_flight.progressed, r.in_flight.workflows),
                           r.in_flight.ended,
                           share(r.placed_during.progressed, r.placed_during.workflows),
                           r.placed_during.ended, share(r.ended_after, r.placed));
    }
    out << "  ended after: ended once the node was back; a reply sent to a killed owner over "
           "its old connection is lost, and only the owner's step deadline re-drives it\n";
    std::size_t new_past_central = 0, ended_past_owner = 0, middle_in_flight_ended = 0,
                middle_in_flight = 0;
    for (const auto& r : c.outages) {
        if (r.role == "middle service") {
            middle_in_flight_ended += r.in_flight.ended;
            middle_in_flight += r.in_flight.workflows;
        } else {
            new_past_central += r.placed_during.progressed;
        }
        ended_past_owner += r.role == "owner of the workflow state" ? r.in_flight.ended : 0;
    }
    out << fmt::format("  -> with the middle service down, {} of {} in-flight workflows ended; "
                       "with the owner or the entry down, {} new workflows progressed, and with "
                       "an owner down {} in-flight workflows ended: a workflow progresses where "
                       "its next node is up, and an owner is on every workflow's path\n",
                       middle_in_flight_ended, middle_in_flight, new_past_central,
                       ended_past_owner);

    out << "\nState management: what a status query answered during the outage\n";
    for (const auto& r : c.outages) {
        for (const auto& s : r.statuses) {
            out << fmt::format(
                "  {:<17} {:<23} {:<16} {} {}{}; asked {}, answered {}{}{}\n", r.pattern,
                r.victim + " down", s.of + ":", s.found ? "found" : "not found", s.state,
                s.last_service.empty()
                    ? ""
                    : fmt::format(" (last step {} by {})", s.last_step, s.last_service),
                fmt::join(s.asked, ","),
                s.answered.empty() ? "none" : fmt::format("{}", fmt::join(s.answered, ",")),
                s.silent.empty() ? ""
                                 : fmt::format("; no answer from {} (in {:.0f} ms)",
                                               fmt::join(s.silent, ","), ms(s.latency_ns)),
                s.errors.empty() ? "" : fmt::format("; errors: {}", fmt::join(s.errors, "; ")));
        }
    }

    out << "\nError handling and workflow control (Table 11-1; the ADR's \"easy tracking of lost "
           "or mis-tracked messages\")\n";
    out << fmt::format("  The middle service paused (SIGSTOP) with {} happy workflows held at it; "
                       "step deadline {} ms, {} re-drive(s); the stuck query asks for workflows "
                       "with no progress for {} ms, every {} ms\n",
                       c.stuck.empty() ? 0 : c.stuck.front().held, o.step_deadline.count(),
                       o.retries, o.step_deadline.count(), o.stuck_poll.count());
    out << "  detected: marked stuck by the owner (status stuck_since set), or listed by a stuck "
           "query; after: median time from placement to detection\n";
    for (const auto& r : c.stuck) {
        out << fmt::format(
            "  {:<17} by {}: detected {}, after {}; false alarms {}; ended failed "
            "{}{}; not ended {}; {} stuck quer{} cost {} messages ({} bytes){}\n",
            r.pattern, r.detector, share(r.detected, r.held), median_ms(r.detection_ns),
            r.false_alarms, r.ended_failed,
            r.failed_ns.empty() ? "" : " after " + median_ms(r.failed_ns), r.not_ended, r.queries,
            r.queries == 1 ? "y" : "ies", r.query_messages, r.query_bytes,
            r.silent.empty() ? "" : fmt::format("; silent: {}", fmt::join(r.silent, ",")));
        for (const auto& b : r.blind_spots) {
            out << "      cannot detect: " << b << "\n";
        }
    }
    std::size_t by_owner = 0, owned = 0, by_query = 0, queried = 0, ended_without = 0;
    for (const auto& r : c.stuck) {
        (r.owner ? by_owner : by_query) += r.detected;
        (r.owner ? owned : queried) += r.held;
        ended_without += r.owner ? 0 : r.ended_failed;
    }
    out << fmt::format("  -> owners found {} of {} held workflows by themselves and ended them; "
                       "without an owner a query asking every service found {} of {}, and {} "
                       "were ended\n",
                       by_owner, owned, by_query, queried, ended_without);
}

} // namespace choreo::demo

// Table 11-8 on the Sysops Squad ticket workflow: workflow control, state query, error handling
// and scalability, each as exact counts from the transport under every pattern. Every expected
// figure comes from the workflow model (tests/traffic_model.hpp), never from a run.
#include "workflows/ticket/ticket.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "demo/table_11_8.hpp"
#include "harness.hpp"
#include "patterns/clock.hpp"
#include "patterns/deployment.hpp"
#include "patterns/drive.hpp"
#include "patterns/stuck.hpp"
#include "traffic_model.hpp"

namespace choreo::testing {
namespace {

using namespace std::chrono_literals;
using ticket::trouble_ticket;

/// One ticket of each way the chapter's error handling row asks about, with the walk the model
/// gives it on the standard data (workflows/ticket: the r-th available expert in round r).
struct ticket_case {
    std::string name;
    trouble_ticket ticket;
    std::map<std::size_t, std::string> failing; ///< step index -> failure event
    bool cancelled = false; ///< cancelled while it waits for the expert's report
    std::string terminal;
};

/// The expert's steps of the unrolled loop, round by round.
std::vector<std::size_t> expert_steps(const workflow& wf) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < wf.steps.size(); ++i) {
        if (!wf.steps[i].awaits.empty()) {
            out.push_back(i);
        }
    }
    return out;
}

std::size_t step_of(const workflow& wf, std::string_view service, std::uint32_t round = 1) {
    for (std::size_t i = 0; i < wf.steps.size(); ++i) {
        if (wf.steps[i].service == service && wf.steps[i].round == round) {
            return i;
        }
    }
    throw std::invalid_argument("no step of " + std::string(service));
}

std::vector<ticket_case> cases(const workflow& wf) {
    const auto expert = expert_steps(wf);
    std::map<std::size_t, std::string> every_round;
    for (const auto i : expert) {
        every_round[i] = "expert_unavailable";
    }
    return {
        {"happy", {"c002", "network", "north"}, {}, false, "completed"},
        // The first expert declines, the second completes.
        {"reassign",
         {"c003", "laptop", "south"},
         {{expert[0], "expert_unavailable"}},
         false,
         "completed"},
        // No expert of max_rounds completes: escalated to a person.
        {"escalated", {"c001", "network", "west"}, every_round, false, "escalated"},
        {"no_expert",
         {"c004", "phone", "remote"},
         {{step_of(wf, "ticket_assignment"), "no_expert_found"}},
         false,
         "unassigned"},
        {"survey_down",
         {"q002", "printer", "north"},
         {{step_of(wf, "survey"), "survey_failed"}},
         false,
         "closed_no_survey"},
        {"cancelled", {"c002", "network", "north"}, {}, true, "cancelled"},
    };
}

/// Returns: the walk the model gives `c`, with the outside events the client sends for it.
walk walk_of(const workflow& wf, const ticket_case& c) {
    if (c.cancelled) {
        return walk_through(wf, c.failing, wf.interrupt_by(ticket::cancel_command),
                            {std::string(ticket::cancel_command)});
    }
    return walk_through(wf, c.failing, nullptr, {std::string(ticket::expert_reported)});
}

/// Places `c`'s ticket and sends what its client sends from outside: the expert's report at
/// once, or the cancel once the ticket waits for that report. Returns: its id, once it ended.
std::string run(deployment& d, const ticket_case& c) {
    const auto details = msg::value::of(c.ticket);
    const auto id = d.client().place(details);
    if (c.cancelled) {
        const auto st = await_status(
            d, id, [&](const msg::workflow_status& s) { return waits_for_outside(d.flow(), s); });
        EXPECT_TRUE(waits_for_outside(d.flow(), st)) << c.name;
        EXPECT_FALSE(d.client().send_outside(id, std::string(ticket::cancel_command), details));
    } else {
        EXPECT_FALSE(d.client().send_outside(id, std::string(ticket::expert_reported), details));
    }
    EXPECT_TRUE(d.client().wait_for({id}, deadline)) << c.name;
    EXPECT_EQ(d.client().outcome(id)->terminal, c.terminal) << c.name;
    return id;
}

/// Returns: the nodes (the client left out) that sent or received a workflow message.
std::set<std::string> nodes_in(const std::vector<traffic_record>& trace,
                               const std::string& client = "client") {
    std::set<std::string> out;
    for (const auto& r : trace) {
        if (r.query_id != 0) {
            continue;
        }
        for (const auto* n : {&r.from, &r.to}) {
            if (*n != client) {
                out.insert(*n);
            }
        }
    }
    return out;
}

/// Returns: the nodes the model says send or receive a workflow message (the client left out).
std::set<std::string> nodes_in(const expected_traffic& t, const std::string& client = "client") {
    std::set<std::string> out;
    for (const auto* part : {&t.inter_service, &t.client}) {
        for (const auto& [from, to] : *part) {
            for (const auto* n : {&from, &to}) {
                if (*n != client) {
                    out.insert(*n);
                }
            }
        }
    }
    return out;
}

std::size_t workflow_messages(const std::vector<traffic_record>& trace) {
    return static_cast<std::size_t>(std::count_if(
        trace.begin(), trace.end(), [](const traffic_record& r) { return r.query_id == 0; }));
}

/// Bytes of status-query traffic the ledger has seen so far.
std::uint64_t query_bytes(const local_deployment& d) {
    std::uint64_t n = 0;
    for (const auto& r : d.book().trace()) {
        n += r.query_id != 0 ? r.bytes : 0;
    }
    return n;
}

class ticket_claims : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = pattern_named(GetParam());
    const workflow ticket_ = workflow_named("ticket");
};

INSTANTIATE_TEST_SUITE_P(patterns, ticket_claims, ::testing::ValuesIn(modelled_patterns()),
                         pattern_name{});

// ---- Table 11-8, error handling --------------------------------------------------------------

// Messages, links and nodes each error scenario involves, as the model says, ticket by ticket.
TEST_P(ticket_claims, error_handling_messages_links_and_nodes_per_scenario_are_as_modelled) {
    local_deployment d(pattern_, ticket_, options(transport::inproc));
    std::map<std::string, std::set<link>> links;
    for (const auto& c : cases(ticket_)) {
        SCOPED_TRACE(c.name);
        const auto id = run(d, c);
        const auto want = expected_for(pattern_, ticket_, walk_of(ticket_, c));
        const auto trace = d.book().trace_of(id);
        EXPECT_EQ(inter_service_links(trace), want.inter_service);
        EXPECT_EQ(workflow_messages(trace), want.inter_service.size() + want.client.size());
        EXPECT_EQ(links_in(trace), want.links());
        EXPECT_EQ(nodes_in(trace), nodes_in(want));
        links[c.name] = links_in(trace);
        ::testing::Test::RecordProperty("messages_" + c.name,
                                        static_cast<int>(workflow_messages(trace)));
        ::testing::Test::RecordProperty("links_" + c.name, static_cast<int>(links[c.name].size()));
    }
    EXPECT_EQ(d.rejected(), 0u);
    const auto& happy = links["happy"];
    const auto extra = pattern_.extra_nodes(ticket_);
    for (const auto& [name, l] : links) {
        SCOPED_TRACE(name);
        if (!extra.empty()) {
            // Every error runs over the orchestrator's star: no link the star does not have.
            for (const auto& [from, to] : l) {
                EXPECT_TRUE(from == extra.front() || to == extra.front()) << from << "->" << to;
            }
        }
    }
    if (extra.empty()) {
        // Choreographed, a reassignment and a cancel open links the happy ticket never uses:
        // the expert's app back to assignment, and to the customer's notification.
        EXPECT_TRUE(links["reassign"].contains({"expert_app", "ticket_assignment"}));
        EXPECT_FALSE(happy.contains({"expert_app", "ticket_assignment"}));
        EXPECT_TRUE(links["cancelled"].contains({"expert_app", "notification"}));
        EXPECT_FALSE(happy.contains({"expert_app", "notification"}));
    }
}

// ---- Table 11-8, state query -----------------------------------------------------------------

/// Checks the cost of one status query against where the pattern keeps the state: the owner
/// alone (2 messages), or every service (2 each); and that the ledger saw exactly its bytes.
msg::workflow_status expect_query_cost(local_deployment& d, const std::string& id) {
    const auto& p = d.used_pattern();
    const auto before = query_bytes(d);
    const auto answer = d.client().status(id);
    const auto after = query_bytes(d);
    std::vector<std::string> where;
    if (has_owner(p, d.flow())) {
        where = {p.entry(d.flow())};
    } else {
        where = d.flow().services();
    }
    auto asked = answer.asked;
    auto answered = answer.answered;
    std::sort(asked.begin(), asked.end());
    std::sort(answered.begin(), answered.end());
    std::sort(where.begin(), where.end());
    EXPECT_EQ(asked, where);
    EXPECT_EQ(answered, where);
    EXPECT_EQ(answer.cost.messages, 2 * where.size());
    EXPECT_EQ(answer.cost.bytes, after - before);
    ::testing::Test::RecordProperty("status_query_messages",
                                    static_cast<int>(answer.cost.messages));
    ::testing::Test::RecordProperty("status_query_bytes", static_cast<int>(answer.cost.bytes));
    return answer.status;
}

// "Where is ticket T now", mid-reassignment and after a cancel: the answer is right under
// every pattern; what it costs is one node or every service.
TEST_P(ticket_claims, state_query_cost_and_answer_mid_reassignment_and_after_a_cancel) {
    local_deployment d(pattern_, ticket_, options(transport::inproc));
    const trouble_ticket t{"c003", "laptop", "south"}; // the first expert declines
    const auto details = msg::value::of(t);
    const auto id = d.client().place(details);
    auto st = await_status(
        d, id, [&](const msg::workflow_status& s) { return waits_for_outside(d.flow(), s); });
    ASSERT_TRUE(waits_for_outside(d.flow(), st));
    d.hold("ticket_assignment"); // round 2's assignment waits in it
    ASSERT_FALSE(d.client().send_outside(id, std::string(ticket::expert_reported), details));
    const auto first = expert_steps(ticket_).front();
    st = await_status(d, id, [&](const msg::workflow_status& s) {
        return s.steps.size() > first && s.steps[first].status == step_status::failed;
    });
    ASSERT_EQ(st.steps.size(), ticket_.steps.size());
    st = expect_query_cost(d, id);
    EXPECT_EQ(st.state, workflow_state::in_progress);
    for (std::size_t i = 0; i < st.steps.size(); ++i) {
        const auto want = i < first    ? step_status::done
                          : i == first ? step_status::failed
                                       : step_status::pending;
        EXPECT_EQ(st.steps[i].status, want) << i;
    }
    d.release("ticket_assignment");
    ASSERT_TRUE(d.client().wait_for({id}, deadline));

    // Cancelled while it waits for the expert: cancelled, both told, at the same cost.
    const auto cancelled = cases(ticket_).back();
    ASSERT_TRUE(cancelled.cancelled);
    const auto cid = run(d, cancelled);
    st = expect_query_cost(d, cid);
    EXPECT_EQ(st.state, "cancelled");
    EXPECT_EQ(statuses(st.notified),
              (std::vector<std::string>{"notification:notified:ticket_cancelled",
                                        "expert_app:notified:ticket_cancelled"}));
}

// ---- Table 11-8, workflow control ------------------------------------------------------------

// A ticket whose step is lost (its service holds the message past the step's deadline): an
// owner of the state (front controller, orchestrator) detects it by itself, marks it stuck and
// re-drives the step; choreographed, nobody does, and only a stuck query asking every service
// finds it. Released, the ticket completes once, its customer notified once.
TEST_P(ticket_claims, workflow_control_a_lost_step_is_detected_by_its_owner_only) {
    auto wf = ticket_;
    wf.set_step_deadlines(scaled(100ms));
    wf.retries = 1'000'000;
    local_deployment d(pattern_, wf, options(transport::inproc));
    const auto lost = step_of(wf, "notification");
    d.hold("notification");
    const ticket_case c{"happy", {"c002", "network", "north"}, {}, false, "completed"};
    const auto details = msg::value::of(c.ticket);
    const auto id = d.client().place(details);
    ASSERT_FALSE(d.client().send_outside(id, std::string(ticket::expert_reported), details));
    const bool owner = has_owner(pattern_, wf);
    const auto seen = await_status(d, id, [&](const msg::workflow_status& s) {
        return owner ? s.state == workflow_state::stuck && s.redrives >= 1
                     : s.last_at_ns != 0 &&
                           now_ns() - s.last_at_ns >= scaled(300ms).count() * 1'000'000;
    });
    ASSERT_GT(seen.steps.size(), lost);
    EXPECT_EQ(seen.steps[lost].status, step_status::pending);
    if (owner) {
        EXPECT_EQ(seen.state, workflow_state::stuck) << "the owner detects the loss";
        EXPECT_EQ(seen.stuck_step, lost);
        EXPECT_GE(seen.redrives, 1U);
    } else {
        EXPECT_EQ(seen.state, workflow_state::in_progress) << "nobody can tell it is lost";
        EXPECT_EQ(seen.redrives, 0U);
    }
    stuck_query q;
    q.older_than = scaled(50ms);
    q.timeout = scaled(2s);
    const auto report = find_stuck(d.client(), pattern_, wf, q);
    EXPECT_EQ(report.owner, owner);
    ASSERT_EQ(report.workflows.size(), 1U);
    EXPECT_EQ(report.workflows.front().workflow_id, id);
    if (owner) {
        EXPECT_EQ(report.asked, std::vector<std::string>{pattern_.entry(wf)});
        EXPECT_EQ(report.messages, 2U);
    } else {
        // Two rounds over every service: candidates, then each one's latest record of them.
        EXPECT_EQ(report.asked.size(), wf.services().size());
        EXPECT_EQ(report.messages, 2 * 2 * wf.services().size());
    }
    ::testing::Test::RecordProperty("stuck_query_messages", static_cast<int>(report.messages));
    d.release("notification");
    ASSERT_TRUE(d.client().wait_for({id}, deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "completed");
    const auto e = d.effects();
    EXPECT_EQ(e.at("sms:c002:expert_on_the_way"), 1) << "a re-driven step was decided again";
    EXPECT_EQ(e.at("tickets_completed"), 1);
}

// Tickets lost to a seeded drop, a dropped send not resent within the spell: an owner of the
// state (front controller, orchestrator) finds every one by itself at its step deadline after
// the drop, re-drives it and it ends as it would have; without an owner nobody finds any, every
// one stays lost, and only a stuck query asking every service lists them: all, and nothing else.
TEST_P(ticket_claims, workflow_control_under_drops_only_an_owner_detects_lost_tickets_by_itself) {
    demo::lost_tickets_options o;
    o.step_deadline = scaled(300ms);
    o.quiet = scaled(1'000ms);
    o.wait = deadline;
    const auto r = demo::measure_lost_tickets(pattern_, ticket_, o);
    const bool owner = has_owner(pattern_, ticket_);
    EXPECT_EQ(r.fault, "drop:0.02:seed=7");
    EXPECT_EQ(r.placed, o.tickets);
    EXPECT_GT(r.dropped, 0U) << "the seeded drop dropped nothing: nothing was measured";
    EXPECT_GT(r.lost, 0U);
    EXPECT_LE(r.lost, r.dropped) << "a ticket is lost only to a drop";
    ASSERT_EQ(r.detected_after_ns.size(), r.detected);
    if (owner) {
        EXPECT_EQ(r.detector, pattern_.entry(ticket_));
        EXPECT_EQ(r.detected, r.lost) << "the owner finds every lost ticket by itself";
        // At its step deadline after the owner last heard of it, which is about when the
        // dropped send went (the owner's clock starts as it sends, or as the report of the step
        // before comes): never much sooner than the deadline.
        for (const auto ns : r.detected_after_ns) {
            EXPECT_GE(ns, std::chrono::nanoseconds(o.step_deadline).count() / 2);
        }
        EXPECT_EQ(r.recovered, r.lost);
        EXPECT_EQ(r.not_ended, 0U);
        EXPECT_EQ(r.ended, r.placed);
        EXPECT_EQ(r.query_nodes, 1U);
        EXPECT_EQ(r.query_messages, 2U);
    } else {
        EXPECT_EQ(r.detector, "");
        EXPECT_EQ(r.detected, 0U) << "nobody finds a lost ticket by itself";
        EXPECT_EQ(r.false_alarms, 0U);
        EXPECT_EQ(r.recovered, 0U);
        EXPECT_EQ(r.not_ended, r.lost);
        EXPECT_EQ(r.ended + r.lost, r.placed);
        // Two rounds over every service: candidates, then each one's latest record of them.
        EXPECT_EQ(r.query_nodes, ticket_.services().size());
        EXPECT_EQ(r.query_messages, 2 * 2 * ticket_.services().size());
    }
    EXPECT_EQ(r.listed, r.not_ended) << "the stuck query lists every lost ticket not ended";
    EXPECT_EQ(r.listed_not_lost, 0U);
    ::testing::Test::RecordProperty("lost", static_cast<int>(r.lost));
    ::testing::Test::RecordProperty("dropped", static_cast<int>(r.dropped));
}

// ---- Table 11-8, scalability -----------------------------------------------------------------

// The busiest node's share of a ticket's messages: the orchestrator handles every one; a
// choreographed service a part. Per node, exactly as the model says.
TEST(ticket_claims_all, the_orchestrator_handles_every_message_of_a_ticket) {
    const auto wf = workflow_named("ticket");
    std::map<std::string, std::size_t> busiest, total;
    for (const auto& name : modelled_patterns()) {
        SCOPED_TRACE(name);
        const auto& p = pattern_named(name);
        local_deployment d(p, wf, options(transport::inproc));
        for (const auto& c : cases(wf)) {
            if (c.name != "happy" && c.name != "reassign") {
                continue;
            }
            SCOPED_TRACE(c.name);
            const auto id = run(d, c);
            const auto want = expected_for(p, wf, walk_of(wf, c));
            const auto trace = d.book().trace_of(id);
            for (const auto& node : d.nodes()) {
                EXPECT_EQ(handled_by(trace, node), want.handled_by(node)) << node;
                if (c.name == "reassign") {
                    busiest[name] = std::max(busiest[name], handled_by(trace, node));
                }
            }
            if (c.name == "reassign") {
                total[name] = workflow_messages(trace);
            }
        }
        ::testing::Test::RecordProperty("busiest_node_messages_" + name,
                                        static_cast<int>(busiest[name]));
    }
    EXPECT_EQ(busiest["orchestration"], total["orchestration"]) << "a share of 1";
    for (const auto& [name, most] : busiest) {
        if (name != "orchestration") {
            EXPECT_LT(most * total["orchestration"], total[name] * busiest["orchestration"])
                << name << ": its busiest node's share is not below the orchestrator's";
        }
    }
}

} // namespace
} // namespace choreo::testing

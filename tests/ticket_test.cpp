// The ticket workflow under every pattern: a loop (reassignment), an optional step (survey),
// an event from outside the chain (cancel) and a step waiting for one (the expert's report).
#include "workflows/ticket/ticket.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "outside_events.hpp"
#include "patterns/client.hpp"
#include "patterns/deployment.hpp"
#include "traffic_model.hpp"

namespace choreo::testing {
namespace {

using ticket::trouble_ticket;

// ---- the model, as data ----------------------------------------------------------------------

TEST(ticket_model, unrolls_the_assignment_loop_into_three_rounds_of_three_steps) {
    const auto wf = workflow_named("ticket");
    ASSERT_EQ(wf.steps.size(), 3 + 3 * ticket::max_rounds);
    const std::vector<std::string> services{
        "ticket_management", "ticket_assignment", "notification",      "expert_app",
        "ticket_assignment", "notification",      "expert_app",        "ticket_assignment",
        "notification",      "expert_app",        "ticket_management", "survey"};
    for (std::uint32_t i = 0; i < wf.steps.size(); ++i) {
        EXPECT_EQ(wf.steps[i].service, services[i]) << i;
        EXPECT_EQ(wf.steps[i].round, i >= 1 && i <= 9 ? (i - 1) / 3 + 1 : 1u) << i;
    }
    // A round's expert done leaves the loop; its failure goes to the next round's assignment;
    // in the last round it ends the ticket "escalated", the customer told.
    EXPECT_EQ(wf.successor(3), 10u);
    EXPECT_EQ(wf.successor(6), 10u);
    EXPECT_EQ(wf.successor(9), 10u);
    EXPECT_EQ(wf.successor(11), 12u);
    EXPECT_EQ(wf.find_failure(3, "expert_unavailable")->resume, std::optional<std::uint32_t>(4));
    EXPECT_EQ(wf.find_failure(6, "expert_unavailable")->resume, std::optional<std::uint32_t>(7));
    const auto* last = wf.find_failure(9, "expert_unavailable");
    EXPECT_FALSE(last->resume);
    EXPECT_EQ(last->terminal, "escalated");
    EXPECT_EQ(last->notify, std::vector<std::string>{"notification"});
    // Each expert step waits for the app's report, from outside the chain.
    for (const std::uint32_t i : {3u, 6u, 9u}) {
        EXPECT_EQ(wf.steps[i].awaits, "expert_reported") << i;
    }
    EXPECT_TRUE(wf.steps[11].optional);
    EXPECT_TRUE(wf.successful("closed_no_survey"));
    EXPECT_FALSE(wf.successful("escalated"));
    // A cancel is a failure every step may end in.
    for (std::uint32_t i = 0; i < wf.steps.size(); ++i) {
        const auto* f = wf.find_failure(i, "ticket_cancelled");
        ASSERT_NE(f, nullptr) << i;
        EXPECT_EQ(f->terminal, "cancelled");
    }
    EXPECT_EQ(wf.terminals(),
              (std::vector<std::string>{"completed", "rejected", "unassigned", "escalated",
                                        "closed_no_survey", "cancelled"}));
}

TEST(ticket_model, repeat_refuses_a_loop_the_workflow_does_not_have) {
    const auto wf = workflow_named("order");
    EXPECT_THROW(static_cast<void>(repeat(wf, 1, 2, "no_such_event", 2)), std::invalid_argument);
    EXPECT_THROW(static_cast<void>(repeat(wf, 2, 1, "order_back_ordered", 2)),
                 std::invalid_argument);
    EXPECT_THROW(static_cast<void>(repeat(wf, 1, 9, "order_back_ordered", 2)),
                 std::invalid_argument);
    EXPECT_THROW(static_cast<void>(repeat(wf, 1, 2, "order_back_ordered", 0)),
                 std::invalid_argument);
    // One round is the workflow as it was.
    const auto same = repeat(wf, 1, 2, "order_back_ordered", 1);
    ASSERT_EQ(same.steps.size(), wf.steps.size());
    for (std::uint32_t i = 0; i < wf.steps.size(); ++i) {
        EXPECT_EQ(same.successor(i), i + 1);
    }
}

class ticket_under : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = pattern_named(GetParam());
    const workflow ticket_ = workflow_named("ticket");
};

INSTANTIATE_TEST_SUITE_P(patterns, ticket_under, ::testing::ValuesIn(every_pattern()),
                         pattern_name{});

TEST_P(ticket_under, a_thousand_mixed_tickets_end_as_predicted_with_the_predicted_effects) {
    local_deployment d(pattern_, ticket_, options(transport::inproc, false));
    const auto b = place_and_drive(d, "mixed", 1000, 11);
    std::set<std::string> scenarios;
    for (const auto& p : b.plans) {
        scenarios.insert(p.scenario);
    }
    EXPECT_EQ(scenarios.size(), 5u) << "the mix covers every scenario";
    EXPECT_TRUE(ended_as_planned(d, b));
    EXPECT_TRUE(effects_as_predicted(d, b));
    EXPECT_EQ(d.rejected(), 0u);
}

TEST_P(ticket_under,
       two_hundred_mixed_tickets_in_flight_end_as_predicted_with_two_finished_workflows_kept) {
    // The expert's reports come at once, long before most tickets reach the expert's app, and
    // the cancels once the cancelled tickets have waited there while every other ticket ended:
    // with two finished workflows kept per node, each service retires hundreds of records
    // meanwhile. Neither the events nor the waiting steps may go with them.
    auto o = options(transport::inproc, false);
    o.node.retain_finished = 2;
    local_deployment d(pattern_, ticket_, o);
    const auto b = place_then_interrupt_when_quiet(d, "mixed", 200, 17);
    std::set<std::string> scenarios;
    for (const auto& p : b.plans) {
        scenarios.insert(p.scenario);
    }
    EXPECT_EQ(scenarios.size(), 5u) << "the mix covers every scenario";
    EXPECT_TRUE(ended_as_planned(d, b));
    EXPECT_TRUE(effects_as_predicted(d, b));
    EXPECT_EQ(d.rejected(), 0u);
    for (const auto& n : d.nodes()) {
        EXPECT_EQ(d.on_service(n, [](service_node& s) { return s.early_evicted(); }), 0u) << n;
    }
}

TEST_P(ticket_under, every_scenario_ends_as_predicted) {
    for (const auto* s : {"happy", "reassign", "no_expert", "cancelled", "survey_down"}) {
        SCOPED_TRACE(s);
        local_deployment d(pattern_, ticket_, options(transport::inproc, false));
        const auto b = place_and_drive(d, s, 40, 5);
        EXPECT_TRUE(ended_as_planned(d, b));
        EXPECT_TRUE(effects_as_predicted(d, b));
    }
}

/// Places one ticket and sends the expert's report at once.
std::string place_reported(deployment& d, const trouble_ticket& t) {
    const auto details = msg::value::of(t);
    const auto id = d.client().place(details);
    EXPECT_FALSE(d.client().send_outside(id, std::string(ticket::expert_reported), details));
    return id;
}

TEST_P(ticket_under, a_ticket_no_expert_completes_is_escalated_after_three_rounds) {
    local_deployment d(pattern_, ticket_, options(transport::inproc, false));
    const auto id = place_reported(d, {"c001", "network", "west"});
    ASSERT_TRUE(d.client().wait_for({id}, deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "escalated");
    const auto st = d.client().status(id).status;
    EXPECT_EQ(st.state, "escalated");
    EXPECT_EQ(statuses(st.steps),
              (std::vector<std::string>{
                  "ticket_management:done:ticket_created", "ticket_assignment:done:expert_assigned",
                  "notification:done:customer_notified", "expert_app:failed:expert_unavailable",
                  "ticket_assignment:done:expert_assigned", "notification:done:customer_notified",
                  "expert_app:failed:expert_unavailable", "ticket_assignment:done:expert_assigned",
                  "notification:done:customer_notified", "expert_app:failed:expert_unavailable",
                  "ticket_management:pending", "survey:pending"}));
    EXPECT_EQ(statuses(st.notified),
              std::vector<std::string>{"notification:notified:expert_unavailable"});
    const auto e = d.effects();
    for (const auto* expert : {"west-network-1", "west-network-2", "west-network-3"}) {
        EXPECT_EQ(e.at(std::string("assigned:") + expert), 1) << expert;
        EXPECT_EQ(e.at(std::string("reassigned_from:") + expert), 1) << expert;
    }
    EXPECT_FALSE(e.contains("assigned:west-network-4")) << "a fourth round was run";
    EXPECT_EQ(e.at("email:c001:escalated"), 1);
    EXPECT_EQ(e.at("email:c001:expert_on_the_way"), 3);
}

TEST_P(ticket_under, a_survey_that_cannot_be_sent_closes_the_ticket_and_is_retried_later) {
    // q002 is reached at the first retry; q007 never, so its survey is given up after
    // survey_retries retries. Both tickets close without a survey, at once.
    local_deployment d(pattern_, ticket_, options(transport::inproc, false));
    const auto reached = place_reported(d, {"q002", "printer", "north"});
    const auto never = place_reported(d, {"q007", "network", "north"});
    ASSERT_TRUE(d.client().wait_for({reached, never}, deadline));
    for (const auto& id : {reached, never}) {
        EXPECT_EQ(d.client().outcome(id)->terminal, "closed_no_survey");
        const auto st = d.client().status(id).status;
        EXPECT_EQ(st.state, "closed_no_survey");
        EXPECT_EQ(statuses({st.steps.back()}),
                  std::vector<std::string>{"survey:failed:survey_failed"});
    }
    const auto sent_at_close = d.traffic().sent();
    // The survey service retries on its own, after the tickets ended: effects() waits until
    // it holds none to retry.
    const auto e = d.effects();
    EXPECT_EQ(e.at("tickets_completed"), 2);
    EXPECT_EQ(e.at("surveys_sent"), 0);
    EXPECT_EQ(e.at("surveys_failed"), 2);
    EXPECT_EQ(e.at("surveys_retried"), 1 + static_cast<std::int64_t>(ticket::survey_retries));
    EXPECT_EQ(e.at("surveys_sent_later"), 1);
    EXPECT_EQ(e.at("surveys_given_up"), 1);
    EXPECT_EQ(e.at("surveys_to_retry"), 0);
    EXPECT_EQ(e.at("surveys_dropped"), 0);
    // The retries are the survey service's own business: no message went anywhere for them,
    // and the tickets' state did not change.
    EXPECT_EQ(d.traffic().sent(), sent_at_close);
    for (const auto& id : {reached, never}) {
        EXPECT_EQ(d.client().status(id).status.state, "closed_no_survey");
    }
    EXPECT_EQ(d.on_service("survey", [](service_node& s) { return s.domain()->later_work(); }), 0u);
}

TEST_P(ticket_under, with_no_expert_free_the_ticket_is_unassigned_and_the_customer_told) {
    local_deployment d(pattern_, ticket_, options(transport::inproc, false));
    const auto id = place_reported(d, {"c004", "phone", "remote"});
    ASSERT_TRUE(d.client().wait_for({id}, deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "unassigned");
    const auto st = d.client().status(id).status;
    EXPECT_EQ(st.state, "unassigned");
    EXPECT_EQ(statuses(st.notified),
              std::vector<std::string>{"notification:notified:no_expert_found"});
    const auto e = d.effects();
    EXPECT_EQ(e.at("unassigned"), 1);
    EXPECT_EQ(e.at("sms:c004:no_expert"), 1);
    EXPECT_EQ(e.at("tickets_completed"), 0);
}

/// Waits until every node a client sends `event` to under the deployment's pattern has handled
/// what the client sent it so far, but `held`: each answers an inspect_request sent after it
/// on the same connection.
void handled_everywhere(deployment& d, std::string_view event, const std::string& held) {
    for (const auto& to : d.used_pattern().outside_event_targets(d.flow(), event)) {
        if (to != held) {
            ASSERT_TRUE(d.client().ask(to, msg::inspect_request{0, 0}, deadline)) << to;
        }
    }
}

/// Waits until `node` has received at least `at_least` messages (held ones too).
void await_received(local_deployment& d, const std::string& node, std::uint64_t at_least) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (d.counters(node).received < at_least && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_GE(d.counters(node).received, at_least) << node;
}

/// The ticket workflow's effects with none of its tickets placed (every counter 0), and then
/// `set`.
domain_effects ticket_effects(const domain_effects& set) {
    const auto wf = workflow_named("ticket");
    auto e = module_of(wf).predict(wf, {});
    for (const auto& [key, n] : set) {
        e[key] = n;
    }
    return e;
}

/// The effects of one north ticket of c002 (sms) cancelled after `ran` steps ran (0: none).
domain_effects cancelled_after(int ran) {
    auto e = ticket_effects(
        {{"tickets_opened", ran >= 1 ? 1 : 0}, {"app_told_to_stop", 1}, {"sms:c002:cancelled", 1}});
    if (ran >= 2) {
        e["assigned:north-network-1"] = 1;
    }
    if (ran >= 3) {
        e["sms:c002:expert_on_the_way"] = 1;
    }
    if (ran >= 5) {
        e["fixed_by:north-network-1"] = 1;
        e["tickets_completed"] = 1;
    }
    return e;
}

/// The steps of that ticket's status (its expert completes at once) cancelled at step `at`, the
/// first step not run at its service when the cancel came there: the steps before it on the
/// ticket's way are done, it failed, the rest are pending. `at` past the last step: completed.
std::vector<std::string> steps_cancelled_at(const workflow& wf, std::uint32_t at) {
    // The ticket's way, in order, and what each step on it announces when done.
    const std::vector<std::pair<std::uint32_t, std::string>> way{
        {0, "ticket_created"}, {1, "expert_assigned"},   {2, "customer_notified"},
        {3, "ticket_fixed"},   {10, "ticket_completed"}, {11, "survey_sent"}};
    std::vector<std::string> out;
    for (std::uint32_t i = 0; i < wf.steps.size(); ++i) {
        out.push_back(wf.steps[i].service + ":pending");
    }
    for (const auto& [i, event] : way) {
        if (i == at) {
            out[i] = wf.steps[i].service + ":failed:ticket_cancelled";
            break;
        }
        out[i] = wf.steps[i].service + ":done:" + event;
    }
    return out;
}

/// Returns: the client's workflow messages in `trace` (placing, ending, outside events).
std::size_t client_messages(const std::vector<traffic_record>& trace) {
    return static_cast<std::size_t>(std::count_if(
        trace.begin(), trace.end(), [](const auto& r) { return r.query_id == 0 && r.client; }));
}

// A cancel arriving at each step: the step's service is held with the step's message waiting
// in it when the cancel comes (the expert's step waits of itself). The step held runs; the
// first step not run when the cancel came fails, under every pattern (an orchestrator passes
// the cancel on to the service it awaits, and fails the step after it); no later step runs,
// the app and the customer are told, and no survey is sent.
TEST_P(ticket_under, a_cancel_at_each_step_ends_the_ticket_cancelled_and_runs_no_later_step) {
    const trouble_ticket t{"c002", "network", "north"};
    const auto details = msg::value::of(t);
    struct at {
        std::string held;    ///< empty: the expert's step, which waits for the report
        int ran;             ///< steps run before the ticket was cancelled
        bool reported;       ///< the expert reported before the cancel
        std::uint32_t fails; ///< the step that fails with the cancel
    };
    for (const auto& c : {at{"ticket_management", 1, false, 1},
                          at{"ticket_assignment", 2, false, 2}, at{"notification", 3, false, 3},
                          at{"", 3, false, 3}, at{"ticket_management", 5, true, 11}}) {
        SCOPED_TRACE(c.held.empty() ? std::string("expert_app (waiting)") : c.held);
        SCOPED_TRACE(c.ran);
        local_deployment d(pattern_, ticket_, options(transport::inproc, false));
        std::string id;
        if (!c.held.empty() && !c.reported) {
            d.hold(c.held);
            const auto before = d.counters(c.held).received;
            id = d.client().place(details);
            await_received(d, c.held, before + 1);
        } else {
            id = d.client().place(details);
            const auto st = await_status(d, id, [&](const msg::workflow_status& s) {
                return waits_for_outside(d.flow(), s);
            });
            ASSERT_TRUE(waits_for_outside(d.flow(), st));
        }
        if (c.reported) {
            // The report comes with ticket management held: the expert's step runs, and the
            // message starting the next step waits in ticket management.
            d.hold(c.held);
            const auto before = d.counters(c.held).received;
            ASSERT_FALSE(
                d.client().send_outside(id, std::string(ticket::expert_reported), details));
            await_received(d, c.held, before + 1);
        }
        ASSERT_FALSE(d.client().send_outside(id, std::string(ticket::cancel_command), details));
        handled_everywhere(d, ticket::cancel_command, c.held);
        if (!c.held.empty()) {
            d.release(c.held);
        }
        ASSERT_TRUE(d.client().wait_for({id}, deadline));
        EXPECT_EQ(d.client().outcome(id)->terminal, "cancelled");
        const auto st = d.client().status(id).status;
        EXPECT_EQ(st.state, "cancelled");
        EXPECT_EQ(statuses(st.steps), steps_cancelled_at(ticket_, c.fails));
        EXPECT_EQ(statuses(st.notified),
                  (std::vector<std::string>{"notification:notified:ticket_cancelled",
                                            "expert_app:notified:ticket_cancelled"}));
        const auto want = cancelled_after(c.ran);
        const auto got = d.effects();
        EXPECT_EQ(got, want);
        for (const auto& line : effects_differences(got, want)) {
            ADD_FAILURE() << line;
        }
        EXPECT_EQ(d.rejected(), 0u);
    }
}

// A cancel arriving while the last step, the survey, is held at its service with its message
// waiting in it: under every pattern the survey, reached before the cancel, is sent and the
// ticket completes; nobody is told of a cancel. (An orchestrator passes the cancel on to the
// survey, which has run its step by then, and there is no step after it to fail.)
TEST_P(ticket_under, a_cancel_while_the_survey_is_held_completes_the_ticket_with_the_survey_sent) {
    const trouble_ticket t{"c002", "network", "north"};
    const auto details = msg::value::of(t);
    local_deployment d(pattern_, ticket_, options(transport::inproc, true));
    d.hold("survey");
    const auto before = d.counters("survey").received;
    const auto id = place_reported(d, t);
    await_received(d, "survey", before + 1);
    ASSERT_FALSE(d.client().send_outside(id, std::string(ticket::cancel_command), details));
    handled_everywhere(d, ticket::cancel_command, "survey");
    d.release("survey");
    ASSERT_TRUE(d.client().wait_for({id}, deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "completed");
    const auto st = d.client().status(id).status;
    EXPECT_EQ(st.state, "completed");
    EXPECT_EQ(statuses(st.steps), steps_cancelled_at(ticket_, 12));
    EXPECT_TRUE(st.notified.empty());
    const auto want = ticket_effects({{"tickets_opened", 1},
                                      {"tickets_completed", 1},
                                      {"surveys_sent", 1},
                                      {"assigned:north-network-1", 1},
                                      {"sms:c002:expert_on_the_way", 1},
                                      {"fixed_by:north-network-1", 1}});
    const auto got = d.effects();
    EXPECT_EQ(got, want);
    for (const auto& line : effects_differences(got, want)) {
        ADD_FAILURE() << line;
    }
    // What the transport carried is what the model says for a cancel at a held step.
    const auto happy = walk_through(ticket_, {}, nullptr, {std::string(ticket::expert_reported)});
    const auto modelled = expected_for(
        pattern_, ticket_,
        interrupted_while_held(ticket_, happy, ticket_.interrupt_by(ticket::cancel_command)));
    const auto trace = d.book().trace_of(id);
    EXPECT_EQ(inter_service_links(trace), modelled.inter_service);
    EXPECT_EQ(client_messages(trace), modelled.client.size());
    EXPECT_EQ(d.rejected(), 0u);
}

// A cancel sent before the ticket is placed: every pattern remembers it (each step service
// under choreography, the orchestrator under orchestration), and the ticket, once placed, is
// cancelled at its first step: no step runs, the app and the customer are told.
TEST_P(ticket_under, a_cancel_sent_before_the_ticket_is_placed_cancels_it_at_step_0) {
    const trouble_ticket t{"c002", "network", "north"};
    const auto details = msg::value::of(t);
    local_deployment d(pattern_, ticket_, options(transport::inproc, true));
    const std::string id = "cancelled-first";
    ASSERT_FALSE(d.client().send_outside(id, std::string(ticket::cancel_command), details));
    handled_everywhere(d, ticket::cancel_command, "");
    d.client().place(id, details);
    ASSERT_TRUE(d.client().wait_for({id}, deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "cancelled");
    const auto st = d.client().status(id).status;
    EXPECT_EQ(st.state, "cancelled");
    EXPECT_EQ(statuses(st.steps), steps_cancelled_at(ticket_, 0));
    EXPECT_EQ(statuses(st.notified),
              (std::vector<std::string>{"notification:notified:ticket_cancelled",
                                        "expert_app:notified:ticket_cancelled"}));
    const auto want = cancelled_after(0);
    const auto got = d.effects();
    EXPECT_EQ(got, want);
    for (const auto& line : effects_differences(got, want)) {
        ADD_FAILURE() << line;
    }
    walk w;
    w.run = {0};
    w.failed = ticket_.interrupt_by(ticket::cancel_command);
    w.interrupted_before_placed = true;
    w.outside = {std::string(ticket::cancel_command)};
    const auto modelled = expected_for(pattern_, ticket_, w);
    const auto trace = d.book().trace_of(id);
    EXPECT_EQ(inter_service_links(trace), modelled.inter_service);
    EXPECT_EQ(client_messages(trace), modelled.client.size());
    EXPECT_EQ(d.rejected(), 0u);
}

// The expert's report sent before the ticket is placed: remembered as the cancel is, so that
// the expert's step runs when the ticket gets there, and the ticket completes.
TEST_P(ticket_under, an_expert_report_sent_before_the_ticket_is_placed_lets_it_complete) {
    const trouble_ticket t{"c002", "network", "north"};
    const auto details = msg::value::of(t);
    local_deployment d(pattern_, ticket_, options(transport::inproc, false));
    const std::string id = "reported-first";
    ASSERT_FALSE(d.client().send_outside(id, std::string(ticket::expert_reported), details));
    handled_everywhere(d, ticket::expert_reported, "");
    d.client().place(id, details);
    ASSERT_TRUE(d.client().wait_for({id}, deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "completed");
    EXPECT_EQ(statuses(d.client().status(id).status.steps), steps_cancelled_at(ticket_, 12));
    EXPECT_EQ(d.rejected(), 0u);
}

TEST_P(ticket_under, a_ticket_waiting_for_its_expert_shows_waiting_where_that_is_known) {
    local_deployment d(pattern_, ticket_, options(transport::inproc, false));
    const auto details = msg::value::of(trouble_ticket{"c002", "network", "north"});
    const auto id = d.client().place(details);
    msg::workflow_status st;
    if (pattern_.name() == "front_controller") {
        // The step waits at expert_app, which reports only once it decides: the controller
        // cannot tell it from a step on its way there.
        const auto until = std::chrono::steady_clock::now() + deadline;
        auto held = [&] {
            return d.on_service("expert_app",
                                [](service_node& s) { return s.domain()->early_workflows(); });
        };
        while (held() == 0 && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        ASSERT_EQ(held(), 1u) << "expert_app holds the waiting step";
        st = d.client().status(id).status;
        EXPECT_EQ(statuses({st.steps.at(3)}), std::vector<std::string>{"expert_app:pending"});
    } else {
        // The service's own waiting record (choreography), or the orchestrator, which parks
        // the step itself until the report comes.
        st = await_status(d, id, [](const msg::workflow_status& s) {
            return s.steps.size() > 3 && s.steps[3].status == step_status::waiting;
        });
        EXPECT_EQ(statuses({st.steps.at(3)}),
                  std::vector<std::string>{"expert_app:waiting:expert_reported"});
    }
    EXPECT_EQ(st.state, "in_progress");
    ASSERT_FALSE(d.client().send_outside(id, std::string(ticket::expert_reported), details));
    ASSERT_TRUE(d.client().wait_for({id}, deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "completed");
}

TEST_P(ticket_under, a_status_query_mid_reassignment_shows_the_failed_round_and_the_next) {
    local_deployment d(pattern_, ticket_, options(transport::inproc, false));
    const trouble_ticket t{"c003", "laptop", "south"}; // the first expert declines
    const auto details = msg::value::of(t);
    const auto id = d.client().place(details);
    auto st = await_status(
        d, id, [&](const msg::workflow_status& s) { return waits_for_outside(d.flow(), s); });
    ASSERT_TRUE(waits_for_outside(d.flow(), st));
    d.hold("ticket_assignment"); // round 2's assignment waits in it
    ASSERT_FALSE(d.client().send_outside(id, std::string(ticket::expert_reported), details));
    st = await_status(d, id, [&](const msg::workflow_status& s) {
        return s.steps.size() > 3 && s.steps[3].status == "failed";
    });
    EXPECT_EQ(st.state, "in_progress");
    EXPECT_EQ(statuses(st.steps),
              (std::vector<std::string>{
                  "ticket_management:done:ticket_created", "ticket_assignment:done:expert_assigned",
                  "notification:done:customer_notified", "expert_app:failed:expert_unavailable",
                  "ticket_assignment:pending", "notification:pending", "expert_app:pending",
                  "ticket_assignment:pending", "notification:pending", "expert_app:pending",
                  "ticket_management:pending", "survey:pending"}));
    EXPECT_EQ(d.flow().steps.at(4).round, 2u) << "the pending assignment is round 2's";
    d.release("ticket_assignment");
    ASSERT_TRUE(d.client().wait_for({id}, deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "completed");
    st = d.client().status(id).status;
    EXPECT_EQ(st.state, "completed");
    EXPECT_EQ(statuses(st.steps),
              (std::vector<std::string>{
                  "ticket_management:done:ticket_created", "ticket_assignment:done:expert_assigned",
                  "notification:done:customer_notified", "expert_app:failed:expert_unavailable",
                  "ticket_assignment:done:expert_assigned", "notification:done:customer_notified",
                  "expert_app:done:ticket_fixed", "ticket_assignment:pending",
                  "notification:pending", "expert_app:pending",
                  "ticket_management:done:ticket_completed", "survey:done:survey_sent"}));
    const auto e = d.effects();
    EXPECT_EQ(e.at("reassigned_from:south-laptop-1"), 1);
    EXPECT_EQ(e.at("fixed_by:south-laptop-2"), 1);
}

TEST_P(ticket_under, an_outside_event_the_model_does_not_have_is_refused_and_sends_nothing) {
    local_deployment d(pattern_, ticket_, options(transport::inproc, false));
    const auto details = msg::value::of(trouble_ticket{"c001", "network", "north"});
    const auto id = place_reported(d, {"c001", "network", "north"});
    EXPECT_TRUE(d.client().send_outside(id, "ticket_fixed", details));
    EXPECT_TRUE(d.client().send_outside(id, "", details));
    ASSERT_TRUE(d.client().wait_for({id}, deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "completed");
    EXPECT_EQ(d.rejected(), 0u);
}

// Outside events for a workflow nobody placed: no node fails or refuses them, no effect changes,
// and the next ticket ends as predicted. (Every pattern remembers them within its retention, in
// case the workflow is placed after them: a choreographed service, which cannot tell, and the
// orchestrator, which would know it if it were placed already.)
TEST_P(ticket_under, outside_events_for_a_workflow_never_placed_change_no_effect) {
    local_deployment d(pattern_, ticket_, options(transport::inproc, false));
    const auto details = msg::value::of(trouble_ticket{"c001", "network", "north"});
    for (const auto event : {ticket::cancel_command, ticket::expert_reported}) {
        EXPECT_FALSE(d.client().send_outside("never-placed", std::string(event), details));
        handled_everywhere(d, event, "");
    }
    EXPECT_EQ(d.rejected(), 0u);
    EXPECT_EQ(d.effects(), module_of(ticket_).predict(ticket_, {}));
    const auto b = place_and_drive(d, "happy", 3, 1);
    EXPECT_TRUE(ended_as_planned(d, b));
    EXPECT_TRUE(effects_as_predicted(d, b));
}

} // namespace
} // namespace choreo::testing

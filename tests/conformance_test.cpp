// Every registered pattern runs the same workflows to the same outcomes, over inproc and tcp.
#include "patterns/deployment.hpp"

#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "front_controller/front_controller.hpp"
#include "harness.hpp"
#include "stamp_coupling/stamp_coupling.hpp"
#include "stateless/stateless.hpp"

namespace choreo {
namespace {

using testing::ended_as_planned;
using testing::options;
using testing::place;

/// One line per pattern: a new pattern is tested by adding it here.
using all_patterns =
    ::testing::Types<front_controller::pattern, stateless::pattern, stamp_coupling::pattern>;

struct pattern_name {
    template <class P> static std::string GetName(int) { return std::string(P{}.name()); }
};

template <class P> class conformance : public ::testing::Test {
protected:
    P pattern_;
    const std::vector<transport> transports_{transport::inproc, transport::tcp};
};

TYPED_TEST_SUITE(conformance, all_patterns, pattern_name);

/// Waits until `ready(status)` holds for a workflow's status, polling; fails on the deadline.
template <class Ready>
msg::workflow_status await_status(deployment& d, const std::string& id, Ready ready) {
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    auto answer = d.client().status(id);
    while (!ready(answer.status) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        answer = d.client().status(id);
    }
    EXPECT_TRUE(ready(answer.status))
        << "status never reached the awaited state: " << answer.status.state;
    return answer.status;
}

std::vector<std::string> statuses(const std::vector<msg::step_record>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) {
        out.push_back(r.service + ":" + r.status + (r.outcome.empty() ? "" : ":" + r.outcome));
    }
    return out;
}

TYPED_TEST(conformance, happy_path_charges_ships_and_confirms) {
    for (auto via : this->transports_) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, order_workflow(), options(via));
        const auto b = place(d, scenario::happy, 1);
        ASSERT_TRUE(ended_as_planned(d, b));
        const auto effects = d.effects();
        EXPECT_EQ(effects, predict_effects(b.placed()));
        EXPECT_EQ(effects.charged_cents.at(b.plans[0].order.customer),
                  order_total_cents(b.plans[0].order));
        EXPECT_EQ(effects.outbox.at(b.ids[0]), std::vector<std::string>{"order confirmed"});

        const auto answer = d.client().status(b.ids[0]);
        EXPECT_TRUE(answer.status.found);
        EXPECT_EQ(answer.status.state, "completed");
        EXPECT_EQ(statuses(answer.status.steps),
                  (std::vector<std::string>{
                      "order_placement:done:order_placed", "payment:done:payment_applied",
                      "fulfillment:done:order_fulfilled", "email:done:email_sent"}));
        EXPECT_TRUE(answer.status.notified.empty());
    }
}

TYPED_TEST(conformance, payment_rejected_charges_nothing_and_emails_the_customer) {
    for (auto via : this->transports_) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, order_workflow(), options(via));
        const auto b = place(d, scenario::payment_rejected, 1);
        ASSERT_TRUE(ended_as_planned(d, b));
        const auto effects = d.effects();
        EXPECT_EQ(effects, predict_effects(b.placed()));
        EXPECT_TRUE(effects.charged_cents.empty());
        EXPECT_EQ(effects.stock, predict_effects({}).stock); // nothing shipped
        EXPECT_EQ(effects.outbox.at(b.ids[0]), std::vector<std::string>{"payment declined"});

        const auto answer = d.client().status(b.ids[0]);
        EXPECT_EQ(answer.status.state, "payment_rejected");
        EXPECT_EQ(statuses(answer.status.steps),
                  (std::vector<std::string>{"order_placement:done:order_placed",
                                            "payment:failed:payment_declined",
                                            "fulfillment:pending", "email:pending"}));
        EXPECT_EQ(statuses(answer.status.notified),
                  std::vector<std::string>{"email:notified:payment_declined"});
    }
}

TYPED_TEST(conformance, back_order_keeps_stock_and_emails_the_delay) {
    for (auto via : this->transports_) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, order_workflow(), options(via));
        const auto b = place(d, scenario::back_order, 1);
        ASSERT_TRUE(ended_as_planned(d, b));
        const auto effects = d.effects();
        EXPECT_EQ(effects, predict_effects(b.placed()));
        EXPECT_EQ(effects.back_orders, 1U);
        EXPECT_EQ(effects.stock, predict_effects({}).stock);
        EXPECT_EQ(effects.outbox.at(b.ids[0]),
                  std::vector<std::string>{"order delayed: back order"});

        const auto answer = d.client().status(b.ids[0]);
        EXPECT_EQ(answer.status.state, "back_ordered");
        EXPECT_EQ(statuses(answer.status.steps),
                  (std::vector<std::string>{
                      "order_placement:done:order_placed", "payment:done:payment_applied",
                      "fulfillment:failed:order_back_ordered", "email:pending"}));
        EXPECT_EQ(statuses(answer.status.notified),
                  std::vector<std::string>{"email:notified:order_back_ordered"});
    }
}

TYPED_TEST(conformance, invalid_order_is_rejected_at_the_door) {
    for (auto via : this->transports_) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, order_workflow(), options(via));
        const auto b = place(d, scenario::rejected, 1);
        ASSERT_TRUE(ended_as_planned(d, b));
        const auto effects = d.effects();
        EXPECT_EQ(effects, predict_effects(b.placed()));
        EXPECT_EQ(effects.orders_rejected, 1U);
        EXPECT_TRUE(effects.outbox.empty());
        const auto answer = d.client().status(b.ids[0]);
        EXPECT_EQ(answer.status.state, "rejected");
        EXPECT_EQ(answer.status.steps.front().status, "failed");
    }
}

TYPED_TEST(conformance, thousand_mixed_orders_end_exactly_as_predicted) {
    for (auto via : this->transports_) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, order_workflow(), options(via, false));
        const auto b = place(d, scenario::mixed, 1000, 2026);
        ASSERT_TRUE(ended_as_planned(d, b));

        std::map<std::string, int> predicted, ended;
        for (std::size_t i = 0; i < b.ids.size(); ++i) {
            ++predicted[b.plans[i].expected_terminal];
            ++ended[d.client().outcome(b.ids[i])->terminal];
        }
        EXPECT_EQ(ended, predicted);
        EXPECT_EQ(predicted.size(), 4U) << "the mix covers every terminal state";
        EXPECT_EQ(d.effects(), predict_effects(b.placed()));
        // Nothing lost: every message sent was received, and nothing was refused.
        EXPECT_EQ(d.book().sent(), d.book().received());
        for (const auto& s : d.services()) {
            EXPECT_EQ(d.counters(s).rejected, 0U) << s;
            EXPECT_EQ(d.counters(s).handler_errors, 0U) << s;
        }
    }
}

TYPED_TEST(conformance, unknown_workflow_id_is_not_found) {
    for (auto via : this->transports_) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, order_workflow(), options(via));
        const auto answer = d.client().status("no-such-workflow");
        EXPECT_FALSE(answer.status.found);
        EXPECT_EQ(answer.status.state, "unknown");
        EXPECT_EQ(answer.answered.size(), answer.asked.size()) << "every service answered";
        EXPECT_TRUE(answer.errors.empty());
    }
}

TYPED_TEST(conformance, malformed_frame_is_counted_and_dropped_while_the_node_serves) {
    local_deployment d(this->pattern_, order_workflow(), options(transport::tcp));
    zmq::context_t context;
    zmq::socket_t raw(context, zmq::socket_type::dealer);
    raw.set(zmq::sockopt::linger, 0);
    raw.connect(*d.where().endpoint_of("payment"));
    const std::string type = "workflow_event";
    const std::string garbage = "\xc1 not msgpack";
    raw.send(zmq::buffer(type), zmq::send_flags::sndmore);
    raw.send(zmq::buffer(garbage));
    zmq::pollitem_t item{raw.handle(), 0, ZMQ_POLLIN, 0};
    ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(10'000)), 1) << "no error reply";
    std::vector<zmq::message_t> reply;
    ASSERT_TRUE(zmq::recv_multipart(raw, std::back_inserter(reply)));
    ASSERT_EQ(reply.size(), 2U);
    EXPECT_EQ(reply[0].to_string(), "error_reply");

    const auto counters = d.counters("payment");
    EXPECT_EQ(counters.rejected, 1U);
    EXPECT_EQ(counters.rejected_by.at("not_msgpack"), 1U);

    const auto b = place(d, scenario::mixed, 50);
    ASSERT_TRUE(ended_as_planned(d, b));
    EXPECT_EQ(d.effects(), predict_effects(b.placed()));
}

TYPED_TEST(conformance, status_of_a_workflow_caught_mid_flight_shows_where_it_is) {
    local_deployment d(this->pattern_, order_workflow(), options(transport::inproc));
    d.hold("fulfillment");
    const auto b = place(d, scenario::happy, 1);
    const auto st = await_status(d, b.ids[0], [](const msg::workflow_status& s) {
        return s.steps.size() == 4 && s.steps[1].status == "done";
    });
    EXPECT_TRUE(st.found);
    EXPECT_EQ(st.state, "in_progress");
    EXPECT_EQ(statuses(st.steps),
              (std::vector<std::string>{"order_placement:done:order_placed",
                                        "payment:done:payment_applied", "fulfillment:pending",
                                        "email:pending"}));
    EXPECT_FALSE(d.client().outcome(b.ids[0]).has_value());
    d.release("fulfillment");
    ASSERT_TRUE(ended_as_planned(d, b));
    EXPECT_EQ(d.client().status(b.ids[0]).status.state, "completed");
}

TYPED_TEST(conformance, the_same_pattern_code_runs_a_chain_of_any_length) {
    for (std::size_t n : {1U, 8U, 32U}) {
        SCOPED_TRACE(n);
        local_deployment d(this->pattern_, chain_workflow(n), options(transport::inproc));
        const auto b = place(d, scenario::mixed, 20);
        ASSERT_TRUE(ended_as_planned(d, b));
        const auto answer = d.client().status(b.ids.back());
        EXPECT_EQ(answer.status.state, "completed");
        EXPECT_EQ(answer.status.steps.size(), n);
        for (const auto& s : answer.status.steps) {
            EXPECT_EQ(s.status, "done") << s.service;
        }
    }
}

} // namespace
} // namespace choreo

// Every registered pattern runs the same workflows to the same outcomes, over inproc, ipc and
// tcp.
#include "patterns/deployment.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <string_view>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "patterns/domain.hpp"
#include "workflows/chain/chain.hpp"
#include "workflows/order/order.hpp"

namespace choreo {
namespace {

using testing::await_status;
using testing::effects_as_predicted;
using testing::ended_as_planned;
using testing::options;
using testing::place;
using testing::predicted;
using testing::statuses;

constexpr std::array every_transport{transport::inproc, transport::ipc, transport::tcp};

/// The suite runs under every pattern as it is, and again with CURVE on over tcp: a parameter
/// "<pattern>_curve" gives every node and the client keys (deployment_options::curve).
constexpr std::string_view curve_suffix = "_curve";

class conformance : public ::testing::TestWithParam<std::string> {
protected:
    const bool curve_ = GetParam().ends_with(curve_suffix);
    const pattern& pattern_ = testing::pattern_named(
        curve_ ? GetParam().substr(0, GetParam().size() - curve_suffix.size()) : GetParam());
    const workflow order_ = testing::workflow_named("order");

    /// Every transport; with CURVE, tcp only (inproc has no handshake to authenticate, and ipc
    /// runs the same CURVE code as tcp).
    std::vector<transport> transports() const {
        if (curve_) {
            return {transport::tcp};
        }
        return {every_transport.begin(), every_transport.end()};
    }
    deployment_options opts(transport t, bool trace = true) const {
        auto o = options(curve_ && t == transport::inproc ? transport::tcp : t, trace);
        o.curve = curve_;
        return o;
    }
};

std::vector<std::string> every_pattern_with_curve() {
    auto names = testing::every_pattern();
    for (auto& n : names) {
        n += curve_suffix;
    }
    return names;
}

INSTANTIATE_TEST_SUITE_P(patterns, conformance, ::testing::ValuesIn(testing::every_pattern()),
                         testing::pattern_name{});
INSTANTIATE_TEST_SUITE_P(curve_over_tcp, conformance,
                         ::testing::ValuesIn(every_pattern_with_curve()), testing::pattern_name{});

// ---- reading the order module's effects ---------------------------------------------------------

order::order order_of(const planned_workflow& p) {
    return decode_value<order::order>(p.details).value();
}

/// Returns: the quantity `key` of `e`, 0 if absent.
std::int64_t quantity(const domain_effects& e, const std::string& key) {
    const auto it = e.find(key);
    return it == e.end() ? 0 : it->second;
}

/// Returns: the entries of `e` whose key starts with `prefix`.
domain_effects starting_with(const domain_effects& e, std::string_view prefix) {
    domain_effects out;
    std::copy_if(e.begin(), e.end(), std::inserter(out, out.end()),
                 [&](const auto& entry) { return entry.first.starts_with(prefix); });
    return out;
}

/// Returns: the subjects of the emails among `e` ("email:<addressee>:<subject>" -> count), each
/// with how many were sent: what the customer was told, whoever the module addresses it to.
std::map<std::string, std::int64_t> email_subjects(const domain_effects& e) {
    std::map<std::string, std::int64_t> out;
    for (const auto& [key, n] : starting_with(e, "email:")) {
        const auto addressee_end = key.find(':', std::string_view("email:").size());
        out[key.substr(addressee_end + 1)] += n; // a subject may hold ':' itself
    }
    return out;
}

/// Returns: the stock before any order, as the module predicts it for no orders at all.
domain_effects untouched_stock(const workflow& wf) {
    return starting_with(module_of(wf).predict(wf, {}), "stock:");
}

// ---- one order per scenario, over every transport -----------------------------------------------

TEST_P(conformance, happy_path_charges_ships_and_confirms) {
    for (auto via : this->transports()) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, this->order_, this->opts(via));
        const auto b = place(d, "happy", 1);
        ASSERT_TRUE(ended_as_planned(d, b));
        const auto effects = d.effects();
        EXPECT_EQ(effects, predicted(d, b));
        const auto o = order_of(b.plans[0]);
        EXPECT_EQ(quantity(effects, "charged_cents:" + o.customer),
                  static_cast<std::int64_t>(order::total_cents(o)));
        EXPECT_EQ(email_subjects(effects),
                  (std::map<std::string, std::int64_t>{{"order confirmed", 1}}));

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

TEST_P(conformance, payment_rejected_charges_nothing_and_emails_the_customer) {
    for (auto via : this->transports()) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, this->order_, this->opts(via));
        const auto b = place(d, "payment_rejected", 1);
        ASSERT_TRUE(ended_as_planned(d, b));
        const auto effects = d.effects();
        EXPECT_EQ(effects, predicted(d, b));
        EXPECT_TRUE(starting_with(effects, "charged_cents:").empty());
        EXPECT_EQ(starting_with(effects, "stock:"), untouched_stock(d.flow())); // nothing shipped
        EXPECT_EQ(email_subjects(effects),
                  (std::map<std::string, std::int64_t>{{"payment declined", 1}}));

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

TEST_P(conformance, back_order_keeps_stock_and_emails_the_delay) {
    for (auto via : this->transports()) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, this->order_, this->opts(via));
        const auto b = place(d, "back_order", 1);
        ASSERT_TRUE(ended_as_planned(d, b));
        const auto effects = d.effects();
        EXPECT_EQ(effects, predicted(d, b));
        EXPECT_EQ(quantity(effects, "back_orders"), 1);
        EXPECT_EQ(starting_with(effects, "stock:"), untouched_stock(d.flow()));
        EXPECT_EQ(email_subjects(effects),
                  (std::map<std::string, std::int64_t>{{"order delayed: back order", 1}}));

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

TEST_P(conformance, invalid_order_is_rejected_at_the_door) {
    for (auto via : this->transports()) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, this->order_, this->opts(via));
        const auto b = place(d, "rejected", 1);
        ASSERT_TRUE(ended_as_planned(d, b));
        const auto effects = d.effects();
        EXPECT_EQ(effects, predicted(d, b));
        EXPECT_EQ(quantity(effects, "orders_rejected"), 1);
        EXPECT_TRUE(starting_with(effects, "email:").empty());
        const auto answer = d.client().status(b.ids[0]);
        EXPECT_EQ(answer.status.state, "rejected");
        ASSERT_FALSE(answer.status.steps.empty());
        EXPECT_EQ(answer.status.steps.front().status, "failed");
    }
}

// ---- many orders --------------------------------------------------------------------------------

TEST_P(conformance, thousand_mixed_orders_end_exactly_as_predicted) {
    for (auto via : this->transports()) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, this->order_, this->opts(via, false));
        const auto b = place(d, "mixed", 1000, 2026);
        ASSERT_TRUE(ended_as_planned(d, b));

        std::map<std::string, int> planned, ended;
        for (std::size_t i = 0; i < b.ids.size(); ++i) {
            ++planned[b.plans[i].expected_terminal];
            const auto o = d.client().outcome(b.ids[i]);
            ++ended[o->terminal];
            EXPECT_GE(o->path_messages, 2U) << b.ids[i] << ": at least place and end";
        }
        EXPECT_EQ(ended, planned);
        EXPECT_EQ(planned.size(), d.flow().terminals().size())
            << "the mix covers every terminal state of the model";
        EXPECT_TRUE(effects_as_predicted(d, b));
        // Every pattern talks to the client exactly twice per workflow: place and end.
        EXPECT_EQ(testing::traffic_of(d, b).client.messages, 2 * b.ids.size());
        // Nothing lost: every message sent was received, and nothing was refused.
        EXPECT_EQ(d.book().sent(), d.book().received());
        for (const auto& s : d.nodes()) {
            EXPECT_EQ(d.counters(s).rejected, 0U) << s;
            EXPECT_EQ(d.counters(s).handler_errors, 0U) << s;
        }
    }
}

TEST_P(conformance, a_payload_no_service_can_read_ends_the_workflow_under_its_outcome) {
    // The model has no failure for a payload order placement cannot read: every pattern must
    // still end the workflow, tell the client, and say so when asked.
    local_deployment d(this->pattern_, this->order_, this->opts(transport::inproc));
    const auto id = d.client().place(msg::value::of(std::string("not an order")));
    ASSERT_TRUE(d.client().wait_for({id}, testing::deadline)) << "the workflow never ended";
    EXPECT_EQ(d.client().outcome(id)->terminal, "invalid_details");
    const auto answer = d.client().status(id);
    EXPECT_TRUE(answer.status.found);
    EXPECT_EQ(answer.status.state, "invalid_details");
    ASSERT_FALSE(answer.status.steps.empty());
    EXPECT_EQ(answer.status.steps.front().status, "failed");
    EXPECT_EQ(answer.status.steps.front().outcome, "invalid_details");
    EXPECT_TRUE(std::all_of(answer.status.steps.begin() + 1, answer.status.steps.end(),
                            [](const msg::step_record& r) { return r.status == "pending"; }));
}

// ---- status queries -----------------------------------------------------------------------------

TEST_P(conformance, unknown_workflow_id_is_not_found) {
    for (auto via : this->transports()) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, this->order_, this->opts(via));
        const auto answer = d.client().status("no-such-workflow");
        EXPECT_FALSE(answer.status.found);
        EXPECT_EQ(answer.status.state, "unknown");
        EXPECT_FALSE(answer.asked.empty());
        EXPECT_EQ(answer.answered.size(), answer.asked.size()) << "every node asked answered";
        EXPECT_TRUE(answer.errors.empty());
    }
}

TEST_P(conformance, status_of_a_workflow_caught_mid_flight_shows_where_it_is) {
    for (auto via : this->transports()) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, this->order_, this->opts(via));
        d.hold("fulfillment");
        const auto b = place(d, "happy", 1);
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
}

// ---- bad input ----------------------------------------------------------------------------------

TEST_P(conformance, malformed_frame_is_counted_and_dropped_while_the_node_serves) {
    // A socket of another context cannot reach inproc endpoints: ipc and tcp only. The entry
    // (a domain service or the pattern's own node) and a service further down are both tried.
    for (auto via : {transport::ipc, transport::tcp}) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, this->order_, this->opts(via));
        for (const auto& target : {this->pattern_.entry(d.flow()), std::string("payment")}) {
            SCOPED_TRACE(target);
            zmq::context_t context;
            zmq::socket_t raw(context, zmq::socket_type::dealer);
            raw.set(zmq::sockopt::linger, 0);
            if (this->curve_) { // garbage from an authenticated peer: the client's key
                raw.set(zmq::sockopt::curve_serverkey, d.keys_of(target)->own.public_key);
                raw.set(zmq::sockopt::curve_publickey, d.keys_of("client")->own.public_key);
                raw.set(zmq::sockopt::curve_secretkey, d.keys_of("client")->own.secret_key);
            }
            raw.connect(*d.where().endpoint_of(target));
            const std::string type = "workflow_event";
            const std::string garbage = "\xc1 not msgpack";
            raw.send(zmq::buffer(type), zmq::send_flags::sndmore);
            raw.send(zmq::buffer(garbage));
            zmq::pollitem_t item{raw.handle(), 0, ZMQ_POLLIN, 0};
            ASSERT_EQ(zmq::poll(&item, 1, testing::scaled(std::chrono::seconds(10))), 1)
                << "no error reply";
            std::vector<zmq::message_t> reply;
            ASSERT_TRUE(zmq::recv_multipart(raw, std::back_inserter(reply)));
            for (auto& part : reply) {
                taken_over(part); // TSan: see patterns/handover.hpp
            }
            ASSERT_EQ(reply.size(), 2U);
            EXPECT_EQ(reply[0].to_string(), "error_reply");

            const auto counters = d.counters(target);
            EXPECT_EQ(counters.rejected, 1U);
            EXPECT_EQ(counters.rejected_by.at("not_msgpack"), 1U);
        }
        const auto b = place(d, "mixed", 50);
        ASSERT_TRUE(ended_as_planned(d, b));
        EXPECT_EQ(d.effects(), predicted(d, b));
    }
}

// ---- other workflows ----------------------------------------------------------------------------

/// Checks a finished workflow's status against the route its plan predicts: every step done,
/// or done up to the failing step, pending after it, and the services told of the failure.
void expect_status_as_planned(deployment& d, const std::string& id, const planned_workflow& p) {
    const auto& wf = d.flow();
    const auto answer = d.client().status(id);
    EXPECT_TRUE(answer.status.found) << id;
    EXPECT_EQ(answer.status.state, p.expected_terminal) << id;
    ASSERT_EQ(answer.status.steps.size(), wf.steps.size()) << id;
    const auto fail_at = decode_value<chain::item>(p.details).value().fail_at; // from 1; 0: none
    for (std::size_t i = 0; i < wf.steps.size(); ++i) {
        const auto expected = fail_at == 0 || i + 1 < fail_at ? "done"
                              : i + 1 == fail_at              ? "failed"
                                                              : "pending";
        EXPECT_EQ(answer.status.steps[i].status, expected) << id << " " << wf.steps[i].service;
    }
    const auto told = fail_at == 0
                          ? std::vector<std::string>{}
                          : std::vector<std::string>{wf.steps.back().service + ":notified:" +
                                                     wf.steps[fail_at - 1].failures[0].event};
    EXPECT_EQ(statuses(answer.status.notified), told) << id;
}

// chain:1, chain:8 and chain:32 (every workflow completes) and chain:8:3, whose mix fails at
// each of its three failing steps and tells the last service.
TEST_P(conformance, the_same_pattern_code_runs_a_chain_of_any_length) {
    for (const auto* name : {"chain:1", "chain:8", "chain:32", "chain:8:3"}) {
        SCOPED_TRACE(name);
        local_deployment d(this->pattern_, testing::workflow_named(name),
                           this->opts(transport::inproc));
        const auto mix = module_of(d.flow()).scenarios(d.flow()).back(); // the mix comes last
        const auto b = place(d, mix, 40);
        ASSERT_TRUE(ended_as_planned(d, b));
        EXPECT_TRUE(effects_as_predicted(d, b));
        for (std::size_t i = 0; i < b.ids.size(); ++i) {
            expect_status_as_planned(d, b.ids[i], b.plans[i]);
        }
    }
}

// ---- across patterns ----------------------------------------------------------------------------

TEST(conformance_all,
     every_pattern_ends_the_same_seeded_batch_with_the_same_terminals_and_effects) {
    for (const auto& [name, count] : {std::pair{"order", 1000}, std::pair{"chain:8:3", 200}}) {
        SCOPED_TRACE(name);
        const auto wf = testing::workflow_named(name);
        const auto mix = module_of(wf).scenarios(wf).back();
        std::map<std::string, std::vector<std::string>> terminals;
        std::map<std::string, domain_effects> effects;
        std::map<std::string, domain_effects> predictions;
        for (const auto& p : builtin_patterns().all()) {
            const std::string pattern_name(p->name());
            local_deployment d(*p, wf, options(transport::ipc, false));
            const auto b = place(d, mix, static_cast<std::size_t>(count), 2027);
            ASSERT_TRUE(ended_as_planned(d, b)) << pattern_name;
            terminals[pattern_name] = testing::terminals_of(d, b);
            effects[pattern_name] = d.effects();
            predictions[pattern_name] = predicted(d, b);
        }
        ASSERT_EQ(terminals.size(), builtin_patterns().all().size());
        const auto& [first, first_terminals] = *terminals.begin();
        for (const auto& [pattern_name, t] : terminals) {
            EXPECT_EQ(t, first_terminals) << pattern_name << " against " << first;
            EXPECT_EQ(effects[pattern_name], effects[first])
                << pattern_name << " against " << first;
            EXPECT_EQ(effects[pattern_name], predictions[pattern_name]) << pattern_name;
        }
    }
}

} // namespace
} // namespace choreo

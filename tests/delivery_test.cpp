// At-least-once delivery with exactly-once effects: every workflow message is acked once
// handled, a message whose ack is lost is sent again and its duplicate dropped, a workflow id
// placed twice gives one workflow, and the outbox and the applied ids stay bounded.
#include "patterns/node.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "patterns/client.hpp"
#include "patterns/clock.hpp"
#include "patterns/deployment.hpp"
#include "running_node.hpp"
#include "traffic_model.hpp"

namespace choreo {
namespace {

using testing::deadline;
using testing::pattern_named;
using testing::workflow_named;

/// Returns: `count` summed over every node of `d` and its client.
std::uint64_t sum_over(local_deployment& d,
                       const std::function<std::uint64_t(const node_counters&)>& count) {
    std::uint64_t n = count(d.counters(d.client().name()));
    for (const auto& name : d.nodes()) {
        n += count(d.counters(name));
    }
    return n;
}

/// Waits until delivery is done: no node has a message awaiting its ack, every resend has
/// reached its receiver (one duplicate each; `foreign_duplicates` more, sent by a test's own
/// socket) and every ack sent has been read (`foreign_acks` of them by a test's own socket).
/// Returns: what was still under way at the deadline, or an empty string.
std::string settled(local_deployment& d, std::uint64_t foreign_duplicates = 0,
                    std::uint64_t foreign_acks = 0) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
        const auto unacked = sum_over(d, [](const node_counters& c) { return c.unacked; });
        const auto duplicates = sum_over(d, [](const node_counters& c) { return c.duplicates; });
        const auto resent = sum_over(d, [](const node_counters& c) { return c.resent; });
        const auto acks = d.traffic().delivery();
        if (unacked == 0 && duplicates == resent + foreign_duplicates &&
            acks.acks_sent.messages == acks.acks_received.messages + foreign_acks) {
            return {};
        }
        if (std::chrono::steady_clock::now() > until) {
            return std::to_string(unacked) + " unacked, " + std::to_string(duplicates) +
                   " duplicates of " + std::to_string(resent) + " resent, " +
                   std::to_string(acks.acks_received.messages) + " of " +
                   std::to_string(acks.acks_sent.messages) + " acks read";
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

/// Checks each workflow of `b`: its workflow messages are the model's, and every one of them
/// was acknowledged once (acks are counted apart, not among the messages).
void expect_acked_as_modelled(local_deployment& d, const testing::batch& b) {
    const auto& wf = d.flow();
    for (std::size_t i = 0; i < b.ids.size(); ++i) {
        const auto want = testing::expected_for(
            d.used_pattern(), wf, testing::ending_in(wf, b.plans[i].expected_terminal), "client");
        const auto got = d.traffic().of_workflow(b.ids[i]);
        ASSERT_TRUE(got.has_value()) << b.ids[i];
        EXPECT_EQ(got->inter_service.messages, want.inter_service.size()) << b.ids[i];
        EXPECT_EQ(got->client.messages, want.client.size()) << b.ids[i];
        EXPECT_EQ(got->acked, want.inter_service.size() + want.client.size()) << b.ids[i];
    }
}

class delivery : public ::testing::TestWithParam<std::string> {};

TEST_P(delivery, every_workflow_message_is_acked_once_and_acks_are_counted_apart) {
    local_deployment d(pattern_named(GetParam()), workflow_named("order"),
                       testing::options(transport::tcp, false));
    const auto b = testing::place(d, "mixed", 40, 3);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    const auto pending = settled(d);
    ASSERT_EQ(pending, "");

    expect_acked_as_modelled(d, b);
    const auto acks = d.traffic().delivery();
    const auto total = d.traffic().of_workflows(b.ids);
    const auto duplicates = sum_over(d, [](const node_counters& c) { return c.duplicates; });
    // An ack names every message it acknowledges: each message once, each duplicate again.
    EXPECT_EQ(acks.acked_ids, total.inter_service.messages + total.client.messages + duplicates);
    EXPECT_GT(acks.acks_sent.messages, 0U);
    EXPECT_LE(acks.acks_sent.messages, acks.acked_ids); // one ack may name many messages
    EXPECT_EQ(acks.acks_received, acks.acks_sent);
    // Acks are not in the message totals: what was sent was received.
    EXPECT_EQ(d.traffic().sent(), d.traffic().received());
    EXPECT_EQ(sum_over(d, [](const node_counters& c) { return c.acks_sent; }),
              acks.acks_sent.messages);
    EXPECT_EQ(sum_over(d, [](const node_counters& c) { return c.acks_received; }),
              acks.acks_sent.messages);
    EXPECT_FALSE(d.failure());
}

TEST_P(delivery, a_message_whose_ack_is_lost_is_resent_and_its_duplicate_dropped_and_counted) {
    auto o = testing::options(transport::tcp, false);
    o.node.ack_loss = 0.5; // every node drops half of its acks
    o.node.resend_initial = std::chrono::milliseconds(10);
    o.node.resend_max = std::chrono::milliseconds(80);
    o.node.resend_limit = 0; // resent until acked, however unlucky the draws
    local_deployment d(pattern_named(GetParam()), workflow_named("order"), o);
    const auto b = testing::place(d, "mixed", 30, 5);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    const auto pending = settled(d);
    ASSERT_EQ(pending, "");

    const auto lost = sum_over(d, [](const node_counters& c) { return c.acks_lost; });
    const auto resent = sum_over(d, [](const node_counters& c) { return c.resent; });
    const auto duplicates = sum_over(d, [](const node_counters& c) { return c.duplicates; });
    EXPECT_GT(lost, 0U);
    // Each lost ack left at least one message unacknowledged, sent again; every copy sent
    // again reached a receiver that had applied it already.
    EXPECT_GT(resent, 0U);
    EXPECT_EQ(duplicates, resent);
    EXPECT_EQ(d.traffic().delivery().resent.messages, resent);
    EXPECT_EQ(d.traffic().delivery().duplicates.messages, duplicates);
    EXPECT_EQ(d.traffic().delivery().duplicates, d.traffic().delivery().resent);
    // Duplicates changed nothing: each workflow ended once, with its model's messages and
    // effects, each message applied once.
    EXPECT_EQ(d.client().ended_count(), b.ids.size());
    EXPECT_TRUE(testing::effects_as_predicted(d, b));
    expect_acked_as_modelled(d, b);
    EXPECT_EQ(d.traffic().sent(), d.traffic().received());
    EXPECT_EQ(sum_over(d, [](const node_counters& c) { return c.send_failed; }), 0U);
    EXPECT_FALSE(d.failure());
}

// No ack ever arrives: every workflow message's delivery stays unknown to its sender, which
// sends it again far past resend_limit and never gives it up. Given up, each would have ended
// its workflow `failed` and sent one more workflow_ended, while the workflow also ends for real.
TEST_P(delivery, a_workflow_whose_acks_are_all_lost_ends_once_and_nothing_is_given_up) {
    auto o = testing::options(transport::tcp, false);
    o.node.ack_loss = 1.0; // every node drops every ack
    o.node.resend_initial = std::chrono::milliseconds(10);
    o.node.resend_max = std::chrono::milliseconds(20);
    o.node.resend_limit = 2;
    testing::captured_log log;
    local_deployment d(pattern_named(GetParam()), workflow_named("order"), o);
    const auto b = testing::place(d, "mixed", 8, 21);
    ASSERT_TRUE(testing::ended_as_planned(d, b));

    const auto& wf = d.flow();
    std::uint64_t messages = 0;
    for (const auto& plan : b.plans) {
        const auto want = testing::expected_for(
            d.used_pattern(), wf, testing::ending_in(wf, plan.expected_terminal), "client");
        messages += want.inter_service.size() + want.client.size();
    }
    // Every message sent, none acknowledged, each sent again past the limit (on average).
    const auto unacked = [&] {
        return sum_over(d, [](const node_counters& c) { return c.unacked; });
    };
    const auto resent = [&] {
        return sum_over(d, [](const node_counters& c) { return c.resent; });
    };
    const auto given_up = [&] {
        return sum_over(d, [](const node_counters& c) { return c.send_failed; });
    };
    ASSERT_TRUE(testing::eventually([&] {
        return given_up() > 0 ||
               (unacked() == messages && resent() >= (o.node.resend_limit + 1) * messages);
    })) << unacked()
        << " of " << messages << " messages unacknowledged, " << resent() << " resent";
    ASSERT_EQ(given_up(), 0U);
    EXPECT_EQ(unacked(), messages);
    EXPECT_EQ(sum_over(d, [](const node_counters& c) { return c.acks_received; }), 0U);
    EXPECT_GT(sum_over(d, [](const node_counters& c) { return c.duplicates; }), 0U);
    // Each workflow ended once, with its model's messages (no second workflow_ended) and
    // effects: every copy was dropped as a duplicate.
    EXPECT_EQ(d.client().ended_count(), b.ids.size());
    EXPECT_EQ(log.lines_with("ended twice"), 0U);
    // Each message applied and acknowledged by its receiver once (every ack lost on its way).
    expect_acked_as_modelled(d, b);
    EXPECT_TRUE(testing::effects_as_predicted(d, b));
    EXPECT_FALSE(d.failure());
}

TEST_P(delivery, a_workflow_id_placed_twice_gives_one_workflow) {
    const auto& p = pattern_named(GetParam());
    const auto wf = workflow_named("order");
    local_deployment d(p, wf, testing::options(transport::tcp, false));
    auto generator = module_of(wf).make_workload(wf, "happy", 9);
    ASSERT_TRUE(generator);
    testing::batch b{{"twice-1"}, generator.value()->take(1)};
    d.client().place(b.ids[0], b.plans[0].details);
    d.client().place(b.ids[0], b.plans[0].details); // a new place_order, a new message id
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    const auto pending = settled(d);
    ASSERT_EQ(pending, "");

    const auto entry = p.entry(wf);
    EXPECT_EQ(d.counters(entry).rejected_by,
              (std::map<std::string, std::uint64_t>{{"duplicate_workflow", 1}}));
    EXPECT_TRUE(testing::effects_as_predicted(d, b)); // charged, shipped, told once
    const auto want = testing::expected_for(
        p, wf, testing::ending_in(wf, b.plans[0].expected_terminal), "client");
    const auto got = d.traffic().of_workflow(b.ids[0]);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->inter_service.messages, want.inter_service.size());
    // Two place_orders, the error_reply refusing the second, one workflow_ended.
    EXPECT_EQ(got->client.messages, want.client.size() + 2);
    EXPECT_EQ(got->acked, want.inter_service.size() + want.client.size() + 1);
    EXPECT_EQ(d.counters(d.client().name()).rejected, 0U); // the one workflow_ended was its own
}

TEST_P(delivery, the_same_place_order_sent_twice_is_applied_once_and_acked_twice) {
    const auto& p = pattern_named(GetParam());
    const auto wf = workflow_named("order");
    local_deployment d(p, wf, testing::options(transport::tcp, false));
    auto generator = module_of(wf).make_workload(wf, "happy", 11);
    ASSERT_TRUE(generator);
    const testing::batch b{{"raw-1"}, generator.value()->take(1)};

    // A client of its own on a raw DEALER: the same frames twice, as a resend would send them.
    zmq::context_t context;
    zmq::socket_t raw(context, zmq::socket_type::dealer);
    raw.set(zmq::sockopt::linger, 0);
    raw.connect(*d.where().endpoint_of(p.entry(wf)));
    constexpr std::uint64_t id = 0x1234'5678'9abcULL;
    const auto f = encode({{id, b.ids[0], "client", now_ns(), 0, 0},
                           msg::place_order{wf.name, "client", b.plans[0].details}});
    for (int copy = 0; copy < 2; ++copy) {
        ASSERT_TRUE(raw.send(zmq::buffer(f.type), zmq::send_flags::sndmore));
        ASSERT_TRUE(raw.send(zmq::buffer(f.body), zmq::send_flags::none));
    }
    // Both copies are acknowledged, in one ack or two, on the connection they came in on.
    raw.set(zmq::sockopt::rcvtimeo, static_cast<int>(deadline.count()));
    std::vector<std::uint64_t> acked;
    std::uint64_t acks = 0;
    while (acked.size() < 2) {
        ++acks;
        zmq::message_t type, body;
        ASSERT_TRUE(raw.recv(type)) << "no ack before the deadline";
        ASSERT_TRUE(type.more());
        ASSERT_TRUE(raw.recv(body));
        const auto got = decode(type.to_string_view(), body.to_string_view());
        ASSERT_TRUE(got) << got.error().message();
        const auto* a = got.value().payload.get_if<msg::ack>();
        ASSERT_NE(a, nullptr) << "got " << type.to_string();
        EXPECT_EQ(got.value().env.query_id, 0U);
        acked.insert(acked.end(), a->ids.begin(), a->ids.end());
    }
    EXPECT_EQ(acked, (std::vector<std::uint64_t>{id, id}));

    // One workflow: its end reaches the client, which never placed it and refuses it, once.
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (d.counters(d.client().name()).rejected == 0 &&
           std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const auto pending = settled(d, 1, acks);
    ASSERT_EQ(pending, "");
    EXPECT_EQ(d.counters(p.entry(wf)).duplicates, 1U);
    EXPECT_EQ(d.traffic().delivery().duplicates.messages, 1U);
    EXPECT_EQ(d.counters(d.client().name()).rejected_by,
              (std::map<std::string, std::uint64_t>{{"unknown_workflow", 1}}));
    EXPECT_TRUE(testing::effects_as_predicted(d, b));
}

TEST_P(delivery, the_outbox_and_the_applied_ids_stay_bounded_over_many_workflows) {
    auto o = testing::options(transport::tcp, false);
    constexpr std::size_t retained = 64;
    o.node.applied_ids_retained = retained;
    o.node.outbox_capacity = 100'000;
    local_deployment d(pattern_named(GetParam()), workflow_named("order"), o);
    std::vector<testing::batch> batches;
    for (std::uint64_t round = 0; round < 5; ++round) {
        batches.push_back(testing::place(d, "mixed", 60, 100 + round));
        ASSERT_TRUE(testing::ended_as_planned(d, batches.back()));
        const auto pending = settled(d);
        ASSERT_EQ(pending, "");
        for (const auto& name : d.nodes()) {
            const auto c = d.counters(name);
            EXPECT_EQ(c.unacked, 0U) << name; // every message acknowledged, none kept
            EXPECT_LE(c.applied_ids, retained) << name;
        }
    }
    // A node that applied more messages than it remembers remembers exactly `retained`.
    const auto entry = d.used_pattern().entry(d.flow());
    EXPECT_EQ(d.counters(entry).applied_ids, retained);
    EXPECT_EQ(d.counters(d.client().name()).applied_ids, retained);
}

INSTANTIATE_TEST_SUITE_P(patterns, delivery, ::testing::ValuesIn(testing::every_pattern()),
                         testing::pattern_name{});

// ---- the outbox's bound, against a peer that never acks ------------------------------------

TEST(delivery_outbox, a_full_outbox_refuses_the_send_and_a_late_ack_empties_it) {
    zmq::context_t context;
    // The peer: a raw ROUTER that reads and acks only when told.
    zmq::socket_t peer(context, zmq::socket_type::router);
    peer.set(zmq::sockopt::linger, 0);
    peer.bind("tcp://127.0.0.1:*");
    const auto endpoint = peer.get(zmq::sockopt::last_endpoint);

    node_options options;
    options.outbox_capacity = 3;
    options.resend_initial = std::chrono::milliseconds(10);
    options.resend_max = std::chrono::milliseconds(40);
    testing::running_node sender(context, "sender", options);
    sender.net.bind("tcp://127.0.0.1:*");
    topology t;
    t.set("peer", endpoint, node_role::service);
    sender.net.set_topology(t);
    sender.run();
    auto send = [&](int n) {
        return testing::send_ended(sender, "peer", "wf-" + std::to_string(n));
    };
    for (int n = 0; n < 3; ++n) {
        EXPECT_TRUE(send(n)) << n;
    }
    const auto refused = send(3);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), std::error_code(send_failure::outbox_full));
    EXPECT_EQ(sender.net.counters().send_failed_by,
              (std::map<std::string, std::uint64_t>{{"outbox_full", 1}}));
    EXPECT_EQ(sender.net.counters().unacked, 3U);

    // Unacknowledged, the three come again: the peer reads until it has seen one twice.
    peer.set(zmq::sockopt::rcvtimeo, static_cast<int>(deadline.count()));
    std::map<std::uint64_t, int> seen;
    zmq::message_t routing;
    while (seen.size() < 3 ||
           std::none_of(seen.begin(), seen.end(), [](const auto& s) { return s.second > 1; })) {
        zmq::message_t type, body;
        ASSERT_TRUE(peer.recv(routing)) << "no message before the deadline";
        ASSERT_TRUE(peer.recv(type));
        ASSERT_TRUE(peer.recv(body));
        const auto got = decode(type.to_string_view(), body.to_string_view());
        ASSERT_TRUE(got);
        ++seen[got.value().env.message_id];
    }
    EXPECT_EQ(seen.size(), 3U); // the refused one never went out
    EXPECT_GT(sender.net.counters().resent, 0U);
    EXPECT_EQ(sender.net.counters().unacked, 3U);

    // The peer acks all three on the connection they came in on: the outbox empties.
    msg::ack a;
    for (const auto& [id, count] : seen) {
        a.ids.push_back(id);
    }
    const auto f = encode({{1, "", "peer", now_ns(), 0, 0}, a});
    peer.send(routing, zmq::send_flags::sndmore);
    peer.send(zmq::buffer(f.type), zmq::send_flags::sndmore);
    peer.send(zmq::buffer(f.body), zmq::send_flags::none);
    EXPECT_TRUE(testing::eventually([&] { return sender.net.counters().unacked == 0; }));
    EXPECT_EQ(sender.net.counters().acks_received, 1U);
    EXPECT_TRUE(send(4)); // room again
    EXPECT_EQ(sender.book.delivery().acks_received.messages, 1U);
}

// ---- giving up: only on a peer out of reach ----------------------------------------------------

// A peer down far longer than the resend limit is not given up on: its message waits in the
// outbox, sent again every resend_max, and when the peer comes up it applies it once and drops
// every other copy. Given up, the message would have ended its workflow `failed` at the sender
// while the peer, once back, might still apply it and end the workflow again.
TEST(delivery_give_up, a_peer_down_past_the_resend_limit_gets_the_message_once_when_back) {
    zmq::context_t context;
    // The late peer binds a socket file the test names: no port to lose before it binds.
    const auto file = std::filesystem::temp_directory_path() /
                      ("choreo-late-peer-" + std::to_string(::getpid()) + ".sock");
    const std::string late = "ipc://" + file.string();
    node_options options;
    options.resend_initial = std::chrono::milliseconds(10);
    options.resend_max = std::chrono::milliseconds(20);
    options.resend_limit = 3;
    testing::running_node sender(context, "sender", options);
    std::atomic<int> given_up{0};
    sender.net.on_send_failed([&](const failed_send&) { ++given_up; });
    topology t;
    t.set("sender", sender.net.bind("tcp://127.0.0.1:*"), node_role::service);
    t.set("peer", late, node_role::service);
    sender.net.set_topology(t);
    sender.run();

    ASSERT_TRUE(testing::send_ended(sender, "peer", "wf-1"));
    // Four times the limit: every copy waits in the DEALER's pipe for the peer.
    ASSERT_TRUE(testing::eventually([&] {
        const auto c = sender.net.counters();
        return c.send_failed > 0 || c.resent >= 4 * options.resend_limit;
    })) << "resent "
        << sender.net.counters().resent << " times";
    ASSERT_EQ(sender.net.counters().send_failed, 0U) << "given up";
    EXPECT_EQ(sender.net.counters().unacked, 1U);

    testing::running_node peer(context, "peer");
    std::atomic<int> applied{0};
    peer.net.on_message([&](node&, const incoming& in) {
        applied += in.msg.payload.holds<msg::workflow_ended>() ? 1 : 0;
    });
    peer.net.bind(late);
    peer.net.set_topology(t);
    peer.run();
    ASSERT_TRUE(testing::eventually([&] { return sender.net.counters().unacked == 0; }));
    // Every copy reaches the peer: the first applied, each one sent again dropped.
    ASSERT_TRUE(testing::eventually([&] {
        return peer.net.counters().duplicates == sender.net.counters().resent;
    })) << peer.net.counters().duplicates
        << " duplicates of " << sender.net.counters().resent << " copies sent again";
    EXPECT_EQ(applied.load(), 1);
    EXPECT_EQ(sender.net.counters().send_failed, 0U);
    EXPECT_TRUE(sender.net.counters().send_failed_by.empty());
    EXPECT_EQ(given_up.load(), 0);
    peer.shut();
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
}

// A message whose receiver is no longer in the topology (a durable node restarted with another
// deployment's topology finds it in its outbox) can never be sent: it is given up after
// resend_limit rounds, counted, and handed to on_send_failed with its workflow id.
TEST(delivery_give_up, a_message_to_a_peer_out_of_reach_is_given_up_after_the_resend_limit) {
    zmq::context_t context;
    node_options options;
    options.resend_initial = std::chrono::milliseconds(10);
    options.resend_max = std::chrono::milliseconds(20);
    options.resend_limit = 3;
    testing::running_node sender(context, "sender", options);
    auto kept = std::make_unique<memory_outbox>(4);
    constexpr std::uint64_t id = 77;
    const auto f = encode(
        {{id, "wf-gone", "sender", now_ns(), 0, 0}, msg::workflow_ended{"order", "completed", ""}});
    ASSERT_TRUE(kept->keep({id, "gone", "", f.type, f.body}));
    sender.net.set_delivery_stores(std::move(kept), std::make_unique<memory_applied_ids>(4));
    std::vector<failed_send> failed; // written on the io thread, read after it stops
    std::atomic<int> told{0};
    sender.net.on_send_failed([&](const failed_send& s) {
        failed.push_back(s);
        ++told;
    });
    topology t;
    t.set("sender", sender.net.bind("tcp://127.0.0.1:*"), node_role::service);
    sender.net.set_topology(t);
    sender.run();

    ASSERT_TRUE(testing::eventually([&] { return told.load() == 1; }));
    sender.shut();
    const auto c = sender.net.counters();
    EXPECT_EQ(c.send_failed_by, (std::map<std::string, std::uint64_t>{{"unacknowledged", 1}}));
    EXPECT_EQ(c.unacked, 0U);
    EXPECT_EQ(c.resent, 0U); // no route to it: never sent
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_EQ(failed[0].to, "gone");
    EXPECT_EQ(failed[0].reason, send_failure::unacknowledged);
    EXPECT_EQ(failed[0].what.env.workflow_id, "wf-gone");
    EXPECT_EQ(failed[0].what.env.message_id, id);
}

} // namespace
} // namespace choreo

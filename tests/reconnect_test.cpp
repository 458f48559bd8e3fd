// A peer that restarts gets the messages it never acknowledged again as soon as its sender's
// DEALER connects to it again, not when their backoff comes due; a peer connected all along gets
// nothing again. A DEALER whose message is torn is renewed, and that counts as connecting again.
#include "patterns/node.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "harness.hpp"
#include "patterns/clock.hpp"
#include "running_node.hpp"

namespace choreo {
namespace {

using testing::deadline;

/// A raw ROUTER standing in for a node's inbox: it reads what comes and acks only when told.
class raw_inbox {
public:
    raw_inbox(zmq::context_t& context, const std::string& endpoint)
        : socket_(context, zmq::socket_type::router) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(deadline.count()));
        socket_.bind(endpoint);
    }
    std::string endpoint() const { return socket_.get(zmq::sockopt::last_endpoint); }

    /// Returns: the next message and its body frame, or nullopt if none came before the deadline.
    std::optional<std::pair<message, std::string>> read() {
        zmq::message_t type, body;
        if (!socket_.recv(routing_) || !socket_.recv(type) || !socket_.recv(body)) {
            return std::nullopt;
        }
        auto got = decode(type.to_string_view(), body.to_string_view());
        if (!got) {
            return std::nullopt;
        }
        return std::make_pair(std::move(got).value(), body.to_string());
    }
    /// Returns: whether a message is waiting now.
    bool has_message() { return (socket_.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0; }
    /// Acknowledges `id` as `self` on the connection the last message came in on.
    void ack(const std::string& self, std::uint64_t id) {
        msg::ack a;
        a.ids.push_back(id);
        const auto f = encode({{1, "", self, now_ns(), 0, 0}, a});
        socket_.send(routing_, zmq::send_flags::sndmore);
        socket_.send(zmq::buffer(f.type), zmq::send_flags::sndmore);
        socket_.send(zmq::buffer(f.body), zmq::send_flags::none);
    }

private:
    zmq::socket_t socket_;
    zmq::message_t routing_;
};

TEST(reconnect, a_peer_connected_again_gets_its_unacknowledged_messages_at_once) {
    zmq::context_t context;
    // The peer that restarts binds a socket file: the same endpoint again, no port to lose.
    const auto file = std::filesystem::temp_directory_path() /
                      ("choreo-reconnect-" + std::to_string(::getpid()) + ".sock");
    const std::string restarting = "ipc://" + file.string();
    auto peer = std::make_unique<raw_inbox>(context, restarting);
    raw_inbox steady(context, "tcp://127.0.0.1:*");

    node_options options;
    // No resend by backoff within the test: whatever comes again comes because of a reconnect.
    options.resend_initial = std::chrono::hours(1);
    options.resend_max = std::chrono::hours(1);
    testing::running_node sender(context, "sender", options);
    sender.net.bind("tcp://127.0.0.1:*");
    topology t;
    t.set("peer", restarting, node_role::service);
    t.set("steady", steady.endpoint(), node_role::service);
    sender.net.set_topology(t);
    sender.run();
    ASSERT_TRUE(testing::send_ended(sender, "peer", "wf-1"));
    ASSERT_TRUE(testing::send_ended(sender, "steady", "wf-2"));
    const auto first = peer->read();
    ASSERT_TRUE(first) << "the peer got nothing";
    const auto other = steady.read();
    ASSERT_TRUE(other) << "the steady peer got nothing";
    EXPECT_EQ(sender.net.counters().resent, 0U);
    EXPECT_EQ(sender.net.counters().unacked, 2U);
    EXPECT_EQ(sender.net.counters().reconnects, 0U);

    // The peer restarts without acking: its socket goes, and a new one binds the same endpoint.
    peer.reset();
    peer = std::make_unique<raw_inbox>(context, restarting);
    const auto again = peer->read();
    ASSERT_TRUE(again) << "nothing sent again to the reconnected peer before the deadline";
    // The same message, byte for byte (same envelope, same message id), sent once more.
    EXPECT_EQ(again->first.env.message_id, first->first.env.message_id);
    EXPECT_EQ(again->second, first->second);
    EXPECT_EQ(sender.net.counters().reconnects, 1U);
    EXPECT_EQ(sender.net.counters().resent, 1U);

    peer->ack("peer", again->first.env.message_id);
    steady.ack("steady", other->first.env.message_id);
    EXPECT_TRUE(testing::eventually([&] { return sender.net.counters().unacked == 0; }));
    // The steady peer's message was not sent again: its connection never went away.
    EXPECT_EQ(sender.net.counters().resent, 1U);
    EXPECT_FALSE(steady.has_message());
    EXPECT_EQ(sender.net.counters().reconnects, 1U);

    sender.shut();
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
}

// A reply goes back on the connection its request came in on. When that connection is gone (the
// asker was killed) the reply is kept, and it must reach the restarted asker even if the asker
// never sends on a new connection: here the asker's request was acknowledged before it died, so
// it has nothing to send again. The reply goes through the asker's own inbox instead.
TEST(reconnect, a_reply_whose_asker_restarted_reaches_its_inbox_without_a_new_request) {
    zmq::context_t context;
    raw_inbox asker_inbox(context, "tcp://127.0.0.1:*");

    node_options options;
    options.resend_initial = std::chrono::milliseconds(50);
    options.resend_max = std::chrono::milliseconds(200);
    testing::running_node replier(context, "replier", options);
    const auto inbox = replier.net.bind("tcp://127.0.0.1:*");
    topology t;
    t.set("asker", asker_inbox.endpoint(), node_role::service);
    replier.net.set_topology(t);
    replier.net.on_message([](node& self, const incoming& in) {
        static_cast<void>(self.reply(in, {in.msg.env.workflow_id, in.msg.env.hop + 1, 0,
                                          msg::workflow_ended{"order", "completed", ""}}));
    });
    replier.run();

    // The asker's request, on a connection of its own (its DEALER), as the asker names itself.
    std::optional<message> reply;
    {
        zmq::socket_t dealer(context, zmq::socket_type::dealer);
        dealer.set(zmq::sockopt::linger, 0);
        dealer.set(zmq::sockopt::rcvtimeo, static_cast<int>(deadline.count()));
        dealer.connect(inbox);
        const auto f = encode(
            {{7, "wf-1", "asker", now_ns(), 0, 0}, msg::workflow_ended{"order", "completed", ""}});
        dealer.send(zmq::buffer(f.type), zmq::send_flags::sndmore);
        dealer.send(zmq::buffer(f.body), zmq::send_flags::none);
        // The ack of the request and the reply come back on it, in some order.
        for (int i = 0; i < 2; ++i) {
            zmq::message_t type, body;
            ASSERT_TRUE(dealer.recv(type) && dealer.recv(body)) << "the replier sent too little";
            auto got = decode(type.to_string_view(), body.to_string_view());
            ASSERT_TRUE(got);
            if (!got.value().payload.holds<msg::ack>()) {
                reply = std::move(got).value();
            }
        }
    } // the asker is killed before it acks the reply: its connection goes
    ASSERT_TRUE(reply) << "no reply before the asker went";

    // The restarted asker is only its inbox: it sends nothing to the replier.
    const auto again = asker_inbox.read();
    ASSERT_TRUE(again) << "the orphaned reply never reached the asker's inbox";
    EXPECT_EQ(again->first.env.message_id, reply->env.message_id);
    EXPECT_EQ(again->first.env.workflow_id, "wf-1");
    EXPECT_TRUE(again->first.payload.holds<msg::workflow_ended>());
    asker_inbox.ack("asker", again->first.env.message_id);
    EXPECT_TRUE(testing::eventually([&] { return replier.net.counters().unacked == 0; }));
    EXPECT_GE(replier.net.counters().resent, 1U);
}

// A DEALER that reads the first frame of a message whose connection then ends (libzmq tears it:
// the rest never comes) is replaced by a new socket to the same peer. The torn message is lost,
// as if the network lost it: here the peer's ack. The new socket's handshake counts as the peer
// connecting again, so what the peer has not acknowledged goes again at once, and the peer drops
// that copy as a duplicate and acks it.
TEST(reconnect, a_dealer_whose_message_is_torn_is_renewed_and_its_unacknowledged_sent_again) {
    zmq::context_t context;
    testing::running_node peer(context, "peer");
    std::atomic<int> applied{0};
    peer.net.on_message([&](node&, const incoming& in) {
        applied += in.msg.payload.holds<msg::workflow_ended>() ? 1 : 0;
    });
    topology t;
    t.set("peer", peer.net.bind("tcp://127.0.0.1:*"), node_role::service);

    node_options options;
    // No resend by backoff within the test: whatever comes again comes because of the renewal.
    options.resend_initial = std::chrono::hours(1);
    options.resend_max = std::chrono::hours(1);
    options.tear_dealer_read_at = 1; // the first message read on a DEALER: the peer's first ack
    testing::running_node sender(context, "sender", options);
    t.set("sender", sender.net.bind("tcp://127.0.0.1:*"), node_role::service);
    sender.net.set_topology(t);
    peer.net.set_topology(t);
    testing::captured_log log;
    peer.run();
    sender.run();

    ASSERT_TRUE(testing::send_ended(sender, "peer", "wf-1"));
    ASSERT_TRUE(testing::eventually([&] { return sender.net.counters().unacked == 0; }))
        << "the message sent before the tear was never acknowledged";
    auto s = sender.net.counters();
    EXPECT_EQ(s.dealers_renewed, 1U);
    EXPECT_EQ(s.reconnects, 1U);    // the new socket's first handshake
    EXPECT_EQ(s.resent, 1U);        // at once, on that handshake
    EXPECT_EQ(s.acks_received, 1U); // the ack of the copy; the torn one never counted
    EXPECT_EQ(log.lines_with("torn by its connection's end"), 1U);
    ASSERT_TRUE(testing::eventually([&] { return peer.net.counters().acks_sent == 2; }));
    EXPECT_EQ(peer.net.counters().duplicates, 1U);
    EXPECT_EQ(applied.load(), 1);

    // The renewed DEALER carries on: the next message is applied and acknowledged, once.
    ASSERT_TRUE(testing::send_ended(sender, "peer", "wf-2"));
    ASSERT_TRUE(testing::eventually([&] { return sender.net.counters().unacked == 0; }));
    s = sender.net.counters();
    EXPECT_EQ(s.acks_received, 2U);
    EXPECT_EQ(s.dealers_renewed, 1U);
    EXPECT_EQ(s.resent, 1U);
    EXPECT_EQ(s.send_failed, 0U);
    EXPECT_TRUE(testing::eventually([&] { return applied.load() == 2; }));
    EXPECT_EQ(peer.net.counters().duplicates, 1U);
}

} // namespace
} // namespace choreo

// A peer that restarts gets the messages it never acknowledged again as soon as its sender's
// DEALER connects to it again, not when their backoff comes due; a peer connected all along gets
// nothing again.
#include "patterns/node.hpp"

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "harness.hpp"
#include "patterns/clock.hpp"

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

    asio::io_context io;
    ledger book;
    node_options options;
    // No resend by backoff within the test: whatever comes again comes because of a reconnect.
    options.resend_initial = std::chrono::hours(1);
    options.resend_max = std::chrono::hours(1);
    node sender(context, io, "sender", book, options);
    sender.bind("tcp://127.0.0.1:*");
    topology t;
    t.set("peer", restarting, node_role::service);
    t.set("steady", steady.endpoint(), node_role::service);
    sender.set_topology(t);
    sender.start();
    auto work = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    auto on_io = [&](auto fn) {
        std::packaged_task<decltype(fn())()> task(fn);
        auto done = task.get_future();
        asio::post(io, [&task] { task(); });
        return done.get();
    };
    auto send = [&](const std::string& to, const std::string& workflow_id) {
        return on_io([&] {
            return sender.send(to,
                               {workflow_id, 0, 0, msg::workflow_ended{"order", "completed", ""}});
        });
    };
    ASSERT_TRUE(send("peer", "wf-1"));
    ASSERT_TRUE(send("steady", "wf-2"));
    const auto first = peer->read();
    ASSERT_TRUE(first) << "the peer got nothing";
    const auto other = steady.read();
    ASSERT_TRUE(other) << "the steady peer got nothing";
    EXPECT_EQ(sender.counters().resent, 0U);
    EXPECT_EQ(sender.counters().unacked, 2U);
    EXPECT_EQ(sender.counters().reconnects, 0U);

    // The peer restarts without acking: its socket goes, and a new one binds the same endpoint.
    peer.reset();
    peer = std::make_unique<raw_inbox>(context, restarting);
    const auto again = peer->read();
    ASSERT_TRUE(again) << "nothing sent again to the reconnected peer before the deadline";
    // The same message, byte for byte (same envelope, same message id), sent once more.
    EXPECT_EQ(again->first.env.message_id, first->first.env.message_id);
    EXPECT_EQ(again->second, first->second);
    EXPECT_EQ(sender.counters().reconnects, 1U);
    EXPECT_EQ(sender.counters().resent, 1U);

    peer->ack("peer", again->first.env.message_id);
    steady.ack("steady", other->first.env.message_id);
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (sender.counters().unacked != 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(sender.counters().unacked, 0U);
    // The steady peer's message was not sent again: its connection never went away.
    EXPECT_EQ(sender.counters().resent, 1U);
    EXPECT_FALSE(steady.has_message());
    EXPECT_EQ(sender.counters().reconnects, 1U);

    on_io([&] {
        sender.stop();
        return 0;
    });
    work.reset();
    io.stop();
    runner.join();
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

    asio::io_context io;
    ledger book;
    node_options options;
    options.resend_initial = std::chrono::milliseconds(50);
    options.resend_max = std::chrono::milliseconds(200);
    node replier(context, io, "replier", book, options);
    const auto inbox = replier.bind("tcp://127.0.0.1:*");
    topology t;
    t.set("asker", asker_inbox.endpoint(), node_role::service);
    replier.set_topology(t);
    replier.on_message([](node& self, const incoming& in) {
        static_cast<void>(self.reply(in, {in.msg.env.workflow_id, in.msg.env.hop + 1, 0,
                                          msg::workflow_ended{"order", "completed", ""}}));
    });
    replier.start();
    auto work = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });

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
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (replier.counters().unacked != 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(replier.counters().unacked, 0U);
    EXPECT_GE(replier.counters().resent, 1U);

    asio::post(io, [&] { replier.stop(); });
    work.reset();
    runner.join();
}

} // namespace
} // namespace choreo

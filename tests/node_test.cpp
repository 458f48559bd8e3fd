// The node's send and receive path over real sockets: the write path waits on the socket's
// own events and keeps order, a query overtakes workflow traffic, per-node ledgers.
#include "patterns/node.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq_addon.hpp>

#include "harness.hpp"
#include "patterns/codec.hpp"
#include "patterns/deployment.hpp"
#include "registry/builtin.hpp"
#include "running_node.hpp"

namespace choreo {
namespace {

using namespace std::chrono_literals;

using testing::running_node;

std::string unique(const std::string& what) {
    static std::atomic<int> n{0};
    return what + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

/// A loopback tcp port the OS picked, held bound but not listening for the test's life: no other
/// program can take it, and a connect to it is refused, as to a port nobody listens on. libzmq
/// binds its listeners with SO_REUSEADDR, as this socket is bound, so a zmq socket may still
/// bind the port when the test says so (Linux lets two such sockets share a port while neither
/// listens).
class reserved_port {
public:
    reserved_port() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        const int on = 1;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof addr;
        if (fd_ < 0 || ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
            ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
            const int error = errno;
            if (fd_ >= 0) {
                ::close(fd_);
            }
            throw std::runtime_error(std::string("no loopback port: ") + std::strerror(error));
        }
        endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    }
    ~reserved_port() { ::close(fd_); }
    reserved_port(const reserved_port&) = delete;
    reserved_port& operator=(const reserved_port&) = delete;
    const std::string& endpoint() const noexcept { return endpoint_; }

private:
    int fd_;
    std::string endpoint_;
};

/// Receives one message from a raw socket within `deadline`.
std::optional<std::vector<zmq::message_t>>
receive(zmq::socket_t& s, std::chrono::milliseconds deadline = choreo::testing::deadline) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, deadline) == 0) {
        return std::nullopt;
    }
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(s, std::back_inserter(parts))) {
        return std::nullopt;
    }
    for (auto& p : parts) {
        taken_over(p); // TSan: see patterns/handover.hpp
    }
    return parts;
}

message decode_tail(const std::vector<zmq::message_t>& parts) {
    const auto n = parts.size();
    auto m = decode(parts[n - 2].to_string_view(), parts[n - 1].to_string_view());
    EXPECT_TRUE(static_cast<bool>(m));
    return m ? std::move(m).value() : message{};
}

void send_raw(zmq::socket_t& s, const message& m) {
    const auto f = encode(m);
    s.send(zmq::buffer(f.type), zmq::send_flags::sndmore);
    s.send(zmq::buffer(f.body));
}

outgoing numbered(std::size_t i, std::uint64_t query = 0) {
    return {"wf-" + std::to_string(i), 0, query, msg::status_request{"wf-" + std::to_string(i)}};
}

// ---- the write path: ZMQ_FD and ZMQ_EVENTS, no timer ------------------------------------------

class before_the_peer_binds : public ::testing::TestWithParam<std::string> {};

TEST_P(before_the_peer_binds, messages_sent_are_delivered_in_order_once_it_binds) {
    zmq::context_t ctx;
    const reserved_port port;
    const auto endpoint =
        GetParam() == "tcp" ? port.endpoint() : "ipc:///tmp/" + unique("choreo-early") + ".sock";
    running_node a(ctx, "a");
    topology t;
    t.set("b", endpoint);
    a.net.set_topology(t);
    a.run();
    constexpr std::size_t n = 200;
    a.on([&] {
        for (std::size_t i = 0; i < n; ++i) {
            EXPECT_TRUE(static_cast<bool>(a.net.send("b", numbered(i))));
        }
        return 0;
    });
    std::this_thread::sleep_for(choreo::testing::scaled(300ms)); // nothing to connect to: all wait
    // Taken by the DEALER's pipe (no ZMQ_IMMEDIATE), which waits for the peer: below the
    // high-water mark nothing is refused, nothing is in the node's backlog, nothing is lost.
    EXPECT_EQ(a.net.counters().backlog, 0U);
    EXPECT_EQ(a.net.counters().sent, n);
    EXPECT_EQ(a.net.counters().unroutable, 0U);
    EXPECT_EQ(a.net.counters().send_failed, 0U);
    zmq::socket_t b(ctx, zmq::socket_type::router);
    b.set(zmq::sockopt::linger, 0);
    b.bind(endpoint);
    for (std::size_t i = 0; i < n; ++i) {
        const auto parts = receive(b);
        ASSERT_TRUE(parts) << "message " << i << " never arrived";
        EXPECT_EQ(decode_tail(*parts).env.workflow_id, "wf-" + std::to_string(i));
    }
    EXPECT_EQ(a.net.counters().backlog, 0U);
    EXPECT_EQ(a.net.counters().sent, n);
    if (endpoint.starts_with("ipc://")) {
        ::unlink(endpoint.substr(6).c_str());
    }
}

INSTANTIATE_TEST_SUITE_P(transports, before_the_peer_binds, ::testing::Values("tcp", "ipc"));

TEST(node_write_path, a_dealer_at_its_high_water_mark_waits_and_keeps_order) {
    zmq::context_t ctx;
    const auto endpoint = "inproc://" + unique("slow");
    zmq::socket_t b(ctx, zmq::socket_type::router);
    b.set(zmq::sockopt::rcvhwm, 8);
    b.bind(endpoint);
    node_options o;
    o.high_water_mark = 8;
    running_node a(ctx, "a", o);
    topology t;
    t.set("b", endpoint);
    a.net.set_topology(t);
    a.run();
    constexpr std::size_t n = 5000;
    a.on([&] {
        for (std::size_t i = 0; i < n; ++i) {
            a.net.send("b", numbered(i));
        }
        return 0;
    });
    EXPECT_GT(a.net.counters().backlog, n / 2) << "most messages must have been refused";
    for (std::size_t i = 0; i < n; ++i) {
        if (i % 500 == 0) {
            std::this_thread::sleep_for(5ms); // a slow reader
        }
        const auto parts = receive(b);
        ASSERT_TRUE(parts) << "message " << i << " never arrived";
        ASSERT_EQ(decode_tail(*parts).env.workflow_id, "wf-" + std::to_string(i));
    }
    // The node counts a message out of its backlog just after zmq took it, so the reader may
    // see the last one a moment before the count drops.
    const auto until = std::chrono::steady_clock::now() + choreo::testing::deadline;
    while (a.net.counters().backlog != 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(a.net.counters().backlog, 0U);
}

TEST(node_write_path, replies_to_a_peer_at_its_high_water_mark_wait_in_the_inbox_in_order) {
    zmq::context_t ctx;
    const auto endpoint = "inproc://" + unique("inbox");
    node_options o;
    o.high_water_mark = 8;
    running_node b(ctx, "b", o);
    b.net.bind(endpoint);
    b.net.on_message([](node& self, const incoming& in) {
        self.reply(in, {in.msg.env.workflow_id, 0, in.msg.env.query_id,
                        msg::status_request{in.msg.env.workflow_id}});
    });
    b.run();
    zmq::socket_t asker(ctx, zmq::socket_type::dealer);
    asker.set(zmq::sockopt::rcvhwm, 8);
    asker.set(zmq::sockopt::routing_id, "asker");
    asker.connect(endpoint);
    constexpr std::size_t n = 2000;
    for (std::size_t i = 0; i < n; ++i) {
        send_raw(asker, {{i + 1, "wf-" + std::to_string(i), "asker", 0, 0, i + 1},
                         msg::status_request{"wf"}});
    }
    // Not reading: the inbox must hold the replies back.
    const auto until = std::chrono::steady_clock::now() + choreo::testing::deadline;
    while (b.net.counters().backlog == 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_GT(b.net.counters().backlog, 0U);
    for (std::size_t i = 0; i < n; ++i) {
        const auto parts = receive(asker);
        ASSERT_TRUE(parts) << "reply " << i << " never arrived";
        ASSERT_EQ(decode_tail(*parts).env.query_id, i + 1);
    }
    EXPECT_EQ(b.net.counters().backlog, 0U);
    EXPECT_EQ(b.net.counters().unroutable, 0U);
}

TEST(node_write_path, a_reply_to_a_peer_that_is_gone_is_counted_as_unroutable) {
    zmq::context_t ctx;
    const auto endpoint = "inproc://" + unique("gone");
    running_node b(ctx, "b");
    b.net.bind(endpoint);
    std::promise<incoming> got;
    b.net.on_message([&](node&, const incoming& in) { got.set_value(in); });
    b.run();
    {
        zmq::socket_t asker(ctx, zmq::socket_type::dealer);
        asker.set(zmq::sockopt::routing_id, "asker");
        asker.set(zmq::sockopt::linger, 0);
        asker.connect(endpoint);
        send_raw(asker, {{1, "wf", "asker", 0, 0, 9}, msg::status_request{"wf"}});
        ASSERT_EQ(got.get_future().wait_for(choreo::testing::deadline), std::future_status::ready);
    } // the asker closes
    std::this_thread::sleep_for(choreo::testing::scaled(200ms));
    // The node learns of the disconnection from its mailbox, through ZMQ_FD.
    b.on([&] {
        incoming in;
        in.peer = "asker";
        in.via_inbox = true;
        b.net.reply(in, {"wf", 0, 9, msg::status_request{"wf"}});
        return 0;
    });
    EXPECT_EQ(b.net.counters().unroutable, 1U);
}

TEST(node_write_path, link_delay_keeps_the_order_of_messages) {
    zmq::context_t ctx;
    const auto endpoint = "inproc://" + unique("delay");
    zmq::socket_t b(ctx, zmq::socket_type::router);
    b.bind(endpoint);
    node_options o;
    o.link_delay = 200us;
    running_node a(ctx, "a", o);
    topology t;
    t.set("b", endpoint);
    a.net.set_topology(t);
    a.run();
    constexpr std::size_t n = 1000;
    for (std::size_t i = 0; i < n; ++i) {
        boost::asio::post(a.io, [&a, i] { a.net.send("b", numbered(i)); });
    }
    for (std::size_t i = 0; i < n; ++i) {
        const auto parts = receive(b);
        ASSERT_TRUE(parts);
        ASSERT_EQ(decode_tail(*parts).env.workflow_id, "wf-" + std::to_string(i));
    }
}

TEST(node_write_path, the_body_on_the_wire_is_what_the_codec_encodes) {
    zmq::context_t ctx;
    const auto endpoint = "inproc://" + unique("wire");
    zmq::socket_t b(ctx, zmq::socket_type::router);
    b.bind(endpoint);
    running_node a(ctx, "a");
    topology t;
    t.set("b", endpoint);
    a.net.set_topology(t);
    a.run();
    a.on([&] {
        return a.net
            .send("b",
                  {"wf-1", 3, 0, msg::workflow_ended{"order", "completed", std::string(3000, 'x')}})
            .value();
    });
    const auto parts = receive(b);
    ASSERT_TRUE(parts);
    ASSERT_EQ(parts->size(), 3U);
    const auto m = decode_tail(*parts);
    const auto f = encode(m);
    EXPECT_EQ(f.type, (*parts)[1].to_string());
    EXPECT_EQ(f.body, (*parts)[2].to_string());
    EXPECT_EQ(m.env.workflow_id, "wf-1");
    EXPECT_EQ(m.env.hop, 3U);
}

// ---- the read path ----------------------------------------------------------------------------

TEST(node_read_path, a_query_overtakes_workflow_messages_waiting_in_the_node) {
    zmq::context_t ctx;
    const auto endpoint = "inproc://" + unique("busy");
    running_node b(ctx, "b");
    b.net.bind(endpoint);
    std::vector<std::uint64_t> order;
    std::vector<std::string> workflow_order;
    b.net.on_message([&](node&, const incoming& in) {
        order.push_back(in.msg.env.query_id);
        if (in.msg.env.query_id == 0) {
            workflow_order.push_back(in.msg.env.workflow_id);
        }
    });
    zmq::socket_t peer(ctx, zmq::socket_type::dealer);
    peer.set(zmq::sockopt::routing_id, "peer");
    peer.connect(endpoint);
    constexpr std::size_t n = 200;
    for (std::size_t i = 0; i < n; ++i) {
        send_raw(peer, {{i + 1, "wf-" + std::to_string(i), "peer", 0, 1, 0},
                        msg::workflow_event{"order", "x", 0, "client", {}}});
    }
    zmq::socket_t asker(ctx, zmq::socket_type::dealer);
    asker.set(zmq::sockopt::routing_id, "asker");
    asker.connect(endpoint);
    send_raw(asker, {{1, "wf-0", "asker", 0, 0, 77}, msg::status_request{"wf-0"}});
    // The peer's own query comes after its workflow messages, and must stay after them.
    send_raw(peer, {{n + 1, "wf-0", "peer", 0, 0, 78}, msg::status_request{"wf-0"}});
    std::this_thread::sleep_for(choreo::testing::scaled(100ms)); // all of it waits in the inbox
    b.run();
    const auto until = std::chrono::steady_clock::now() + choreo::testing::deadline;
    while (b.on([&] { return order.size(); }) < n + 2 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(order.size(), n + 2);
    EXPECT_EQ(order.front(), 77U) << "the query must be served before other peers' traffic";
    EXPECT_EQ(order.back(), 78U) << "a peer's query must not overtake that peer's own messages";
    for (std::size_t i = 0; i < n; ++i) {
        EXPECT_EQ(workflow_order[i], "wf-" + std::to_string(i));
    }
}

TEST(node_read_path, a_reply_to_a_query_overtakes_workflow_messages_waiting_in_the_asker) {
    zmq::context_t ctx;
    const auto inbox = "inproc://" + unique("asker");
    const auto service = "inproc://" + unique("service");
    zmq::socket_t b(ctx, zmq::socket_type::router);
    b.bind(service);
    running_node c(ctx, "c");
    c.net.bind(inbox);
    topology t;
    t.set("b", service);
    c.net.set_topology(t);
    std::vector<std::uint64_t> order;
    std::optional<std::vector<zmq::message_t>> request;
    c.net.on_message([&](node&, const incoming& in) {
        order.push_back(in.msg.env.query_id);
        if (order.size() == 1) {
            // While c works through its inbox, b answers (the test thread waits meanwhile, so
            // b is used by one thread at a time).
            b.send((*request)[0], zmq::send_flags::sndmore);
            send_raw(b, {{1, "wf-0", "b", 0, 0, 5}, msg::status_request{"wf-0"}});
            std::this_thread::sleep_for(choreo::testing::scaled(50ms)); // the reply is in now
        }
    });
    c.run_without_start();
    c.on([&] { return c.net.send("b", numbered(0, 5)).value(); }); // the query goes out
    request = receive(b);
    ASSERT_TRUE(request);
    zmq::socket_t flood(ctx, zmq::socket_type::dealer);
    flood.connect(inbox);
    constexpr std::size_t n = 1000;
    for (std::size_t i = 0; i < n; ++i) {
        send_raw(flood, {{i + 1, "wf", "flood", 0, 1, 0}, msg::status_request{"wf"}});
    }
    // The workflow messages wait in c's inbox.
    std::this_thread::sleep_for(choreo::testing::scaled(100ms));
    c.on([&] {
        c.net.start();
        return 0;
    });
    // `order` is c's: read on its thread.
    const auto until = std::chrono::steady_clock::now() + choreo::testing::deadline;
    while (c.on([&] { return order.size(); }) < n + 1 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(order.size(), n + 1);
    const auto at = std::find(order.begin(), order.end(), 5U) - order.begin();
    EXPECT_LE(at, 32) << "the reply waited behind " << at << " workflow messages";
}

TEST(node_read_path, a_handler_that_throws_is_counted_and_the_node_goes_on) {
    zmq::context_t ctx;
    const auto endpoint = "inproc://" + unique("throws");
    running_node b(ctx, "b");
    b.net.bind(endpoint);
    std::atomic<int> handled{0};
    b.net.on_message([&](node&, const incoming& in) {
        if (in.msg.env.hop == 1) {
            throw std::runtime_error("boom");
        }
        ++handled;
    });
    b.run();
    zmq::socket_t peer(ctx, zmq::socket_type::dealer);
    peer.connect(endpoint);
    std::uint64_t id = 0; // each its own: a repeated message id would be a duplicate
    for (std::uint32_t hop : {1u, 1u, 0u}) {
        send_raw(peer, {{++id, "wf", "peer", 0, hop, 0}, msg::status_request{"wf"}});
    }
    const auto until = std::chrono::steady_clock::now() + choreo::testing::deadline;
    while (handled == 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(handled, 1);
    EXPECT_EQ(b.net.counters().handler_errors, 2U);
    EXPECT_EQ(b.net.counters().received, 3U);
}

TEST(node_read_path, drain_and_stop_handles_what_is_queued_then_stops) {
    zmq::context_t ctx;
    const auto endpoint = "inproc://" + unique("drain");
    running_node b(ctx, "b");
    b.net.bind(endpoint);
    topology t;
    const reserved_port nobody;
    t.set("nobody", nobody.endpoint());
    b.net.set_topology(t);
    std::size_t handled = 0;
    b.net.on_message([&](node&, const incoming&) { ++handled; });
    zmq::socket_t peer(ctx, zmq::socket_type::dealer);
    peer.connect(endpoint);
    constexpr std::size_t n = 1000; // more than one batch
    for (std::size_t i = 0; i < n; ++i) {
        send_raw(peer, {{i + 1, "wf", "peer", 0, 0, 0}, msg::status_request{"wf"}});
    }
    std::this_thread::sleep_for(choreo::testing::scaled(100ms));
    b.run_without_start();
    b.on([&] {
        b.net.send("nobody", numbered(1)); // taken by the DEALER's pipe: nobody listening
        b.net.drain_and_stop();
        return 0;
    });
    EXPECT_EQ(handled, n);
    EXPECT_EQ(b.net.counters().received, n);
    EXPECT_EQ(b.net.counters().sent, 1U);
    EXPECT_EQ(b.net.counters().backlog, 0U);
}

// A message queued before the node starts is handled inside start(); a handler that stops the
// node there (as a refused commit does) closes its sockets under start(), which must not touch
// them after that (it threw ENOTSOCK, outside any handler: the process ended).
TEST(node_read_path, a_node_stopped_by_the_first_message_it_handles_in_start_stops_cleanly) {
    zmq::context_t ctx;
    const auto endpoint = "inproc://" + unique("stopped-in-start");
    running_node b(ctx, "b");
    b.net.bind(endpoint);
    b.net.set_topology(topology{});
    std::size_t handled = 0;
    b.net.on_message([&](node& n, const incoming&) {
        ++handled;
        n.stop();
    });
    zmq::socket_t peer(ctx, zmq::socket_type::dealer);
    peer.connect(endpoint);
    send_raw(peer, {{1, "wf", "peer", 0, 0, 0}, msg::status_request{"wf"}});
    std::this_thread::sleep_for(choreo::testing::scaled(100ms));
    b.run_without_start();
    EXPECT_NO_THROW(b.on([&] {
        b.net.start();
        return 0;
    }));
    EXPECT_EQ(handled, 1U);
    EXPECT_TRUE(b.on([&] { return b.net.stopped(); }));
}

// ---- the ledgers ------------------------------------------------------------------------------

TEST(node_ledgers, a_deployment_answers_for_every_node_and_each_node_for_itself) {
    const auto wf = builtin_workflows().find("order").value();
    const auto& module = module_of(wf);
    for (const auto* name : {"front_controller", "stateless", "stamp_coupling", "orchestration"}) {
        SCOPED_TRACE(name);
        deployment_options o;
        o.keep_trace = true;
        local_deployment d(*builtin_patterns().find(name), wf, o);
        auto plans = module.make_workload(wf, "mixed", 7).value()->take(30);
        std::vector<std::string> ids;
        placed_workflows placed;
        for (auto& p : plans) {
            ids.push_back(d.client().place(p.details));
            placed.emplace_back(ids.back(), p);
        }
        ASSERT_TRUE(d.client().wait_for(ids, choreo::testing::deadline));
        const auto predicted = module.predict(wf, placed);
        const auto until = std::chrono::steady_clock::now() + choreo::testing::deadline;
        while (d.effects() != predicted && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(10ms);
        }
        while (d.book().sent() != d.book().received() && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(10ms);
        }
        EXPECT_EQ(d.book().sent(), d.book().received());
        const auto trace = d.book().trace();
        ASSERT_EQ(trace.size(), d.book().sent().messages);
        for (std::size_t i = 0; i < trace.size(); ++i) {
            ASSERT_EQ(trace[i].seq, i + 1);
        }
        EXPECT_EQ(d.traffic().of_workflows(ids).client.messages, 2 * ids.size());
        for (const auto& id : ids) {
            const auto of = d.book().trace_of(id);
            ASSERT_FALSE(of.empty());
            EXPECT_EQ(of.front().type, "place_order") << id << ": the cause comes first";
            const auto w = d.book().of_workflow(id);
            ASSERT_TRUE(w.has_value());
            std::uint64_t in_trace = 0;
            for (const auto& r : of) {
                in_trace += r.query_id == 0 ? 1 : 0;
            }
            EXPECT_EQ(w->inter_service.messages + w->client.messages, in_trace);
        }
        const auto page = d.book().trace_since(3, 5);
        ASSERT_EQ(page.size(), 5U);
        EXPECT_EQ(page.front().seq, 4U);
        // A node's inspect reply shows what that node sent, no other's.
        for (const auto& n : d.nodes()) {
            const auto r = d.on_service(n, [](service_node& s) { return s.inspect(0, 100'000); });
            for (const auto& e : r.sent) {
                ASSERT_EQ(e.from, n);
            }
        }
        // Holding a service holds its workflow traffic, not queries.
        const auto held_service = d.flow().steps[1].service;
        d.hold(held_service);
        const auto held = d.client().place(plans[0].details);
        placed.emplace_back(held, plans[0]);
        std::this_thread::sleep_for(choreo::testing::scaled(100ms));
        EXPECT_FALSE(d.client().outcome(held).has_value());
        const auto answer = d.client().status(held);
        EXPECT_TRUE(answer.errors.empty());
        EXPECT_EQ(answer.answered.size(), answer.asked.size()) << "queries pass a hold";
        d.release(held_service);
        EXPECT_TRUE(d.client().wait_for({held}, choreo::testing::deadline));
        EXPECT_EQ(d.client().outcome(held)->terminal, plans[0].expected_terminal);
    }
}

} // namespace
} // namespace choreo

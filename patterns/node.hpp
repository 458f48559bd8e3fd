// A choreo node: one ROUTER inbox and one DEALER per peer, driven by an Asio io_context.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "patterns/codec.hpp"
#include "patterns/errors.hpp"
#include "patterns/ledger.hpp"
#include "patterns/topology.hpp"

namespace choreo {

namespace asio = boost::asio;

struct node_options {
    codec_limits limits;
    int high_water_mark = 100'000; ///< per socket, both directions
    int linger_ms = 1'000;         ///< how long close() may wait to flush
    node_role role = node_role::service;
    /// Simulated network delay added to every message this node sends (0: none). Messages keep
    /// their order; the ledger counts them when they are handed to the transport.
    std::chrono::nanoseconds link_delay{0};
};

/// A message to send; the node fills in the rest of the envelope.
struct outgoing {
    std::string workflow_id;
    std::uint32_t hop{};
    std::uint64_t query_id{};
    msg::payload payload;
};

/// A message received and decoded.
struct incoming {
    message msg;
    std::string peer; ///< routing id of the asker (inbox) or the peer's name (reply on a DEALER)
    bool via_inbox{}; ///< arrived on the ROUTER inbox: reply() answers on the same connection
    std::size_t bytes{};
};

struct node_counters {
    std::uint64_t received{}; ///< decoded and handled
    std::uint64_t sent{};
    std::uint64_t rejected{};       ///< dropped at the boundary, see rejected_by
    std::uint64_t unroutable{};     ///< replies to a peer that is gone
    std::uint64_t handler_errors{}; ///< exceptions caught around a handler
    std::uint64_t backlog{};        ///< messages waiting for a peer to accept them
    std::map<std::string, std::uint64_t> rejected_by; ///< reason -> count
};

/// Sockets and handlers run only on the io_context's thread; counters() may be read anywhere.
class node {
public:
    using handler = std::function<void(node&, const incoming&)>;

    node(zmq::context_t& context, asio::io_context& io, std::string name, ledger& book,
         node_options options = {});
    ~node();
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    /// Binds the inbox. Returns: the bound endpoint (a tcp wildcard port resolved).
    /// Throws: zmq::error_t if the endpoint cannot be bound.
    std::string bind(const std::string& endpoint);
    /// Where the peers are. Call before start().
    void set_topology(topology t) { topology_ = std::move(t); }
    void on_message(handler h) { handler_ = std::move(h); }

    /// Starts watching the sockets. Call on the io thread (or before it runs).
    void start();
    /// Closes every socket. Call on the io thread.
    void stop();
    /// Handles every message already waiting on the sockets, then stops: a clean shutdown.
    /// Call on the io thread.
    void drain_and_stop();

    /// Sends to `to`'s inbox through the DEALER for that peer (created on first use).
    /// Returns: the bytes put on the wire, or errc::unknown_service if `to` is not in the
    /// topology.
    result<std::size_t> send(const std::string& to, outgoing out);
    /// Answers `asker` on the connection its message came in on.
    void reply(const incoming& asker, outgoing out);
    /// Refuses a well-formed message this node has no use for: counted and logged like a
    /// malformed one, and answered with an error_reply if it came to the inbox.
    void refuse(const incoming& in, std::error_code why);

    const std::string& name() const noexcept { return name_; }
    const ledger& book() const noexcept { return ledger_; }
    asio::io_context& io() noexcept { return io_; }
    node_counters counters() const;

private:
    struct watched;
    watched& dealer_for(const std::string& to, const std::string& endpoint);
    void watch(watched& w);
    void service(watched& w);
    void schedule_service(watched& w);
    std::size_t transmit(watched& w, std::string routing_id, const std::string& to,
                         const outgoing& out);
    bool try_send(watched& w, std::vector<std::string>& parts);
    void handle(watched& w, std::vector<zmq::message_t>& parts);
    void reject(std::error_code why, const std::string& from, bool answer,
                const msg::envelope& about = {});
    void arm_retry();
    void enqueue(watched& w, std::vector<std::string> parts);
    void arm_delay();
    void configure(zmq::socket_t& s);

    zmq::context_t& context_;
    asio::io_context& io_;
    std::string name_;
    ledger& ledger_;
    node_options options_;
    topology topology_;
    handler handler_;
    std::unique_ptr<watched> inbox_;
    std::map<std::string, std::unique_ptr<watched>> dealers_;
    asio::steady_timer retry_;
    bool retry_armed_ = false;
    struct delayed {
        std::chrono::steady_clock::time_point due;
        watched* socket;
        std::vector<std::string> parts;
    };
    std::deque<delayed> delayed_; ///< due times in order: every message gets the same delay
    asio::steady_timer delay_timer_;
    bool delay_armed_ = false;
    bool stopped_ = false;
    std::uint64_t next_message_id_ = 0;

    std::atomic<std::uint64_t> received_{0}, sent_{0}, rejected_{0}, unroutable_{0},
        handler_errors_{0}, backlog_{0};
    std::array<std::atomic<std::uint64_t>, 16> rejected_by_{};
};

} // namespace choreo

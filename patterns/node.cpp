#include "patterns/node.hpp"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include "patterns/clock.hpp"
#include "patterns/handover.hpp"
#include "patterns/log.hpp"

namespace choreo {

namespace {
// Messages read from one socket in one service pass, then the other sockets of the io_context
// get a turn. They are read and decoded a few at a time, and the query traffic among those is
// served first: ROUTER fair-queues its peers' pipes, so a query from another peer is among the
// next few messages read; one from the same peer cannot overtake that peer's messages anyway.
constexpr std::size_t inbox_batch = 256;
constexpr std::size_t dealer_batch = 256;
constexpr std::size_t read_chunk = 32;
constexpr std::int64_t hard_message_cap = 64LL * 1024 * 1024; // zmq drops the peer above it
// Connections the kernel queues for the inbox before ZeroMQ accepts them. At ZeroMQ's default
// (100) a burst of connects overflowed the queue on loopback: SYNs were dropped, and every peer
// connecting then (a client, a node's DEALER) waited a second per retransmitted SYN.
constexpr int listen_backlog = 1024;
constexpr std::size_t smallest_body_capacity = 512;
// Peers outside the topology (routing ids and names from the wire) whose failed sends are
// logged: past this many, they are only counted, so that made-up names cannot flood the log.
constexpr std::size_t max_logged_strangers = 32;

// Counters have one writer, the io thread: a relaxed load and store, no locked instruction.
void bump(std::atomic<std::uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}
void lower(std::atomic<std::uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

// msgpack::sbuffer allocates with malloc/realloc; zmq frees the body it took over with this.
void free_body(void* data, void* /*hint*/) noexcept {
    taken_over(data);
    std::free(data);
}

class send_failure_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "choreo.send"; }
    std::string message(int value) const override {
        switch (static_cast<send_failure>(value)) {
        case send_failure::unknown_service:
            return "not in the topology";
        case send_failure::node_stopped:
            return "node stopped";
        case send_failure::peer_gone:
            return "connection went away while sending";
        case send_failure::unroutable:
            return "peer is gone";
        case send_failure::socket_error:
            return "socket error";
        case send_failure::no_key:
            return "no public key for the peer";
        case send_failure::outbox_full:
            return "outbox full: too many messages await their ack";
        case send_failure::unacknowledged:
            return "peer out of reach, never acknowledged: given up after the last resend";
        }
        return "send failed";
    }
};

// A routing id frame that zmq took is gone from `m`: the inbox then cannot name the peer.
constexpr std::string_view unnamed_peer = "(a peer of the inbox)";

bool is_query_traffic(const incoming& in) {
    return in.msg.env.query_id != 0 || in.msg.payload.holds<msg::inspect_request>() ||
           in.msg.payload.holds<msg::hold_request>();
}
} // namespace

std::string_view to_string(send_failure why) noexcept {
    switch (why) {
    case send_failure::unknown_service:
        return "unknown_service";
    case send_failure::node_stopped:
        return "node_stopped";
    case send_failure::peer_gone:
        return "peer_gone";
    case send_failure::unroutable:
        return "unroutable";
    case send_failure::socket_error:
        return "socket_error";
    case send_failure::no_key:
        return "no_key";
    case send_failure::outbox_full:
        return "outbox_full";
    case send_failure::unacknowledged:
        return "unacknowledged";
    }
    return "send_failed";
}

const std::error_category& send_failure_category() noexcept {
    static const send_failure_category_impl instance;
    return instance;
}

struct node::watched {
    watched(zmq::context_t& ctx, zmq::socket_type type, asio::io_context& io, std::string p,
            bool to_client)
        : socket(ctx, type), fd(io), events(io), peer(std::move(p)), peer_is_client(to_client) {}
    // ZMQ_FD belongs to the socket: the descriptor object must never close it.
    ~watched() { fd.release(); }

    zmq::socket_t socket;
    asio::posix::stream_descriptor fd;
    monitor events;              ///< a DEALER's connections (the inbox's: inbox_events_)
    std::uint64_t connections{}; ///< a DEALER's handshakes with its peer so far
    std::string peer;            ///< empty for the inbox
    bool peer_is_client;         ///< a DEALER to a client's inbox
    std::deque<outbound> backlog;
    std::size_t awaiting = 0;    ///< query traffic sent on this DEALER, not yet answered
    std::vector<incoming> batch; ///< decoded by drain(), then handled
    std::vector<char> done;      ///< which of the batch have been handled
    bool service_pending = false;
    bool in_service = false;
    bool touched = false;    ///< sent on during another socket's service pass: look at it after
    bool sent_since = false; ///< sent on since the last receive that found nothing
};

node::node(zmq::context_t& context, asio::io_context& io, std::string name, ledger& book,
           node_options options)
    : context_(context), io_(io), name_(std::move(name)), ledger_(book),
      options_(std::move(options)), inbox_events_(io), delay_timer_(io),
      outbox_(std::make_unique<memory_outbox>(options_.outbox_capacity)),
      applied_(std::make_unique<memory_applied_ids>(options_.applied_ids_retained)),
      placed_(options_.applied_ids_retained), resend_timer_(io),
      // Message ids stay unique across restarts: each incarnation counts on from the wall clock
      // at its start, in ns, which a restarted node has passed unless it sent more than one
      // message per ns before.
      next_message_id_(static_cast<std::uint64_t>(now_ns())) {
    if (options_.keys) {
        // Bound before the inbox can bind: libzmq lets any CURVE key in when no handler is.
        zap_ = zap_handler::of(context_);
        zap_domain_ = zap_->enrol(options_.keys->ring, zap_counts_);
    }
    inbox_ = std::make_unique<watched>(context_, zmq::socket_type::router, io_, "", false);
    configure(inbox_->socket);
    inbox_->socket.set(zmq::sockopt::router_mandatory, 1);
    // The inbox names each connection itself (peers' DEALERs set no routing id): a peer that
    // claims another node's routing id gets a connection of its own and takes over nothing.
    inbox_->socket.set(zmq::sockopt::router_handover, 0);
    if (options_.keys) {
        inbox_->socket.set(zmq::sockopt::curve_server, 1);
        inbox_->socket.set(zmq::sockopt::curve_secretkey, options_.keys->own.secret_key);
        inbox_->socket.set(zmq::sockopt::zap_domain, zap_domain_);
    } else {
        // A ZAP domain makes libzmq refuse ZMTP 1.0 and 2.0 peers, which carry no mechanism.
        inbox_->socket.set(zmq::sockopt::zap_domain, std::string(open_zap_domain));
    }
    // Failed handshakes are counted: a peer refused for its mechanism, ZMTP version or key.
    monitor_socket(inbox_->socket,
                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
                   inbox_events_);
    inbox_events_.on_event = [this](std::uint16_t event, std::uint32_t value) {
        handshake_failed(event, value);
    };
}

void node::monitor_socket(zmq::socket_t& s, int events, monitor& m) {
    static std::atomic<std::uint64_t> monitors{0};
    const auto endpoint =
        "inproc://choreo-monitor-" + std::to_string(::getpid()) + "-" + std::to_string(++monitors);
    if (zmq_socket_monitor(s.handle(), endpoint.c_str(), events) != 0) {
        throw zmq::error_t();
    }
    m.socket = zmq::socket_t(context_, zmq::socket_type::pair);
    m.socket.set(zmq::sockopt::linger, 0);
    m.socket.connect(endpoint);
}

node::~node() {
    if (zap_) {
        zap_->leave(zap_domain_);
    }
}

void node::configure(zmq::socket_t& s) {
    s.set(zmq::sockopt::sndhwm, options_.high_water_mark);
    s.set(zmq::sockopt::rcvhwm, options_.high_water_mark);
    s.set(zmq::sockopt::linger, options_.linger_ms);
    s.set(zmq::sockopt::maxmsgsize, hard_message_cap);
    s.set(zmq::sockopt::backlog, listen_backlog);
}

std::string node::bind(const std::string& endpoint) {
    if (!options_.keys && !is_local_endpoint(endpoint)) {
        if (!options_.insecure) {
            throw std::invalid_argument(
                name_ + ": binding " + endpoint +
                " without keys would let anyone on the network speak for any node; give keys "
                "(--keys), bind a loopback address, or pass --insecure");
        }
        log().warn("{}: bound to {} WITHOUT keys (--insecure): any peer that reaches it can "
                   "speak for any node",
                   name_, endpoint);
    }
    inbox_->socket.bind(endpoint);
    return inbox_->socket.get(zmq::sockopt::last_endpoint);
}

void node::set_keys(std::shared_ptr<const credentials> keys) {
    if (!options_.keys || !keys || keys->own.public_key != options_.keys->own.public_key) {
        throw std::invalid_argument(name_ + ": set_keys needs the key pair the node was made with");
    }
    options_.keys = std::move(keys);
    zap_->update(zap_domain_, options_.keys->ring);
}

void node::set_delivery_stores(std::unique_ptr<outbox> out, std::unique_ptr<applied_ids> applied) {
    if (!out || !applied) {
        throw std::invalid_argument(name_ + ": set_delivery_stores needs both stores");
    }
    outbox_ = std::move(out);
    applied_ = std::move(applied);
    unacked_.store(outbox_->size(), std::memory_order_relaxed);
    applied_ids_.store(applied_->size(), std::memory_order_relaxed);
    const auto w = applied_->written();
    store_commits_.store(w.commits, std::memory_order_relaxed);
    store_rows_.store(w.rows_written, std::memory_order_relaxed);
    store_syncs_.store(w.syncs, std::memory_order_relaxed);
}

void node::start() {
    // A restarted durable node's outbox: every message is sent again now, with the backoff
    // from its start (its peers may have applied some: they drop those and ack them again).
    const auto now = std::chrono::steady_clock::now();
    for (const auto id : outbox_->ids()) {
        resends_[id] = {1, 1, resend_order_.emplace(now, id)};
    }
    arm_resend();
    watch(*inbox_); // may handle what is queued already, and a handler may stop the node
    watch_events(inbox_events_);
}

void node::watch_events(monitor& m) {
    if (stopped_) {
        return; // its socket is closed
    }
    if (!m.fd.is_open()) {
        m.fd.assign(m.socket.get(zmq::sockopt::fd));
    }
    // Armed before reading, as watch() does: ZMQ_FD signals a change only once.
    m.fd.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this, &m](const boost::system::error_code& ec) {
                        if (!ec && !stopped_) {
                            watch_events(m);
                        }
                    });
    read_events(m);
}

void node::read_events(monitor& m) {
    try {
        for (;;) {
            zmq::message_t event, endpoint;
            if (!m.socket.recv(event, zmq::recv_flags::dontwait)) {
                break;
            }
            if (event.more()) {
                (void)m.socket.recv(endpoint, zmq::recv_flags::dontwait);
            }
            if (event.size() < 6) {
                continue;
            }
            std::uint16_t kind = 0;
            std::uint32_t value = 0;
            std::memcpy(&kind, event.data(), sizeof(kind));
            std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof(value));
            if (m.on_event) {
                m.on_event(kind, value);
            }
        }
    } catch (const zmq::error_t& e) {
        if (!stopped_) {
            log().error("{}: socket monitor: {}", name_, e.what());
        }
    } catch (const std::exception& e) {
        bump(handler_errors_); // no exception may escape a handler running on the io_context
        log().error("{}: socket monitor: {}", name_, e.what());
    }
}

void node::close_monitor(monitor& m) {
    boost::system::error_code ignored;
    m.fd.cancel(ignored);
    m.fd.release();
    m.socket.close();
}

void node::handshake_failed(std::uint16_t event, std::uint32_t value) {
    bump(handshake_failed_);
    const std::size_t slot = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH       ? 2
                             : event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? 1
                                                                            : 0;
    // Logged at 1, 10, 100, ... of each kind: a flood of bad peers cannot flood the log.
    const auto seen = ++handshake_failures_seen_[slot];
    if ((seen & (seen - 1)) == 0 || seen % 1000 == 0) {
        static constexpr std::array<const char*, 3> what{
            "handshake failed",
            "handshake failed: protocol error (wrong mechanism, ZMTP before 3.0, or not ZMTP)",
            "handshake failed: key refused"};
        log().warn("{}: a peer's {} (code {}; {} so far)", name_, what[slot], value, seen);
    }
}

void node::reconnected(const std::string& peer) {
    bump(reconnects_);
    // A restarted peer starts a queue of its own: what it acknowledged before says nothing of
    // it (see resend_due).
    acks_from_.erase(peer);
    // Whatever reached the peer's last run and was not acknowledged may be lost with it: sent
    // again now, rather than when a backoff of up to resend_max comes due. A message held for
    // its batch's commit is not scheduled yet: it goes when the batch commits.
    const auto now = std::chrono::steady_clock::now();
    bool any = false;
    for (const auto id : outbox_->ids()) {
        const auto* m = outbox_->find(id);
        const auto it = resends_.find(id);
        if (m->to != peer || !m->routing_id.empty() || m->reply || it == resends_.end()) {
            continue; // another peer's, or a reply, which goes on the inbox, not this DEALER
        }
        const auto sends = it->second.sends;
        unschedule(id);
        resends_[id] = {sends, 0, resend_order_.emplace(now, id)};
        any = true;
    }
    if (any) {
        log().info("{}: '{}' connected again: its unacknowledged messages are sent again now",
                   name_, printable(peer));
        arm_resend();
    }
}

void node::stop() {
    if (stopped_) {
        return;
    }
    if (!store_failed_ && (applied_->pending() || !held_.empty())) {
        end_of_batch(); // what was written sticks, and its sends go out before the sockets close
    }
    stopped_ = true;
    delay_timer_.cancel();
    resend_timer_.cancel();
    if (outbox_->size() > 0) {
        log().warn("{}: stopped with {} message(s) not acknowledged by their receiver", name_,
                   outbox_->size());
    }
    std::uint64_t undelivered = delayed_.size() + inbox_->backlog.size();
    close_watched(*inbox_);
    close_monitor(inbox_events_);
    for (auto& [peer, w] : dealers_) {
        undelivered += w->backlog.size();
        close_watched(*w);
        close_monitor(w->events);
    }
    if (undelivered > 0) {
        log().error("{}: stopped with {} message(s) never accepted by their peer", name_,
                    undelivered);
    }
}

void node::close_watched(watched& w) {
    boost::system::error_code ignored;
    w.fd.cancel(ignored);
    w.fd.release();
    w.socket.close();
}

void node::drain_and_stop() {
    // Messages already queued in ZeroMQ are handled (service() reads until ZMQ_EVENTS shows
    // none, in batches); what still cannot be sent is reported by stop().
    for (int round = 0; round < 1'000 && !stopped_; ++round) {
        const auto before = received_.load() + rejected_.load();
        service(*inbox_);
        for (auto& [peer, w] : dealers_) {
            service(*w);
        }
        if (received_.load() + rejected_.load() == before) {
            break;
        }
    }
    stop();
}

void node::watch(watched& w) {
    if (stopped_) {
        return; // its socket is closed
    }
    if (!w.fd.is_open()) {
        w.fd.assign(w.socket.get(zmq::sockopt::fd));
    }
    // Arm before looking at the socket: ZMQ_FD signals a change once, when the socket's command
    // mailbox goes from empty to not empty; a change while no wait is queued would be lost, and
    // service() reads ZMQ_EVENTS, which empties the mailbox, only after the wait is queued.
    w.fd.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this, &w](const boost::system::error_code& ec) {
                        if (!ec && !stopped_) {
                            watch(w);
                        } else if (ec && ec != asio::error::operation_aborted) {
                            log().error("{}: stopped watching a socket: {}", name_, ec.message());
                        }
                    });
    service(w);
}

void node::schedule_service(watched& w) {
    if (w.service_pending || stopped_) {
        return;
    }
    w.service_pending = true;
    asio::post(io_, [this, &w] {
        if (!stopped_) {
            service(w);
        }
    });
}

void node::service(watched& w) {
    w.service_pending = false;
    if (w.in_service || stopped_) {
        return; // a handler of this socket is running: its loop looks at ZMQ_EVENTS again
    }
    w.in_service = true;
    ++servicing_;
    try {
        const auto limit = batch_limit(w);
        for (std::size_t read = 0; !stopped_;) {
            // ZMQ_EVENTS is the truth, and reading it empties the command mailbox, so that
            // ZMQ_FD signals the next change: stop only when it shows nothing to do.
            const auto events = w.socket.get(zmq::sockopt::events);
            bool progress = false;
            if ((events & ZMQ_POLLOUT) != 0 && !w.backlog.empty()) {
                progress = flush(w);
            }
            if ((events & ZMQ_POLLIN) != 0 && !stopped_) {
                w.sent_since = false;
                const auto d = drain(w);
                read += d.read;
                progress = progress || d.read > 0;
                if (read >= limit && !stopped_) {
                    schedule_service(w); // more may be waiting; let the other sockets have a turn
                    break;
                }
                // A receive that finds nothing has processed the socket's commands just as
                // reading ZMQ_EVENTS does: unless this socket has sent since or has a backlog
                // waiting for ZMQ_POLLOUT, ZMQ_FD will announce whatever comes next.
                if (d.dry && !w.sent_since && w.backlog.empty()) {
                    break;
                }
            }
            if (!progress) {
                break;
            }
        }
    } catch (const zmq::error_t& e) {
        if (!stopped_) {
            log().error("{}: socket error: {}", name_, e.what());
        }
    } catch (const std::exception& e) {
        bump(handler_errors_); // no exception may escape a handler running on the io_context
        log().error("{}: {}", name_, e.what());
    }
    w.in_service = false;
    if (--servicing_ == 0) {
        look_at_touched();
    }
}

std::size_t node::batch_limit(const watched& w) const {
    return &w == inbox_.get() ? inbox_batch : dealer_batch;
}

void node::look_at_touched() {
    auto touched = std::move(touched_);
    touched_.clear();
    for (auto* t : touched) {
        t->touched = false;
        if (stopped_) {
            continue;
        }
        try {
            look_at(*t);
        } catch (const zmq::error_t& e) {
            log().error("{}: socket error: {}", name_, e.what());
        }
    }
}

void node::look_at(watched& w) {
    const auto events = w.socket.get(zmq::sockopt::events);
    if ((events & ZMQ_POLLIN) != 0 || ((events & ZMQ_POLLOUT) != 0 && !w.backlog.empty())) {
        schedule_service(w);
    }
}

node::drained node::drain(watched& w) {
    const auto limit = batch_limit(w);
    drained d;
    while (d.read < limit && !d.dry && !stopped_) {
        d.read += read_some(w, std::min(read_chunk, limit - d.read), d.dry);
        handle_batch(w);
        // Replies to this node's own queries arrive on its DEALERs: they do not wait for the
        // rest of the inbox either.
        if (&w == inbox_.get() && awaiting_replies_ > 0 && !stopped_) {
            serve_replies();
        }
    }
    return d;
}

std::size_t node::read_some(watched& w, std::size_t most, bool& dry) {
    const bool via_inbox = &w == inbox_.get();
    const std::size_t first = via_inbox ? 1 : 0; // the inbox's first frame is the routing id
    std::size_t read = 0;
    for (; read < most; ++read) {
        std::array<zmq::message_t, 3> frames; // a well-formed message has at most three
        if (!w.socket.recv(frames[0], zmq::recv_flags::dontwait)) {
            dry = true;
            break;
        }
        std::size_t count = 1;
        std::size_t bytes = via_inbox ? 0 : frames[0].size();
        zmq::message_t extra;
        // The other parts of a message are there already: zmq delivers all or none, unless the
        // connection ends between two receives.
        // Fault injection (node_options::tear_dealer_read_at): torn after the first frame.
        bool torn = !via_inbox && frames[0].more() && options_.tear_dealer_read_at != 0 &&
                    ++dealer_reads_ == options_.tear_dealer_read_at;
        for (bool more = frames[0].more() && !torn; more; ++count) {
            auto& part = count < frames.size() ? frames[count] : extra;
            if (!w.socket.recv(part, zmq::recv_flags::dontwait)) {
                torn = true;
                break;
            }
            bytes += part.size();
            more = part.more();
        }
        if (torn && !via_inbox) {
            renew_dealer(w);
            dry = true;
            break;
        }
        for (std::size_t i = 0; i < count && i < frames.size(); ++i) {
            taken_over(frames[i]); // TSan: see patterns/handover.hpp
        }
        // Acks are delivery traffic, counted apart from the messages they acknowledge.
        const bool is_ack =
            count == first + 2 && frames[first].to_string_view() == msg::ack::type_name;
        if (is_ack) {
            ledger_.count_ack_received(bytes);
        } else {
            ledger_.record_received(bytes);
        }
        std::string peer = via_inbox ? frames[0].to_string() : w.peer;
        result<message> decoded = std::error_code(errc::malformed_frames);
        if (count == first + 2) {
            decoded = decode(frames[first].to_string_view(), frames[first + 1].to_string_view(),
                             options_.limits);
        }
        if (!decoded) {
            msg::envelope about;
            if (count == first + 2) {
                about = peek_envelope(frames[first + 1].to_string_view(), options_.limits)
                            .value_or(msg::envelope{});
            }
            reject(decoded.error(), peer, via_inbox, about);
            continue;
        }
        if (const auto why = check_sender(w, frames[first], decoded.value())) {
            reject(why, peer, via_inbox, decoded.value().env, decoded.value().payload.type_name());
            continue;
        }
        if (via_inbox) {
            // Learned always: a reply is found orphaned only when it fails, perhaps after its
            // requester has sent all it had to send again on its new connection.
            learn_route(decoded.value().env.sender, peer);
        }
        if (const auto* a = decoded.value().payload.get_if<msg::ack>()) {
            bump(acks_received_);
            take_ack(decoded.value().env.sender, *a);
            continue;
        }
        if (!admit(w, peer, decoded.value(), bytes)) {
            continue;
        }
        std::string body;
        if (applied_->holds_sends() &&
            carries_effects(decoded.value().payload, decoded.value().env.query_id)) {
            body = frames[first + 1].to_string(); // journaled as received
        }
        w.batch.push_back(
            {std::move(decoded).value(), std::move(peer), via_inbox, bytes, std::move(body)});
    }
    return read;
}

void node::handle_batch(watched& w) {
    // Query traffic first, so that it does not wait behind other peers' workflow messages.
    // One connection keeps its order, though: a query is served after the messages read before
    // it from the same peer (a client that placed an order and then asks about it must find it
    // placed). A DEALER's messages all come from one peer: they are served in order.
    const bool via_inbox = &w == inbox_.get();
    auto& batch = w.batch;
    auto& done = w.done;
    done.assign(batch.size(), 0);
    std::size_t handled = 0;
    auto serve = [&](std::size_t i) {
        done[i] = 1;
        ++handled;
        if (!via_inbox && w.awaiting > 0 && batch[i].msg.env.query_id != 0) {
            --w.awaiting;
            --awaiting_replies_;
        }
        handle(batch[i]);
        // Acknowledged once handled, at the end of the batch.
        if (carries_effects(batch[i].msg.payload, batch[i].msg.env.query_id)) {
            acks_due_.push_back({&w, via_inbox ? batch[i].peer : std::string(),
                                 batch[i].msg.env.message_id, batch[i].msg.env.workflow_id});
        }
    };
    if (via_inbox) {
        std::vector<std::pair<std::string_view, std::size_t>> cursors; // peer -> next to look at
        for (std::size_t i = 0; i < batch.size() && !stopped_; ++i) {
            if (!is_query_traffic(batch[i])) {
                continue;
            }
            const std::string_view peer = batch[i].peer;
            auto c = std::find_if(cursors.begin(), cursors.end(),
                                  [&](const auto& e) { return e.first == peer; });
            if (c == cursors.end()) {
                c = cursors.insert(cursors.end(), {peer, 0});
            }
            for (auto& j = c->second; j < i && !stopped_; ++j) {
                if (done[j] == 0 && batch[j].peer == peer) {
                    serve(j);
                }
            }
            if (!stopped_) {
                serve(i);
            }
        }
    }
    for (std::size_t i = 0; i < batch.size() && !stopped_; ++i) {
        if (done[i] == 0) {
            serve(i);
        }
    }
    if (handled < batch.size()) {
        log().error("{}: stopped with {} received message(s) not handled", name_,
                    batch.size() - handled);
    }
    batch.clear();
    end_of_batch();
}

bool node::carries_effects(const msg::payload& p, std::uint64_t query_id) {
    return query_id == 0 && !p.holds<msg::error_reply>() && !p.holds<msg::ack>() &&
           !p.holds<msg::inspect_request>() && !p.holds<msg::hold_request>();
}

bool node::admit(watched& w, const std::string& peer, const message& m, std::size_t bytes) {
    if (!carries_effects(m.payload, m.env.query_id)) {
        return true;
    }
    const bool via_inbox = &w == inbox_.get();
    if (!applied_->apply(m.env.sender, m.env.message_id)) {
        // Applied already: its ack was lost, or is on its way. Acked again, not applied again.
        bump(duplicates_);
        ledger_.count_duplicate(bytes);
        acks_due_.push_back({&w, via_inbox ? peer : std::string(), m.env.message_id, {}});
        return false;
    }
    applied_ids_.store(applied_->size(), std::memory_order_relaxed);
    if (m.payload.holds<msg::place_order>() && !m.env.workflow_id.empty()) {
        // The same workflow id placed again under a new message id: one workflow per id. Refused
        // here, before any pattern sees it, and acked, so that its sender stops resending it.
        if (placed_.find(m.env.workflow_id)) {
            reject(errc::duplicate_workflow, peer, via_inbox, m.env, m.payload.type_name());
            acks_due_.push_back(
                {&w, via_inbox ? peer : std::string(), m.env.message_id, m.env.workflow_id});
            return false;
        }
        placed_.add(m.env.workflow_id, 0);
    }
    return true;
}

void node::take_ack(const std::string& sender, const msg::ack& a) {
    std::uint64_t highest = 0;
    for (const auto id : a.ids) {
        // Only the receiver a message went to acknowledges it (with keys, authenticated).
        const auto* m = outbox_->find(id);
        if (m != nullptr && m->to == sender) {
            outbox_->remove(id);
            unschedule(id);
            highest = std::max(highest, id);
        }
    }
    if (highest != 0) { // one look at the clock per ack, however many ids it names
        auto& progress = acks_from_[sender];
        progress.highest = std::max(progress.highest, highest);
        progress.last = std::chrono::steady_clock::now();
    }
    unacked_.store(outbox_->size(), std::memory_order_relaxed);
}

void node::end_of_batch() {
    // A batch read inside a handler (a new DEALER's first service pass) is part of the batch of
    // that handler: committing here would let the first half of the handler's sends out.
    if (handling_ > 0 || store_failed_ ||
        (acks_due_.empty() && held_.empty() && !applied_->pending())) {
        return;
    }
    auto due = std::move(acks_due_);
    acks_due_.clear();
    // What the batch applied sticks before any of it is acknowledged or any of its sends
    // leaves (a durable store commits here: one transaction per batch).
    try {
        applied_->commit();
    } catch (const std::exception& e) {
        store_failed(e.what());
        return;
    }
    const auto written = applied_->written();
    store_commits_.store(written.commits, std::memory_order_relaxed);
    store_rows_.store(written.rows_written, std::memory_order_relaxed);
    store_syncs_.store(written.syncs, std::memory_order_relaxed);
    auto held = std::move(held_);
    held_.clear();
    held_count_.store(0, std::memory_order_relaxed);
    for (auto& h : held) {
        if (outbox_->find(h.id) == nullptr) {
            continue; // given up meanwhile (the send failed): nothing to send
        }
        schedule_resend(h.id, 1, 1);
        if (!stopped_) {
            hand_over(*h.socket, std::move(h.frames), std::move(h.record));
        }
    }
    std::vector<char> sent(due.size(), 0);
    for (std::size_t i = 0; i < due.size(); ++i) {
        if (sent[i] != 0) {
            continue;
        }
        // One ack per connection: every id of the batch that came in on it.
        msg::ack a;
        for (std::size_t j = i; j < due.size(); ++j) {
            if (sent[j] == 0 && due[j].socket == due[i].socket &&
                due[j].routing_id == due[i].routing_id) {
                sent[j] = 1;
                a.ids.push_back(due[j].id);
                if (!due[j].workflow_id.empty()) {
                    ledger_.count_acked(due[j].workflow_id);
                }
            }
        }
        if (stopped_) {
            return;
        }
        if (options_.ack_loss > 0 && draw(ack_loss_stream_) < options_.ack_loss) {
            bump(acks_lost_);
            continue;
        }
        const msg::envelope env{++next_message_id_, {}, name_, now_ns(), 0, 0};
        const auto ids = a.ids.size();
        outbound m = encode_frames(env, msg::payload(std::move(a)), due[i].routing_id);
        ledger_.count_ack_sent(ids, m.type.size() + m.body.size());
        bump(acks_sent_);
        enqueue(*due[i].socket, std::move(m));
    }
}

void node::serve_replies() {
    for (auto& [peer, d] : dealers_) {
        if (d->awaiting > 0 && !stopped_) {
            service(*d);
        }
    }
}

std::error_code node::check_sender(const watched& w, const zmq::message_t& first,
                                   const message& m) const {
    if (!options_.keys) {
        return {}; // without keys nothing is authenticated: nodes bind local endpoints only
    }
    if (&w != inbox_.get()) {
        // A DEALER's peer proved it holds the server key of the node it is named after.
        return m.env.sender == w.peer ? std::error_code{} : std::error_code(errc::impersonation);
    }
    const char* user = zmq_msg_gets(first.handle(), "User-Id"); // set by the ZAP handler
    if (user == nullptr || *user == '\0') {
        return errc::unauthenticated;
    }
    if (m.env.sender != user) {
        return errc::impersonation;
    }
    // What a node holds of every workflow (inspect, stuck) or its traffic (hold): operators only.
    const bool operator_request = m.payload.holds<msg::inspect_request>() ||
                                  m.payload.holds<msg::stuck_request>() ||
                                  m.payload.holds<msg::hold_request>();
    if (operator_request && !options_.keys->ring->is_operator(user)) {
        return errc::not_permitted;
    }
    return {};
}

void node::handle(const incoming& in) {
    bump(received_);
    if (!handler_) {
        return;
    }
    ++handling_;
    try {
        handler_(*this, in);
    } catch (const std::exception& e) {
        bump(handler_errors_);
        log().error("{}: handler failed: {}", name_, printable(e.what()));
    }
    --handling_;
}

void node::commit_soon() {
    if (commit_posted_ || !applied_->holds_sends()) {
        return;
    }
    commit_posted_ = true;
    asio::post(io_, [this] {
        commit_posted_ = false;
        if (!stopped_) {
            end_of_batch();
        }
    });
}

void node::store_failed(std::string_view why) {
    // The transaction is rolled back: its applied ids, outbox rows and journal are not in the
    // store, while the handlers' effects are in memory. Going on would send or ack what the
    // store does not hold; the node stops, and a restart on its data directory carries on from
    // the last commit (its senders resend what it never acknowledged).
    store_failed_ = true;
    log().error("{}: cannot commit to the store: {}; stopping ({} send(s) and {} ack(s) of the "
                "batch not sent)",
                name_, printable(why), held_.size(), acks_due_.size());
    held_.clear();
    held_count_.store(0, std::memory_order_relaxed);
    acks_due_.clear();
    stop();
    if (store_failed_hook_) {
        asio::post(io_, [this, text = std::string(why)] { store_failed_hook_(text); });
    }
}

void node::reject(std::error_code why, const std::string& from, bool answer,
                  const msg::envelope& about, std::string_view type) {
    bump(rejected_);
    bump(rejected_by_[static_cast<std::size_t>(why.value()) % rejected_by_.size()]);
    // The inbox's routing ids are its own binary names: the log shows who the sender says it is.
    const std::string& who = about.sender.empty() ? from : about.sender;
    log().warn("{}: dropped a {} from '{}': {}", name_, type.empty() ? "message" : type,
               printable(who), why.message());
    if (answer && !from.empty()) {
        // An error_reply that cannot go out is counted and logged by transmit: nothing waits
        // for it here.
        static_cast<void>(transmit(*inbox_, from, who,
                                   {about.workflow_id, about.hop, about.query_id,
                                    msg::error_reply{error_code_name(why), why.message()}}));
    }
}

void node::refuse(const incoming& in, std::error_code why) {
    const bool is_error = in.msg.payload.holds<msg::error_reply>();
    reject(why, in.peer, in.via_inbox && !is_error, in.msg.env, in.msg.payload.type_name());
}

result<std::size_t> node::send(const std::string& to, outgoing out) {
    if (suppressed_) {
        return std::size_t{0}; // replaying: what it sent then is in the outbox
    }
    if (const auto it = dealers_.find(to); it != dealers_.end()) {
        return transmit(*it->second, {}, to, std::move(out));
    }
    if (!topology_.endpoint_of(to)) {
        send_failed(to, send_failure::unknown_service, out.payload.type_name());
        return std::error_code(errc::unknown_service);
    }
    if (stopped_) {
        send_failed(to, send_failure::node_stopped, out.payload.type_name());
        return std::error_code(send_failure::node_stopped);
    }
    if (options_.keys && !options_.keys->ring->knows(to)) {
        send_failed(to, send_failure::no_key, out.payload.type_name());
        return std::error_code(errc::unauthenticated);
    }
    return transmit(dealer_for(to), {}, to, std::move(out));
}

result<std::size_t> node::reply(const incoming& asker, outgoing out) {
    if (suppressed_) {
        return std::size_t{0};
    }
    if (asker.via_inbox) {
        return transmit(*inbox_, asker.peer, asker.msg.env.sender, std::move(out));
    }
    return send(asker.peer, std::move(out));
}

void node::send_failed(std::string_view to, send_failure why, std::string_view type) {
    bump(send_failed_);
    bump(send_failed_by_[static_cast<std::size_t>(why) % send_failed_by_.size()]);
    // Once per (peer, reason): a peer that is gone would otherwise log every message sent to
    // it. Names outside the topology come from the wire: only the first few are remembered.
    std::pair<std::string, send_failure> key{std::string(to), why};
    if (failures_logged_.contains(key)) {
        return;
    }
    const bool stranger = !topology_.endpoint_of(to);
    if (stranger && strangers_logged_ == max_logged_strangers) {
        return;
    }
    failures_logged_.insert(std::move(key));
    log().error("{}: cannot send to '{}': {} ({} dropped; later failures to it for this reason "
                "are counted, not logged)",
                name_, printable(to), make_error_code(why).message(), printable(type));
    if (stranger && ++strangers_logged_ == max_logged_strangers) {
        log().error("{}: failed sends to {} peers outside the topology logged; further ones are "
                    "only counted (send_failed_by)",
                    name_, max_logged_strangers);
    }
}

std::string_view node::peer_of(const watched& w, const outbound& m) {
    if (!m.routed) {
        return w.peer;
    }
    const auto id = m.routing_id.to_string_view();
    return id.empty() ? unnamed_peer : id;
}

void node::dropped(std::string_view to, send_failure why, const outbound& m) {
    // The body is still this node's: zmq takes a frame only when it accepts it.
    dropped(to, why, m.type_name, m.body.to_string_view());
}

void node::dropped(std::string_view to, send_failure why, std::string_view type,
                   std::string_view body) {
    // Decoding it again costs nothing on the way out, only here.
    auto what = decode(type, body, options_.limits);
    if (what && (why == send_failure::unroutable || why == send_failure::peer_gone) &&
        keep_orphaned_reply(what.value().env.message_id)) {
        return;
    }
    send_failed(to, why, type);
    if (!what) {
        return;
    }
    // Not resent any more: whoever handles the failure decides what becomes of its workflow.
    if (outbox_->remove(what.value().env.message_id)) {
        unschedule(what.value().env.message_id);
        unacked_.store(outbox_->size(), std::memory_order_relaxed);
        commit_soon();
    }
    if (!send_failed_hook_ || what.value().env.query_id != 0 ||
        what.value().env.workflow_id.empty()) {
        return; // query traffic: its asker times out and says so
    }
    // Told later, on the io thread: the handler that sent it may still be running.
    asio::post(io_, [this, f = failed_send{std::string(to), why, std::move(what).value()}] {
        if (!stopped_ && send_failed_hook_) {
            try {
                send_failed_hook_(f);
            } catch (const std::exception& e) {
                bump(handler_errors_);
                log().error("{}: send failure handler failed: {}", name_, printable(e.what()));
            }
        }
    });
}

void node::open_dealer(watched& w) {
    configure(w.socket);
    // No routing id: the peer's inbox names the connection (see the constructor). Not
    // ZMQ_IMMEDIATE: with it, a connection's end ends the socket's pipe too, and libzmq 4.3.4
    // aborts (fq.cpp: !_more) when that lands between two frames of a message being read.
    // Without it the pipe outlives a killed peer; what waits in it goes to the restarted one.
    if (options_.keys) {
        w.socket.set(zmq::sockopt::curve_serverkey, *options_.keys->ring->public_key_of(w.peer));
        w.socket.set(zmq::sockopt::curve_publickey, options_.keys->own.public_key);
        w.socket.set(zmq::sockopt::curve_secretkey, options_.keys->own.secret_key);
    } else {
        w.socket.set(zmq::sockopt::zap_domain, std::string(open_zap_domain));
    }
    // Its handshakes tell when the peer is back after it went away (it restarted).
    monitor_socket(w.socket, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, w.events);
    w.socket.connect(*topology_.endpoint_of(w.peer)); // throws on a bad endpoint
}

void node::renew_dealer(watched& w) {
    // A message torn apart: its first frames were read, then its connection went (the peer was
    // killed) and libzmq 4.3's fair queue still expects the rest; its next receive, once the
    // peer is back, would abort the process (fq.cpp: !_more). The torn message was never
    // applied nor acknowledged: its sender sends it again. The socket is replaced in place, its
    // backlog kept, and the new one's first handshake counts as the peer coming back. Without
    // ZMQ_IMMEDIATE (open_dealer) a DEALER's pipe outlives its connections and libzmq flushes
    // only whole messages into it, so no run has torn one since; the path stays for a pipe that
    // ends all the same, and the tests reach it by fault injection (tear_dealer_read_at).
    log().warn("{}: a message from '{}' was torn by its connection's end; reconnecting", name_,
               printable(w.peer));
    bump(dealers_renewed_);
    close_watched(w);
    close_monitor(w.events);
    // Replies to queries sent on the old socket went with its connection: their askers time out.
    awaiting_replies_ -= w.awaiting;
    w.awaiting = 0;
    w.socket = zmq::socket_t(context_, zmq::socket_type::dealer);
    open_dealer(w);
    watch(w);
    watch_events(w.events);
}

node::watched& node::dealer_for(const std::string& to) {
    auto w = std::make_unique<watched>(context_, zmq::socket_type::dealer, io_, to,
                                       topology_.is_client(to));
    open_dealer(*w); // throws on a bad endpoint: nothing is kept
    auto& slot = *dealers_.emplace(to, std::move(w)).first->second;
    slot.events.on_event = [this, &slot](std::uint16_t event, std::uint32_t) {
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && ++slot.connections > 1) {
            // What waited for the connection goes first: a resend does not copy a message
            // still in the backlog.
            if (!slot.backlog.empty() && !slot.in_service) {
                flush(slot);
                after_send(slot);
            }
            reconnected(slot.peer);
        }
    };
    watch(slot);
    watch_events(slot.events);
    return slot;
}

node::outbound node::encode_frames(const msg::envelope& env, const msg::payload& payload,
                                   std::string_view routing_id) {
    // The body is packed once, into a buffer that zmq then owns and frees: no copy between
    // the pattern and the socket. The layout is the codec's: {"env": envelope, "payload": p}.
    msgpack::sbuffer buffer(body_capacity_);
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(2);
    packer.pack(std::string_view("env"));
    packer.pack(env);
    packer.pack(std::string_view("payload"));
    payload.pack(packer);
    const auto size = buffer.size();
    body_capacity_ = std::max(smallest_body_capacity, std::bit_ceil(size));
    outbound m;
    char* data = buffer.release();
    try {
        m.body = zmq::message_t(data, size, &free_body, nullptr);
    } catch (...) {
        std::free(data);
        throw;
    }
    // A contract's type name is a string literal: a constant zmq message refers to it.
    const auto type = payload.type_name();
    m.type = zmq::message_t(const_cast<char*>(type.data()), type.size(), nullptr, nullptr);
    m.type_name = type;
    if (!routing_id.empty()) {
        m.routing_id = zmq::message_t(routing_id.data(), routing_id.size());
        m.routed = true;
    }
    return m;
}

std::uint64_t node::stream_of(std::uint64_t seed, std::string_view name) noexcept {
    std::uint64_t h = 14'695'981'039'346'656'037ULL; // FNV-1a: the same on every build
    for (const char c : name) {
        h = (h ^ static_cast<unsigned char>(c)) * 1'099'511'628'211ULL;
    }
    return seed ^ h;
}

double node::draw(std::uint64_t& stream) noexcept {
    // splitmix64: the same numbers on every build and standard library (std::mt19937_64 is, but
    // std::bernoulli_distribution over it is not specified).
    std::uint64_t z = (stream += 0x9e37'79b9'7f4a'7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11ebULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53; // 53 bits: uniform in [0, 1)
}

bool node::dropped_by_fault(std::uint64_t query_id, bool client, const std::string& workflow_id) {
    if (options_.drop.probability <= 0 || query_id != 0 || client || workflow_id.empty()) {
        return false;
    }
    // One draw per inter-service workflow send, whatever the outcome.
    if (draw(drop_stream_) >= options_.drop.probability) {
        return false;
    }
    bump(dropped_by_fault_);
    return true;
}

void node::note(incident i) {
    std::lock_guard lock(incidents_mutex_);
    if (incidents_.size() == max_incidents) {
        incidents_.pop_front();
    }
    incidents_.push_back(std::move(i));
}

std::vector<incident> node::incidents() const {
    std::lock_guard lock(incidents_mutex_);
    return {incidents_.begin(), incidents_.end()};
}

result<std::size_t> node::transmit(watched& w, std::string_view routing_id, const std::string& to,
                                   outgoing out) {
    if (stopped_) {
        send_failed(to, send_failure::node_stopped, out.payload.type_name());
        return std::error_code(send_failure::node_stopped);
    }
    if (suppressed_) {
        return std::size_t{0};
    }
    const bool keep = carries_effects(out.payload, out.query_id);
    if (keep && outbox_->size() >= outbox_->capacity()) {
        // Refused, not dropped: the caller is told, as for any send that cannot be made.
        send_failed(to, send_failure::outbox_full, out.payload.type_name());
        return std::error_code(send_failure::outbox_full);
    }
    const auto at = now_ns(); // the envelope's clock crosses processes: wall clock
    const msg::envelope env{++next_message_id_, std::move(out.workflow_id), name_, at, out.hop,
                            out.query_id};
    outbound m = encode_frames(env, out.payload, routing_id);
    const auto bytes = m.type.size() + m.body.size();
    if (keep) {
        // Kept as it goes on the wire, until its receiver acks it: a resend is the same message.
        if (!outbox_->keep({env.message_id, to, std::string(routing_id), std::string(m.type_name),
                            m.body.to_string()})) {
            send_failed(to, send_failure::outbox_full, out.payload.type_name());
            return std::error_code(send_failure::outbox_full);
        }
        unacked_.store(outbox_->size(), std::memory_order_relaxed);
    }
    const bool client = options_.role == node_role::client ||
                        (&w == inbox_.get() ? topology_.is_client(to) : w.peer_is_client);
    send_record record{at,
                       std::string(to),
                       out.payload.type_name(),
                       ledger_.keeps_trace() ? label_of(out.payload) : std::string(),
                       bytes,
                       env.workflow_id,
                       out.query_id,
                       client};
    if (keep && applied_->holds_sends()) {
        // Held until the transaction holding its outbox row commits (end_of_batch); a drop
        // fault acts when it leaves, as on any send.
        held_.push_back({&w, std::move(m), std::move(record), env.message_id});
        held_count_.store(held_.size(), std::memory_order_relaxed);
        if (handling_ == 0) {
            commit_soon(); // sent outside a batch: no end of batch will commit it
        }
        return bytes;
    }
    if (keep) {
        schedule_resend(env.message_id, 1, 1);
    }
    hand_over(w, std::move(m), std::move(record));
    return bytes;
}

void node::hand_over(watched& w, outbound m, send_record r) {
    if (dropped_by_fault(r.query_id, r.client, r.workflow_id)) {
        note({now_ns(), r.workflow_id, std::string(incident_dropped), std::string(r.to)});
        return; // lost on the way, as a network loses it: the sender cannot tell
    }
    if (ledger_.keeps_trace()) {
        // `to` may be a routing id from the wire: recorded as printable UTF-8 (inspect's str).
        ledger_.record_sent({0, r.at, name_, printable(r.to), std::string(r.type),
                             std::move(r.label), r.bytes, r.workflow_id, r.query_id, r.client});
    } else {
        ledger_.count_sent(r.workflow_id, r.query_id, r.client, r.bytes);
    }
    bump(sent_);
    if (r.query_id != 0 && &w != inbox_.get()) {
        ++w.awaiting;
        ++awaiting_replies_;
    }
    if (options_.link_delay.count() > 0) {
        delayed_.push_back(
            {std::chrono::steady_clock::now() + options_.link_delay, &w, std::move(m)});
        arm_delay();
    } else {
        enqueue(w, std::move(m));
    }
}

void node::enqueue(watched& w, outbound m) {
    bool taken = false; // sent or queued: a later error does not lose it
    try {
        if (!w.backlog.empty() || !try_send(w, m)) {
            // Refused (high-water mark, or no connection yet under ZMQ_IMMEDIATE): it waits, in
            // order, for ZMQ_EVENTS to show ZMQ_POLLOUT; the socket's ZMQ_FD signals that change.
            w.backlog.push_back(std::move(m));
            bump(backlog_);
        }
        taken = true;
        after_send(w);
    } catch (const zmq::error_t& e) {
        // Called from handlers and from posted work alike: nothing may escape to the io_context.
        if (!stopped_) {
            log().error("{}: socket error while sending to '{}': {}", name_, printable(w.peer),
                        e.what());
            if (!taken) {
                dropped(peer_of(w, m), send_failure::socket_error, m);
            }
        }
    }
}

void node::after_send(watched& w) {
    // A send may process the socket's commands and so consume the signal of ZMQ_FD: if what it
    // processed left something to do, no edge will announce it, so ZMQ_EVENTS is read again
    // before the io thread goes back to waiting. During a service pass that is once per socket
    // at the end of the pass, not once per send.
    w.sent_since = true;
    if (w.in_service) {
        return; // service() reads ZMQ_EVENTS again before it lets go of the socket
    }
    if (servicing_ > 0) {
        if (!w.touched) {
            w.touched = true;
            touched_.push_back(&w);
        }
        return;
    }
    look_at(w);
}

bool node::flush(watched& w) {
    bool sent = false;
    while (!w.backlog.empty() && try_send(w, w.backlog.front())) {
        w.backlog.pop_front();
        lower(backlog_);
        sent = true;
    }
    return sent;
}

std::chrono::nanoseconds node::resend_wait(std::uint32_t step) const {
    // Doubling from resend_initial, capped at resend_max; never before a message and its ack
    // could have crossed a delayed link.
    auto wait = options_.resend_initial;
    for (std::uint32_t i = 1; i < step && wait < options_.resend_max; ++i) {
        wait *= 2;
    }
    return std::min(wait, options_.resend_max) + 2 * options_.link_delay;
}

void node::schedule_resend(std::uint64_t id, std::uint32_t sends, std::uint32_t step) {
    unschedule(id); // one time per message: a send that failed may have scheduled it already
    const auto due = std::chrono::steady_clock::now() + resend_wait(step);
    resends_[id] = {sends, step, resend_order_.emplace(due, id)};
    arm_resend();
}

void node::unschedule(std::uint64_t id) {
    if (const auto it = resends_.find(id); it != resends_.end()) {
        resend_order_.erase(it->second.at);
        resends_.erase(it);
    }
}

void node::arm_resend() {
    if (stopped_ || resend_order_.empty()) {
        return;
    }
    const auto first = resend_order_.begin()->first;
    if (resend_armed_ && first >= resend_armed_at_) {
        return; // the timer fires first; it looks at everything due then
    }
    resend_armed_ = true;
    resend_armed_at_ = first;
    resend_timer_.expires_at(first); // cancels a later wait: its handler sees operation_aborted
    resend_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) {
            return; // re-armed earlier, or the node is going away
        }
        resend_armed_ = false;
        try {
            resend_due();
        } catch (const std::exception& e) {
            bump(handler_errors_); // posted work: nothing may escape to the io_context
            log().error("{}: resending: {}", name_, e.what());
        }
        arm_resend();
    });
}

bool node::reachable(const std::string& peer) const {
    // A DEALER is made only for a peer that is: a map lookup in the usual case, the topology's
    // linear search only for a peer without one.
    return dealers_.contains(peer) || (topology_.endpoint_of(peer).has_value() &&
                                       (!options_.keys || options_.keys->ring->knows(peer)));
}

void node::resend_due() {
    const auto now = std::chrono::steady_clock::now();
    while (!resend_order_.empty() && resend_order_.begin()->first <= now && !stopped_) {
        const auto id = resend_order_.begin()->second;
        resend_order_.erase(resend_order_.begin());
        const auto state = resends_.find(id);
        const auto sends = state == resends_.end() ? 1 : state->second.sends;
        const auto step = state == resends_.end() ? 1 : state->second.step;
        if (state != resends_.end()) {
            resends_.erase(state);
        }
        const auto* m = outbox_->find(id);
        if (m == nullptr) {
            continue;
        }
        // A peer that has acknowledged messages within the wait, but none sent after this one,
        // is working through its queue, not losing messages: a copy would only lengthen the
        // queue (and resends of a long queue would swamp it). Wait again, the same step of the
        // backoff. A later message acknowledged, or a peer silent for the wait: resend.
        if (const auto p = acks_from_.find(m->to); p != acks_from_.end() &&
                                                   p->second.highest < id &&
                                                   now - p->second.last < resend_wait(step)) {
            schedule_resend(id, sends, step);
            continue;
        }
        // A peer within reach may have applied it, only its acks lost: given up, its workflow
        // would end `failed` and perhaps end again, for real. Only a peer out of reach is given up.
        if (options_.resend_limit != 0 && sends >= options_.resend_limit && !reachable(m->to)) {
            const unacked given_up = *m;
            dropped(given_up.to, send_failure::unacknowledged, given_up.type, given_up.body);
            continue;
        }
        watched* w = nullptr;
        std::string_view route = m->routing_id;
        const auto latest =
            m->reply && m->routing_id.empty() ? inbox_routes_.find(m->to) : inbox_routes_.end();
        if (!m->routing_id.empty()) {
            w = inbox_.get(); // a reply goes back on the connection the request came in on
        } else if (latest != inbox_routes_.end()) {
            // An orphaned reply (its connection is gone, or went with this node's last run):
            // on the requester's latest inbox connection, where it sends from now.
            w = inbox_.get();
            route = latest->second;
        } else if (const auto d = dealers_.find(m->to); d != dealers_.end()) {
            w = d->second.get();
        } else if (reachable(m->to)) {
            // A restarted durable node's outbox, or an orphaned reply whose requester has not
            // sent anything on a new connection (it may have nothing left to send here): through
            // the peer's inbox, connected now. Waiting for the requester's traffic instead could
            // wait forever: a restarted requester whose commands were all acknowledged before it
            // died sends nothing more, and a message its old connection still held, read after
            // its new one's, names a connection that is gone.
            const std::string to = m->to;
            w = &dealer_for(to);
            m = outbox_->find(id);
            if (m == nullptr) {
                continue;
            }
        }
        const auto contract = find_contract(m->type);
        // A socket that has not taken the message yet (no connection, high-water mark) holds it
        // in its backlog: another copy would only queue behind it.
        const bool client = options_.role == node_role::client || topology_.is_client(m->to);
        if (w != nullptr && contract && w->backlog.empty() &&
            !dropped_by_fault(0, client, m->to)) { // a resend is lost as the first send is
            outbound copy;
            copy.type = zmq::message_t(m->type.data(), m->type.size());
            copy.type_name = contract->type_name;
            copy.body = zmq::message_t(m->body.data(), m->body.size());
            if (!route.empty()) {
                copy.routing_id = zmq::message_t(route.data(), route.size());
                copy.routed = true;
            }
            ledger_.count_resent(copy.type.size() + copy.body.size());
            bump(resent_);
            enqueue(*w, std::move(copy));
        }
        // The send may have failed and given it up, or kept it as an orphaned reply (then it
        // is scheduled already).
        if (outbox_->find(id) != nullptr && !resends_.contains(id)) {
            schedule_resend(id, sends + 1, step + 1);
        }
    }
}

bool node::keep_orphaned_reply(std::uint64_t id) {
    const auto* kept = outbox_->find(id);
    if (kept == nullptr || kept->routing_id.empty()) {
        return false;
    }
    // A reply whose requester's connection is gone: the requester was restarted, and what it
    // sends again is a duplicate here, applied and acked but not answered again. The reply is
    // its only answer: kept, and sent again at once on the requester's newest inbox connection
    // (learn_route) or, if none is known, through the requester's own inbox.
    unacked orphan = *kept;
    const std::string dead = std::move(orphan.routing_id);
    orphan.routing_id.clear();
    orphan.reply = true;
    const auto to = orphan.to;
    outbox_->remove(id);
    static_cast<void>(outbox_->keep(std::move(orphan))); // the room it left
    commit_soon();
    const auto it = resends_.find(id);
    const auto sends = it != resends_.end() ? it->second.sends : 1;
    const auto step = it != resends_.end() ? it->second.step : 1;
    unschedule(id);
    if (const auto r = inbox_routes_.find(to); r != inbox_routes_.end() && r->second == dead) {
        inbox_routes_.erase(r); // the dead one: the next connection is news
    }
    // Resent now: on the requester's new connection if it has sent on one, else through its
    // inbox (resend_due).
    resends_[id] = {sends, step, resend_order_.emplace(std::chrono::steady_clock::now(), id)};
    arm_resend();
    return true;
}

void node::learn_route(const std::string& sender, const std::string& routing_id) {
    // Called for every inbox message: the usual case, a connection already known, is one hash
    // lookup; the topology (a linear search) is asked only about a connection that is new.
    if (const auto it = inbox_routes_.find(sender);
        it != inbox_routes_.end() && it->second == routing_id) {
        return;
    }
    if (!topology_.endpoint_of(sender)) {
        return; // only the topology's names: the map stays as small as the deployment
    }
    inbox_routes_[sender] = routing_id;
    // A new connection from a peer that awaits replies: they go now, not at their next resend.
    const auto now = std::chrono::steady_clock::now();
    for (const auto id : outbox_->ids()) {
        const auto* m = outbox_->find(id);
        if (m->reply && m->routing_id.empty() && m->to == sender) {
            const auto it = resends_.find(id);
            const auto sends = it != resends_.end() ? it->second.sends : 1;
            const auto step = it != resends_.end() ? it->second.step : 1;
            unschedule(id);
            resends_[id] = {sends, step, resend_order_.emplace(now, id)};
        }
    }
    arm_resend();
}

void node::arm_delay() {
    if (delay_armed_ || delayed_.empty() || stopped_) {
        return;
    }
    delay_armed_ = true;
    delay_timer_.expires_at(delayed_.front().due);
    delay_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) {
            return; // cancelled: the node may be going away
        }
        delay_armed_ = false;
        const auto now = std::chrono::steady_clock::now();
        while (!delayed_.empty() && delayed_.front().due <= now && !stopped_) {
            auto d = std::move(delayed_.front());
            delayed_.pop_front();
            enqueue(*d.socket, std::move(d.frames));
        }
        arm_delay();
    });
}

bool node::try_send(watched& w, outbound& m) {
    // Only the first frame can be refused: once it is taken, zmq takes the whole message (a
    // later part fails only if the connection went away meanwhile, and then zmq drops it all).
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    try {
        if (m.routed) {
            if (!w.socket.send(m.routing_id, more)) {
                return false;
            }
        } else if (!w.socket.send(m.type, more)) {
            return false;
        }
        if (m.routed && !w.socket.send(m.type, more)) {
            bump(unroutable_);
            dropped(peer_of(w, m), send_failure::peer_gone, m);
            return true;
        }
        // Read here for the last time (the outbox copies it before): zmq frees it elsewhere.
        handed_over(m.body.data());
        if (!w.socket.send(m.body, zmq::send_flags::dontwait)) {
            bump(unroutable_);
            dropped(peer_of(w, m), send_failure::peer_gone, m);
        }
    } catch (const zmq::error_t& e) {
        if (e.num() != EHOSTUNREACH) {
            throw;
        }
        bump(unroutable_);
        dropped(m.routing_id.to_string_view(), send_failure::unroutable, m);
    }
    return true;
}

node_counters node::counters() const {
    node_counters c{received_,
                    sent_,
                    rejected_,
                    unroutable_,
                    handler_errors_,
                    backlog_,
                    zap_counts_->refused.load(std::memory_order_relaxed),
                    handshake_failed_,
                    send_failed_,
                    duplicates_,
                    acks_sent_,
                    acks_received_,
                    acks_lost_,
                    resent_,
                    unacked_,
                    applied_ids_,
                    {},
                    {},
                    dropped_by_fault_,
                    store_commits_,
                    store_rows_,
                    held_count_,
                    store_syncs_,
                    reconnects_,
                    dealers_renewed_};
    for (std::size_t i = 1; i < rejected_by_.size(); ++i) {
        if (const auto n = rejected_by_[i].load(); n > 0) {
            c.rejected_by[error_code_name(static_cast<errc>(i))] = n;
        }
    }
    for (std::size_t i = 1; i < send_failed_by_.size(); ++i) {
        if (const auto n = send_failed_by_[i].load(); n > 0) {
            c.send_failed_by[std::string(to_string(static_cast<send_failure>(i)))] = n;
        }
    }
    return c;
}

} // namespace choreo

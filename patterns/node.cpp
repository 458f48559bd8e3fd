#include "patterns/node.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include "patterns/clock.hpp"
#include "patterns/log.hpp"

namespace choreo {

namespace {
constexpr int receive_batch = 256; // then yield to the other sockets of the io_context
constexpr auto retry_interval = std::chrono::milliseconds(2);
constexpr std::int64_t hard_message_cap = 64LL * 1024 * 1024; // zmq drops the peer above it
} // namespace

struct node::watched {
    watched(zmq::context_t& ctx, zmq::socket_type type, asio::io_context& io, std::string p)
        : socket(ctx, type), fd(io), peer(std::move(p)) {}
    // ZMQ_FD belongs to the socket: the descriptor object must never close it.
    ~watched() { fd.release(); }

    zmq::socket_t socket;
    asio::posix::stream_descriptor fd;
    std::string peer; ///< empty for the inbox
    std::deque<std::vector<std::string>> backlog;
    bool service_pending = false;
};

node::node(zmq::context_t& context, asio::io_context& io, std::string name, ledger& book,
           node_options options)
    : context_(context), io_(io), name_(std::move(name)), ledger_(book),
      options_(std::move(options)), retry_(io), delay_timer_(io) {
    inbox_ = std::make_unique<watched>(context_, zmq::socket_type::router, io_, "");
    configure(inbox_->socket);
    inbox_->socket.set(zmq::sockopt::router_mandatory, 1);
    inbox_->socket.set(zmq::sockopt::router_handover, 1);
}

node::~node() = default;

void node::configure(zmq::socket_t& s) {
    s.set(zmq::sockopt::sndhwm, options_.high_water_mark);
    s.set(zmq::sockopt::rcvhwm, options_.high_water_mark);
    s.set(zmq::sockopt::linger, options_.linger_ms);
    s.set(zmq::sockopt::maxmsgsize, hard_message_cap);
}

std::string node::bind(const std::string& endpoint) {
    inbox_->socket.bind(endpoint);
    return inbox_->socket.get(zmq::sockopt::last_endpoint);
}

void node::start() {
    watch(*inbox_);
}

void node::stop() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    retry_.cancel();
    delay_timer_.cancel();
    std::uint64_t undelivered = delayed_.size();
    auto close = [&](watched& w) {
        undelivered += w.backlog.size();
        boost::system::error_code ignored;
        w.fd.cancel(ignored);
        w.fd.release();
        w.socket.close();
    };
    close(*inbox_);
    for (auto& [peer, w] : dealers_) {
        close(*w);
    }
    if (undelivered > 0) {
        log().error("{}: stopped with {} message(s) never accepted by their peer", name_,
                    undelivered);
    }
}

void node::drain_and_stop() {
    // Messages already queued in ZeroMQ are handled (service() reads until EAGAIN, in
    // batches); what still cannot be sent is reported by stop().
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
    if (!w.fd.is_open()) {
        w.fd.assign(w.socket.get(zmq::sockopt::fd));
    }
    // Arm before draining: ZMQ_FD is edge-triggered, so an edge that comes while we drain
    // must find a wait already queued, or its messages would stall.
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
    try {
        while (!w.backlog.empty() && try_send(w, w.backlog.front())) {
            w.backlog.pop_front();
            --backlog_;
        }
        for (int n = 0; n < receive_batch && !stopped_; ++n) {
            std::vector<zmq::message_t> parts;
            if (!zmq::recv_multipart(w.socket, std::back_inserter(parts),
                                     zmq::recv_flags::dontwait)) {
                return; // drained: the next edge will wake us
            }
            handle(w, parts);
        }
        schedule_service(w); // more may be waiting; let the other sockets have a turn
    } catch (const zmq::error_t& e) {
        if (!stopped_) {
            log().error("{}: socket error: {}", name_, e.what());
        }
    } catch (const std::exception& e) {
        ++handler_errors_; // no exception may escape a handler running on the io_context
        log().error("{}: {}", name_, e.what());
    }
}

void node::handle(watched& w, std::vector<zmq::message_t>& parts) {
    const bool via_inbox = &w == inbox_.get();
    std::string peer = w.peer;
    std::size_t first = 0;
    if (via_inbox) {
        peer = parts.empty() ? std::string() : parts.front().to_string();
        first = 1;
    }
    std::size_t bytes = 0;
    for (std::size_t i = first; i < parts.size(); ++i) {
        bytes += parts[i].size();
    }
    ledger_.record_received(bytes);
    result<message> decoded = std::error_code(errc::malformed_frames);
    if (parts.size() == first + 2) {
        decoded = decode(parts[first].to_string_view(), parts[first + 1].to_string_view(),
                         options_.limits);
    }
    if (!decoded) {
        msg::envelope about;
        if (parts.size() == first + 2) {
            about = peek_envelope(parts[first + 1].to_string_view(), options_.limits)
                        .value_or(msg::envelope{});
        }
        reject(decoded.error(), peer, via_inbox, about);
        return;
    }
    ++received_;
    if (!handler_) {
        return;
    }
    try {
        handler_(*this, incoming{std::move(decoded).value(), std::move(peer), via_inbox, bytes});
    } catch (const std::exception& e) {
        ++handler_errors_;
        log().error("{}: handler failed: {}", name_, e.what());
    }
}

void node::reject(std::error_code why, const std::string& from, bool answer,
                  const msg::envelope& about) {
    ++rejected_;
    ++rejected_by_[static_cast<std::size_t>(why.value()) % rejected_by_.size()];
    log().warn("{}: dropped a message from '{}': {}", name_, from, why.message());
    if (answer && !from.empty()) {
        transmit(*inbox_, from, from,
                 {about.workflow_id, about.hop, about.query_id,
                  msg::error_reply{error_code_name(why), why.message()}});
    }
}

void node::refuse(const incoming& in, std::error_code why) {
    const bool is_error = in.msg.payload.holds<msg::error_reply>();
    reject(why, in.peer, in.via_inbox && !is_error, in.msg.env);
}

result<std::size_t> node::send(const std::string& to, outgoing out) {
    const auto endpoint = topology_.endpoint_of(to);
    if (!endpoint) {
        log().error("{}: cannot send {} to '{}': not in the topology", name_,
                    out.payload.type_name(), to);
        return std::error_code(errc::unknown_service);
    }
    return transmit(dealer_for(to, *endpoint), "", to, out);
}

void node::reply(const incoming& asker, outgoing out) {
    if (asker.via_inbox) {
        transmit(*inbox_, asker.peer, asker.peer, out);
    } else {
        send(asker.peer, std::move(out));
    }
}

node::watched& node::dealer_for(const std::string& to, const std::string& endpoint) {
    if (const auto it = dealers_.find(to); it != dealers_.end()) {
        return *it->second;
    }
    auto w = std::make_unique<watched>(context_, zmq::socket_type::dealer, io_, to);
    configure(w->socket);
    w->socket.set(zmq::sockopt::routing_id, name_);
    w->socket.set(zmq::sockopt::immediate, 1);
    w->socket.connect(endpoint); // throws on a bad endpoint: nothing is kept then
    auto& slot = *dealers_.emplace(to, std::move(w)).first->second;
    watch(slot);
    return slot;
}

std::size_t node::transmit(watched& w, std::string routing_id, const std::string& to,
                           const outgoing& out) {
    if (stopped_) {
        log().error("{}: {} to '{}' not sent: node stopped", name_, out.payload.type_name(), to);
        return 0;
    }
    const auto at = now_ns();
    message m{{++next_message_id_, out.workflow_id, name_, at, out.hop, out.query_id}, out.payload};
    frames f = encode(m);
    const auto bytes = f.size();
    ledger_.record_sent({0, at, name_, to, f.type,
                         ledger_.keeps_trace() ? label_of(m.payload) : std::string(), f.size(),
                         out.workflow_id, out.query_id,
                         options_.role == node_role::client || topology_.is_client(to)});
    ++sent_;
    std::vector<std::string> parts;
    if (!routing_id.empty()) {
        parts.push_back(std::move(routing_id));
    }
    parts.push_back(std::move(f.type));
    parts.push_back(std::move(f.body));
    if (options_.link_delay.count() > 0) {
        delayed_.push_back(
            {std::chrono::steady_clock::now() + options_.link_delay, &w, std::move(parts)});
        arm_delay();
    } else {
        enqueue(w, std::move(parts));
    }
    return bytes;
}

void node::enqueue(watched& w, std::vector<std::string> parts) {
    if (!w.backlog.empty() || !try_send(w, parts)) {
        w.backlog.push_back(std::move(parts));
        ++backlog_;
        arm_retry();
    }
    // A send may consume the edge of ZMQ_FD: look at this socket again soon.
    schedule_service(w);
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
        while (!delayed_.empty() && delayed_.front().due <= now) {
            auto d = std::move(delayed_.front());
            delayed_.pop_front();
            enqueue(*d.socket, std::move(d.parts));
        }
        arm_delay();
    });
}

bool node::try_send(watched& w, std::vector<std::string>& parts) {
    try {
        for (std::size_t i = 0; i < parts.size(); ++i) {
            const auto more =
                i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
            if (!w.socket.send(zmq::buffer(parts[i]), more | zmq::send_flags::dontwait)) {
                return false; // only the first part can be refused: the message is atomic
            }
        }
    } catch (const zmq::error_t& e) {
        if (e.num() != EHOSTUNREACH) {
            throw;
        }
        ++unroutable_;
        log().error("{}: cannot route reply to '{}': peer is gone ({} dropped)", name_,
                    parts.front(), parts.size() > 1 ? parts[1] : "");
    }
    return true;
}

void node::arm_retry() {
    if (retry_armed_ || stopped_) {
        return;
    }
    retry_armed_ = true;
    retry_.expires_after(retry_interval);
    retry_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) {
            return; // cancelled: the node may be going away
        }
        retry_armed_ = false;
        bool waiting = false;
        auto retry = [&](watched& w) {
            if (!w.backlog.empty()) {
                service(w);
                waiting = waiting || !w.backlog.empty();
            }
        };
        retry(*inbox_);
        for (auto& [peer, w] : dealers_) {
            retry(*w);
        }
        if (waiting) {
            arm_retry();
        }
    });
}

node_counters node::counters() const {
    node_counters c{received_, sent_, rejected_, unroutable_, handler_errors_, backlog_, {}};
    for (std::size_t i = 1; i < rejected_by_.size(); ++i) {
        if (const auto n = rejected_by_[i].load(); n > 0) {
            c.rejected_by[error_code_name(static_cast<errc>(i))] = n;
        }
    }
    return c;
}

} // namespace choreo

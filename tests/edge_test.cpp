// Bad input at the edges of a live deployment over tcp: a peer speaking another ZMTP mechanism,
// frames at and beyond the size caps, 10,000 connections opened and dropped, random bytes on a
// node's port, and topology files of 10^5 lines or a line of 1 MiB. After each, 200 mixed
// orders must end exactly as predicted, and every refusal is counted where the node counts it.
#include "patterns/deployment.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "all_patterns.hpp"
#include "demo/spawn.hpp"
#include "harness.hpp"
#include "patterns/codec.hpp"
#include "patterns/errors.hpp"
#include "patterns/remote_deployment.hpp"
#include "patterns/topology.hpp"
#include "scratch.hpp"

namespace choreo {
namespace {

using namespace std::chrono_literals;

const std::string bin_dir = CHOREO_BIN_DIR;

/// The frame size above which a node's ZeroMQ drops the connection (ZMQ_MAXMSGSIZE, set in
/// patterns/node.cpp): 64 MiB, the figure the hardening issue names.
constexpr std::size_t zmq_frame_cap = 64U * 1024U * 1024U;

/// What an intruder waits for an answer, or for its connection to change, before failing.
const auto answer_deadline = testing::scaled(10s);

/// The reasons a node refuses a message at its boundary, before any handler sees it.
const std::set<std::string> boundary_reasons{"malformed_frames", "not_msgpack",   "unknown_type",
                                             "wrong_type",       "missing_field", "oversized_frame",
                                             "not_utf8"};

// ---- ZeroMQ peers outside the deployment -------------------------------------------------------

/// Returns: a name no other inproc endpoint of this process has.
std::string unique_inproc(std::string_view what) {
    static std::atomic<int> next{0};
    return "inproc://edge-" + std::string(what) + "-" + std::to_string(next++);
}

/// The connection events of one socket, read through zmq_socket_monitor.
class monitor {
public:
    monitor(zmq::context_t& context, zmq::socket_t& watched, int events)
        : events_(context, zmq::socket_type::pair) {
        const auto address = unique_inproc("monitor");
        if (zmq_socket_monitor(watched.handle(), address.c_str(), events) != 0) {
            throw zmq::error_t();
        }
        events_.connect(address);
    }

    /// Waits for `event`, skipping others. Returns: its value, or nullopt if it did not come
    /// before the deadline.
    std::optional<std::uint32_t> await(std::uint16_t event) {
        const auto until = std::chrono::steady_clock::now() + answer_deadline;
        while (std::chrono::steady_clock::now() < until) {
            zmq::pollitem_t items[] = {{events_.handle(), 0, ZMQ_POLLIN, 0}};
            if (zmq::poll(items, 1, 100ms) == 0) {
                continue;
            }
            std::vector<zmq::message_t> parts;
            if (!zmq::recv_multipart(events_, std::back_inserter(parts)) || parts.empty() ||
                parts[0].size() < 6) {
                continue;
            }
            std::uint16_t id = 0;
            std::uint32_t value = 0;
            std::memcpy(&id, parts[0].data(), sizeof id);
            std::memcpy(&value, static_cast<const char*>(parts[0].data()) + 2, sizeof value);
            if (id == event) {
                return value;
            }
        }
        return std::nullopt;
    }

private:
    zmq::socket_t events_;
};

/// A DEALER outside the deployment, with its own context.
class intruder {
public:
    /// `setup`, if given, configures the socket (a security mechanism, say) before it connects.
    explicit intruder(const std::string& endpoint,
                      const std::function<void(zmq::socket_t&)>& setup = {})
        : socket_(context_, zmq::socket_type::dealer) {
        socket_.set(zmq::sockopt::linger, 0);
        // A send with no connection to queue on fails after the deadline, rather than hang.
        socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(answer_deadline.count()));
        if (setup) {
            setup(socket_);
        }
        events_ = std::make_unique<monitor>(context_, socket_,
                                            ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
        socket_.connect(endpoint);
    }

    zmq::socket_t& socket() noexcept { return socket_; }
    monitor& events() noexcept { return *events_; }

    void send(std::vector<zmq::message_t> frames) {
        ASSERT_TRUE(zmq::send_multipart(socket_, frames));
    }
    /// Returns: whether the frames were queued now (a socket whose handshake failed has
    /// nowhere to queue them).
    bool try_send(const std::vector<std::string>& frames) {
        std::vector<zmq::message_t> parts;
        for (const auto& f : frames) {
            parts.emplace_back(f.data(), f.size());
        }
        return zmq::send_multipart(socket_, parts, zmq::send_flags::dontwait).has_value();
    }
    void send(const std::vector<std::string>& frames) {
        std::vector<zmq::message_t> parts;
        for (const auto& f : frames) {
            parts.emplace_back(f.data(), f.size());
        }
        send(std::move(parts));
    }

    /// Returns: the next message's frames, or nullopt if none came within `within`.
    std::optional<std::vector<std::string>> receive(std::chrono::milliseconds within) {
        zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
        if (zmq::poll(items, 1, within) == 0) {
            return std::nullopt;
        }
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(socket_, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
            return std::nullopt;
        }
        std::vector<std::string> out;
        for (const auto& p : parts) {
            out.push_back(p.to_string());
        }
        return out;
    }

    /// Returns: the next message decoded, or nullopt (and a failure) if none came or it is bad.
    std::optional<message> receive_message() {
        const auto frames = receive(answer_deadline);
        EXPECT_TRUE(frames.has_value()) << "no answer within the deadline";
        if (!frames || frames->size() != 2) {
            ADD_FAILURE() << "not a [type, body] answer";
            return std::nullopt;
        }
        auto decoded = decode((*frames)[0], (*frames)[1]);
        EXPECT_TRUE(decoded.ok()) << error_code_name(decoded.error());
        if (!decoded) {
            return std::nullopt;
        }
        return std::move(decoded).value();
    }

    /// Receives one answer and returns the code of the error_reply it must be ("" if not).
    std::string receive_error_code() {
        const auto answer = receive_message();
        if (!answer) {
            return "";
        }
        const auto* e = msg::get_if<msg::error_reply>(&answer->payload);
        EXPECT_NE(e, nullptr) << answer->payload.type_name();
        return e != nullptr ? e->code : "";
    }

private:
    zmq::context_t context_;
    zmq::socket_t socket_;
    std::unique_ptr<monitor> events_;
};

/// One frame where a node expects [type, body]: refused as malformed_frames by every node.
const std::vector<std::string> one_frame{"workflow_event"};

// ---- raw TCP peers: bytes, not ZeroMQ ----------------------------------------------------------

/// Returns: the address of a tcp://127.0.0.1:PORT endpoint.
sockaddr_in address_of(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoul(endpoint.substr(colon + 1))));
    if (endpoint.substr(0, colon) != "tcp://127.0.0.1" ||
        ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr) != 1) {
        throw std::invalid_argument("not a loopback tcp endpoint: " + endpoint);
    }
    return a;
}

/// A plain TCP connection. Closed on destruction; reset() closes it with an RST instead.
class raw_connection {
public:
    /// Connects (blocking). connected() says whether it worked.
    explicit raw_connection(const sockaddr_in& to) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        connected_ =
            fd_ >= 0 && ::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0;
    }
    ~raw_connection() { close(); }
    raw_connection(raw_connection&& other) noexcept
        : fd_(std::exchange(other.fd_, -1)), connected_(other.connected_) {}
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;
    raw_connection& operator=(raw_connection&&) = delete;

    bool connected() const noexcept { return connected_; }

    /// Sends every byte. Returns: false if the peer closed first.
    bool send_all(std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Says it will send nothing more, then reads until the peer closes the connection.
    /// Returns: what the peer sent, or nullopt if it did not close before the deadline.
    std::optional<std::string> finish_and_read_until_closed() {
        ::shutdown(fd_, SHUT_WR);
        return read_until_closed();
    }

    /// Reads until the peer closes the connection (what it sent last may be lost to a reset).
    /// Returns: what the peer sent, or nullopt if it did not close before the deadline.
    std::optional<std::string> read_until_closed() {
        std::string out;
        const auto until = std::chrono::steady_clock::now() + answer_deadline;
        while (std::chrono::steady_clock::now() < until) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            char buffer[4096];
            const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) {
                return out; // closed (0) or reset (-1)
            }
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return std::nullopt;
    }

    /// Closes with an RST rather than a FIN: the abrupt way a peer drops.
    void reset() {
        if (fd_ >= 0) {
            const linger abrupt{1, 0};
            ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abrupt, sizeof abrupt);
        }
        close();
    }

    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_;
    bool connected_ = false;
};

/// Returns: `n` bytes from a generator seeded with `seed`.
std::string random_bytes(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string out(n, '\0');
    for (auto& c : out) {
        c = static_cast<char>(byte(gen));
    }
    return out;
}

/// Returns: a ZMTP 3.0 greeting of a client with the NULL mechanism (64 bytes, RFC 23).
std::string zmtp3_greeting() {
    std::string g(64, '\0');
    g[0] = static_cast<char>(0xFF); // signature: 0xFF, 8 bytes of padding, 0x7F
    g[9] = 0x7F;
    g[10] = 3; // version 3.0
    g[11] = 0;
    std::memcpy(&g[12], "NULL", 4); // mechanism, padded with zeros to 20 bytes; as-server 0
    return g;
}

/// Returns: how many file descriptors this process has open.
std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        ++n;
    }
    return n;
}

// ---- the deployment under test -----------------------------------------------------------------

/// Every service of the order workflow under one pattern, in this process, over tcp. The bad
/// input goes to the node clients place orders with.
class edge : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        d_ = std::make_unique<local_deployment>(testing::pattern_named(GetParam()),
                                                testing::workflow_named("order"),
                                                testing::options(transport::tcp, false));
        target_ = d_->used_pattern().entry(d_->flow());
        const auto endpoint = d_->where().endpoint_of(target_);
        ASSERT_TRUE(endpoint.has_value());
        endpoint_ = *endpoint;
    }

    void TearDown() override { d_.reset(); }

    /// Places 200 orders of the mixed scenario, seeded, and checks that every one ends as
    /// predicted, with the predicted domain effects and no handler failing anywhere.
    void expect_200_mixed_orders_to_end_as_predicted(std::uint64_t seed) {
        const auto b = testing::place(*d_, "mixed", 200, seed);
        EXPECT_TRUE(testing::ended_as_planned(*d_, b));
        EXPECT_TRUE(testing::effects_as_predicted(*d_, b));
        for (const auto& n : d_->nodes()) {
            EXPECT_EQ(d_->counters(n).handler_errors, 0U) << n;
        }
        // Still up: it answers a status query about one of them.
        const auto answer = d_->client().status(b.ids.back());
        EXPECT_TRUE(answer.errors.empty());
        EXPECT_EQ(answer.status.state, b.plans.back().expected_terminal);
    }

    /// Checks that the target refused exactly `expected` (reason -> count) and every other
    /// node, the client included, nothing.
    void expect_refused_at_target(const std::map<std::string, std::uint64_t>& expected) {
        std::uint64_t total = 0;
        for (const auto& [reason, count] : expected) {
            total += count;
        }
        const auto c = d_->counters(target_);
        EXPECT_EQ(c.rejected, total);
        EXPECT_EQ(c.rejected_by, expected);
        for (const auto& n : d_->nodes()) {
            if (n != target_) {
                EXPECT_EQ(d_->counters(n).rejected, 0U) << n;
            }
        }
        EXPECT_EQ(d_->counters(d_->client().name()).rejected, 0U);
    }

    std::unique_ptr<local_deployment> d_;
    std::string target_;
    std::string endpoint_;
};

INSTANTIATE_TEST_SUITE_P(patterns, edge, ::testing::ValuesIn(testing::every_pattern()),
                         testing::pattern_name{});

// ---- a peer speaking another ZMTP mechanism ----------------------------------------------------

TEST_P(edge, a_peer_speaking_plain_or_curve_fails_the_handshake_and_delivers_nothing) {
    ASSERT_TRUE(zmq_has("curve")) << "libzmq without CURVE";
    // Read before the intruders connect: their handshakes may fail as soon as they do.
    const auto failed_before = d_->counters(target_).handshake_failed;
    intruder plain(endpoint_, [](zmq::socket_t& s) {
        s.set(zmq::sockopt::plain_username, "intruder");
        s.set(zmq::sockopt::plain_password, "secret");
    });
    intruder curve(endpoint_, [](zmq::socket_t& s) {
        std::array<char, 41> server_public{}, server_secret{}, client_public{}, client_secret{};
        ASSERT_EQ(zmq_curve_keypair(server_public.data(), server_secret.data()), 0);
        ASSERT_EQ(zmq_curve_keypair(client_public.data(), client_secret.data()), 0);
        s.set(zmq::sockopt::curve_serverkey, server_public.data());
        s.set(zmq::sockopt::curve_publickey, client_public.data());
        s.set(zmq::sockopt::curve_secretkey, client_secret.data());
    });
    // Garbage that any node refuses and answers, if it ever gets it. Whether it can be queued
    // depends on how far the first handshake got: either way it must not arrive.
    plain.try_send(one_frame);
    curve.try_send(one_frame);
    // The node sees both handshakes fail (a mechanism mismatch, or a reset if the peer saw the
    // mismatch first and hung up before the node read its greeting): each is counted.
    const auto until = std::chrono::steady_clock::now() + answer_deadline;
    while (d_->counters(target_).handshake_failed < failed_before + 2 &&
           std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_GE(d_->counters(target_).handshake_failed, failed_before + 2); // peers retry

    // The same garbage over NULL, the node's own mechanism, is delivered, refused and answered:
    // had the others got through, they would have been counted and answered the same way.
    intruder null(endpoint_);
    null.send(one_frame);
    EXPECT_EQ(null.receive_error_code(), "malformed_frames");
    EXPECT_FALSE(plain.receive(0ms).has_value());
    EXPECT_FALSE(curve.receive(0ms).has_value());

    expect_200_mixed_orders_to_end_as_predicted(101);
    expect_refused_at_target({{"malformed_frames", 1}});
    EXPECT_FALSE(plain.receive(0ms).has_value());
    EXPECT_FALSE(curve.receive(0ms).has_value());
}

// ---- frames at and beyond the caps -------------------------------------------------------------

/// Returns: the body of an inspect_request asking for nothing, padded with an extra root key
/// (which the codec ignores) to exactly `size` bytes.
std::string inspect_request_body(std::size_t size, std::uint64_t query_id) {
    const auto pack = [&](std::size_t padding) {
        msgpack::sbuffer buffer;
        msgpack::packer<msgpack::sbuffer> pk(buffer);
        pk.pack_map(3);
        pk.pack(std::string("env"));
        pk.pack(msg::envelope{1, "", "intruder", 0, 0, query_id});
        pk.pack(std::string("payload"));
        pk.pack(msg::inspect_request{0, 0});
        pk.pack(std::string("padding"));
        pk.pack_str(static_cast<std::uint32_t>(padding));
        pk.pack_str_body(std::string(padding, 'p').data(), static_cast<std::uint32_t>(padding));
        return std::string(buffer.data(), buffer.size());
    };
    // The padding's own header is 5 bytes (str 32) for 64 KiB and more.
    const auto bare = pack(0).size() - 1;
    auto body = pack(size - bare - 5);
    EXPECT_EQ(body.size(), size);
    return body;
}

/// Returns: a frame of `size` bytes, not MessagePack a node would read.
zmq::message_t frame_of(std::size_t size) {
    zmq::message_t m(size);
    std::memset(m.data(), 'x', size);
    return m;
}

std::vector<zmq::message_t> typed(std::string_view type, zmq::message_t body) {
    std::vector<zmq::message_t> frames;
    frames.emplace_back(type.data(), type.size());
    frames.push_back(std::move(body));
    return frames;
}

TEST_P(edge, frames_up_to_the_zmq_cap_are_refused_and_counted_and_a_larger_one_drops_the_link) {
    const auto limit = codec_limits{}.max_frame_bytes;
    intruder in(endpoint_);
    ASSERT_TRUE(in.events().await(ZMQ_EVENT_HANDSHAKE_SUCCEEDED).has_value());
    const auto received_before = d_->counters(target_).received;

    // Exactly at the codec's limit: read, decoded and answered.
    in.send({"inspect_request", inspect_request_body(limit, 7)});
    const auto reply = in.receive_message();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->env.query_id, 7U);
    const auto* inspected = msg::get_if<msg::inspect_reply>(&reply->payload);
    ASSERT_NE(inspected, nullptr) << reply->payload.type_name();
    EXPECT_EQ(inspected->node, target_);
    EXPECT_EQ(d_->counters(target_).received, received_before + 1);

    // One byte over the codec's limit, and exactly at ZeroMQ's cap: delivered by ZeroMQ,
    // refused by the codec unread, counted and answered.
    in.send({"inspect_request", inspect_request_body(limit + 1, 8)});
    EXPECT_EQ(in.receive_error_code(), "oversized_frame");
    in.send(typed("inspect_request", frame_of(zmq_frame_cap)));
    EXPECT_EQ(in.receive_error_code(), "oversized_frame");

    // One byte over ZeroMQ's cap: the node's ZeroMQ drops the connection after the frame's
    // header, before reading (or allocating) the body; the node never sees a message to count.
    in.send(typed("inspect_request", frame_of(zmq_frame_cap + 1)));
    ASSERT_TRUE(in.events().await(ZMQ_EVENT_DISCONNECTED).has_value());
    ASSERT_TRUE(in.events().await(ZMQ_EVENT_HANDSHAKE_SUCCEEDED).has_value()); // reconnected
    // The next answer is to the next message: nothing answered the dropped frame.
    in.send(one_frame);
    EXPECT_EQ(in.receive_error_code(), "malformed_frames");
    EXPECT_EQ(d_->counters(target_).received, received_before + 1);

    expect_200_mixed_orders_to_end_as_predicted(102);
    expect_refused_at_target({{"oversized_frame", 2}, {"malformed_frames", 1}});
}

// ---- 10,000 connections opened and dropped -----------------------------------------------------

TEST_P(edge, ten_thousand_connections_opened_and_dropped_leave_nothing_behind) {
    constexpr std::size_t connections = 10'000;
    constexpr std::size_t batch = 50;
    constexpr std::size_t dealers = 50;
    const auto to = address_of(endpoint_);
    const auto descriptors_before = open_descriptors();

    std::size_t connected = 0;
    for (std::size_t done = 0; done < connections; done += batch) {
        std::vector<raw_connection> open;
        for (std::size_t i = 0; i < batch; ++i) {
            open.emplace_back(to);
            connected += open.back().connected() ? 1 : 0;
        }
        for (std::size_t i = 0; i < open.size(); ++i) {
            if (i % 2 == 0) {
                open[i].reset();
            } else {
                open[i].close();
            }
        }
    }
    EXPECT_EQ(connected, connections);

    // ZeroMQ peers that connect, are answered, and go: half disconnect first, half just close.
    // And as many again that connect and close without a word.
    {
        std::vector<std::unique_ptr<intruder>> peers;
        for (std::size_t i = 0; i < 2 * dealers; ++i) {
            peers.push_back(std::make_unique<intruder>(endpoint_));
        }
        for (std::size_t i = 0; i < dealers; ++i) {
            peers[i]->send(one_frame);
        }
        for (std::size_t i = 0; i < dealers; ++i) {
            EXPECT_EQ(peers[i]->receive_error_code(), "malformed_frames") << i;
            if (i % 2 == 0) {
                peers[i]->socket().disconnect(endpoint_);
            }
        }
    }

    // Every connection the node accepted is closed again: nothing grows with connections gone.
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    while (open_descriptors() > descriptors_before && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(open_descriptors(), descriptors_before);

    expect_200_mixed_orders_to_end_as_predicted(103);
    expect_refused_at_target({{"malformed_frames", dealers}});
}

// ---- bytes that are not ZMTP 3 -----------------------------------------------------------------

TEST_P(edge, a_zmtp3_greeting_followed_by_garbage_is_dropped_at_the_handshake) {
    const auto to = address_of(endpoint_);
    // After the greeting the NULL mechanism expects a READY command (RFC 23, ZMTP 3.0).
    const std::vector<std::string> instead_of_ready{
        std::string("\x00\x05hello", 7),                   // a message, not a command
        std::string("\x04\x06\x05HELLO", 8),               // a command that is not READY
        std::string("\x04\xff", 2) + random_bytes(255, 7), // a command named at random
    };
    for (const auto& garbage : instead_of_ready) {
        raw_connection c(to);
        ASSERT_TRUE(c.connected());
        c.send_all(zmtp3_greeting() + garbage);
        // The node closes the connection by itself: it does not wait for more bytes, as it
        // would if it had taken the peer for anything but a broken ZMTP 3 one.
        EXPECT_TRUE(c.read_until_closed().has_value()) << "the node kept the connection open";
    }
    expect_200_mixed_orders_to_end_as_predicted(104);
    expect_refused_at_target({});
}

TEST_P(edge, random_bytes_and_a_zmtp1_blob_change_nothing) {
    const auto to = address_of(endpoint_);
    std::vector<std::string> blobs;
    for (const std::size_t size : {1U, 9U, 10U, 64U, 1024U, 65536U, 1U << 20U}) {
        blobs.push_back(random_bytes(size, 1000 + size));
    }
    // Framed the ZMTP 1.0 way (no greeting, a length byte, a flags byte): an empty identity,
    // then a two-frame message that is no contract.
    blobs.push_back(std::string("\x01\x00", 2) + std::string("\x0f\x01workflow_event", 16) +
                    std::string("\x06\x00"
                                "junk!",
                                7));

    for (std::size_t i = 0; i < blobs.size(); ++i) {
        raw_connection c(to);
        ASSERT_TRUE(c.connected());
        c.send_all(blobs[i]); // the node may close first
        EXPECT_TRUE(c.finish_and_read_until_closed().has_value())
            << "the node kept connection " << i << " open";
    }
    // What the node makes of a peer that is not ZMTP 3 is up to ZeroMQ (it may read it as ZMTP
    // 1.0 and hand the node what it framed); whatever it hands over is refused at the boundary,
    // and nothing of it is applied.
    expect_200_mixed_orders_to_end_as_predicted(105);
    const auto c = d_->counters(target_);
    for (const auto& [reason, count] : c.rejected_by) {
        EXPECT_TRUE(boundary_reasons.contains(reason)) << reason << " " << count;
    }
    for (const auto& n : d_->nodes()) {
        if (n != target_) {
            EXPECT_EQ(d_->counters(n).rejected, 0U) << n;
        }
    }
}

// ---- topology files of many lines, or of a very long one ---------------------------------------

constexpr std::size_t many_lines = 100'000;

/// Returns: a topology of `n` nodes, each with an ipc endpoint under `dir`, as file text.
std::string topology_text(std::size_t n, const std::filesystem::path& dir) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) {
        text += "node-" + std::to_string(i) + " ipc://" + (dir / std::to_string(i)).string() +
                ".sock\n";
    }
    return text;
}

void write_file(const std::filesystem::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary);
    out << text;
    ASSERT_TRUE(out.good());
}

/// Runs a program; returns its exit status and what it printed on stdout and stderr.
std::pair<int, std::string> run(const std::string& command) {
    return testing::run_command(command + " 2>&1");
}

TEST(topology_of_many_lines, is_read_whole) {
    testing::scratch dir{"edge"};
    std::istringstream in(topology_text(many_lines, dir.path()) + "client ipc://" +
                          (dir.path() / "client.sock").string() + " client\n");
    const auto t = topology::parse(in);
    ASSERT_EQ(t.entries().size(), many_lines + 1);
    EXPECT_EQ(t.entries()[many_lines / 2].name, "node-" + std::to_string(many_lines / 2));
    EXPECT_TRUE(t.is_client("client"));
    EXPECT_FALSE(t.is_client("node-0"));
}

TEST(topology_of_many_lines, names_a_duplicate_or_a_bad_line_at_the_end) {
    testing::scratch dir{"edge"};
    const auto text = topology_text(many_lines, dir.path());
    const std::vector<std::pair<std::string, std::string>> cases{
        {"node-7 ipc:///elsewhere.sock\n",
         "line " + std::to_string(many_lines + 1) + ": node 'node-7' is listed twice"},
        {"last udp://x\n", "line " + std::to_string(many_lines + 1) + ": endpoint 'udp://x'"},
    };
    for (const auto& [last, reason] : cases) {
        std::istringstream in(text + last);
        try {
            topology::parse(in);
            ADD_FAILURE() << "accepted: " << last;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
        }
    }
}

TEST(topology_line_of_one_mebibyte, is_refused_naming_the_line) {
    const auto long_line = std::string(1U << 20U, 'x') + " tcp://127.0.0.1:5001\n";
    const std::vector<std::string> texts{
        "payment tcp://127.0.0.1:5000\n" + long_line,
        "payment tcp://127.0.0.1:5000\n# " + long_line,                 // a comment too
        "payment tcp://127.0.0.1:5000\n" + std::string(1U << 20U, 'x'), // no newline at all
    };
    for (const auto& text : texts) {
        std::istringstream in(text);
        try {
            topology::parse(in);
            ADD_FAILURE() << "accepted a line of " << text.size() << " bytes";
        } catch (const std::invalid_argument& e) {
            EXPECT_EQ(std::string(e.what()), "topology line 2: longer than " +
                                                 std::to_string(topology::longest_line) + " bytes");
        }
    }
    // Lines of the longest length allowed are read, the last one without a newline too.
    const auto longest = [](const std::string& name, int port) {
        auto line = name + " tcp://127.0.0.1:" + std::to_string(port) + " #";
        line.resize(topology::longest_line, '-');
        return line;
    };
    std::istringstream in(longest("a", 5000) + "\n" + longest("b", 5001));
    const auto t = topology::parse(in);
    ASSERT_EQ(t.entries().size(), 2U);
    EXPECT_EQ(t.endpoint_of("b").value_or(""), "tcp://127.0.0.1:5001");
}

/// Starts choreo-node and reads what it prints until a line holding `ready` (or its exit).
/// Returns: its exit status after SIGTERM (or its own exit), and what it printed.
std::pair<int, std::string> run_until_ready_then_stop(const std::vector<std::string>& args,
                                                      const std::string& ready) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    std::vector<char*> argv;
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(out[1], STDERR_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    std::string printed;
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    bool signalled = false;
    while (std::chrono::steady_clock::now() < until) {
        if (!signalled && printed.find(ready) != std::string::npos) {
            ::kill(pid, SIGTERM);
            signalled = true;
        }
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) {
            continue;
        }
        char buffer[4096];
        const auto n = ::read(out[0], buffer, sizeof buffer);
        if (n <= 0) {
            break; // it exited
        }
        printed.append(buffer, static_cast<std::size_t>(n));
    }
    if (!signalled) {
        ::kill(pid, SIGKILL); // never ready before the deadline: the caller sees it printed
    }
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, printed};
}

TEST(choreo_node, runs_with_a_topology_of_many_lines) {
    testing::scratch dir{"edge"};
    const auto file = dir.path() / "topology";
    auto text = topology_text(many_lines, dir.path());
    const auto wf = testing::workflow_named("order");
    for (const auto& n : testing::pattern_named("stateless").nodes(wf)) {
        text += n + " ipc://" + (dir.path() / n).string() + ".sock\n";
    }
    text += "client ipc://" + (dir.path() / "client.sock").string() + " client\n";
    write_file(file, text);
    const auto [code, printed] =
        run_until_ready_then_stop({bin_dir + "/choreo-node", "--pattern", "stateless", "--service",
                                   "payment", "--topology", file.string(), "--in-memory"},
                                  "payment (stateless, order) on ipc://");
    EXPECT_EQ(code, 0) << printed;
    EXPECT_NE(printed.find("payment stopped: received 0"), std::string::npos) << printed;
}

TEST(choreo_node, refuses_a_topology_with_a_bad_last_line_or_a_line_of_one_mebibyte) {
    testing::scratch dir{"edge"};
    const auto many = dir.path() / "many";
    write_file(many, topology_text(many_lines, dir.path()) + "payment tcp://127.0.0.1\n");
    const auto long_line = dir.path() / "long";
    write_file(long_line, "# nodes\n" + std::string(1U << 20U, 'x') + " tcp://127.0.0.1:5001\n");
    const std::vector<std::pair<std::filesystem::path, std::string>> cases{
        {many, many.string() + ": topology line " + std::to_string(many_lines + 1) +
                   ": endpoint 'tcp://127.0.0.1' needs a port"},
        {long_line, long_line.string() + ": topology line 2: longer than " +
                        std::to_string(topology::longest_line) + " bytes"},
    };
    for (const auto& [file, says] : cases) {
        const auto [code, output] = run(bin_dir + "/choreo-node --pattern stateless --service " +
                                        "payment --topology " + file.string());
        EXPECT_EQ(code, 2) << output;
        EXPECT_NE(output.find("choreo-node: " + says), std::string::npos) << output;
        EXPECT_LT(output.size(), 1024U) << "the line is named, not printed";
    }
}

// A live deployment of choreo-node processes given a topology of 10^5 lines (its own nodes among
// them) reads it and serves on; the same node started again with a topology whose last line is
// bad, or with a line of 1 MiB, is refused and the running deployment is untouched; then 200
// mixed orders end as predicted.
TEST(topology_at_scale, a_live_deployment_takes_10_5_lines_and_outlives_bad_files) {
    const auto& p = testing::pattern_named("stateless");
    const auto wf = testing::workflow_named("order");
    testing::scratch dir{"edge"};
    demo::spawned_services children(bin_dir + "/choreo-node", p, wf, transport::tcp, {"client"}, {},
                                    default_retain_finished, {"--in-memory"});
    remote_deployment d(p, wf, children.where(), testing::remote());
    std::istringstream in(topology_text(many_lines, dir.path()) + d.where().to_text());
    const auto shared = topology::parse(in);
    ASSERT_EQ(shared.entries().size(), many_lines + d.where().entries().size());
    children.share(shared);
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    const pid_t payment = children.pid_of("payment");

    const auto many = dir.path() / "many";
    write_file(many, topology_text(many_lines, dir.path()) + "payment tcp://127.0.0.1\n");
    const auto long_line = dir.path() / "long";
    write_file(long_line, "# nodes\n" + std::string(1U << 20U, 'x') + " tcp://127.0.0.1:5001\n");
    for (const auto& file : {many, long_line}) {
        const auto [code, output] = run(bin_dir + "/choreo-node --pattern stateless --service " +
                                        "payment --in-memory --topology " + file.string());
        EXPECT_EQ(code, 2) << output;
    }
    EXPECT_EQ(children.pid_of("payment"), payment); // the running one was not touched

    const auto b = testing::place(d, "mixed", 200, 107);
    EXPECT_TRUE(testing::ended_as_planned(d, b));
    EXPECT_TRUE(testing::effects_as_predicted(d, b));
    EXPECT_EQ(d.rejected(), 0U);
}

} // namespace
} // namespace choreo

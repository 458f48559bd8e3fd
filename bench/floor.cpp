#include "bench/floor.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "patterns/auth.hpp"

namespace choreo::bench {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t warm_up = 500;

std::string endpoint_for(transport via, const std::string& name) {
    static std::atomic<int> n{0};
    return topology::local_endpoint(
        via, "floor-" + std::to_string(::getpid()) + "-" + std::to_string(++n), name);
}

void expect_size(const std::vector<zmq::message_t>& parts, std::size_t count, std::size_t type,
                 std::size_t body) {
    if (parts.size() != count || parts[count - 2].size() != type ||
        parts[count - 1].size() != body) {
        throw std::runtime_error("floor: a message came back malformed");
    }
}

void configure(zmq::socket_t& s) {
    s.set(zmq::sockopt::sndhwm, 100'000);
    s.set(zmq::sockopt::rcvhwm, 100'000);
    s.set(zmq::sockopt::linger, 0);
}

} // namespace

floor_figures measure_floor(transport via, std::size_t type_bytes, std::size_t body_bytes,
                            std::size_t round_trips, std::size_t stream, bool curve) {
    floor_figures f{type_bytes, body_bytes, 0, 0, 0};
    const auto server_keys = make_key_pair(), client_keys = make_key_pair();
    // The CURVE handshake and per-message encryption are the cost measured; the floor has no
    // ZAP handler, so any key would be let in: choreo's nodes check keys at the handshake only.
    const auto as_server = [&](zmq::socket_t& s) {
        if (curve) {
            s.set(zmq::sockopt::curve_server, 1);
            s.set(zmq::sockopt::curve_secretkey, server_keys.secret_key);
        }
    };
    const auto as_client = [&](zmq::socket_t& s) {
        if (curve) {
            s.set(zmq::sockopt::curve_serverkey, server_keys.public_key);
            s.set(zmq::sockopt::curve_publickey, client_keys.public_key);
            s.set(zmq::sockopt::curve_secretkey, client_keys.secret_key);
        }
    };
    const std::string type(type_bytes, 't');
    const std::string body(body_bytes, 'b');
    zmq::context_t context;
    {
        // ping-pong: the echo answers on the asker's connection, as a node's reply does
        zmq::socket_t echo(context, zmq::socket_type::router);
        configure(echo);
        as_server(echo);
        echo.bind(endpoint_for(via, "echo"));
        const auto where = echo.get(zmq::sockopt::last_endpoint);
        std::thread echo_thread([&] {
            for (std::size_t i = 0; i < warm_up + round_trips; ++i) {
                std::vector<zmq::message_t> parts;
                (void)zmq::recv_multipart(echo, std::back_inserter(parts));
                zmq::send_multipart(echo, parts);
            }
        });
        zmq::socket_t ping(context, zmq::socket_type::dealer);
        configure(ping);
        as_client(ping);
        ping.connect(where);
        std::vector<double> rtt;
        rtt.reserve(round_trips);
        for (std::size_t i = 0; i < warm_up + round_trips; ++i) {
            const auto start = clock_type::now();
            ping.send(zmq::buffer(type), zmq::send_flags::sndmore);
            ping.send(zmq::buffer(body));
            std::vector<zmq::message_t> parts;
            (void)zmq::recv_multipart(ping, std::back_inserter(parts));
            const auto end = clock_type::now();
            expect_size(parts, 2, type_bytes, body_bytes);
            if (i >= warm_up) {
                rtt.push_back(std::chrono::duration<double, std::micro>(end - start).count());
            }
        }
        echo_thread.join();
        std::sort(rtt.begin(), rtt.end());
        f.one_way_p50_us = rtt[rtt.size() / 2] / 2;
        f.one_way_p99_us = rtt[std::min(rtt.size() - 1, rtt.size() * 99 / 100)] / 2;
    }
    {
        // message rate: one DEALER streams to one ROUTER
        zmq::socket_t sink(context, zmq::socket_type::router);
        configure(sink);
        as_server(sink);
        sink.bind(endpoint_for(via, "sink"));
        const auto where = sink.get(zmq::sockopt::last_endpoint);
        zmq::socket_t source(context, zmq::socket_type::dealer);
        configure(source);
        as_client(source);
        source.connect(where);
        std::thread sender([&] {
            for (std::size_t i = 0; i < warm_up + stream; ++i) {
                source.send(zmq::buffer(type), zmq::send_flags::sndmore);
                source.send(zmq::buffer(body));
            }
        });
        clock_type::time_point start;
        for (std::size_t i = 0; i < warm_up + stream; ++i) {
            if (i == warm_up) {
                start = clock_type::now();
            }
            std::vector<zmq::message_t> parts;
            (void)zmq::recv_multipart(sink, std::back_inserter(parts));
            expect_size(parts, 3, type_bytes, body_bytes);
        }
        const auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
        sender.join();
        f.messages_per_s = static_cast<double>(stream) / elapsed;
    }
    return f;
}

} // namespace choreo::bench

#include "bench/anatomy.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <msgpack.hpp>
#include <unistd.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "bench/floor.hpp"
#include "patterns/client.hpp"
#include "patterns/handover.hpp"
#include "patterns/last_resort.hpp"
#include "patterns/service_node.hpp"
#include "patterns/topology.hpp"
#include "patterns/workflow_module.hpp"

namespace choreo::bench {

namespace {

/// Sits between the nodes: one ROUTER per node that the other nodes reach instead of it, and
/// per (receiver, sender) one DEALER that forwards under the sender's routing id, so that the
/// receiver sees the sender as it would without the tap.
class tap {
public:
    tap(zmq::context_t& ctx, const topology& real, const std::string& tag) : ctx_(ctx) {
        for (const auto& e : real.entries()) {
            auto& in =
                inlets_.emplace_back(inlet{e.name, e.endpoint, {ctx, zmq::socket_type::router}});
            in.socket.set(zmq::sockopt::linger, 0);
            const auto where = topology::local_endpoint(transport::ipc, tag, "tap-" + e.name);
            in.socket.bind(where);
            fronts_.set(e.name, where, e.role);
            paths_.push_back(where);
        }
        thread_ = std::thread([this] { run(); });
    }
    ~tap() {
        stop_ = true;
        thread_.join();
        inlets_.clear();
        outlets_.clear();
        for (const auto& p : paths_) {
            std::remove(p.substr(std::string_view("ipc://").size()).c_str());
        }
    }
    tap(const tap&) = delete;
    tap& operator=(const tap&) = delete;

    /// The topology the nodes use: every name leads to the tap.
    const topology& fronts() const noexcept { return fronts_; }
    std::size_t count() const {
        std::lock_guard lock(mutex_);
        return seen_.size();
    }
    std::vector<tapped_message> seen() const {
        std::lock_guard lock(mutex_);
        return seen_;
    }

private:
    struct inlet {
        std::string name;
        std::string real;
        zmq::socket_t socket;
    };
    /// Forwards to a real node under one sender's name; replies come back on it.
    struct outlet {
        zmq::socket_t socket;
        inlet* via; ///< where the sender wrote, and where its replies go back
    };
    void run() {
        while (!stop_) {
            // Outlets appear as senders do; replies come back on them.
            std::vector<zmq::pollitem_t> items;
            std::vector<std::pair<const std::pair<std::string, std::string>, outlet>*> back;
            for (auto& in : inlets_) {
                items.push_back({in.socket.handle(), 0, ZMQ_POLLIN, 0});
            }
            for (auto& entry : outlets_) {
                items.push_back({entry.second.socket.handle(), 0, ZMQ_POLLIN, 0});
                back.push_back(&entry);
            }
            zmq::poll(items, std::chrono::milliseconds(5));
            for (std::size_t i = 0; i < items.size(); ++i) {
                if ((items[i].revents & ZMQ_POLLIN) == 0) {
                    continue;
                }
                if (i < inlets_.size()) {
                    forward(inlets_[i]);
                } else {
                    auto& entry = *back[i - inlets_.size()];
                    answer(entry.first.first, entry.first.second, entry.second);
                }
            }
        }
    }
    /// Frames read here and sent on, as they are, to another thread (TSan: see
    /// patterns/handover.hpp).
    static void pass_through(std::vector<zmq::message_t>& frames) {
        for (auto& f : frames) {
            taken_over(f);
            handed_over(f.data());
        }
    }
    /// A message a node wrote to its inbox: on to the real node under the sender's name.
    void forward(inlet& in) {
        std::vector<zmq::message_t> frames;
        while (
            zmq::recv_multipart(in.socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
            if (frames.size() == 3) {
                pass_through(frames);
                const auto from = frames[0].to_string();
                keep(from, in.name, frames[1], frames[2]);
                auto& out = outlet_for(in, from).socket;
                out.send(frames[1], zmq::send_flags::sndmore);
                out.send(frames[2], zmq::send_flags::none);
            }
            frames.clear();
        }
    }
    /// A reply the real node `from` wrote back to `to`: to `to` through the inlet it wrote on.
    void answer(const std::string& from, const std::string& to, outlet& out) {
        std::vector<zmq::message_t> frames;
        while (zmq::recv_multipart(out.socket, std::back_inserter(frames),
                                   zmq::recv_flags::dontwait)) {
            if (frames.size() == 2) {
                pass_through(frames);
                keep(from, to, frames[0], frames[1]);
                auto& in = *out.via;
                in.socket.send(zmq::buffer(to), zmq::send_flags::sndmore);
                in.socket.send(frames[0], zmq::send_flags::sndmore);
                in.socket.send(frames[1], zmq::send_flags::none);
            }
            frames.clear();
        }
    }
    void keep(const std::string& from, const std::string& to, const zmq::message_t& type,
              const zmq::message_t& body) {
        if (type.to_string_view() == msg::ack::type_name) {
            return; // delivery traffic: passed on, not part of a workflow's messages
        }
        std::lock_guard lock(mutex_);
        seen_.push_back({from, to, type.to_string(), body.to_string()});
    }
    outlet& outlet_for(inlet& in, const std::string& from) {
        const auto key = std::make_pair(in.name, from);
        auto it = outlets_.find(key);
        if (it == outlets_.end()) {
            it = outlets_.emplace(key, outlet{zmq::socket_t(ctx_, zmq::socket_type::dealer), &in})
                     .first;
            it->second.socket.set(zmq::sockopt::routing_id, from);
            it->second.socket.set(zmq::sockopt::linger, 0);
            it->second.socket.connect(in.real);
        }
        return it->second;
    }

    zmq::context_t& ctx_;
    std::deque<inlet> inlets_; ///< stable addresses: outlets point at them
    std::map<std::pair<std::string, std::string>, outlet> outlets_; ///< (receiver, sender)
    topology fronts_;
    std::vector<std::string> paths_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::vector<tapped_message> seen_;
    std::thread thread_;
};

/// A node on its own io thread.
struct running {
    asio::io_context io;
    ledger book;
    std::unique_ptr<service_node> service;
    std::unique_ptr<node> plain;
    std::thread thread;
    node& net() { return service ? service->net() : *plain; }
};

// ---- anatomy --------------------------------------------------------------------------------

std::size_t packed_size(const msgpack::object& o) {
    msgpack::sbuffer buf;
    msgpack::pack(buf, o);
    return buf.size();
}

/// Header bytes of a container of `n` entries (map or array).
std::size_t header_size(std::uint32_t n) {
    return n < 16 ? 1 : n < 65536 ? 3 : 5;
}

void add_part(std::map<std::string, body_part>& parts, const std::string& what, std::size_t bytes) {
    auto& p = parts[what];
    p.what = what;
    p.bytes += bytes;
    ++p.count;
}

void break_down(const msgpack::object& o, const std::string& field,
                std::map<std::string, body_part>& parts) {
    if (field == "details") {
        add_part(parts, "details", packed_size(o));
        return;
    }
    if (o.type == msgpack::type::MAP) {
        add_part(parts, "structure", header_size(o.via.map.size));
        for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
            const auto& kv = o.via.map.ptr[i];
            add_part(parts, "map keys", packed_size(kv.key));
            const auto key = kv.key.type == msgpack::type::STR ? kv.key.as<std::string>() : "?";
            break_down(kv.val, key, parts);
        }
    } else if (o.type == msgpack::type::ARRAY) {
        add_part(parts, "structure", header_size(o.via.array.size));
        for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
            break_down(o.via.array.ptr[i], field, parts);
        }
    } else {
        add_part(parts, field, packed_size(o));
    }
}

/// Fields a compact contract would send as a small number: names the workflow model or the
/// topology already knows (services, clients, events, states) and step statuses. Workflow ids
/// are not among them: they are unique.
const std::set<std::string, std::less<>> coded_fields{"service", "sender",  "reply_to", "status",
                                                      "state",   "outcome", "event",    "terminal"};
/// Fields a lean contract would not send: free text and clocks.
const std::set<std::string, std::less<>> lean_dropped{"detail", "at_ns", "sent_at_ns"};

enum class form { positional, coded, lean };

void pack_as(const msgpack::object& o, const std::string& field, form f,
             msgpack::packer<msgpack::sbuffer>& out) {
    if (field == "details") {
        out.pack(o);
        return;
    }
    if (o.type == msgpack::type::MAP) {
        std::uint32_t kept = 0;
        for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
            const auto key = o.via.map.ptr[i].key.as<std::string>();
            kept += (f == form::lean && lean_dropped.contains(key)) ? 0 : 1;
        }
        out.pack_array(kept);
        for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
            const auto key = o.via.map.ptr[i].key.as<std::string>();
            if (!(f == form::lean && lean_dropped.contains(key))) {
                pack_as(o.via.map.ptr[i].val, key, f, out);
            }
        }
    } else if (o.type == msgpack::type::ARRAY) {
        out.pack_array(o.via.array.size);
        for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
            pack_as(o.via.array.ptr[i], field, f, out);
        }
    } else if (f != form::positional && o.type == msgpack::type::STR &&
               coded_fields.contains(field)) {
        out.pack(std::uint8_t{1}); // an index into the model's names: one byte
    } else {
        out.pack(o);
    }
}

std::size_t repacked(const msgpack::object& o, form f) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> out(buf);
    pack_as(o, "", f, out);
    return buf.size();
}

} // namespace

std::vector<tapped_message> tap_one_workflow(const pattern& p, const workflow& wf,
                                             const std::string& scenario, std::uint64_t seed,
                                             std::chrono::milliseconds timeout) {
    zmq::context_t ctx;
    const auto tag = "anatomy-" + std::to_string(::getpid());
    std::vector<std::unique_ptr<running>> nodes;
    topology real;
    for (const auto& name : p.nodes(wf)) {
        auto domain = domain_for(p, wf, name);
        if (!domain) {
            throw std::runtime_error("no node called " + name + ": " + domain.error().message());
        }
        auto& n = *nodes.emplace_back(std::make_unique<running>());
        n.service = std::make_unique<service_node>(ctx, n.io, p, wf, name,
                                                   std::move(domain).value(), n.book);
        real.set(name, n.net().bind(topology::local_endpoint(transport::ipc, tag, name)));
    }
    auto& c = *nodes.emplace_back(std::make_unique<running>());
    node_options client_options;
    client_options.role = node_role::client;
    c.plain = std::make_unique<node>(ctx, c.io, "client", c.book, client_options);
    real.set("client", c.net().bind(topology::local_endpoint(transport::ipc, tag, "client")),
             node_role::client);
    auto the_client = std::make_unique<client>(*c.plain, p, wf);

    std::vector<tapped_message> seen;
    {
        tap between(ctx, real, tag);
        for (auto& n : nodes) {
            n->net().set_topology(between.fronts());
            n->thread = std::thread([&n = *n] {
                n.net().start();
                auto guard = asio::make_work_guard(n.io);
                // A measurement cut short by an escaped exception is no measurement: the
                // process ends, non-zero (the anatomy test fails with it, loudly).
                run_guarded(n.io, n.net().name(), exit_on_escape);
            });
        }
        auto gen = module_of(wf).make_workload(wf, scenario, seed);
        if (!gen) {
            throw std::runtime_error("no scenario " + scenario + ": " + gen.error().message());
        }
        const auto id = the_client->place(gen.value()->next().details);
        const bool ended = the_client->wait_for({id}, timeout);
        // Anything still on its way after the client heard the end: wait until the tap has
        // been quiet for a while.
        for (auto count = between.count();;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            const auto now = between.count();
            if (now == count) {
                break;
            }
            count = now;
        }
        for (auto& n : nodes) {
            asio::post(n->io, [&n = *n] {
                n.net().stop();
                n.io.stop();
            });
        }
        for (auto& n : nodes) {
            n->thread.join();
        }
        seen = between.seen();
        if (!ended) {
            throw std::runtime_error("the tapped workflow did not end within the deadline");
        }
    }
    the_client.reset();
    nodes.clear();
    for (const auto& e : real.entries()) {
        std::remove(e.endpoint.substr(std::string_view("ipc://").size()).c_str());
    }
    return seen;
}

body_anatomy anatomy_of(const std::string& body) {
    msgpack::object_handle h;
    try {
        h = msgpack::unpack(body.data(), body.size());
    } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("not MessagePack: ") + e.what());
    }
    std::map<std::string, body_part> parts;
    break_down(h.get(), "", parts);
    body_anatomy a;
    a.bytes = body.size();
    for (auto& [what, part] : parts) {
        a.parts.push_back(part);
    }
    std::sort(a.parts.begin(), a.parts.end(),
              [](const body_part& x, const body_part& y) { return x.bytes > y.bytes; });
    a.positional = repacked(h.get(), form::positional);
    a.positional_coded = repacked(h.get(), form::coded);
    a.positional_lean = repacked(h.get(), form::lean);
    return a;
}

void print_anatomy(std::ostream& out, const pattern& p, const workflow& wf,
                   const std::string& scenario, const std::vector<tapped_message>& messages) {
    out << fmt::format("{} under {}, one '{}' workflow: {} messages taken from the transport\n\n",
                       wf.name, p.name(), scenario, messages.size());
    out << fmt::format("{:>3}  {:<18} {:<18} {:<16} {:>6}\n", "#", "from", "to", "type", "bytes");
    std::size_t total = 0;
    std::map<std::string, const tapped_message*> largest;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const auto& m = messages[i];
        out << fmt::format("{:>3}  {:<18} {:<18} {:<16} {:>6}\n", i + 1, m.from, m.to, m.type,
                           m.bytes());
        total += m.bytes();
        auto& l = largest[m.type];
        if (l == nullptr || l->bytes() < m.bytes()) {
            l = &m;
        }
    }
    out << fmt::format("{:>3}  {:<54} {:>6}\n\n", "", "total", total);
    for (const auto& [type, m] : largest) {
        const auto a = anatomy_of(m->body);
        out << fmt::format("largest {} ({} -> {}): body {} B + type frame {} B\n", type, m->from,
                           m->to, a.bytes, m->type.size());
        for (const auto& part : a.parts) {
            out << fmt::format(
                "  {:<14} {:>6} B {:>5.1f}%  ({} x)\n", part.what, part.bytes,
                100.0 * static_cast<double>(part.bytes) / static_cast<double>(a.bytes), part.count);
        }
        const auto ratio = [&](std::size_t n) {
            return static_cast<double>(n) / static_cast<double>(a.bytes);
        };
        out << fmt::format("  the same content as positional arrays (no keys): {} B ({:.2f}x)\n",
                           a.positional, ratio(a.positional));
        out << fmt::format("  ... and names as one-byte codes of the model:    {} B ({:.2f}x)\n",
                           a.positional_coded, ratio(a.positional_coded));
        out << fmt::format("  ... and no detail text or timestamps:            {} B ({:.2f}x)\n",
                           a.positional_lean, ratio(a.positional_lean));
        // What the bytes cost: the transport's floor over tcp at both sizes, measured now.
        const auto now = measure_floor(transport::tcp, m->type.size(), a.bytes, 4'000, 100'000);
        const auto lean =
            measure_floor(transport::tcp, m->type.size(), a.positional_lean, 4'000, 100'000);
        out << fmt::format("  tcp floor at {} B: one-way p50 {:.1f} us, {:.0f} msg/s; at {} B: "
                           "{:.1f} us, {:.0f} msg/s\n\n",
                           a.bytes, now.one_way_p50_us, now.messages_per_s, a.positional_lean,
                           lean.one_way_p50_us, lean.messages_per_s);
    }
}

} // namespace choreo::bench

// Who may speak: routing ids that take over nothing, ZMTP before 3.0 refused, CURVE keys and the
// ZAP handler, impersonation, operator requests and forged endings, all over real sockets.
#include "patterns/auth.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "demo/spawn.hpp"
#include "patterns/stuck.hpp"
#include "tests/all_patterns.hpp"
#include "tests/harness.hpp"

namespace choreo {
namespace {

// ---- a peer outside the deployment --------------------------------------------------------------

/// A DEALER in a context of its own, optionally speaking CURVE with the given key pair to a
/// server with the given public key, and optionally claiming a routing id.
class stranger {
public:
    stranger(const std::string& endpoint, const std::string& routing_id = {},
             const curve_key_pair* keys = nullptr, const std::string& server_key = {})
        : socket_(context_, zmq::socket_type::dealer), monitor_(context_, zmq::socket_type::pair) {
        socket_.set(zmq::sockopt::linger, 0);
        const auto watch =
            "inproc://stranger-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
        if (zmq_socket_monitor(socket_.handle(), watch.c_str(),
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
            throw zmq::error_t();
        }
        monitor_.connect(watch);
        if (!routing_id.empty()) {
            socket_.set(zmq::sockopt::routing_id, routing_id);
        }
        if (keys != nullptr) {
            socket_.set(zmq::sockopt::curve_serverkey, server_key);
            socket_.set(zmq::sockopt::curve_publickey, keys->public_key);
            socket_.set(zmq::sockopt::curve_secretkey, keys->secret_key);
        }
        socket_.connect(endpoint);
    }

    void send(const message& m) {
        const auto f = encode(m);
        ASSERT_TRUE(socket_.send(zmq::buffer(f.type), zmq::send_flags::sndmore));
        ASSERT_TRUE(socket_.send(zmq::buffer(f.body), zmq::send_flags::none));
    }

    /// Returns: the type of the next message received, or "" if none came before the deadline.
    std::string next_type() {
        zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
        if (zmq::poll(items, 1, testing::deadline) != 1) {
            return "";
        }
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(socket_, std::back_inserter(parts)) || parts.empty()) {
            return "";
        }
        return parts.front().to_string();
    }

    /// Returns: how the first handshake ended: "succeeded", "refused" (the server refused the
    /// key), "failed" (another reason), or "" if it had not ended before the deadline.
    std::string handshake() {
        zmq::pollitem_t items[] = {{monitor_.handle(), 0, ZMQ_POLLIN, 0}};
        if (zmq::poll(items, 1, testing::deadline) != 1) {
            return "";
        }
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(monitor_, std::back_inserter(parts)) || parts.front().size() < 2) {
            return "";
        }
        std::uint16_t event = 0;
        std::memcpy(&event, parts.front().data(), sizeof(event));
        return event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED     ? "succeeded"
               : event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "refused"
                                                          : "failed";
    }

private:
    zmq::context_t context_;
    zmq::socket_t socket_;
    zmq::socket_t monitor_;
};

/// A workflow_event no service has any use for: refused with an error_reply.
message nonsense(const std::string& sender, const std::string& workflow_id = "made-up") {
    // Each its own message id: a receiver drops a repeated (sender, message_id) as a duplicate.
    static std::atomic<std::uint64_t> ids{0};
    return {{++ids, workflow_id, sender, 0, 1, 0},
            msg::workflow_event{"order", "nonsense", 0, sender, {}}};
}

/// Waits until `done()` or the deadline. Returns: done().
template <class F> bool eventually(F done) {
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    while (!done() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
}

/// Every batch placed on a deployment, so that effects can be checked against all of them.
struct ledger_of_batches {
    testing::batch all;
    void add(const testing::batch& b) {
        all.ids.insert(all.ids.end(), b.ids.begin(), b.ids.end());
        all.plans.insert(all.plans.end(), b.plans.begin(), b.plans.end());
    }
};

/// Places 200 mixed orders and checks that they, and every batch before them, ended as
/// predicted and left exactly the predicted effects.
void two_hundred_mixed_orders_end_as_predicted(local_deployment& d, ledger_of_batches& placed,
                                               std::uint64_t seed) {
    const auto b = testing::place(d, "mixed", 200, seed);
    placed.add(b);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    EXPECT_EQ(d.effects(), testing::predicted(d, placed.all));
}

std::uint64_t refused_for(local_deployment& d, const std::string& node, std::string_view why) {
    const auto c = d.counters(node);
    const auto it = c.rejected_by.find(std::string(why));
    return it == c.rejected_by.end() ? 0 : it->second;
}

class auth : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow order_ = testing::workflow_named("order");

    deployment_options curve_over_tcp() const {
        auto o = testing::options(transport::tcp, false);
        o.curve = true;
        return o;
    }
};

INSTANTIATE_TEST_SUITE_P(patterns, auth, ::testing::ValuesIn(testing::every_pattern()),
                         testing::pattern_name{});

// ---- without keys -------------------------------------------------------------------------------

/// Every node's and the client's name is claimed as a routing id at every node, by a peer that
/// sends one message there (refused and answered, so the connection was made) and leaves; then
/// 200 mixed orders must end as predicted. With keys the peer holds a valid key, `holder`'s.
void claim_every_name_everywhere(local_deployment& d, const std::string& holder = {}) {
    ledger_of_batches placed;
    {
        // Every link in use first, so that there is a connection to take over.
        const auto warm = testing::place(d, "mixed", 20, 1);
        placed.add(warm);
        ASSERT_TRUE(testing::ended_as_planned(d, warm));
    }
    auto names = d.nodes();
    names.push_back("client");
    std::uint64_t refused_before = 0;
    for (const auto& n : d.nodes()) {
        refused_before += d.counters(n).rejected;
    }
    const auto keys = holder.empty() ? nullptr : d.keys_of(holder);
    for (const auto& at : d.nodes()) {
        for (const auto& claimed : names) {
            auto s = keys ? stranger(*d.where().endpoint_of(at), claimed, &keys->own,
                                     d.keys_of(at)->own.public_key)
                          : stranger(*d.where().endpoint_of(at), claimed);
            s.send(nonsense(holder.empty() ? "stranger" : holder));
            EXPECT_EQ(s.next_type(), "error_reply") << claimed << " at " << at;
        } // and leaves
    }
    std::uint64_t refused_after = 0;
    for (const auto& n : d.nodes()) {
        refused_after += d.counters(n).rejected;
    }
    EXPECT_EQ(refused_after - refused_before, d.nodes().size() * names.size());
    two_hundred_mixed_orders_end_as_predicted(d, placed, 2);
    const auto answer = d.client().status(placed.all.ids.back());
    EXPECT_TRUE(answer.status.found);
    EXPECT_TRUE(answer.errors.empty());
}

TEST_P(auth, a_peer_claiming_node_routing_ids_takes_over_no_link) {
    local_deployment d(pattern_, order_, testing::options(transport::tcp, false));
    claim_every_name_everywhere(d);
}

TEST_P(auth, with_keys_a_node_claiming_other_routing_ids_takes_over_no_link) {
    local_deployment d(pattern_, order_, curve_over_tcp());
    claim_every_name_everywhere(d, order_.steps.back().service);
}

/// Returns: a tcp socket connected to a node's endpoint (tcp://127.0.0.1:PORT).
int raw_connect(const std::string& endpoint) {
    const auto port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        throw std::runtime_error("cannot connect to " + endpoint);
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(testing::deadline.count() / 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/// Returns: ZMTP 1.0 framing of one frame: a length (body + flags) byte, flags, the body.
std::string zmtp1_frame(std::string_view body, bool more) {
    std::string out;
    out += static_cast<char>(body.size() + 1);
    out += static_cast<char>(more ? 1 : 0);
    out += body;
    return out;
}

TEST_P(auth, a_peer_speaking_zmtp_before_3_is_disconnected_and_its_order_never_applied) {
    local_deployment d(pattern_, order_, testing::options(transport::tcp, false));
    const auto entry = pattern_.entry(order_);
    // A ZMTP 1.0 peer: no greeting, an empty routing id frame, then [type, body] of a real
    // place_order (that a node accepting ZMTP 1.0 would charge).
    auto gen = module_of(order_).make_workload(order_, "happy", 5);
    const auto plan = gen.value()->take(1).front();
    const auto f = encode(
        {{1, "zmtp1-order", "client", 0, 0, 0}, msg::place_order{"order", "client", plan.details}});
    ASSERT_LT(f.body.size(), 254U); // one-byte lengths
    const int fd = raw_connect(*d.where().endpoint_of(entry));
    const auto wire =
        zmtp1_frame("", false) + zmtp1_frame(f.type, true) + zmtp1_frame(f.body, false);
    ASSERT_EQ(::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(wire.size()));
    // The node closes the connection: reads end (0) or fail with a reset, never time out.
    char buffer[256];
    ssize_t got = 0;
    do {
        got = ::recv(fd, buffer, sizeof(buffer), 0);
    } while (got > 0);
    const int why = errno;
    ::close(fd);
    EXPECT_TRUE(got == 0 || why == ECONNRESET) << "still connected: " << std::strerror(why);
    EXPECT_EQ(d.counters(entry).received, 0U);
    ledger_of_batches placed;
    two_hundred_mixed_orders_end_as_predicted(d, placed, 3); // no charge for zmtp1-order
    EXPECT_FALSE(d.client().status("zmtp1-order").status.found);
}

TEST_P(auth, a_workflow_ended_from_a_node_that_does_not_end_workflows_is_refused) {
    local_deployment d(pattern_, order_, testing::options(transport::tcp, false));
    const auto enders = pattern_.enders(order_);
    std::string outsider;
    for (const auto& n : d.nodes()) {
        if (!enders.contains(n)) {
            outsider = n;
            break;
        }
    }
    ledger_of_batches placed;
    // A held last service keeps a workflow in flight while the forgery arrives.
    const auto last = order_.steps.back().service;
    d.hold(last);
    const auto b = testing::place(d, "happy", 1, 4);
    placed.add(b);
    const auto id = b.ids.front();
    const auto forge = [&](const std::string& sender, const std::string& workflow_id) {
        stranger s(*d.where().endpoint_of("client"));
        s.send({{1, workflow_id, sender, 0, 3, 0},
                msg::workflow_ended{"order", "back_order", "forged"}});
        EXPECT_EQ(s.next_type(), "error_reply") << sender;
    };
    if (!outsider.empty()) {
        forge(outsider, id); // a node the pattern never lets end a workflow
        EXPECT_EQ(refused_for(d, "client", "not_permitted"), 1U);
    }
    forge(*enders.begin(), "never-placed-by-this-client");
    EXPECT_EQ(refused_for(d, "client", "unknown_workflow"), 1U);
    EXPECT_EQ(d.client().ended_count(), 0U);
    d.release(last);
    ASSERT_TRUE(testing::ended_as_planned(d, b)); // completed, as the workflow really ended
    two_hundred_mixed_orders_end_as_predicted(d, placed, 5);
}

TEST(auth_bind, a_node_without_keys_binds_only_local_endpoints_unless_insecure) {
    EXPECT_TRUE(is_local_endpoint("tcp://127.0.0.1:5555"));
    EXPECT_TRUE(is_local_endpoint("tcp://127.3.4.5:*"));
    EXPECT_TRUE(is_local_endpoint("tcp://[::1]:5555"));
    EXPECT_TRUE(is_local_endpoint("tcp://localhost:5555"));
    EXPECT_TRUE(is_local_endpoint("ipc:///tmp/x.sock"));
    EXPECT_TRUE(is_local_endpoint("inproc://x"));
    EXPECT_FALSE(is_local_endpoint("tcp://0.0.0.0:5555"));
    EXPECT_FALSE(is_local_endpoint("tcp://*:5555"));
    EXPECT_FALSE(is_local_endpoint("tcp://eth0:5555"));
    EXPECT_FALSE(is_local_endpoint("tcp://128.0.0.1:5555"));

    zmq::context_t context;
    boost::asio::io_context io;
    ledger book(false);
    node plain(context, io, "plain", book);
    EXPECT_THROW(plain.bind("tcp://0.0.0.0:*"), std::invalid_argument);
    node_options o;
    o.insecure = true;
    node open(context, io, "open", book, o);
    EXPECT_NO_THROW(open.bind("tcp://0.0.0.0:*"));
}

TEST(auth_bind, choreo_node_refuses_a_non_loopback_endpoint_without_keys_with_status_2) {
    const auto file = std::filesystem::temp_directory_path() /
                      ("choreo-open-topology-" + std::to_string(::getpid()) + ".txt");
    std::ofstream(file) << "order_placement tcp://0.0.0.0:5901\npayment tcp://127.0.0.1:5902\n"
                           "fulfillment tcp://127.0.0.1:5903\nemail tcp://127.0.0.1:5904\n"
                           "client tcp://127.0.0.1:5900 operator\n";
    const auto [code, out] =
        testing::run_command(std::string(CHOREO_BIN_DIR) +
                             "/choreo-node --pattern stateless --service order_placement "
                             "--in-memory --topology " +
                             file.string() + " 2>&1");
    std::filesystem::remove(file);
    EXPECT_EQ(code, 2);
    EXPECT_NE(out.find("--insecure"), std::string::npos) << out;
    EXPECT_NE(out.find("tcp://0.0.0.0:5901"), std::string::npos) << out;
}

// ---- with keys ----------------------------------------------------------------------------------

TEST_P(auth, with_keys_strangers_impostors_and_non_operators_are_refused_and_counted) {
    local_deployment d(pattern_, order_, curve_over_tcp());
    ledger_of_batches placed;
    two_hundred_mixed_orders_end_as_predicted(d, placed, 6);
    const auto entry = pattern_.entry(order_);
    const auto entry_endpoint = *d.where().endpoint_of(entry);
    const auto entry_key = d.keys_of(entry)->own.public_key;
    const auto received = d.counters(entry).received;
    auto gen = module_of(order_).make_workload(order_, "happy", 7);
    const auto plan = gen.value()->take(1).front();
    const message order{{1, "forged-order", "client", 0, 0, 0},
                        msg::place_order{"order", "client", plan.details}};

    // No key at all: the handshake fails (NULL against CURVE), nothing is read.
    {
        const auto before = d.counters(entry).handshake_failed;
        stranger s(entry_endpoint);
        s.send(order);
        EXPECT_TRUE(eventually([&] { return d.counters(entry).handshake_failed > before; }));
    }
    // A key the deployment does not know: the ZAP handler refuses it.
    {
        const auto before = d.counters(entry);
        const auto unknown = make_key_pair();
        stranger s(entry_endpoint, {}, &unknown, entry_key);
        s.send(order);
        EXPECT_TRUE(eventually([&] {
            const auto now = d.counters(entry); // the ZAP thread counts first, then the node
            return now.zap_refused > before.zap_refused &&
                   now.handshake_failed > before.handshake_failed;
        }));
    }
    EXPECT_EQ(d.counters(entry).received, received);

    // A valid key speaking for another node: refused, counted, answered.
    const auto& other = order_.steps.back().service; // not the client, whose name it claims
    {
        stranger s(entry_endpoint, "client", &d.keys_of(other)->own, entry_key);
        s.send(order);
        EXPECT_EQ(s.next_type(), "error_reply");
        EXPECT_EQ(refused_for(d, entry, "impersonation"), 1U);
    }
    // The same valid key under its own name, forging the ending of a workflow to the client.
    {
        stranger s(*d.where().endpoint_of("client"), {}, &d.keys_of(other)->own,
                   d.keys_of("client")->own.public_key);
        s.send({{1, "never-placed", other, 0, 3, 0},
                msg::workflow_ended{"order", "completed", "forged"}});
        EXPECT_EQ(s.next_type(), "error_reply");
        EXPECT_EQ(refused_for(d, "client", "unknown_workflow") +
                      refused_for(d, "client", "not_permitted"),
                  1U);
    }
    // Operator requests from a service: refused; from the client (an operator): answered.
    for (const auto& target : d.nodes()) {
        if (target == other) {
            continue;
        }
        stranger s(*d.where().endpoint_of(target), {}, &d.keys_of(other)->own,
                   d.keys_of(target)->own.public_key);
        s.send({{1, "", other, 0, 0, 9}, msg::inspect_request{0, 10}});
        EXPECT_EQ(s.next_type(), "error_reply") << target;
        s.send({{2, "", other, 0, 0, 10}, msg::hold_request{true}});
        EXPECT_EQ(s.next_type(), "error_reply") << target;
        // It lists workflow ids and their step records, as inspect does.
        s.send({{3, "", other, 0, 0, 11}, msg::stuck_request{0, 10, {}}});
        EXPECT_EQ(s.next_type(), "error_reply") << target;
        EXPECT_EQ(refused_for(d, target, "not_permitted"), 3U) << target;
    }
    const auto inspected = d.client().ask(entry, msg::inspect_request{0, 10}, testing::deadline);
    ASSERT_TRUE(inspected) << inspected.error().message();
    EXPECT_TRUE(inspected.value().payload.holds<msg::inspect_reply>());
    stuck_query q;
    q.timeout = testing::deadline;
    const auto stuck = find_stuck(d.client(), d.used_pattern(), d.flow(), q);
    EXPECT_TRUE(stuck.errors.empty()) << stuck.errors.front();
    EXPECT_TRUE(stuck.silent.empty()) << stuck.silent.front();
    EXPECT_FALSE(stuck.asked.empty());

    two_hundred_mixed_orders_end_as_predicted(d, placed, 8);
    EXPECT_FALSE(d.client().status("forged-order").status.found);
}

/// Writes a key pair into `dir` (emptied first) for every node of `p` and for the client, an
/// operator, as `choreo-ctl keygen` does. Returns: the names (their endpoints are not read).
topology keys_for_every_node(const pattern& p, const workflow& wf,
                             const std::filesystem::path& dir) {
    std::filesystem::remove_all(dir);
    topology names;
    for (const auto& n : p.nodes(wf)) {
        names.set(n, "tcp://127.0.0.1:1");
    }
    names.set("client", "tcp://127.0.0.1:2", node_role::client, true);
    keys_dir::generate(names, dir.string());
    return names;
}

// ---- one process per node, keys from choreo-ctl keygen's format
// ------------------------------------

TEST_P(auth, spawned_nodes_with_keys_on_disk_serve_200_mixed_orders_and_refuse_a_stranger) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("choreo-spawned-keys-" + std::to_string(::getpid()) + "-" + GetParam());
    keys_for_every_node(pattern_, order_, dir);
    {
        demo::spawned_services children(std::string(CHOREO_BIN_DIR) + "/choreo-node", pattern_,
                                        order_, transport::tcp, {"client"}, {},
                                        default_retain_finished, {"--keys", dir.string()});
        auto o = testing::remote();
        const auto keys = std::make_shared<const credentials>(
            keys_dir::load(children.where(), dir.string(), "client"));
        o.node.keys = keys;
        remote_deployment d(pattern_, order_, children.where(), o);
        children.share(d.where());
        ASSERT_TRUE(d.wait_ready(testing::deadline).empty());

        const auto entry = pattern_.entry(order_);
        {
            auto gen = module_of(order_).make_workload(order_, "happy", 9);
            stranger s(*d.where().endpoint_of(entry)); // no key: the handshake fails
            s.send({{1, "stranger-order", "client", 0, 0, 0},
                    msg::place_order{"order", "client", gen.value()->take(1).front().details}});
            const auto unknown = make_key_pair(); // a key the deployment does not know
            stranger t(*d.where().endpoint_of(entry), {}, &unknown,
                       *keys->ring->public_key_of(entry));
            t.send(nonsense("client")); // refused and counted, were it ever read
        }
        const auto b = testing::place(d, "mixed", 200, 10);
        ASSERT_TRUE(testing::ended_as_planned(d, b));
        EXPECT_EQ(d.effects(), testing::predicted(d, b)); // nothing of the stranger's order
        std::uint64_t refused = 0;
        for (const auto& r : d.inspect_all()) { // the client is an operator: inspect works
            refused += r.rejected;
        }
        EXPECT_EQ(refused, 0U); // neither stranger's message was ever read
    }
    std::filesystem::remove_all(dir);
}

// A node started with --bind learns the topology after its peers may have: one that learnt it
// first and connects at once must not be refused, for libzmq never retries a refused handshake.
TEST_P(auth, a_bound_node_accepts_its_deployments_keys_before_it_has_the_topology) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("choreo-early-keys-" + std::to_string(::getpid()) + "-" + GetParam());
    const auto names = keys_for_every_node(pattern_, order_, dir);
    {
        demo::spawned_services children(std::string(CHOREO_BIN_DIR) + "/choreo-node", pattern_,
                                        order_, transport::tcp, {"client"}, {},
                                        default_retain_finished, {"--keys", dir.string()});
        const auto ring = keys_dir::load(names, dir.string(), "client");
        const auto entry = pattern_.entry(order_);
        const auto endpoint = *children.where().endpoint_of(entry); // not shared yet
        for (const auto& peer : names.entries()) {
            if (peer.name == entry) {
                continue;
            }
            const auto own = keys_dir::load(names, dir.string(), peer.name).own;
            stranger s(endpoint, {}, &own, *ring.ring->public_key_of(entry));
            EXPECT_EQ(s.handshake(), "succeeded") << peer.name << " connecting to " << entry;
        }
        const auto unknown = make_key_pair();
        stranger t(endpoint, {}, &unknown, *ring.ring->public_key_of(entry));
        EXPECT_EQ(t.handshake(), "refused");
    }
    std::filesystem::remove_all(dir);
}

TEST(auth_keyring, refuses_keys_that_are_not_z85_and_a_key_given_twice) {
    keyring ring;
    const auto a = make_key_pair();
    EXPECT_EQ(a.public_key.size(), 40U);
    ring.add("a", a.public_key, true);
    EXPECT_THROW(ring.add("b", a.public_key), std::invalid_argument);
    EXPECT_THROW(ring.add("a", make_key_pair().public_key), std::invalid_argument);
    EXPECT_THROW(ring.add("c", "short"), std::invalid_argument);
    EXPECT_THROW(ring.add("c", std::string(40, '"')), std::invalid_argument);
    EXPECT_TRUE(ring.is_operator("a"));
    EXPECT_FALSE(ring.is_operator("b"));
    EXPECT_EQ(ring.size(), 1U);
}

// ---- keys on disk -------------------------------------------------------------------------------

class keys_on_disk : public ::testing::Test {
protected:
    std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                                 ("choreo-keys-" + std::to_string(::getpid()) + "-" +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    topology where_ = [] {
        topology t;
        t.set("payment", "tcp://127.0.0.1:5001");
        t.set("client", "tcp://127.0.0.1:5002", node_role::client, true);
        return t;
    }();
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string file(const std::string& name) const { return (dir_ / name).string(); }
    static std::string read(const std::string& path) {
        std::ifstream in(path);
        return {std::istreambuf_iterator<char>(in), {}};
    }
};

TEST_F(keys_on_disk, generated_pairs_load_back_with_secret_keys_private) {
    keys_dir::generate(where_, dir_.string());
    for (const auto* name : {"payment", "client"}) {
        struct stat st {};
        ASSERT_EQ(::stat(file(std::string(name) + ".key_secret").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600U) << name;
    }
    const auto c = keys_dir::load(where_, dir_.string(), "payment");
    EXPECT_EQ(c.ring->size(), 2U);
    EXPECT_TRUE(c.ring->is_operator("client"));
    EXPECT_FALSE(c.ring->is_operator("payment"));
    EXPECT_EQ(*c.ring->public_key_of("payment"), c.own.public_key);
}

TEST_F(keys_on_disk, load_all_reads_every_public_key_and_names_no_operator) {
    keys_dir::generate(where_, dir_.string());
    const auto c = keys_dir::load_all(dir_.string(), "payment");
    EXPECT_EQ(c.ring->size(), 2U);
    EXPECT_EQ(c.ring->public_key_of("client"),
              keys_dir::load(where_, dir_.string(), "payment").ring->public_key_of("client"));
    EXPECT_FALSE(c.ring->is_operator("client")); // the topology says who is
    EXPECT_EQ(*c.ring->public_key_of("payment"), c.own.public_key);
    EXPECT_THROW(keys_dir::load_all(dir_.string(), "email"), std::invalid_argument);
    EXPECT_THROW(keys_dir::load_all((dir_ / "none").string(), "payment"), std::invalid_argument);
}

TEST_F(keys_on_disk, generate_never_overwrites) {
    keys_dir::generate(where_, dir_.string());
    const auto before = read(file("payment.key_secret"));
    EXPECT_THROW(keys_dir::generate(where_, dir_.string()), std::invalid_argument);
    EXPECT_EQ(read(file("payment.key_secret")), before);
}

TEST_F(keys_on_disk, bad_keys_are_refused_naming_the_file) {
    keys_dir::generate(where_, dir_.string());
    const auto expect_refused = [&](const std::string& path, std::string_view reason) {
        try {
            keys_dir::load(where_, dir_.string(), "payment");
            ADD_FAILURE() << "loaded despite " << reason;
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(path), std::string::npos) << what;
            EXPECT_NE(what.find(reason), std::string::npos) << what;
        }
    };
    const auto secret = file("payment.key_secret");
    const auto good_secret = read(secret);
    std::filesystem::permissions(secret, std::filesystem::perms::group_read,
                                 std::filesystem::perm_options::add);
    expect_refused(secret, "readable by group or others");
    std::filesystem::permissions(secret, std::filesystem::perms::group_read,
                                 std::filesystem::perm_options::remove);
    // Another pair's secret under payment's name.
    std::filesystem::copy_file(file("client.key_secret"), secret,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::permissions(
        secret, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace);
    expect_refused(secret, "does not match");
    std::ofstream(secret, std::ios::trunc) << good_secret;
    std::ofstream(file("client.key"), std::ios::trunc) << "not a certificate\n";
    expect_refused(file("client.key"), "no public-key");
    std::filesystem::remove(file("client.key"));
    expect_refused(file("client.key"), "no such file");
}

} // namespace
} // namespace choreo

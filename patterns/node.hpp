// A choreo node: one ROUTER inbox and one DEALER per peer, driven by an Asio io_context.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "patterns/auth.hpp"
#include "patterns/codec.hpp"
#include "patterns/delivery.hpp"
#include "patterns/errors.hpp"
#include "patterns/ledger.hpp"
#include "patterns/retention.hpp"
#include "patterns/store.hpp"
#include "patterns/topology.hpp"

namespace choreo {

namespace asio = boost::asio;

/// Fault injection: a node that drops its own inter-service workflow sends at random.
struct send_drop {
    double probability = 0; ///< of each inter-service workflow send, 0 <= p < 1; 0: none
    /// The node draws from a stream derived from this seed and its own name: the same seed
    /// drops the same sends of each node, run after run.
    std::uint64_t seed = 0;
};

struct node_options {
    codec_limits limits;
    int high_water_mark = 100'000; ///< per socket, both directions
    int linger_ms = 1'000;         ///< how long close() may wait to flush
    node_role role = node_role::service;
    /// Simulated network delay added to every message this node sends (0: none). Messages keep
    /// their order; the ledger counts them when they are handed to the transport.
    std::chrono::nanoseconds link_delay{0};
    /// Finished workflows kept in every per-workflow structure of this node (the pattern's
    /// workflow state, the domain service's records); older ones are retired (see
    /// patterns/retention.hpp). Give the node's ledger the same limit. At least 1.
    std::size_t retain_finished = default_retain_finished;
    /// Workflows whose events from outside the chain came early (before the step they concern;
    /// before the workflow was placed, at an orchestrator) are kept apart from the finished ones,
    /// up to this many; beyond it the oldest are evicted, counted and logged. At least 1.
    std::size_t retain_early = default_retain_early;
    /// CURVE: this node's key pair and the deployment's public keys. With them every socket
    /// speaks CURVE, a peer must hold a key of the keyring, and a message whose envelope sender
    /// is not its authenticated peer is refused. Without (null), sockets speak NULL and bind()
    /// accepts only local endpoints unless `insecure`.
    std::shared_ptr<const credentials> keys;
    /// Without keys, let bind() take a non-loopback tcp endpoint (logged as a warning).
    bool insecure = false;
    /// Fault injection: inter-service workflow sends (query_id 0, neither to nor from a client)
    /// dropped before the transport sees them: not counted as sent in the ledger, counted in
    /// node_counters::dropped_by_fault.
    send_drop drop;

    // At-least-once delivery (docs/PROTOCOL.md, Delivery): a workflow message (query_id 0) waits
    // in the outbox until its receiver acknowledges it, and is sent again meanwhile.
    /// The first resend comes this long after the send (plus twice link_delay), each next one
    /// twice as long after the one before, at most resend_max apart. When a DEALER connects to
    /// its peer again (the peer restarted), the peer's messages are sent again at once and their
    /// backoff starts over (their sends still count towards resend_limit).
    std::chrono::milliseconds resend_initial{200};
    std::chrono::milliseconds resend_max{3'200};
    /// A message to a peer this node can reach (named in its topology, with a key in its keyring
    /// when it has keys) is never given up: it is sent again every resend_max until it is
    /// acknowledged or the node stops. Its delivery is unknown, not failed: the peer may have
    /// applied it and only its acks were lost, and giving it up would end a workflow `failed`
    /// that may yet end otherwise. The outbox's capacity bounds what waits so.
    /// Sends (the first included) after which an unacknowledged message to a peer this node
    /// cannot reach (a durable node restarted with a topology that no longer names it) is given
    /// up: counted in send_failed_by as "unacknowledged", logged, handed to on_send_failed.
    /// 0: never.
    std::uint32_t resend_limit = 20;
    /// Unacknowledged messages kept at most. A send beyond is refused: send() returns
    /// send_failure::outbox_full, counted in send_failed_by and logged. Nothing is dropped.
    std::size_t outbox_capacity = 100'000;
    /// Applied message ids remembered, the most recent first, to drop duplicates (see
    /// memory_applied_ids); place_order workflow ids remembered to refuse a second one.
    std::size_t applied_ids_retained = 100'000;
    /// Fault injection for tests: the share of ack messages this node does not send, counted in
    /// acks_lost. Each is drawn from a stream derived from ack_loss_seed and the node's name,
    /// apart from the stream of `drop`: the number of acks follows the batching, which follows
    /// the timing, and must not move which sends are dropped.
    double ack_loss = 0.0;
    std::uint64_t ack_loss_seed = 1;

    // Durability (docs/PROTOCOL.md, Durability): a service_node with a data directory keeps its
    // outbox, applied ids, journal and snapshots in DIR/NODE.db (patterns/durable.hpp).
    /// Empty: everything in memory, lost with the process.
    std::filesystem::path data_dir;
    store_sync sync = store_sync::process_crash;
    /// A snapshot of the domain's and the pattern's state replaces the journal after this many
    /// committed batches, or this many journaled messages, whichever comes first.
    std::uint64_t snapshot_every_batches = 1'000;
    std::uint64_t snapshot_every_messages = 10'000;
    /// Fault injection for tests: the node named `commit_fault_node` finds its
    /// `commit_fault_at`-th commit refused (rolled back, as a full disk would), and stops.
    std::string commit_fault_node;
    std::uint64_t commit_fault_at = 0;
    /// Fault injection for tests: the `tear_dealer_read_at`-th message of more than one frame
    /// that this node reads on a DEALER is torn after its first frame, as libzmq tears one whose
    /// pipe ends mid-message: the rest is discarded and the DEALER renewed. 0: never.
    std::uint64_t tear_dealer_read_at = 0;
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
    /// The connection's routing id (inbox: assigned by the inbox, never the peer's choice) or
    /// the peer's name (reply on a DEALER). The sender's name is msg.env.sender: with keys, the
    /// node has checked it against the authenticated peer.
    std::string peer;
    bool via_inbox{}; ///< arrived on the ROUTER inbox: reply() answers on the same connection
    std::size_t bytes{};
    /// The body frame as received, for a node that journals what it applies (a durable node's
    /// workflow messages); empty otherwise.
    std::string body;
};

/// Why a message this node meant to send never left it.
enum class send_failure {
    unknown_service = 1, ///< the peer is not in the topology (send() returns errc::unknown_service)
    node_stopped,        ///< the node was stopped
    peer_gone,           ///< the connection to the peer went away while the message was sent
    unroutable,          ///< a reply on the inbox to a peer that is gone (EHOSTUNREACH)
    socket_error,        ///< the socket refused it with another error
    no_key,              ///< with keys: the peer has no public key in the keyring
    outbox_full,         ///< node_options::outbox_capacity messages await their ack already
    unacknowledged,      ///< to a peer out of reach, resend_limit times unacknowledged: given up
};

/// Returns: the stable name of a reason, e.g. "peer_gone" (in node_counters::send_failed_by).
std::string_view to_string(send_failure why) noexcept;
const std::error_category& send_failure_category() noexcept;
inline std::error_code make_error_code(send_failure e) noexcept {
    return {static_cast<int>(e), send_failure_category()};
}

} // namespace choreo

template <> struct std::is_error_code_enum<choreo::send_failure> : std::true_type {};

namespace choreo {

/// Something that befell one workflow's messages at a node, kept for measurements (see
/// node::incidents): a send the drop fault dropped (a first send: resends are counted only), or a
/// step its owner re-drove past its deadline. What the transport did is in the ledger; these are
/// what it never carried, and what an owner did because of it.
struct incident {
    std::int64_t at_ns{}; ///< wall clock (now_ns())
    std::string workflow_id;
    std::string what; ///< incident_dropped or incident_redriven
    std::string to;   ///< the peer the send was for
};
inline constexpr std::string_view incident_dropped = "dropped by fault";
inline constexpr std::string_view incident_redriven = "re-driven";

/// A workflow message that was dropped after send() had accepted it (see node::on_send_failed).
struct failed_send {
    std::string to; ///< the peer's name, or the routing id a reply was for
    send_failure reason{};
    message what; ///< the message as it was encoded
};

struct node_counters {
    std::uint64_t received{}; ///< decoded and handled
    std::uint64_t sent{};
    std::uint64_t rejected{};       ///< dropped at the boundary, see rejected_by
    std::uint64_t unroutable{};     ///< replies to a peer that is gone
    std::uint64_t handler_errors{}; ///< exceptions caught around a handler
    std::uint64_t backlog{};        ///< messages waiting for a peer to accept them
    std::uint64_t zap_refused{};    ///< connections refused by the ZAP handler (unknown keys)
    /// Connections to the inbox whose handshake failed: a wrong mechanism (NULL against
    /// CURVE, say), ZMTP before 3.0, a key the ZAP handler refused, garbage instead of ZMTP.
    std::uint64_t handshake_failed{};
    std::uint64_t send_failed{};   ///< messages never sent or dropped later, see send_failed_by
    std::uint64_t duplicates{};    ///< workflow messages received again: dropped, acked again
    std::uint64_t acks_sent{};     ///< ack messages sent
    std::uint64_t acks_received{}; ///< ack messages received
    std::uint64_t acks_lost{};     ///< ack messages not sent (node_options::ack_loss)
    std::uint64_t resent{};        ///< workflow messages sent again, unacknowledged
    std::uint64_t unacked{};       ///< workflow messages in the outbox now
    std::uint64_t applied_ids{};   ///< message ids remembered now to drop duplicates
    std::map<std::string, std::uint64_t> rejected_by;    ///< reason -> count
    std::map<std::string, std::uint64_t> send_failed_by; ///< send_failure name -> count
    std::uint64_t dropped_by_fault{};   ///< inter-service sends dropped by node_options::drop
    std::uint64_t store_commits{};      ///< durable: transactions committed (0 in memory)
    std::uint64_t store_rows_written{}; ///< durable: rows inserted, replaced or deleted
    std::uint64_t held{};               ///< workflow sends waiting for their batch to commit
    std::uint64_t store_syncs{}; ///< durable: syncs of the store's files to the disk (fsyncs)
    /// Connections to a peer's inbox made again after the first (the peer restarted, or came
    /// back): each sends that peer's unacknowledged messages again at once.
    std::uint64_t reconnects{};
    /// DEALER sockets replaced because a message was torn by its connection's end (the first
    /// frames read, the rest gone): each counts as its peer connecting again.
    std::uint64_t dealers_renewed{};
};

/// Sockets and handlers run only on the io_context's thread; counters() may be read anywhere.
///
/// The io thread waits on each socket's ZMQ_FD and takes ZMQ_EVENTS as the truth, re-read after
/// every send and receive: a refused send waits in the socket's backlog until ZMQ_EVENTS shows
/// ZMQ_POLLOUT, no timer involved. A socket is read a few messages at a time, and among those
/// status-query and operator traffic (query_id != 0, inspect and hold requests) is handled
/// before the workflow messages of other peers; the messages of one peer keep their order. A
/// node that awaits replies to its own queries reads its DEALERs between those reads of its
/// inbox.
///
/// A message that cannot be sent is counted in send_failed_by and logged once per (peer,
/// reason), not once per message. send() reports what it knows at once; a workflow message
/// dropped later (its peer went away, or it was never acknowledged) is handed to the
/// on_send_failed hook.
///
/// Delivery is at least once, effects exactly once: a workflow message (query_id 0, not an
/// error_reply) is kept in the outbox and sent again with backoff until its receiver acks it.
/// A receiver notes each (sender, message id) as applied when it reads it, drops one it has
/// applied already (counted in duplicates) and acknowledges both at the end of the drained
/// batch, one ack per peer: the point where a durable node commits (applied_ids::commit).
class node {
public:
    using handler = std::function<void(node&, const incoming&)>;
    using send_failure_handler = std::function<void(const failed_send&)>;

    /// `book` is this node's ledger, written only on the io thread; give each node its own
    /// (nodes sharing one still work, but contend for its lock on every message).
    node(zmq::context_t& context, asio::io_context& io, std::string name, ledger& book,
         node_options options = {});
    ~node();
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    /// Binds the inbox. Returns: the bound endpoint (a tcp wildcard port resolved).
    /// Throws: zmq::error_t if the endpoint cannot be bound; std::invalid_argument for a
    /// non-local endpoint on a node without keys that is not `insecure`.
    std::string bind(const std::string& endpoint);
    /// Where the peers are. Call before start().
    void set_topology(topology t) { topology_ = std::move(t); }
    /// The deployment's public keys, for a node that was made with its own key pair only
    /// (it bound before it knew its peers). Call before start().
    /// Throws: std::invalid_argument if the node has no keys or `keys` has another key pair.
    void set_keys(std::shared_ptr<const credentials> keys);
    void on_message(handler h) { handler_ = std::move(h); }
    /// Called on the io thread, after the handler that sent it has returned, for every workflow
    /// message (query_id 0, a workflow id) dropped after send() or reply() accepted it.
    void on_send_failed(send_failure_handler h) { send_failed_hook_ = std::move(h); }
    /// Replaces the in-memory outbox and applied ids (a durable store, say). Call before
    /// start(), before anything is sent. If `applied` holds_sends(), a workflow message sent
    /// leaves the node only once the transaction that holds it commits (the end of the batch
    /// whose handler sent it; for a send outside a batch, a commit posted at once). A commit
    /// that fails stops the node: nothing of its batch is sent or acknowledged, and the
    /// on_store_failed hook is told.
    void set_delivery_stores(std::unique_ptr<outbox> out, std::unique_ptr<applied_ids> applied);
    /// Called on the io thread, once, after a commit failed and the node stopped.
    void on_store_failed(std::function<void(std::string_view why)> h) {
        store_failed_hook_ = std::move(h);
    }
    /// Message ids go on from `first` at least (a restarted durable node: above every id it
    /// used before). Call before start().
    void continue_message_ids_from(std::uint64_t first) {
        next_message_id_ = std::max(next_message_id_, first);
    }
    /// Returns: the last message id this node used.
    std::uint64_t last_message_id() const noexcept { return next_message_id_; }
    /// While true, send() and reply() send nothing and keep nothing: a durable node replaying
    /// its journal, whose messages sent then are in its outbox already.
    void suppress_sends(bool on) noexcept { suppressed_ = on; }
    /// Returns: whether a message with this payload and query id is a workflow message: kept
    /// in the outbox until acknowledged, its id noted as applied by its receiver.
    static bool carries_effects(const msg::payload& p, std::uint64_t query_id);
    /// The workflow ids of the place_orders this node has read, the newest applied_ids_retained
    /// of them as 64-bit hashes: a second place_order for one is refused duplicate_workflow.
    /// A durable node keeps them in its snapshot and notes those of its journal as it replays
    /// it (service_node), so that a restart forgets none.
    const retired_ids& placed() const noexcept { return placed_; }
    /// Notes `workflow_id` as placed here (a replayed place_order). Call before start().
    void note_placed(std::string_view workflow_id) { placed_.add(workflow_id, 0); }
    /// Notes an id by the hash placed().for_each() gave for it (a snapshot). Call before start().
    void note_placed_hash(std::uint64_t hash) { placed_.remember(hash, {}); }

    /// Starts watching the sockets. Call on the io thread (or before it runs).
    void start();
    /// Closes every socket. Call on the io thread.
    void stop();
    /// Handles every message already waiting on the sockets, then stops: a clean shutdown.
    /// Call on the io thread.
    void drain_and_stop();

    /// Sends to `to`'s inbox through the DEALER for that peer (created on first use).
    /// Returns: the bytes handed to the transport, errc::unknown_service if `to` is not in the
    /// topology, or send_failure::node_stopped. A message accepted here may still be dropped
    /// later (see on_send_failed).
    result<std::size_t> send(const std::string& to, outgoing out);
    /// Answers `asker` on the connection its message came in on.
    /// Returns: as send().
    result<std::size_t> reply(const incoming& asker, outgoing out);
    /// Refuses a well-formed message this node has no use for: counted and logged like a
    /// malformed one, and answered with an error_reply if it came to the inbox.
    void refuse(const incoming& in, std::error_code why);

    const std::string& name() const noexcept { return name_; }
    const ledger& book() const noexcept { return ledger_; }
    /// For the node's owner, to tell the ledger when it is done with a workflow (finish()).
    ledger& book() noexcept { return ledger_; }
    asio::io_context& io() noexcept { return io_; }
    /// Returns: whether stop() was called (or a store failure stopped the node).
    bool stopped() const noexcept { return stopped_; }
    /// Commits, soon, what the node's owner wrote to a durable store outside a batch (a
    /// timer's work); nothing for a node in memory. Call on the io thread.
    void commit_soon();
    node_counters counters() const;
    /// Keeps `i` among the most recent max_incidents incidents. Call on the io thread.
    void note(incident i);
    /// Returns: the incidents kept, oldest first. Thread-safe.
    std::vector<incident> incidents() const;
    /// Incidents kept at most: the oldest go first.
    static constexpr std::size_t max_incidents = 4096;

private:
    struct watched;
    /// The frames of one message, ready for the socket: the body is the encoder's own buffer,
    /// handed to zmq, the type frame refers to the contract's static name.
    struct outbound {
        zmq::message_t routing_id; ///< sent first when `routed` (replies on the inbox)
        zmq::message_t type;
        zmq::message_t body;
        std::string_view type_name; ///< the contract's static name: `type` is consumed by a send
        bool routed = false;
    };
    watched& dealer_for(const std::string& to);
    /// Configures a DEALER's socket for its peer, monitors its handshakes and connects it.
    void open_dealer(watched& w);
    /// Replaces a DEALER's socket after a message was torn by its connection's end.
    void renew_dealer(watched& w);
    /// Stops watching `w` and closes its socket; its backlog stays.
    void close_watched(watched& w);
    /// Returns: whether this node can send to `peer`: in the topology, and with keys, in the
    /// keyring.
    bool reachable(const std::string& peer) const;
    void watch(watched& w);
    void service(watched& w);
    void schedule_service(watched& w);
    struct drained {
        std::size_t read = 0;
        bool dry = false; ///< a receive found nothing
    };
    drained drain(watched& w);
    std::size_t read_some(watched& w, std::size_t most, bool& dry);
    void handle_batch(watched& w);
    void look_at(watched& w);
    void look_at_touched();
    void serve_replies();
    std::size_t batch_limit(const watched& w) const;
    void handle(const incoming& in);
    result<std::size_t> transmit(watched& w, std::string_view routing_id, const std::string& to,
                                 outgoing out);
    void send_failed(std::string_view to, send_failure why, std::string_view type);
    void dropped(std::string_view to, send_failure why, const outbound& m);
    /// Counts and logs a message that will not be sent, takes it out of the outbox, and
    /// tells on_send_failed if it was a workflow message.
    void dropped(std::string_view to, send_failure why, std::string_view type,
                 std::string_view body);
    // Delivery: see the class comment.
    /// Returns: whether `m` (a workflow message just read) is new here; a duplicate is acked
    /// again, a second place_order for a workflow refused.
    bool admit(watched& w, const std::string& peer, const message& m, std::size_t bytes);
    void take_ack(const std::string& sender, const msg::ack& a);
    void end_of_batch();
    /// What the ledger records of a send: kept with a held message until it leaves.
    struct send_record {
        std::int64_t at{};
        std::string to;
        std::string_view type;
        std::string label;
        std::size_t bytes{};
        std::string workflow_id;
        std::uint64_t query_id{};
        bool client{};
    };
    /// Counts `m` as sent and hands it to the socket (after link_delay).
    void hand_over(watched& w, outbound m, send_record r);
    void store_failed(std::string_view why);
    std::chrono::nanoseconds resend_wait(std::uint32_t step) const;
    void schedule_resend(std::uint64_t id, std::uint32_t sends, std::uint32_t step);
    void unschedule(std::uint64_t id);
    void arm_resend();
    void resend_due();
    static std::string_view peer_of(const watched& w, const outbound& m);
    outbound encode_frames(const msg::envelope& env, const msg::payload& payload,
                           std::string_view routing_id);
    void enqueue(watched& w, outbound m);
    bool try_send(watched& w, outbound& m);
    bool flush(watched& w);
    void after_send(watched& w);
    /// `type`: the refused message's type, if it was decoded that far (for the log).
    void reject(std::error_code why, const std::string& from, bool answer,
                const msg::envelope& about = {}, std::string_view type = {});
    std::error_code check_sender(const watched& w, const zmq::message_t& first,
                                 const message& m) const;
    /// Returns: true if node_options::drop drops this send (and counts it).
    bool dropped_by_fault(std::uint64_t query_id, bool client, const std::string& workflow_id);
    /// Returns: the start of a random stream for `name` (a node's, or one of its purposes)
    /// under `seed`: the same on every build.
    static std::uint64_t stream_of(std::uint64_t seed, std::string_view name) noexcept;
    /// Returns: the next number of `stream`, uniform in [0, 1) (splitmix64).
    static double draw(std::uint64_t& stream) noexcept;
    void arm_delay();
    /// libzmq's events of one socket (zmq_socket_monitor), read on the io thread.
    struct monitor {
        explicit monitor(asio::io_context& io) : fd(io) {}
        // ZMQ_FD belongs to the socket: the descriptor object must never close it.
        ~monitor() { fd.release(); }
        zmq::socket_t socket;
        asio::posix::stream_descriptor fd;
        std::function<void(std::uint16_t event, std::uint32_t value)> on_event;
    };
    /// Makes `m` report `events` of `s`. Call before `s` binds or connects.
    void monitor_socket(zmq::socket_t& s, int events, monitor& m);
    void watch_events(monitor& m);
    void read_events(monitor& m);
    void close_monitor(monitor& m);
    /// The inbox's failed handshakes: counted and logged.
    void handshake_failed(std::uint16_t event, std::uint32_t value);
    /// A DEALER connected to its peer again: the peer's unacknowledged messages go now, and
    /// their backoff starts over.
    void reconnected(const std::string& peer);
    void configure(zmq::socket_t& s);

    zmq::context_t& context_;
    asio::io_context& io_;
    std::string name_;
    ledger& ledger_;
    node_options options_;
    topology topology_;
    handler handler_;
    std::shared_ptr<zap_handler> zap_; ///< with keys: the context's ZAP handler
    std::string zap_domain_;
    std::shared_ptr<zap_counters> zap_counts_ = std::make_shared<zap_counters>();
    send_failure_handler send_failed_hook_;
    /// (peer, reason) pairs already logged: at most the topology's names and
    /// max_logged_strangers others (routing ids and names from the wire), each reason.
    std::set<std::pair<std::string, send_failure>> failures_logged_;
    std::size_t strangers_logged_ = 0;
    std::unique_ptr<watched> inbox_;
    monitor inbox_events_; ///< the inbox's handshake failures, as libzmq reports them
    std::array<std::uint64_t, 3> handshake_failures_seen_{}; ///< per kind, for the log
    std::map<std::string, std::unique_ptr<watched>, std::less<>> dealers_;
    struct delayed {
        std::chrono::steady_clock::time_point due;
        watched* socket;
        outbound frames;
    };
    std::deque<delayed> delayed_; ///< due times in order: every message gets the same delay
    asio::steady_timer delay_timer_;
    bool delay_armed_ = false;
    std::unique_ptr<outbox> outbox_;
    std::unique_ptr<applied_ids> applied_;
    retired_ids placed_; ///< workflow ids of the place_orders read here, hashed
    struct resend_state {
        std::uint32_t sends{}; ///< so far: counted against resend_limit
        std::uint32_t step{}; ///< of the backoff: the wait after the last send is resend_wait(step)
        std::multimap<std::chrono::steady_clock::time_point, std::uint64_t>::iterator at;
    };
    std::unordered_map<std::uint64_t, resend_state> resends_; ///< by message id
    struct ack_progress {
        std::uint64_t highest{}; ///< the highest message id the peer acknowledged
        std::chrono::steady_clock::time_point last{}; ///< when it last acknowledged one
    };
    /// Per peer it sent to (a name an outbox entry had): whether it is working through its
    /// queue (see resend_due).
    std::unordered_map<std::string, ack_progress> acks_from_;
    std::multimap<std::chrono::steady_clock::time_point, std::uint64_t> resend_order_;
    asio::steady_timer resend_timer_;
    bool resend_armed_ = false;
    std::chrono::steady_clock::time_point resend_armed_at_;
    struct ack_due {
        watched* socket;        ///< where the message came in
        std::string routing_id; ///< the inbox's connection, or empty for a DEALER
        std::uint64_t id{};
        std::string workflow_id; ///< empty for a duplicate: acked before, counted then
    };
    std::vector<ack_due> acks_due_; ///< for the batch being handled
    struct held_send {
        watched* socket;
        outbound frames;
        send_record record;
        std::uint64_t id{};
    };
    std::vector<held_send> held_; ///< sends of the open transaction (applied_ids::holds_sends)
    /// For replies whose inbox connection is gone (this node's or the requester's was
    /// restarted): each peer's latest inbox connection (topology names only).
    std::unordered_map<std::string, std::string> inbox_routes_;
    void learn_route(const std::string& sender, const std::string& routing_id);
    /// A reply on the inbox whose connection is gone, kept for the requester's next one.
    /// Returns: false if `id` is no such reply (then the failed send is a failure).
    bool keep_orphaned_reply(std::uint64_t id);
    bool commit_posted_ = false;
    int handling_ = 0; ///< handlers running: a nested batch (a new DEALER's) does not commit
    bool suppressed_ = false;
    bool store_failed_ = false;
    std::function<void(std::string_view)> store_failed_hook_;
    bool stopped_ = false;
    std::uint64_t next_message_id_ = 0;
    std::size_t body_capacity_ = 512;  ///< first allocation for an encoded body
    std::size_t awaiting_replies_ = 0; ///< over every DEALER: query traffic not yet answered
    int servicing_ = 0;                ///< service passes running (nested when a DEALER is new)
    std::vector<watched*> touched_;    ///< sockets sent on during the running service pass
    std::uint64_t drop_stream_ = stream_of(options_.drop.seed, name_); ///< see draw()
    std::uint64_t ack_loss_stream_ = stream_of(options_.ack_loss_seed, name_ + "/ack_loss");

    // Written on the io thread only, read anywhere: relaxed atomics, no shared lock.
    std::atomic<std::uint64_t> received_{0}, sent_{0}, rejected_{0}, unroutable_{0},
        handler_errors_{0}, backlog_{0}, handshake_failed_{0}, send_failed_{0},
        dropped_by_fault_{0};
    std::atomic<std::uint64_t> duplicates_{0}, acks_sent_{0}, acks_received_{0}, acks_lost_{0},
        resent_{0}, unacked_{0}, applied_ids_{0}, store_commits_{0}, store_rows_{0}, held_count_{0},
        store_syncs_{0}, reconnects_{0}, dealers_renewed_{0};
    std::uint64_t dealer_reads_{};       ///< messages of more than one frame read on DEALERs
    mutable std::mutex incidents_mutex_; ///< written on the io thread, read anywhere
    std::deque<incident> incidents_;
    std::array<std::atomic<std::uint64_t>, 16> rejected_by_{};
    std::array<std::atomic<std::uint64_t>, 16> send_failed_by_{};
};

} // namespace choreo

// The core's message contracts: plain structs encoded as MessagePack maps, knowing no workflow.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "patterns/payload.hpp"

/// The wire format is documented field by field in docs/PROTOCOL.md; keep the two in step.
/// A pattern's own contracts live in its folder, a workflow's business payload in its module.
namespace choreo::msg {

/// A MessagePack value the core carries without reading it: a workflow's business payload
/// (an order, a trouble ticket). On the wire it is the value itself, not a wrapped blob.
class value {
public:
    value() = default;
    /// Returns: `v` packed.
    template <class T> static value of(const T& v) {
        msgpack::sbuffer buffer;
        msgpack::pack(buffer, v);
        return from_bytes(std::string(buffer.data(), buffer.size()));
    }
    /// Wraps bytes that already hold one MessagePack value (not checked here).
    static value from_bytes(std::string bytes) {
        value v;
        v.bytes_ = std::move(bytes);
        return v;
    }
    /// Returns: the packed bytes (one nil byte when empty).
    std::string_view bytes() const noexcept { return bytes_.empty() ? nil_ : bytes_; }
    bool operator==(const value& other) const { return bytes() == other.bytes(); }

private:
    static constexpr std::string_view nil_ = "\xc0";
    std::string bytes_;
};

/// Carried by every message, beside its payload.
struct envelope {
    std::uint64_t message_id{}; ///< unique per sending node
    std::string workflow_id;    ///< the workflow this message belongs to
    std::string sender;         ///< name of the sending node
    std::int64_t sent_at_ns{};  ///< sender's clock, ns since the epoch
    std::uint32_t hop{};        ///< inter-service hops since the workflow was placed
    std::uint64_t query_id{};   ///< nonzero on status-query and operator traffic
    bool operator==(const envelope&) const = default;
    MSGPACK_DEFINE_MAP(message_id, workflow_id, sender, sent_at_ns, hop, query_id)
};

/// One service's account of what it did for one workflow.
struct step_record {
    std::string service;
    std::uint32_t step{}; ///< index of the step in the workflow
    std::string status;   ///< "done", "failed" or "notified" (see step_status)
    std::string outcome;  ///< the event it produced, e.g. "payment_applied"
    std::string detail;   ///< human-readable result, e.g. "charged 2499 cents"
    std::int64_t at_ns{};
    bool operator==(const step_record&) const = default;
    MSGPACK_DEFINE_MAP(service, step, status, outcome, detail, at_ns)
};

/// The answer to a status query, the same for every pattern.
struct workflow_status {
    bool found{};
    /// "in_progress", "stuck", "unknown", or a terminal state such as "completed"
    std::string state;
    std::vector<step_record> steps;    ///< one per step, status "pending"/"unknown" when not done
    std::vector<step_record> notified; ///< services told of a failure
    /// The step that acted last, as far as the answer knows: its service ("" if none has acted
    /// or the answer keeps no times), its index, and when it acted (its clock, ns since the
    /// epoch; 0: unknown). Age = now - last_at_ns.
    std::string last_service;
    std::uint32_t last_step{};
    std::int64_t last_at_ns{};
    /// Set by an owner of the workflow state (front controller, orchestrator) once a step
    /// passed its deadline: the step, since when (its clock, ns since the epoch; 0: never
    /// stuck), and how many times it re-drove a step of this workflow.
    std::uint32_t stuck_step{};
    std::int64_t stuck_since_ns{};
    std::uint32_t redrives{};
    bool operator==(const workflow_status&) const = default;
    MSGPACK_DEFINE_MAP(found, state, steps, notified, last_service, last_step, last_at_ns,
                       stuck_step, stuck_since_ns, redrives)
};

/// Domain effects as named quantities ("charged_cents:c001" -> 2499): what every pattern must
/// produce identically for the same workflows. Each workflow module names its own.
using domain_effects = std::map<std::string, std::int64_t>;

// ---- client <-> workflow -------------------------------------------------------------------

/// Command: start a workflow. Sent by a client to where the pattern says workflows enter.
struct place_order {
    static constexpr std::string_view type_name = "place_order";
    std::string workflow; ///< workflow name, e.g. "order" or "chain:N"
    std::string reply_to; ///< node name of the client to tell when the workflow ends
    value details;        ///< the business payload, defined by the workflow's module
    bool operator==(const place_order&) const = default;
    std::string label() const { return workflow; }
    MSGPACK_DEFINE_MAP(workflow, reply_to, details)
};

/// Event: the workflow reached a terminal state. Sent to the client that placed it.
struct workflow_ended {
    static constexpr std::string_view type_name = "workflow_ended";
    std::string workflow;
    std::string terminal; ///< "completed", "rejected", "payment_rejected", "back_ordered", ...
    std::string detail;
    bool operator==(const workflow_ended&) const = default;
    std::string label() const { return terminal; }
    MSGPACK_DEFINE_MAP(workflow, terminal, detail)
};

// ---- between services ----------------------------------------------------------------------

/// Event: a step of the workflow finished (or failed); the receiver reacts by the model.
struct workflow_event {
    static constexpr std::string_view type_name = "workflow_event";
    std::string workflow;
    std::string event;    ///< e.g. "payment_applied", "payment_declined"
    std::uint32_t step{}; ///< index of the step that produced the event
    std::string reply_to;
    value details;
    bool operator==(const workflow_event&) const = default;
    std::string label() const { return event; }
    MSGPACK_DEFINE_MAP(workflow, event, step, reply_to, details)
};

// ---- status queries to a node that owns workflow state -------------------------------------

/// Ask the owner of the workflow state. Answered with status_reply.
struct status_request {
    static constexpr std::string_view type_name = "status_request";
    std::string workflow_id; ///< the workflow asked about
    bool operator==(const status_request&) const = default;
    MSGPACK_DEFINE_MAP(workflow_id)
};

struct status_reply {
    static constexpr std::string_view type_name = "status_reply";
    std::string service;
    workflow_status status;
    bool operator==(const status_reply&) const = default;
    std::string label() const { return status.state; }
    MSGPACK_DEFINE_MAP(service, status)
};

// ---- inspection of a running node (operator traffic) ---------------------------------------

/// One message a node sent, as its ledger counted it.
struct traffic_entry {
    std::uint64_t seq{};
    std::int64_t at_ns{};
    std::string from;
    std::string to;
    std::string type;
    std::string label;
    std::uint64_t bytes{};
    std::string workflow_id;
    std::uint64_t query_id{};
    bool client{};
    bool operator==(const traffic_entry&) const = default;
    MSGPACK_DEFINE_MAP(seq, at_ns, from, to, type, label, bytes, workflow_id, query_id, client)
};

/// Ask a node what it has sent (from `since_seq` on, at most `limit` entries), its counters,
/// its domain effects and the state it holds. Answered with inspect_reply.
struct inspect_request {
    static constexpr std::string_view type_name = "inspect_request";
    std::uint64_t since_seq{};
    std::uint64_t limit{};
    bool operator==(const inspect_request&) const = default;
    MSGPACK_DEFINE_MAP(since_seq, limit)
};

struct inspect_reply {
    static constexpr std::string_view type_name = "inspect_reply";
    std::string node;
    std::vector<traffic_entry> sent; ///< in send order
    bool more{};                     ///< entries after the last one returned remain
    std::uint64_t received_messages{};
    std::uint64_t received_bytes{};
    std::uint64_t rejected{};
    std::uint64_t backlog{};
    std::uint64_t state_bytes{};     ///< workflow state the pattern keeps in this node
    std::uint64_t state_workflows{}; ///< workflows that state is about
    std::uint64_t domain_bytes{};    ///< the domain service's own data (0 if it has none)
    domain_effects effects;
    std::uint64_t dropped_by_fault{}; ///< inter-service sends a drop fault dropped (--fault drop:P)
    std::uint64_t duplicates{};       ///< workflow messages received again and dropped
    std::uint64_t acks_sent{};        ///< ack messages sent
    std::uint64_t acks_bytes{};       ///< their bytes
    std::uint64_t acked_ids{};        ///< message ids they named
    std::uint64_t resent{};           ///< workflow messages sent again, unacknowledged
    std::uint64_t unacked{};          ///< workflow messages waiting for their ack (the outbox)
    std::uint64_t applied_ids{};      ///< message ids remembered to drop duplicates
    std::uint64_t store_commits{};    ///< durable node: transactions committed (0 in memory)
    std::uint64_t store_rows_written{}; ///< durable node: rows inserted, replaced or deleted
    std::uint64_t store_syncs{};        ///< durable node: syncs of its store's files (fsyncs)
    /// Workflows whose events from outside the chain, come early, were evicted unused from a
    /// full store (--retain-early): its domain service's and its pattern's.
    std::uint64_t early_evicted{};
    bool operator==(const inspect_reply&) const = default;
    MSGPACK_DEFINE_MAP(node, sent, more, received_messages, received_bytes, rejected, backlog,
                       state_bytes, state_workflows, domain_bytes, effects, dropped_by_fault,
                       duplicates, acks_sent, acks_bytes, acked_ids, resent, unacked, applied_ids,
                       store_commits, store_rows_written, store_syncs, early_evicted)
};

/// Hold (or release) a node's workflow traffic, to catch a workflow mid-flight.
/// Answered with inspect_reply (without entries).
struct hold_request {
    static constexpr std::string_view type_name = "hold_request";
    bool hold{};
    bool operator==(const hold_request&) const = default;
    MSGPACK_DEFINE_MAP(hold)
};

// ---- finding stuck workflows (operator traffic) ---------------------------------------------

/// Ask a node for the workflows that made no progress for `older_than_ns`. With `workflow_ids`
/// empty: at most `limit` of them (a node that owns the workflow state lists those it holds;
/// a choreographed service lists the workflows it acted on last and did not end, newest
/// first, as candidates). With ids: this node's latest record of each of them (at most `limit`
/// ids are read). Answered with stuck_reply; the reply never holds more than `limit` entries.
struct stuck_request {
    static constexpr std::string_view type_name = "stuck_request";
    std::int64_t older_than_ns{};
    std::uint64_t limit{};
    std::vector<std::string> workflow_ids;
    bool operator==(const stuck_request&) const = default;
    MSGPACK_DEFINE_MAP(older_than_ns, limit, workflow_ids)
};

/// One workflow as a node saw it: the step that acted last here and when.
struct stuck_entry {
    std::string workflow_id;
    std::string state; ///< "in_progress", "stuck", or the terminal state it ended in here
    step_record last;  ///< the latest record this node has (at_ns 0: none)
    std::int64_t stuck_since_ns{}; ///< owners only: when the workflow was marked stuck
    std::uint32_t redrives{};      ///< owners only: steps re-driven so far
    bool operator==(const stuck_entry&) const = default;
    MSGPACK_DEFINE_MAP(workflow_id, state, last, stuck_since_ns, redrives)
};

struct stuck_reply {
    static constexpr std::string_view type_name = "stuck_reply";
    std::string node;
    bool owner{}; ///< this node owns the workflow state: its answer is the whole answer
    bool more{};  ///< it had more than `limit` to list
    std::uint64_t workflows_held{}; ///< workflows this node keeps state or records about
    std::vector<stuck_entry> entries;
    bool operator==(const stuck_reply&) const = default;
    std::string label() const { return std::to_string(entries.size()) + " workflow(s)"; }
    MSGPACK_DEFINE_MAP(node, owner, more, workflows_held, entries)
};

// ---- delivery: at-least-once, exactly-once effects ------------------------------------------

/// Transport: the sender's workflow messages with these message ids have been handled. One ack
/// per peer per drained batch; never acknowledged itself, never handed to a pattern. Sent on
/// the connection the messages came in on (see docs/PROTOCOL.md, Delivery).
struct ack {
    static constexpr std::string_view type_name = "ack";
    std::vector<std::uint64_t> ids; ///< envelope message ids of the acknowledged messages
    bool operator==(const ack&) const = default;
    MSGPACK_DEFINE_MAP(ids)
};

/// Sent back on a request a node could not serve (unknown type, unexpected message).
struct error_reply {
    static constexpr std::string_view type_name = "error_reply";
    std::string code;
    std::string reason;
    bool operator==(const error_reply&) const = default;
    std::string label() const { return code; }
    MSGPACK_DEFINE_MAP(code, reason)
};

/// Registers the core's contracts with the codec (done once, before any decode).
void register_core_contracts();

} // namespace choreo::msg

// msg::value packs as the value it holds, and is read back as whatever value arrived.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
    namespace adaptor {

    template <> struct pack<choreo::msg::value> {
        template <class Stream>
        packer<Stream>& operator()(packer<Stream>& o, const choreo::msg::value& v) const {
            const auto b = v.bytes();
            // The bytes are one complete MessagePack value already: append them as they are.
            o.pack_str_body(b.data(), static_cast<std::uint32_t>(b.size()));
            return o;
        }
    };

    template <> struct convert<choreo::msg::value> {
        const msgpack::object& operator()(const msgpack::object& o, choreo::msg::value& v) const {
            msgpack::sbuffer buffer;
            msgpack::pack(buffer, o);
            v = choreo::msg::value::from_bytes(std::string(buffer.data(), buffer.size()));
            return o;
        }
    };

    } // namespace adaptor
}
} // namespace msgpack

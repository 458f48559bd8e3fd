// Every message contract choreo puts on the wire: plain structs encoded as MessagePack maps.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <msgpack.hpp>

/// The wire format is documented field by field in docs/PROTOCOL.md; keep the two in step.
namespace choreo::msg {

/// Carried by every message, beside its payload.
struct envelope {
    std::uint64_t message_id{}; ///< unique per sending node
    std::string workflow_id;    ///< the workflow this message belongs to
    std::string sender;         ///< name of the sending node
    std::int64_t sent_at_ns{};  ///< sender's clock, ns since the epoch
    std::uint32_t hop{};        ///< inter-service hops since the workflow was placed
    std::uint64_t query_id{};   ///< nonzero on status-query traffic
    bool operator==(const envelope&) const = default;
    MSGPACK_DEFINE_MAP(message_id, workflow_id, sender, sent_at_ns, hop, query_id)
};

struct line_item {
    std::string sku;
    std::uint32_t quantity{};
    std::uint64_t unit_price_cents{};
    bool operator==(const line_item&) const = default;
    MSGPACK_DEFINE_MAP(sku, quantity, unit_price_cents)
};

/// What the customer ordered; the domain services decide outcomes from it.
struct order {
    std::string customer;
    std::vector<line_item> items;
    bool operator==(const order&) const = default;
    MSGPACK_DEFINE_MAP(customer, items)
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
    std::string state; ///< "in_progress", "unknown", or a terminal state such as "completed"
    std::vector<step_record> steps;    ///< one per step, status "pending"/"unknown" when not done
    std::vector<step_record> notified; ///< services told of a failure
    bool operator==(const workflow_status&) const = default;
    MSGPACK_DEFINE_MAP(found, state, steps, notified)
};

// ---- client <-> workflow -------------------------------------------------------------------

/// Command: start a workflow. Sent by a client to the first service of the workflow.
struct place_order {
    std::string workflow; ///< workflow name: "order" or "chain:N"
    std::string reply_to; ///< node name of the client to tell when the workflow ends
    order details;
    bool operator==(const place_order&) const = default;
    MSGPACK_DEFINE_MAP(workflow, reply_to, details)
};

/// Event: the workflow reached a terminal state. Sent to the client that placed it.
struct workflow_ended {
    std::string workflow;
    std::string terminal; ///< "completed", "rejected", "payment_rejected", "back_ordered", ...
    std::string detail;
    bool operator==(const workflow_ended&) const = default;
    MSGPACK_DEFINE_MAP(workflow, terminal, detail)
};

// ---- inter-service -------------------------------------------------------------------------

/// Event: a step of the workflow finished (or failed); the receiver reacts by the model.
struct workflow_event {
    std::string workflow;
    std::string event;    ///< e.g. "payment_applied", "payment_declined"
    std::uint32_t step{}; ///< index of the step that produced the event
    std::string reply_to;
    order details;
    bool operator==(const workflow_event&) const = default;
    MSGPACK_DEFINE_MAP(workflow, event, step, reply_to, details)
};

/// Front controller: a service reports its progress to the first service of the chain.
struct progress_report {
    step_record record;
    std::string terminal; ///< nonempty when this report ends the workflow
    bool operator==(const progress_report&) const = default;
    MSGPACK_DEFINE_MAP(record, terminal)
};

/// Stamp coupling: one service's part of the stamp.
struct stamp_entry {
    std::string service;
    std::uint32_t step{}; ///< index of the step (for notified services: the failed step)
    std::string status;   ///< "pending", "done", "failed", "notified"
    std::string outcome;
    std::string detail;
    std::int64_t at_ns{};
    bool operator==(const stamp_entry&) const = default;
    MSGPACK_DEFINE_MAP(service, step, status, outcome, detail, at_ns)
};

/// Stamp coupling: the workflow state that travels inside the contract.
struct stamp {
    std::string workflow_id; ///< the workflow this stamp belongs to
    std::string state;       ///< "in_progress" or a terminal state
    std::uint32_t version{}; ///< bumped by every service that updates the stamp
    std::vector<stamp_entry> steps;
    std::vector<stamp_entry> notified;
    bool operator==(const stamp&) const = default;
    MSGPACK_DEFINE_MAP(workflow_id, state, version, steps, notified)
};

/// Stamp coupling: a workflow event with the stamp on it.
struct stamped_event {
    workflow_event event;
    msg::stamp stamp;
    bool operator==(const stamped_event&) const = default;
    MSGPACK_DEFINE_MAP(event, stamp)
};

// ---- status queries ------------------------------------------------------------------------

/// Front controller: ask the owner of the workflow state. Answered with status_reply.
struct status_request {
    std::string workflow_id; ///< the workflow asked about
    bool operator==(const status_request&) const = default;
    MSGPACK_DEFINE_MAP(workflow_id)
};

struct status_reply {
    std::string service;
    workflow_status status;
    bool operator==(const status_reply&) const = default;
    MSGPACK_DEFINE_MAP(service, status)
};

/// Stateless: ask one service for its live snapshot of a workflow. Answered with snapshot_reply.
struct snapshot_request {
    std::string workflow_id; ///< the workflow asked about
    bool operator==(const snapshot_request&) const = default;
    MSGPACK_DEFINE_MAP(workflow_id)
};

struct snapshot_reply {
    std::string service;
    std::vector<step_record> records; ///< empty: this service knows nothing of the workflow
    bool operator==(const snapshot_reply&) const = default;
    MSGPACK_DEFINE_MAP(service, records)
};

/// Stamp coupling: ask one service for the latest stamp it passed on. Answered with stamp_reply.
struct stamp_request {
    std::string workflow_id; ///< the workflow asked about
    bool operator==(const stamp_request&) const = default;
    MSGPACK_DEFINE_MAP(workflow_id)
};

struct stamp_reply {
    std::string service;
    bool found{};
    msg::stamp stamp;
    bool operator==(const stamp_reply&) const = default;
    MSGPACK_DEFINE_MAP(service, found, stamp)
};

// ---- inspection of a running node (multi-process runs) ------------------------------------

/// Domain effects that every pattern must produce identically for the same orders.
struct domain_effects {
    std::map<std::string, std::uint64_t> charged_cents;     ///< per customer
    std::map<std::string, std::int64_t> stock;              ///< per sku
    std::map<std::string, std::vector<std::string>> outbox; ///< per workflow id: email subjects
    std::uint64_t back_orders{};
    std::uint64_t orders_accepted{};
    std::uint64_t orders_rejected{};
    bool operator==(const domain_effects&) const = default;
    MSGPACK_DEFINE_MAP(charged_cents, stock, outbox, back_orders, orders_accepted, orders_rejected)
};

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
/// its domain effects and the workflow state it holds. Answered with inspect_reply.
struct inspect_request {
    std::uint64_t since_seq{};
    std::uint64_t limit{};
    bool operator==(const inspect_request&) const = default;
    MSGPACK_DEFINE_MAP(since_seq, limit)
};

struct inspect_reply {
    std::string node;
    std::vector<traffic_entry> sent; ///< in send order
    bool more{};                     ///< entries after the last one returned remain
    std::uint64_t received_messages{};
    std::uint64_t received_bytes{};
    std::uint64_t rejected{};
    std::uint64_t backlog{};
    std::uint64_t state_bytes{};
    std::uint64_t state_workflows{}; ///< workflows that state is about
    domain_effects effects;
    bool operator==(const inspect_reply&) const = default;
    MSGPACK_DEFINE_MAP(node, sent, more, received_messages, received_bytes, rejected, backlog,
                       state_bytes, state_workflows, effects)
};

/// Hold (or release) a service's workflow traffic, to catch a workflow mid-flight.
/// Answered with inspect_reply (without entries).
struct hold_request {
    bool hold{};
    bool operator==(const hold_request&) const = default;
    MSGPACK_DEFINE_MAP(hold)
};

/// Sent back on a request a node could not serve (unknown type, unexpected message).
struct error_reply {
    std::string code;
    std::string reason;
    bool operator==(const error_reply&) const = default;
    MSGPACK_DEFINE_MAP(code, reason)
};

/// The one list of all contracts: drives decoding and the codec round-trip tests.
using payload =
    std::variant<place_order, workflow_ended, workflow_event, progress_report, stamped_event,
                 status_request, status_reply, snapshot_request, snapshot_reply, stamp_request,
                 stamp_reply, error_reply, inspect_request, inspect_reply, hold_request>;

/// The type frame of each contract.
template <class T> constexpr std::string_view type_name() noexcept;
template <> constexpr std::string_view type_name<place_order>() noexcept {
    return "place_order";
}
template <> constexpr std::string_view type_name<workflow_ended>() noexcept {
    return "workflow_ended";
}
template <> constexpr std::string_view type_name<workflow_event>() noexcept {
    return "workflow_event";
}
template <> constexpr std::string_view type_name<progress_report>() noexcept {
    return "progress_report";
}
template <> constexpr std::string_view type_name<stamped_event>() noexcept {
    return "stamped_event";
}
template <> constexpr std::string_view type_name<status_request>() noexcept {
    return "status_request";
}
template <> constexpr std::string_view type_name<status_reply>() noexcept {
    return "status_reply";
}
template <> constexpr std::string_view type_name<snapshot_request>() noexcept {
    return "snapshot_request";
}
template <> constexpr std::string_view type_name<snapshot_reply>() noexcept {
    return "snapshot_reply";
}
template <> constexpr std::string_view type_name<stamp_request>() noexcept {
    return "stamp_request";
}
template <> constexpr std::string_view type_name<stamp_reply>() noexcept {
    return "stamp_reply";
}
template <> constexpr std::string_view type_name<error_reply>() noexcept {
    return "error_reply";
}
template <> constexpr std::string_view type_name<inspect_request>() noexcept {
    return "inspect_request";
}
template <> constexpr std::string_view type_name<inspect_reply>() noexcept {
    return "inspect_reply";
}
template <> constexpr std::string_view type_name<hold_request>() noexcept {
    return "hold_request";
}

/// Returns: the type frame of whatever contract p holds.
inline std::string_view type_name_of(const payload& p) noexcept {
    return std::visit([](const auto& m) { return type_name<std::decay_t<decltype(m)>>(); }, p);
}

} // namespace choreo::msg

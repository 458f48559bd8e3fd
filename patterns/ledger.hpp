// Transport-level accounting: every message a node sends or receives, counted as it crossed.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "patterns/contracts.hpp"
#include "patterns/retention.hpp"

namespace choreo {

/// One message as the transport carried it.
struct traffic_record {
    std::uint64_t seq{}; ///< order in which the ledger saw the sends
    std::int64_t at_ns{};
    std::string from;
    std::string to;
    std::string type;    ///< type frame
    std::string label;   ///< what it says, e.g. the event name or terminal state
    std::size_t bytes{}; ///< sum of the frame sizes on the wire ([type, body])
    std::string workflow_id;
    std::uint64_t query_id{}; ///< nonzero for status-query traffic
    bool client{};            ///< sent by or to a client node
};

struct traffic_totals {
    std::uint64_t messages{};
    std::uint64_t bytes{};
    bool operator==(const traffic_totals&) const = default;
    void add(std::size_t b) {
        ++messages;
        bytes += b;
    }
    void add(const traffic_totals& t) {
        messages += t.messages;
        bytes += t.bytes;
    }
};

/// The traffic of one workflow, status queries excluded.
struct workflow_traffic {
    traffic_totals inter_service; ///< between services
    traffic_totals client;        ///< to and from clients
    /// Its messages acknowledged by their receivers, each once (an ack of a duplicate is not
    /// counted here): on a healthy network, inter_service.messages + client.messages. Acks are
    /// transport traffic and are not among the messages above.
    std::uint64_t acked{};
    void add(const workflow_traffic& w) {
        inter_service.add(w.inter_service);
        client.add(w.client);
        acked += w.acked;
    }
};

/// Delivery traffic: acks and resends, apart from the workflow messages they carry.
struct delivery_totals {
    traffic_totals acks_sent;     ///< ack messages (one acknowledges many message ids)
    traffic_totals acks_received; ///< ack messages received
    std::uint64_t acked_ids{};    ///< message ids acknowledged, duplicates' included
    traffic_totals resent;        ///< workflow messages sent again (not in sent())
    traffic_totals duplicates; ///< copies received of messages applied already (not in received())
    bool operator==(const delivery_totals&) const = default;
    void add(const delivery_totals& d) {
        acks_sent.add(d.acks_sent);
        acks_received.add(d.acks_received);
        acked_ids += d.acked_ids;
        resent.add(d.resent);
        duplicates.add(d.duplicates);
    }
};

/// Returns: a short label of what a message says (event name, terminal state, ...).
std::string label_of(const msg::payload& p);

/// Counts sends (each message once) and, apart, receives, so that a quiet system can be checked
/// for loss: sent == received. Thread-safe.
///
/// Memory stays flat: per-workflow traffic is kept for workflows in progress and the last
/// `retain_finished` this node's owner has called finish() on; older ones are retired (totals
/// keep counting them). The kept trace holds the most recent records_per_workflow *
/// retain_finished records (deployments pass sends_per_workflow_bound() of their workflow, so
/// that the trace covers at least the retained workflows); older ones are dropped
/// (trace_dropped()), seq keeps counting.
///
/// Each node keeps its own ledger, written only on the node's io thread: its lock is only ever
/// contended by a reader. A deployment answers for all its nodes with a ledger built over
/// theirs (the second constructor), which reads each node's ledger when asked; nothing is
/// copied while the nodes run.
class ledger {
public:
    /// Records of the kept trace per finished workflow retained, unless told.
    static constexpr std::size_t trace_records_per_workflow = 8;

    /// keep_trace: also keep the most recent records_per_workflow * retain_finished records in
    /// order, for traces and diagrams. Requires: retain_finished >= 1.
    explicit ledger(bool keep_trace = false, std::size_t retain_finished = default_retain_finished,
                    std::size_t records_per_workflow = trace_records_per_workflow)
        : keep_trace_(keep_trace), trace_cap_(records_per_workflow * retain_finished),
          workflows_(retain_finished, retain_finished) {}
    /// A ledger that answers for `parts` as well as for what is recorded in it: totals and
    /// per-workflow traffic are summed, traces merged in the order the sends happened (the
    /// steady clock at record time, so in one process a cause comes before its effects) and
    /// numbered again from 1. The parts must outlive this ledger.
    ledger(std::vector<const ledger*> parts, bool keep_trace)
        : keep_trace_(keep_trace), parts_(std::move(parts)) {}
    ledger(const ledger&) = delete;
    ledger& operator=(const ledger&) = delete;

    /// Whether sends are also counted per workflow, for of_workflow() (the default). Without,
    /// only the totals are kept, so a ledger that outlives any number of workflows (a soak's
    /// client) stays the same size. Call before anything is recorded.
    void count_by_workflow(bool on) {
        std::lock_guard lock(mutex_);
        by_workflow_ = on;
    }

    /// Counts one send and, if keeps_trace(), keeps its record.
    void record_sent(traffic_record r);
    /// Counts one send without a record to keep: what a node does when !keeps_trace(), so
    /// that no record is built on the fast path.
    void count_sent(std::string_view workflow_id, std::uint64_t query_id, bool client,
                    std::size_t bytes);
    void record_received(std::size_t bytes);
    /// Counts one ack sent, acknowledging `ids` message ids (not in sent()).
    void count_ack_sent(std::size_t ids, std::size_t bytes);
    /// Counts one ack received (not in received()).
    void count_ack_received(std::size_t bytes);
    /// Counts one message of `workflow_id` acknowledged for the first time, in of_workflow(),
    /// if the workflow is held here (an id that is not is neither taken up nor counted).
    void count_acked(std::string_view workflow_id);
    /// Counts one workflow message sent again (not in sent()).
    void count_resent(std::size_t bytes);
    /// A message counted by record_received() was a copy of one applied already: it moves to
    /// the delivery totals, so that sent() == received() still holds once all is received.
    void count_duplicate(std::size_t bytes);
    /// This node is done with `workflow_id`: its traffic here is kept until `retain_finished`
    /// later workflows are done too, then retired. Sends for it after that count in the totals
    /// only.
    void finish(std::string_view workflow_id);
    /// Adds counts of messages received elsewhere (when gathering other processes' ledgers).
    void record_received_total(std::uint64_t messages, std::uint64_t bytes);

    traffic_totals sent() const;
    traffic_totals received() const;
    /// Returns: acks and resends, here and in the parts.
    delivery_totals delivery() const;
    /// Returns: the traffic of one workflow, or nullopt if none was seen.
    std::optional<workflow_traffic> of_workflow(const std::string& workflow_id) const;
    /// Returns: the traffic of all these workflows together (ids never seen add nothing).
    workflow_traffic of_workflows(const std::vector<std::string>& workflow_ids) const;
    /// Returns: the kept records, in send order (empty unless keep_trace).
    std::vector<traffic_record> trace() const;
    std::vector<traffic_record> trace_of(const std::string& workflow_id) const;
    /// Returns: up to `limit` kept records with seq > `since`, in send order.
    std::vector<traffic_record> trace_since(std::uint64_t since, std::size_t limit) const;
    bool keeps_trace() const noexcept { return keep_trace_; }
    /// Returns: records dropped from the kept trace (the oldest, beyond its cap), here and in
    /// the parts.
    std::uint64_t trace_dropped() const;
    /// Returns: workflows whose traffic is held here (not in the parts).
    std::size_t workflows_held() const;

private:
    struct keyed {
        std::int64_t order; ///< steady clock when recorded
        traffic_record record;
    };
    void add_sent(std::string_view workflow_id, std::uint64_t query_id, bool client,
                  std::size_t bytes);
    /// Appends this ledger's kept records and its parts', with their order keys.
    void collect(std::vector<keyed>& out) const;
    /// Returns: the trace of this ledger and its parts, merged and numbered from 1.
    std::vector<traffic_record> merged_trace() const;
    /// Adds the traffic of `workflow_id` seen here and in the parts. Returns: any was seen.
    bool add_workflow(std::string_view workflow_id, workflow_traffic& sum) const;
    void add_totals(traffic_totals& sent, traffic_totals& received) const;
    void add_delivery(delivery_totals& sum) const;

    mutable std::mutex mutex_;
    bool keep_trace_;
    bool by_workflow_ = true;
    std::size_t trace_cap_ = 0; ///< 0: no cap (a ledger over parts keeps nothing itself)
    std::vector<const ledger*> parts_;
    std::uint64_t seq_ = 0;
    std::uint64_t dropped_ = 0; ///< records dropped from the front of trace_
    traffic_totals sent_, received_;
    delivery_totals delivery_;
    retention_map<workflow_traffic> workflows_;
    std::deque<traffic_record> trace_;
    std::deque<std::int64_t> trace_order_; ///< steady clock of each kept record
};

} // namespace choreo

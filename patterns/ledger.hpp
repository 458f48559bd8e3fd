// Transport-level accounting: every message a node sends or receives, counted as it crossed.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "patterns/contracts.hpp"

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
};

/// The traffic of one workflow, status queries excluded.
struct workflow_traffic {
    traffic_totals inter_service; ///< between services
    traffic_totals client;        ///< to and from clients
};

/// Returns: a short label of what a message says (event name, terminal state, ...).
std::string label_of(const msg::payload& p);

/// Shared by the nodes of one process; thread-safe. Counts sends (each message once) and, apart,
/// receives, so that a quiet system can be checked for loss: sent == received.
class ledger {
public:
    /// keep_trace: also keep every record in order, for traces and diagrams.
    explicit ledger(bool keep_trace = false) : keep_trace_(keep_trace) {}

    void record_sent(traffic_record r);
    void record_received(std::size_t bytes);
    /// Adds counts of messages received elsewhere (when gathering other processes' ledgers).
    void record_received_total(std::uint64_t messages, std::uint64_t bytes);

    traffic_totals sent() const;
    traffic_totals received() const;
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

private:
    mutable std::mutex mutex_;
    bool keep_trace_;
    std::uint64_t seq_ = 0;
    traffic_totals sent_, received_;
    std::unordered_map<std::string, workflow_traffic> workflows_;
    std::vector<traffic_record> trace_;
};

} // namespace choreo

// The client side of every pattern: place orders, hear when they end, ask for their status.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "patterns/ledger.hpp"
#include "patterns/node.hpp"
#include "patterns/pattern.hpp"

namespace choreo {

/// How a workflow ended, as the client heard it.
struct workflow_outcome {
    std::string workflow_id;
    std::string terminal;
    std::string detail;
    /// When place() was called and when workflow_ended arrived, on the steady clock of this
    /// process (steady_ns()): ended_ns - placed_ns is the end-to-end latency. Not wall-clock
    /// times, and not comparable with an envelope's sent_at_ns.
    std::int64_t placed_ns{};
    std::int64_t ended_ns{};
    /// Messages on the path from place_order to workflow_ended, both included (the envelope's
    /// hop count of workflow_ended + 2): the critical path of this workflow.
    std::uint32_t path_messages{};
};

/// The answer to a status query and what it cost, as the client's transport counted it.
struct status_answer {
    std::string workflow_id;
    msg::workflow_status status;
    traffic_totals cost;            ///< requests sent + replies received
    std::vector<std::string> asked; ///< services the query went to
    std::vector<std::string> answered;
    std::vector<std::string> errors; ///< error replies, "service: reason"
    std::vector<message> replies;    ///< what came back, as the pattern assembled it from
    /// From the query leaving the client's io thread to its last reply (or timeout), on the
    /// steady clock.
    std::int64_t latency_ns{};
};

/// A client node. Its methods may be called from any thread; the blocking ones (wait_for,
/// status, ask) never from the node's own, where its handlers run.
class client {
public:
    client(node& net, const pattern& p, const workflow& wf,
           std::chrono::milliseconds query_timeout = std::chrono::seconds(2));
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Starts a workflow with its business payload, where the pattern says workflows enter.
    /// The order is delivered at least once: the node sends it again until the entry acks it
    /// (node_options::resend_initial and after), and the entry applies it once; the client
    /// acks every workflow_ended it reads, and drops one it has read before.
    /// Called on the node's io thread (from an on_ended hook, say) the order is sent at once;
    /// from any other thread it is queued to the io thread. The same holds for query_status().
    /// An order that cannot be sent (its entry is not in the topology, the node is stopped, the
    /// entry went away while it was sent) ends the workflow here, at once, in terminal "failed"
    /// with the reason as detail: wait_for(), outcome() and the on_ended hook see it as any end.
    /// Returns: the new workflow's id.
    std::string place(const msg::value& details);
    /// Starts a workflow under a given workflow id. The same id placed again starts nothing:
    /// the entry refuses it (error_reply duplicate_workflow, logged here) and the workflow
    /// placed first ends once.
    void place(const std::string& workflow_id, const msg::value& details);

    /// Sends an event from outside the chain for a placed workflow (an interrupt's command such
    /// as "cancel_ticket", or an event a step awaits), with the workflow's business payload, to
    /// where the pattern says such events go. Queued to the io thread as place() is; an event
    /// that cannot be sent is counted and logged by the node, and changes nothing.
    /// Returns: errc::unknown_workflow if the model has no such event (nothing is sent).
    std::error_code send_outside(const std::string& workflow_id, const std::string& event,
                                 const msg::value& details);

    /// Waits until every id in `ids` has ended or `timeout` passed. Returns: all ended.
    /// Needs kept outcomes (keep_outcomes()).
    bool wait_for(const std::vector<std::string>& ids, std::chrono::milliseconds timeout) const;
    /// Returns: how a workflow ended, or nullopt if it has not (or outcomes are not kept).
    std::optional<workflow_outcome> outcome(const std::string& workflow_id) const;
    /// Returns: how many workflows have ended, kept or not.
    std::size_t ended_count() const;
    /// Whether outcomes are kept for outcome() and wait_for() (the default). Without, the client
    /// holds a workflow only while it is in flight: its outcome goes to the on_ended hook and is
    /// forgotten, so memory stays flat over any number of workflows (a soak). A workflow_ended
    /// for a workflow not in flight (ended twice) is then logged and dropped as before.
    /// Call before placing orders.
    void keep_outcomes(bool keep) {
        std::lock_guard lock(mutex_);
        keep_outcomes_ = keep;
    }

    /// Asks for a workflow's status as the pattern plans it.
    std::future<status_answer> query_status(const std::string& workflow_id);
    /// Blocking form of query_status().
    status_answer status(const std::string& workflow_id);

    /// Sends one request to one node and waits for its reply (an inspect_request, say).
    /// Returns: the reply, errc::timeout, or errc::unknown_service.
    result<message> ask(const std::string& node_name, msg::payload request,
                        std::chrono::milliseconds timeout);

    /// Called on the io thread whenever a workflow ends; replaces any earlier hook.
    void on_ended(std::function<void(const workflow_outcome&)> f) {
        std::lock_guard lock(mutex_);
        ended_hook_ = std::move(f);
    }

    const std::string& name() const noexcept { return node_.name(); }
    /// Workflow ids are "<prefix>-<n>"; the prefix is the node name unless set (call before
    /// placing orders). Clients that restart under one name need distinct prefixes.
    void set_id_prefix(std::string prefix) { id_prefix_ = std::move(prefix); }
    /// Returns: the id place() gives the n-th order (from 1).
    std::string workflow_id(std::uint64_t n) const {
        return (id_prefix_.empty() ? node_.name() : id_prefix_) + "-" + std::to_string(n);
    }

private:
    struct pending_query;
    void receive(const incoming& in);
    void finish(std::uint64_t query_id);
    /// Records how a workflow ended and tells the on_ended hook; io thread only.
    void ended(workflow_outcome o);
    /// Ends a workflow whose place_order never left: terminal "failed", `why` as detail.
    void not_placed(const std::string& workflow_id, const std::string& why);

    node& node_;
    const pattern& pattern_;
    const workflow& workflow_;
    const std::set<std::string> enders_; ///< who may send workflow_ended (pattern::enders)
    std::chrono::milliseconds query_timeout_;
    std::function<void(const workflow_outcome&)> ended_hook_;
    std::string id_prefix_;

    mutable std::mutex mutex_;
    mutable std::condition_variable ended_cv_;
    std::uint64_t next_id_ = 0;
    bool keep_outcomes_ = true;
    std::size_t ended_count_ = 0;
    std::unordered_map<std::string, std::int64_t> placed_at_; ///< workflows in flight
    std::unordered_map<std::string, workflow_outcome> ended_; ///< if keep_outcomes_

    // io thread only
    std::uint64_t next_query_ = 0;
    std::map<std::uint64_t, std::unique_ptr<pending_query>> queries_;
    std::map<std::uint64_t, std::promise<message>> asks_;
};

} // namespace choreo

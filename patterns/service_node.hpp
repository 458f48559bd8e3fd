// One domain service in one node, run under one pattern.
#pragma once

#include <deque>
#include <functional>
#include <memory>

#include <boost/asio/steady_timer.hpp>

#include "patterns/domain.hpp"
#include "patterns/durable.hpp"
#include "patterns/node.hpp"
#include "patterns/pattern.hpp"

namespace choreo {

/// Returns: the domain service node `name` runs for `wf` under `p`, from the workflow's module;
/// nullptr for a node the pattern adds (an orchestrator, say); errc::unknown_service if `name`
/// is no node of that deployment.
result<std::unique_ptr<domain_service>> domain_for(const pattern& p, const workflow& wf,
                                                   std::string_view name);

/// One node of a deployment: a domain service (or a node of the pattern's own) under a pattern.
class service_node {
public:
    /// `domain` may be null for a node that runs no domain service. With options.data_dir the
    /// node is durable (docs/PROTOCOL.md, Durability): it opens DIR/NAME.db and, if that holds
    /// a previous run's state, loads its snapshot, replays its journal (sending nothing) and
    /// sends its outbox again once started.
    /// Throws: store_refused naming the path and the reason if the data directory cannot be
    /// used (nothing in it is changed then).
    service_node(zmq::context_t& context, asio::io_context& io, const pattern& p,
                 const workflow& wf, std::string name, std::unique_ptr<domain_service> domain,
                 ledger& book, node_options options = {});
    ~service_node();
    service_node(const service_node&) = delete;
    service_node& operator=(const service_node&) = delete;

    node& net() noexcept { return node_; }
    /// Returns: the node's domain service, or nullptr.
    domain_service* domain() noexcept { return domain_.get(); }
    const service_behaviour& behaviour() const noexcept { return *behaviour_; }
    /// Returns: workflows whose events from outside the chain, come early, this node evicted
    /// unused (its domain service's and its pattern's, node_options::retain_early); each was
    /// logged at warn when it happened.
    std::uint64_t early_evicted() const {
        return (domain_ ? domain_->early_evicted() : 0) + behaviour_->early_evicted();
    }
    /// The pattern's behaviour, to load a snapshot into (on the io thread).
    service_behaviour& behaviour() noexcept { return *behaviour_; }
    /// Returns: the node's durable store, or nullptr for a node in memory.
    durable_store* durable() noexcept { return durable_.get(); }
    /// What a durable node found in its store when it started.
    struct recovery {
        bool snapshot = false;          ///< a snapshot was loaded
        std::uint64_t replayed = 0;     ///< journaled messages replayed after it
        std::uint64_t later_rounds = 0; ///< journaled rounds of later work replayed among them
        std::uint64_t unacked = 0;      ///< outbox messages to send again
    };
    const recovery& recovered() const noexcept { return recovered_; }
    /// Returns: snapshots written since the node started.
    std::uint64_t snapshots() const noexcept { return snapshots_; }

    /// Holds workflow traffic (not status queries) unprocessed until release(): lets a demo or
    /// test catch a workflow mid-flight. Call on the io thread.
    void hold() { held_ = true; }
    /// Calls `h` on the io thread after each workflow message (query_id 0) the node's behaviour
    /// has handled: its effects applied, its sends handed to the node (fault injection counts
    /// handled messages with it).
    void on_handled(std::function<void(const incoming&)> h) { handled_hook_ = std::move(h); }
    void release();

    /// Returns: what this node sent after `since` (at most `limit` entries), its counters, its
    /// domain effects, its domain data and the workflow state it holds. Answers
    /// inspect_request.
    msg::inspect_reply inspect(std::uint64_t since, std::size_t limit) const;

private:
    void receive(const incoming& in);
    void open_store(const pattern& p, const workflow& wf, const node_options& options);
    void before_commit();
    /// Arms the later-work timer if the domain service holds work for later and it is not armed.
    void arm_later();
    /// One round of the domain service's later work: journaled first on a durable node (a
    /// restart replays it in its place among the messages), then committed.
    void later_round();

    node node_;
    std::unique_ptr<domain_service> domain_;
    service_context context_;
    std::unique_ptr<service_behaviour> behaviour_;
    bool held_ = false;
    std::deque<incoming> waiting_;
    std::function<void(const incoming&)> handled_hook_;
    std::shared_ptr<durable_store> durable_;
    std::uint64_t snapshot_every_batches_ = 0;
    std::uint64_t snapshot_every_messages_ = 0;
    std::uint64_t batches_since_snapshot_ = 0;
    std::uint64_t snapshots_ = 0;
    recovery recovered_;
    codec_limits limits_;
    asio::steady_timer later_timer_;
    bool later_armed_ = false;
};

} // namespace choreo

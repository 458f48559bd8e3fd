// One domain service in one node, run under one pattern.
#pragma once

#include <deque>
#include <functional>
#include <memory>

#include "patterns/domain.hpp"
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
    /// `domain` may be null for a node that runs no domain service.
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
    /// The pattern's behaviour, to load a snapshot into (on the io thread).
    service_behaviour& behaviour() noexcept { return *behaviour_; }

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

    node node_;
    std::unique_ptr<domain_service> domain_;
    service_context context_;
    std::unique_ptr<service_behaviour> behaviour_;
    bool held_ = false;
    std::deque<incoming> waiting_;
    std::function<void(const incoming&)> handled_hook_;
};

} // namespace choreo

// A deployment whose services run elsewhere (other processes or hosts), driven by a local client.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <zmq.hpp>

#include "patterns/deployment.hpp"

namespace choreo {

struct remote_options {
    std::string client_name = "client";
    std::string id_prefix; ///< workflow id prefix; unique per run if empty (name-pid-time)
    std::chrono::milliseconds query_timeout{2'000};
    std::chrono::milliseconds inspect_timeout{5'000};
    /// false: the client keeps nothing about a workflow once it has ended (no trace, no
    /// per-workflow counts, outcomes only handed to client::on_ended), so that its memory stays
    /// flat over any number of workflows (a soak). traffic() then has only the nodes' records.
    bool keep_history = true;
    node_options node;
};

/// Binds the client's inbox at its endpoint in the topology (`tcp://HOST:*` lets the OS pick the
/// port: where() has it) and talks to the services there.
/// Figures are gathered from the services' own ledgers with inspect_request.
class remote_deployment final : public deployment {
public:
    /// Throws: std::invalid_argument if the topology lacks a service or the client; zmq::error_t
    /// if the client's endpoint cannot be bound.
    remote_deployment(const pattern& p, workflow wf, topology where, remote_options options = {});
    ~remote_deployment() override;
    remote_deployment(const remote_deployment&) = delete;
    remote_deployment& operator=(const remote_deployment&) = delete;

    choreo::client& client() noexcept override { return *client_; }
    const workflow& flow() const noexcept override { return workflow_; }
    const pattern& used_pattern() const noexcept override { return pattern_; }
    const ledger& traffic() override;
    /// Returns: the client's own ledger, as it counted (delivery traffic included).
    const ledger& client_ledger() const noexcept { return own_; }
    domain_effects effects_now() override;
    void hold(const std::string& service) override;
    void release(const std::string& service) override;
    std::uint64_t rejected() override;
    std::size_t workflow_state_bytes() override;
    std::size_t domain_bytes() override;
    std::size_t workflows_with_state() override;

    /// Returns: the topology this client talks over, with its own endpoint as bound (a tcp
    /// wildcard port resolved): what the nodes need to reach it.
    const topology& where() const noexcept { return topology_; }

    /// Waits until the nodes answer: an operator's client (or one without keys) every node, an
    /// inspect_request each; any other client the nodes a status query asks, a status query
    /// each (of no workflow), since the nodes refuse it inspection.
    /// Returns: the nodes that did not answer within `timeout`.
    std::vector<std::string> wait_ready(std::chrono::milliseconds timeout);
    /// Returns: each node's inspect_reply without its trace.
    /// Throws: std::runtime_error naming a node that does not answer.
    std::vector<msg::inspect_reply> inspect_all();
    /// Returns: one node's inspect_reply, with at most `limit` trace entries after `since`.
    /// Throws: std::runtime_error if the node does not answer.
    msg::inspect_reply inspect(const std::string& service, std::uint64_t since,
                               std::uint64_t limit);

private:
    const pattern& pattern_;
    workflow workflow_;
    topology topology_;
    remote_options options_;
    bool is_operator_ = false; ///< the client's topology line says operator
    zmq::context_t context_;
    ledger own_;
    std::unique_ptr<ledger> gathered_;
    boost::asio::io_context io_;
    std::unique_ptr<node> node_;
    std::unique_ptr<choreo::client> client_;
    std::thread thread_;
};

} // namespace choreo

// Every service of a workflow and a client, each a node on its own thread, in this process.
#pragma once

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <zmq.hpp>

#include "patterns/client.hpp"
#include "patterns/domain.hpp"
#include "patterns/ledger.hpp"
#include "patterns/pattern.hpp"
#include "patterns/service_node.hpp"
#include "patterns/topology.hpp"
#include "patterns/workflow_module.hpp"

namespace choreo {

struct deployment_options {
    transport via = transport::inproc;
    bool keep_trace = false; ///< keep every message in the ledger, for traces and diagrams
    node_options node;
    std::chrono::milliseconds query_timeout{2'000};
    std::string client_name = "client";
    /// Every socket speaks CURVE, with keys made in memory for each node and for the client
    /// (an operator: it may inspect and hold). Without, sockets speak NULL.
    bool curve = false;
    /// Nodes that run but are left out of the topology every node is given: nobody can send to
    /// them (a deployment with a service missing, to see how each pattern copes).
    std::vector<std::string> unlisted;
    /// Nodes whose sends wait longer than node.link_delay: node name -> its own link_delay.
    std::map<std::string, std::chrono::nanoseconds> link_delays;
};

/// A workflow's services under one pattern, and a client to drive them: the same interface
/// whether the services run in this process or as processes of their own.
class deployment {
public:
    virtual ~deployment() = default;

    virtual choreo::client& client() = 0;
    virtual const workflow& flow() const = 0;
    virtual const pattern& used_pattern() const = 0;
    /// Returns: the workflow's domain services.
    std::vector<std::string> services() const { return flow().services(); }
    /// Returns: every node but the client: the domain services, then the pattern's own nodes.
    std::vector<std::string> nodes() const { return used_pattern().nodes(flow()); }
    /// Returns: the transport's accounting of every node (gathered from them if remote).
    virtual const ledger& traffic() = 0;
    /// Returns: the domain effects of every service, once the workflow's module says they
    /// have settled (workflow_module::settled: no service holds work for later, such as a
    /// survey to retry), or as they are after `settle_within` if they have not.
    domain_effects effects(std::chrono::milliseconds settle_within = std::chrono::seconds(10));
    /// Returns: the domain effects of every service as they are now.
    virtual domain_effects effects_now() = 0;
    /// Holds a service's workflow traffic (status queries still pass) until release().
    virtual void hold(const std::string& service) = 0;
    virtual void release(const std::string& service) = 0;
    /// Returns: messages refused by the services, all together.
    virtual std::uint64_t rejected() = 0;
    /// Returns: bytes of workflow state held by all nodes together.
    virtual std::size_t workflow_state_bytes() = 0;
    /// Returns: bytes of domain data held by all domain services together.
    virtual std::size_t domain_bytes() = 0;
    /// Returns: the most workflows any one service holds state about.
    virtual std::size_t workflows_with_state() = 0;
};

/// Every node in this process. Starts on construction, stops on destruction. Each node has its
/// own io_context and thread; all bind loopback endpoints (tcp ports read back after binding).
class local_deployment final : public deployment {
public:
    /// Throws: std::invalid_argument or zmq::error_t if the deployment cannot be set up (a
    /// workflow without a module, say).
    local_deployment(const pattern& p, workflow wf, deployment_options options = {});
    ~local_deployment() override;
    local_deployment(const local_deployment&) = delete;
    local_deployment& operator=(const local_deployment&) = delete;

    choreo::client& client() noexcept override { return *client_; }
    const workflow& flow() const noexcept override { return workflow_; }
    const pattern& used_pattern() const noexcept override { return pattern_; }
    /// Returns: every node's traffic together. Each node counts in its own ledger, on its own
    /// thread; this ledger reads theirs when asked (totals summed, traces merged in send order).
    const ledger& traffic() noexcept override { return *ledger_; }
    const ledger& book() const noexcept { return *ledger_; }
    const topology& where() const noexcept { return topology_; }
    /// Returns: the credentials of a node or the client (options.curve), or null.
    std::shared_ptr<const credentials> keys_of(const std::string& name) const {
        const auto it = keys_.find(name);
        return it == keys_.end() ? nullptr : it->second;
    }

    /// Runs `fn(service_node&)` on that node's thread and waits for its result.
    /// Throws: std::out_of_range for an unknown node.
    template <class F> auto on_service(const std::string& service, F fn) {
        auto& u = unit_of(service);
        std::packaged_task<decltype(fn(*u.service))()> task([&] { return fn(*u.service); });
        auto done = task.get_future();
        boost::asio::post(u.io, [&task] { task(); });
        return done.get();
    }

    /// Returns: the domain effects of every service, gathered on their threads.
    domain_effects effects_now() override;
    /// Returns: the counters of a node (a service or the client).
    node_counters counters(const std::string& node_name);
    /// Returns: per node (the client's aside), the CPU time its thread has used so far: the
    /// pattern's and the domain's work on its messages (the transport's own threads aside).
    std::map<std::string, std::chrono::nanoseconds> cpu_used();
    /// Returns: the incidents a node kept (node::incidents).
    std::vector<incident> incidents(const std::string& node_name);
    std::uint64_t rejected() override;
    std::size_t workflow_state_bytes() override;
    std::size_t domain_bytes() override;
    std::size_t workflows_with_state() override;
    void hold(const std::string& service) override;
    void release(const std::string& service) override;
    /// Returns: what escaped a handler of one of the nodes ("node: what"), once the deployment
    /// has stopped every node because of it (their sends then fail, their io threads go on
    /// running), so that whatever waits on it ends at once rather than at its deadline.
    std::optional<std::string> failure() const;

private:
    struct unit {
        unit(bool keep_trace, std::size_t retain_finished, std::size_t records_per_workflow)
            : book(keep_trace, retain_finished, records_per_workflow) {}
        boost::asio::io_context io;
        ledger book; // this node's own: written on its thread only
        std::unique_ptr<service_node> service;
        std::unique_ptr<node> plain; // the client's node
        std::thread thread;
        node& net() { return service ? service->net() : *plain; }
    };
    unit& unit_of(const std::string& name);
    void escaped(const std::string& node_name, std::string_view what);

    const pattern& pattern_;
    workflow workflow_;
    deployment_options options_;
    zmq::context_t context_;
    topology topology_;
    std::map<std::string, std::shared_ptr<const credentials>> keys_;
    std::vector<std::unique_ptr<unit>> units_;
    std::unique_ptr<ledger> ledger_; ///< over the units' ledgers
    std::unique_ptr<choreo::client> client_;
    mutable std::mutex failure_mutex_;
    std::optional<std::string> failure_;
    bool stopping_ = false; ///< an escape is being handled; under failure_mutex_
};

} // namespace choreo

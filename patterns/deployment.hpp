// Every service of a workflow and a client, each a node on its own thread, in this process.
#pragma once

#include <chrono>
#include <future>
#include <memory>
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

namespace choreo {

struct deployment_options {
    transport via = transport::inproc;
    bool keep_trace = false; ///< keep every message in the ledger, for traces and diagrams
    node_options node;
    std::chrono::milliseconds query_timeout{2'000};
    std::string client_name = "client";
};

/// Starts on construction, stops on destruction. Each node has its own io_context and thread;
/// all of them bind loopback endpoints (tcp ports chosen by the kernel and read back).
class deployment {
public:
    /// Throws: std::invalid_argument or zmq::error_t if the deployment cannot be set up.
    deployment(const pattern& p, workflow wf, deployment_options options = {},
               const domain_fixture& fixture = domain_fixture::standard());
    ~deployment();
    deployment(const deployment&) = delete;
    deployment& operator=(const deployment&) = delete;

    choreo::client& client() noexcept { return *client_; }
    const ledger& book() const noexcept { return ledger_; }
    const workflow& flow() const noexcept { return workflow_; }
    const pattern& pattern_used() const noexcept { return pattern_; }
    const topology& where() const noexcept { return topology_; }
    std::vector<std::string> services() const { return workflow_.services(); }

    /// Runs `fn(service_node&)` on that service's thread and waits for its result.
    /// Throws: std::out_of_range for an unknown service.
    template <class F> auto on_service(const std::string& service, F fn) {
        auto& u = unit_of(service);
        std::packaged_task<decltype(fn(*u.service))()> task([&] { return fn(*u.service); });
        auto done = task.get_future();
        boost::asio::post(u.io, [&task] { task(); });
        return done.get();
    }

    /// Returns: the domain effects of every service, gathered on their threads.
    domain_effects effects();
    /// Returns: the counters of a node (a service or the client).
    node_counters counters(const std::string& node_name);
    /// Returns: bytes of workflow state held by all services together.
    std::size_t workflow_state_bytes();

    void hold(const std::string& service);
    void release(const std::string& service);

private:
    struct unit {
        boost::asio::io_context io;
        std::unique_ptr<service_node> service;
        std::unique_ptr<node> plain; // the client's node
        std::thread thread;
        node& net() { return service ? service->net() : *plain; }
    };
    unit& unit_of(const std::string& name);

    const pattern& pattern_;
    workflow workflow_;
    deployment_options options_;
    zmq::context_t context_;
    ledger ledger_;
    topology topology_;
    std::vector<std::unique_ptr<unit>> units_;
    std::unique_ptr<choreo::client> client_;
};

} // namespace choreo

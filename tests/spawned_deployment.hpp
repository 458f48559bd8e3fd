// Every node as a choreo-node process over tcp, with faults, driven by a client in the test;
// and what the traffic model says a node receives: the fault tests' shared ground.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "demo/faults.hpp"
#include "demo/spawn.hpp"
#include "harness.hpp"
#include "patterns/remote_deployment.hpp"
#include "traffic_model.hpp"

namespace choreo::testing {

/// Returns: the workflow messages (inter-service and from the client) `node` receives for one
/// workflow of `wf` taking route `r` under `p`, as the model says.
inline std::size_t received_per_workflow(const pattern& p, const workflow& wf, const route& r,
                                         const std::string& node) {
    const auto t = expected_for(p, wf, r);
    std::size_t n = 0;
    for (const auto& links : {t.inter_service, t.client}) {
        for (const auto& [from, to] : links) {
            n += to == node ? 1 : 0;
        }
    }
    return n;
}

/// A deployment of choreo-node processes over tcp with `faults` (durable unless `node_args`
/// say otherwise), ready to serve once wait_ready() has answered.
struct spawned {
    spawned(const pattern& p, const workflow& wf, const std::vector<std::string>& faults,
            std::vector<std::string> node_args = {}, remote_options o = remote())
        : children(std::string(CHOREO_BIN_DIR) + "/choreo-node", p, wf, transport::tcp, {"client"},
                   {}, default_retain_finished, std::move(node_args),
                   demo::parse_faults(faults).plan, 1),
          d(p, wf, children.where(), o) {
        children.share(d.where());
    }
    demo::spawned_services children;
    remote_deployment d;
};

} // namespace choreo::testing

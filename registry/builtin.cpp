#include "registry/builtin.hpp"

#include "front_controller/front_controller.hpp"
#include "orchestration/orchestration.hpp"
#include "stamp_coupling/stamp_coupling.hpp"
#include "stateless/stateless.hpp"
#include "workflows/chain/chain.hpp"
#include "workflows/order/order.hpp"
#include "workflows/ticket/ticket.hpp"

namespace choreo {

const registry& builtin_patterns() {
    static const registry instance = [] {
        registry r;
        r.add(std::make_unique<front_controller::pattern>());
        r.add(std::make_unique<stateless::pattern>());
        r.add(std::make_unique<stamp_coupling::pattern>());
        r.add(std::make_unique<orchestration::pattern>());
        return r;
    }();
    return instance;
}

const workflow_registry& builtin_workflows() {
    static const workflow_registry instance = [] {
        workflow_registry r;
        r.add(order::make_module());
        r.add(chain::make_module());
        r.add(ticket::make_module());
        return r;
    }();
    return instance;
}

} // namespace choreo

#include "registry/builtin.hpp"

#include "front_controller/front_controller.hpp"
#include "stamp_coupling/stamp_coupling.hpp"
#include "stateless/stateless.hpp"

namespace choreo {

const registry& builtin_patterns() {
    static const registry instance = [] {
        registry r;
        r.add(std::make_unique<front_controller::pattern>());
        r.add(std::make_unique<stateless::pattern>());
        r.add(std::make_unique<stamp_coupling::pattern>());
        return r;
    }();
    return instance;
}

} // namespace choreo

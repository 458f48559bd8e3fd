#include "patterns/contracts.hpp"

#include "patterns/codec.hpp"

namespace choreo::msg {

void register_core_contracts() {
    constexpr std::string_view core = "core";
    register_contract<place_order>(core);
    register_contract<workflow_ended>(core);
    register_contract<workflow_event>(core);
    register_contract<status_request>(core);
    register_contract<status_reply>(core);
    register_contract<inspect_request>(core);
    register_contract<inspect_reply>(core);
    register_contract<hold_request>(core);
    register_contract<error_reply>(core);
    register_contract<stuck_request>(core);
    register_contract<stuck_reply>(core);
    register_contract<ack>(core);
}

} // namespace choreo::msg

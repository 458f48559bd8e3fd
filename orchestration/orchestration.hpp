// Orchestration: one orchestrator per workflow calls each service in turn and owns the state.
#pragma once

#include "patterns/pattern.hpp"

namespace choreo::orchestration {

/// Returns: the orchestrator's node name for `wf`, e.g. "order_orchestrator" or
/// "chain_orchestrator" (the workflow's name up to its first ':').
std::string orchestrator_of(const workflow& wf);

/// The baseline the chapter judges choreography against. The orchestrator, a node that is not
/// a domain service, takes the workflow from the client, sends each service its step and
/// waits for its reply, handles every failure by the model (telling the services it names)
/// and ends the workflow to the client. A status query is one request to it, one reply.
class pattern final : public choreo::pattern {
public:
    /// Registers the pattern's contracts with the codec.
    pattern();

private:
    std::string_view do_name() const noexcept override { return "orchestration"; }
    std::string_view do_summary() const noexcept override;
    std::string do_entry(const workflow& wf) const override;
    std::vector<std::string> do_extra_nodes(const workflow& wf) const override;
    /// The orchestrator alone hears events from outside the chain: it owns the workflow.
    std::vector<std::string> do_outside_event_targets(const workflow& wf,
                                                      std::string_view) const override {
        return {orchestrator_of(wf)};
    }
    /// Only the orchestrator ends workflows.
    std::set<std::string> do_enders(const workflow& wf) const override {
        return {orchestrator_of(wf)};
    }
    std::unique_ptr<service_behaviour> do_make_service(service_context& ctx) const override;
    status_plan do_plan_status_query(const workflow& wf,
                                     const std::string& workflow_id) const override;
    msg::workflow_status do_assemble_status(const workflow& wf, const std::vector<message>& replies,
                                            const std::set<std::string>& silent) const override;
};

} // namespace choreo::orchestration

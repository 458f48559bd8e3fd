// Front controller: the first service of the chain owns the workflow state.
#pragma once

#include "patterns/pattern.hpp"

namespace choreo::front_controller {

/// The first service (order placement) keeps every workflow's state; every other service
/// reports its progress to it after each step; a status query is one request to it, one reply.
class pattern final : public choreo::pattern {
public:
    /// Registers the pattern's contracts with the codec.
    pattern();

private:
    std::string_view do_name() const noexcept override { return "front_controller"; }
    std::string_view do_summary() const noexcept override;
    std::unique_ptr<service_behaviour> do_make_service(service_context& ctx) const override;
    /// Only the front controller (the first service) ends workflows.
    std::set<std::string> do_enders(const workflow& wf) const override {
        return {wf.steps.front().service};
    }
    status_plan do_plan_status_query(const workflow& wf,
                                     const std::string& workflow_id) const override;
    msg::workflow_status do_assemble_status(const workflow& wf, const std::vector<message>& replies,
                                            const std::set<std::string>& silent) const override;
};

} // namespace choreo::front_controller

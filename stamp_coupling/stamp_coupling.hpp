// Stamp coupling: the workflow state travels inside the message contract.
#pragma once

#include "patterns/pattern.hpp"

namespace choreo::stamp_coupling {

/// Every inter-service message carries the workflow's stamp; each service writes its own part
/// and passes the whole stamp on. No service owns the workflow. A status query can only ask
/// every service for the latest stamp it passed on and keep the most advanced one.
class pattern final : public choreo::pattern {
public:
    /// Registers the pattern's contracts with the codec.
    pattern();

private:
    std::string_view do_name() const noexcept override { return "stamp_coupling"; }
    std::string_view do_summary() const noexcept override;
    std::unique_ptr<service_behaviour> do_make_service(service_context& ctx) const override;
    status_plan do_plan_status_query(const workflow& wf,
                                     const std::string& workflow_id) const override;
    msg::workflow_status do_assemble_status(const workflow& wf, const std::vector<message>& replies,
                                            const std::set<std::string>& silent) const override;
};

} // namespace choreo::stamp_coupling

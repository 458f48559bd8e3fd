// Stateless choreography: nobody stores workflow state; a status query assembles it on the fly.
#pragma once

#include "patterns/pattern.hpp"

namespace choreo::stateless {

/// Services keep only their own domain data and pass events on. A status query asks every
/// service of the workflow for its live snapshot, in parallel, and builds the picture from them.
class pattern final : public choreo::pattern {
public:
    /// Registers the pattern's contracts with the codec.
    pattern();

private:
    std::string_view do_name() const noexcept override { return "stateless"; }
    std::string_view do_summary() const noexcept override;
    std::unique_ptr<service_behaviour> do_make_service(service_context& ctx) const override;
    status_plan do_plan_status_query(const workflow& wf,
                                     const std::string& workflow_id) const override;
    msg::workflow_status do_assemble_status(const workflow& wf, const std::vector<message>& replies,
                                            const std::set<std::string>& silent) const override;
};

} // namespace choreo::stateless

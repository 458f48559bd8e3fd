#include "stateless/stateless.hpp"

#include "patterns/choreography.hpp"
#include "patterns/errors.hpp"

namespace choreo::stateless {
namespace {

class service final : public service_behaviour {
public:
    explicit service(service_context& ctx) : ctx_(ctx) {}

private:
    std::error_code on_receive(const incoming& in) override {
        const auto& id = in.msg.env.workflow_id;
        if (const auto* order = std::get_if<msg::place_order>(&in.msg.payload)) {
            auto r = react_to_order(ctx_.flow(), ctx_.domain(), id, *order);
            if (!r) {
                return r.error();
            }
            pass_on(id, in.msg.env.hop, order->reply_to, r.value());
            return {};
        }
        if (const auto* e = std::get_if<msg::workflow_event>(&in.msg.payload)) {
            auto r = react_to_event(ctx_.flow(), ctx_.domain(), id, *e);
            if (!r) {
                return r.error();
            }
            pass_on(id, in.msg.env.hop, e->reply_to, r.value());
            return {};
        }
        if (const auto* ask = std::get_if<msg::snapshot_request>(&in.msg.payload)) {
            // The live snapshot is the service's own domain record of the workflow.
            ctx_.net().reply(
                in, {ask->workflow_id, 0, in.msg.env.query_id,
                     msg::snapshot_reply{ctx_.name(), ctx_.domain().snapshot(ask->workflow_id)}});
            return {};
        }
        return errc::unexpected_message;
    }

    void pass_on(const std::string& id, std::uint32_t hop, const std::string& reply_to,
                 const reaction& r) {
        if (r.next) {
            ctx_.net().send(r.next_service, {id, hop + 1, 0, *r.next});
        }
        if (!r.terminal.empty()) {
            ctx_.end_workflow(reply_to, id, hop, r.terminal, r.record.detail);
        }
    }

    service_context& ctx_;
};

} // namespace

std::string_view pattern::do_summary() const noexcept {
    return "No workflow state is stored anywhere: each service keeps only its own domain data. "
           "A status query asks every service for its live snapshot and assembles the answer.";
}

std::unique_ptr<service_behaviour> pattern::do_make_service(service_context& ctx) const {
    return std::make_unique<service>(ctx);
}

status_plan pattern::do_plan_status_query(const workflow& wf,
                                          const std::string& workflow_id) const {
    return {wf.services(), msg::snapshot_request{workflow_id}};
}

msg::workflow_status pattern::do_assemble_status(const workflow& wf,
                                                 const std::vector<message>& replies,
                                                 const std::set<std::string>& silent) const {
    std::vector<msg::step_record> records;
    for (const auto& m : replies) {
        if (const auto* r = std::get_if<msg::snapshot_reply>(&m.payload)) {
            records.insert(records.end(), r->records.begin(), r->records.end());
        }
    }
    return status_from_records(wf, records, silent);
}

} // namespace choreo::stateless

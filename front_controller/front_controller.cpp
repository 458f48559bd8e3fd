#include "front_controller/front_controller.hpp"

#include <cstdint>
#include <unordered_map>

#include "patterns/choreography.hpp"
#include "patterns/errors.hpp"

namespace choreo::front_controller {
namespace {

/// What the front controller keeps per workflow: who to tell, and one compact slot per step
/// and per notified service. Outcome names are not stored: the workflow model has them.
enum class slot : std::uint8_t { pending, done, failed, notified };

struct tracked {
    std::string reply_to;
    std::vector<slot> steps;    ///< per step
    std::vector<slot> notified; ///< per service told of the failure
    std::uint8_t failure = 0;   ///< index of the failure of the failed step
    std::uint32_t hop = 0;
    bool ended = false;
    std::string final_detail; ///< what the last actor said, until the client has been told
};

/// Builds the step records the model implies from the compact state.
std::vector<msg::step_record> records_of(const workflow& wf, const tracked& t) {
    std::vector<msg::step_record> out;
    for (std::uint32_t i = 0; i < t.steps.size(); ++i) {
        const auto& s = wf.steps[i];
        if (t.steps[i] == slot::done) {
            out.push_back({s.service, i, std::string(step_status::done), s.event, "", 0});
        } else if (t.steps[i] == slot::failed) {
            const auto& f = s.failures.at(t.failure);
            out.push_back({s.service, i, std::string(step_status::failed), f.event, "", 0});
            for (std::size_t n = 0; n < t.notified.size(); ++n) {
                if (t.notified[n] == slot::notified) {
                    out.push_back(
                        {f.notify[n], i, std::string(step_status::notified), f.event, "", 0});
                }
            }
        }
    }
    return out;
}

class service final : public service_behaviour {
public:
    explicit service(service_context& ctx) : ctx_(ctx) {}

private:
    bool is_controller() const { return ctx_.name() == ctx_.first_service(); }

    std::error_code on_receive(const incoming& in) override {
        const auto& id = in.msg.env.workflow_id;
        const auto hop = in.msg.env.hop;
        if (const auto* order = std::get_if<msg::place_order>(&in.msg.payload)) {
            auto reacted = react_to_order(ctx_.flow(), ctx_.domain(), id, *order);
            if (!reacted) {
                return reacted.error();
            }
            const auto& r = reacted.value();
            if (!workflows_.contains(id)) {
                workflows_[id] = {order->reply_to,
                                  std::vector<slot>(ctx_.flow().steps.size(), slot::pending),
                                  {},
                                  0,
                                  0,
                                  false,
                                  {}};
            }
            pass_on(id, hop, r);
            if (!r.terminal.empty()) {
                workflows_[id].final_detail = r.record.detail;
            }
            apply(id, hop, r.record);
            return {};
        }
        if (const auto* e = std::get_if<msg::workflow_event>(&in.msg.payload)) {
            auto r = react_to_event(ctx_.flow(), ctx_.domain(), id, *e);
            if (!r) {
                return r.error();
            }
            pass_on(id, hop, r.value());
            ctx_.net().send(
                ctx_.first_service(),
                {id, hop + 1, 0, msg::progress_report{r.value().record, r.value().terminal}});
            return {};
        }
        if (const auto* report = std::get_if<msg::progress_report>(&in.msg.payload)) {
            if (!is_controller() || !workflows_.contains(id)) {
                return is_controller() ? errc::unknown_workflow : errc::unexpected_message;
            }
            if (!report->terminal.empty()) {
                workflows_[id].final_detail = report->record.detail;
            }
            apply(id, hop, report->record);
            return {};
        }
        if (const auto* ask = std::get_if<msg::status_request>(&in.msg.payload)) {
            if (!is_controller()) {
                return errc::unexpected_message;
            }
            msg::workflow_status st;
            if (const auto it = workflows_.find(ask->workflow_id); it != workflows_.end()) {
                st = status_from_records(ctx_.flow(), records_of(ctx_.flow(), it->second));
            } else {
                st.state = std::string(workflow_state::unknown);
            }
            ctx_.net().reply(
                in, {ask->workflow_id, 0, in.msg.env.query_id, msg::status_reply{ctx_.name(), st}});
            return {};
        }
        return errc::unexpected_message;
    }

    void pass_on(const std::string& id, std::uint32_t hop, const reaction& r) {
        if (r.next) {
            ctx_.net().send(r.next_service, {id, hop + 1, 0, *r.next});
        }
    }

    /// The controller folds a step's record into the workflow's state; at the end it tells
    /// the client.
    void apply(const std::string& id, std::uint32_t hop, const msg::step_record& record) {
        auto& t = workflows_.at(id);
        t.hop = std::max(t.hop, hop);
        const auto& wf = ctx_.flow();
        if (record.step >= t.steps.size()) {
            return;
        }
        const auto& step = wf.steps[record.step];
        if (record.status == step_status::done) {
            t.steps[record.step] = slot::done;
            return end_if_terminal(id, t);
        }
        // A failure and the notices it causes may arrive in either order: both name the
        // failure's event, so either one sets up the slots for the notified services.
        for (std::uint8_t f = 0; f < step.failures.size(); ++f) {
            if (step.failures[f].event != record.outcome) {
                continue;
            }
            t.failure = f;
            t.notified.resize(step.failures[f].notify.size(), slot::pending);
            if (record.status == step_status::failed) {
                t.steps[record.step] = slot::failed;
            }
            for (std::size_t n = 0; n < t.notified.size(); ++n) {
                if (record.status == step_status::notified &&
                    step.failures[f].notify[n] == record.service) {
                    t.notified[n] = slot::notified;
                }
            }
        }
        end_if_terminal(id, t);
    }

    void end_if_terminal(const std::string& id, tracked& t) {
        const auto& wf = ctx_.flow();
        // Reports can overtake each other on their way here: the workflow has ended when the
        // state held here says so, not when the last report claims it.
        if (t.ended) {
            return;
        }
        const auto state = status_from_records(wf, records_of(wf, t)).state;
        if (state != workflow_state::in_progress && state != workflow_state::unknown) {
            t.ended = true;
            ctx_.end_workflow(t.reply_to, id, t.hop, state, t.final_detail);
            std::string().swap(t.final_detail);
        }
    }

    std::size_t on_state_workflows() const override { return workflows_.size(); }

    std::size_t on_state_bytes() const override {
        std::size_t total = 0;
        for (const auto& [id, t] : workflows_) {
            total += sizeof(id) + sizeof(t) + t.steps.capacity() + t.notified.capacity();
            total += id.capacity() > 15 ? id.capacity() : 0;
            total += t.reply_to.capacity() > 15 ? t.reply_to.capacity() : 0;
            total += 2 * sizeof(void*); // hash node: next pointer and cached hash
        }
        return total;
    }

    service_context& ctx_;
    std::unordered_map<std::string, tracked> workflows_;
};

} // namespace

std::string_view pattern::do_summary() const noexcept {
    return "The first service in the chain (order placement) owns the workflow state. Every "
           "other service reports its progress back to it, and status queries go to it alone.";
}

std::unique_ptr<service_behaviour> pattern::do_make_service(service_context& ctx) const {
    return std::make_unique<service>(ctx);
}

status_plan pattern::do_plan_status_query(const workflow& wf,
                                          const std::string& workflow_id) const {
    return {{wf.steps.front().service}, msg::status_request{workflow_id}};
}

msg::workflow_status pattern::do_assemble_status(const workflow&,
                                                 const std::vector<message>& replies,
                                                 const std::set<std::string>&) const {
    for (const auto& m : replies) {
        if (const auto* r = std::get_if<msg::status_reply>(&m.payload)) {
            return r->status;
        }
    }
    msg::workflow_status st;
    st.state = std::string(workflow_state::unknown);
    return st;
}

} // namespace choreo::front_controller

#include "patterns/choreography.hpp"

#include <algorithm>

#include "patterns/errors.hpp"

namespace choreo {
namespace {

msg::workflow_event announce(const workflow& wf, std::string event, std::uint32_t step,
                             const std::string& reply_to, const msg::value& details) {
    return {wf.name, std::move(event), step, reply_to, details};
}

reaction run_step(const workflow& wf, domain_service& self, std::uint32_t index,
                  const std::string& workflow_id, const std::string& reply_to,
                  const msg::value& details) {
    reaction r;
    r.record = self.run(wf, index, workflow_id, details);
    if (r.record.status == step_status::done) {
        if (index + 1 == wf.steps.size()) {
            r.terminal = std::string(workflow_state::completed);
        } else {
            r.next_service = wf.steps[index + 1].service;
            r.next = announce(wf, r.record.outcome, index, reply_to, details);
        }
        return r;
    }
    const failure* f = wf.find_failure(index, r.record.outcome);
    if (f == nullptr || f->notify.empty()) {
        r.terminal = f ? f->terminal : r.record.outcome;
    } else {
        r.next_service = f->notify.front();
        r.next = announce(wf, r.record.outcome, index, reply_to, details);
    }
    return r;
}

} // namespace

result<reaction> react_to_order(const workflow& wf, domain_service& self,
                                const std::string& workflow_id, const msg::place_order& order) {
    if (wf.steps.empty() || wf.steps.front().service != self.name() || order.workflow != wf.name) {
        return std::error_code(errc::unexpected_message);
    }
    return run_step(wf, self, 0, workflow_id, order.reply_to, order.details);
}

result<reaction> react_to_event(const workflow& wf, domain_service& self,
                                const std::string& workflow_id, const msg::workflow_event& e) {
    const auto index = e.step;
    if (index < wf.steps.size() && e.event == wf.steps[index].event) {
        if (index + 1 < wf.steps.size() && wf.steps[index + 1].service == self.name()) {
            return run_step(wf, self, index + 1, workflow_id, e.reply_to, e.details);
        }
        return std::error_code(errc::unexpected_message);
    }
    const failure* f = wf.find_failure(index, e.event);
    if (f == nullptr) {
        return std::error_code(errc::unexpected_message);
    }
    const auto me = std::find(f->notify.begin(), f->notify.end(), self.name());
    if (me == f->notify.end()) {
        return std::error_code(errc::unexpected_message);
    }
    reaction r;
    r.record = self.notify(index, *f, workflow_id, e.details);
    if (me + 1 == f->notify.end()) {
        r.terminal = f->terminal;
    } else {
        r.next_service = *(me + 1);
        r.next = e;
    }
    return r;
}

msg::step_record undelivered(const workflow& wf, std::string_view sender, std::string_view to,
                             const msg::workflow_event& e, std::string_view reason) {
    const bool success = e.step < wf.steps.size() && e.event == wf.steps[e.step].event;
    return undelivered_record(sender, to, success ? e.step + 1 : e.step, e.event, reason);
}

} // namespace choreo

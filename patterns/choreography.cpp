#include "patterns/choreography.hpp"

#include <algorithm>

#include "patterns/errors.hpp"

namespace choreo {
namespace {

msg::workflow_event announce(const workflow& wf, std::string event, std::uint32_t step,
                             const std::string& reply_to, const msg::value& details) {
    return {wf.name, std::move(event), step, reply_to, details};
}

/// What follows `record`, a step's outcome here: the next step's service hears of it, a
/// loop's next round starts, the first service to be told of a failure hears of it, or the
/// workflow ends. A step still waiting for an event from outside leads nowhere yet.
reaction follow(const workflow& wf, msg::step_record record, const std::string& reply_to,
                const msg::value& details) {
    reaction r;
    r.record = std::move(record);
    const auto index = r.record.step;
    if (r.record.status == step_status::waiting) {
        return r;
    }
    if (r.record.status == step_status::done) {
        const auto next = wf.successor(index);
        if (next >= wf.steps.size()) {
            r.terminal = std::string(workflow_state::completed);
        } else {
            r.next_service = wf.steps[next].service;
            r.next = announce(wf, r.record.outcome, index, reply_to, details);
        }
        return r;
    }
    const failure* f = wf.find_failure(index, r.record.outcome);
    if (f != nullptr && f->resume) {
        r.next_service = wf.steps.at(*f->resume).service;
        r.next = announce(wf, r.record.outcome, index, reply_to, details);
    } else if (f == nullptr || f->notify.empty()) {
        r.terminal = f ? f->terminal : r.record.outcome;
    } else {
        r.next_service = f->notify.front();
        r.next = announce(wf, r.record.outcome, index, reply_to, details);
    }
    return r;
}

reaction run_step(const workflow& wf, domain_service& self, std::uint32_t index,
                  const std::string& workflow_id, const std::string& reply_to,
                  const msg::value& details) {
    return follow(wf, self.run(wf, index, workflow_id, details), reply_to, details);
}

/// An event from outside the chain, sent by a client: an interrupt, or the event a step awaits.
result<reaction> react_to_outside(const workflow& wf, domain_service& self,
                                  const std::string& workflow_id, const msg::workflow_event& e) {
    std::optional<msg::step_record> ran;
    if (const failure* f = wf.interrupt_by(e.event)) {
        ran = self.interrupt(wf, workflow_id, *f);
    } else {
        ran = self.signal(wf, workflow_id, e.event, e.details);
    }
    if (ran) {
        return follow(wf, std::move(*ran), e.reply_to, e.details);
    }
    // Heard and remembered: nothing runs here now. The marker is what this service shows.
    reaction r;
    r.record = {
        self.name(),
        0,
        std::string(wf.interrupt_by(e.event) ? step_status::interrupted : step_status::signalled),
        e.event,
        "",
        0};
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
    if (e.workflow != wf.name) {
        return std::error_code(errc::unexpected_message);
    }
    if (wf.interrupt_by(e.event) != nullptr || wf.awaited_from_outside(e.event)) {
        const auto& steps = wf.steps;
        const bool mine = wf.interrupt_by(e.event) != nullptr
                              ? std::any_of(steps.begin(), steps.end(),
                                            [&](const step& s) { return s.service == self.name(); })
                              : std::any_of(steps.begin(), steps.end(), [&](const step& s) {
                                    return s.service == self.name() && s.awaits == e.event;
                                });
        if (!mine) {
            return std::error_code(errc::unexpected_message);
        }
        return react_to_outside(wf, self, workflow_id, e);
    }
    const auto index = e.step;
    if (index < wf.steps.size() && e.event == wf.steps[index].event) {
        const auto next = wf.successor(index);
        if (next < wf.steps.size() && wf.steps[next].service == self.name()) {
            return run_step(wf, self, next, workflow_id, e.reply_to, e.details);
        }
        return std::error_code(errc::unexpected_message);
    }
    const failure* f = wf.find_failure(index, e.event);
    if (f == nullptr) {
        return std::error_code(errc::unexpected_message);
    }
    if (f->resume) {
        if (wf.steps.at(*f->resume).service == self.name()) {
            return run_step(wf, self, *f->resume, workflow_id, e.reply_to, e.details);
        }
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
    const failure* f = wf.find_failure(e.step, e.event);
    const auto step = success                     ? wf.successor(e.step)
                      : f != nullptr && f->resume ? *f->resume
                                                  : e.step;
    return undelivered_record(sender, to, step, e.event, reason);
}

} // namespace choreo

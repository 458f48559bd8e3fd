#include "patterns/domain.hpp"

#include "patterns/clock.hpp"

namespace choreo {

msg::step_record domain_service::run(const workflow& wf, std::uint32_t index,
                                     const std::string& workflow_id, const msg::value& details) {
    const auto& step = wf.steps.at(index);
    const auto decided = decide(wf, index, workflow_id, details);
    msg::step_record r{name_,      index,          std::string(step_status::done),
                       step.event, decided.detail, now_ns()};
    if (!decided.failure.empty()) {
        r.status = std::string(step_status::failed);
        r.outcome = decided.failure;
        for (const auto& f : step.failures) {
            if (f.outcome == decided.failure) {
                r.outcome = f.event;
            }
        }
    }
    return r;
}

msg::step_record domain_service::notify(std::uint32_t index, const failure& f,
                                        const std::string& workflow_id, const msg::value& details) {
    return {name_,
            index,
            std::string(step_status::notified),
            f.event,
            on_failure(f, workflow_id, details),
            now_ns()};
}

std::string domain_service::on_failure(const failure& f, const std::string&, const msg::value&) {
    return "told of " + f.event;
}

} // namespace choreo

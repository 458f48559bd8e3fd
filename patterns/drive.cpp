#include "patterns/drive.hpp"

#include <thread>

namespace choreo {

bool waits_for_outside(const workflow& wf, const msg::workflow_status& st) {
    for (std::uint32_t i = 1; i < wf.steps.size(); ++i) {
        if (!wf.steps[i].awaits.empty()) {
            return st.steps.size() == wf.steps.size() &&
                   st.steps[i - 1].status == step_status::done;
        }
    }
    return false;
}

driven_workflows place_and_drive(client& c, const workflow& wf,
                                 const std::vector<planned_workflow>& plans,
                                 std::chrono::milliseconds timeout) {
    driven_workflows out;
    auto& ids = out.ids;
    ids.reserve(plans.size());
    for (const auto& p : plans) {
        ids.push_back(c.place(p.details));
        for (const auto& e : p.outside_events) {
            // A plan names only events of its model: nothing to refuse here.
            static_cast<void>(c.send_outside(ids.back(), e, p.details));
        }
    }
    // One deadline for all, from the last placed: a workflow that never waits holds up the
    // others' interrupts until then at most.
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (std::size_t i = 0; i < plans.size(); ++i) {
        if (plans[i].interrupt.empty()) {
            continue;
        }
        bool waiting = waits_for_outside(wf, c.status(ids[i]).status);
        while (!waiting && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            waiting = waits_for_outside(wf, c.status(ids[i]).status);
        }
        if (!waiting) {
            out.not_waiting.push_back(ids[i]);
        }
        static_cast<void>(c.send_outside(ids[i], plans[i].interrupt, plans[i].details));
    }
    return out;
}

} // namespace choreo

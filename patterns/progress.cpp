#include "patterns/progress.hpp"

#include <fmt/format.h>

namespace choreo {

namespace {
/// Makes `st` a workflow known to be under way with every step pending (nothing done yet).
void found_under_way(const workflow& wf, msg::workflow_status& st) {
    st.found = true;
    st.state = std::string(workflow_state::in_progress);
    for (std::uint32_t i = 0; i < wf.steps.size(); ++i) {
        st.steps.push_back({wf.steps[i].service, i, std::string(step_status::pending), "", "", 0});
    }
}
} // namespace

msg::step_record undelivered_record(std::string_view sender, std::string_view to,
                                    std::uint32_t step, std::string_view what,
                                    std::string_view reason) {
    return {std::string(to),
            step,
            std::string(step_status::send_failed),
            std::string(what),
            fmt::format("{} cannot send step {} to {} ({}): {}", sender, step, to, what, reason),
            0};
}

void fold_send_failures(const workflow& wf, const std::vector<msg::step_record>& records,
                        msg::workflow_status& st) {
    auto open = [](const msg::step_record& r) {
        return r.status == step_status::pending || r.status == step_status::unknown;
    };
    bool folded = false;
    for (const auto& r : records) {
        if (r.status != step_status::send_failed || r.step >= wf.steps.size()) {
            continue;
        }
        if (!st.found) {
            found_under_way(wf, st);
        }
        auto matches = [&](const msg::step_record& s) {
            return s.service == r.service && s.step == r.step && open(s);
        };
        auto* slot =
            r.step < st.steps.size() && matches(st.steps[r.step]) ? &st.steps[r.step] : nullptr;
        for (auto& n : st.notified) {
            if (slot == nullptr && matches(n)) {
                slot = &n;
            }
        }
        if (slot != nullptr) {
            *slot = r;
            folded = true;
        }
    }
    if (folded && (st.state == workflow_state::in_progress || st.state == workflow_state::unknown ||
                   st.state == workflow_state::retired)) {
        st.state = std::string(workflow_state::failed);
    }
}

workflow_progress::workflow_progress(const workflow& wf) : steps_(wf.steps.size(), slot::pending) {}

void workflow_progress::apply(const workflow& wf, const msg::step_record& record) {
    if (record.step >= steps_.size()) {
        return;
    }
    const auto& step = wf.steps[record.step];
    if (record.status == step_status::send_failed) {
        if (!undelivered_) {
            undelivered_ = std::make_shared<const msg::step_record>(record);
        }
        return;
    }
    if (record.status == step_status::done) {
        steps_[record.step] = slot::done;
        return;
    }
    if (record.status == step_status::failed &&
        wf.find_failure(record.step, record.outcome) == nullptr) {
        steps_[record.step] = slot::failed; // an outcome the model does not list ends it
        unlisted_ = record.outcome;
        return;
    }
    // A failure and the notices it causes may arrive in either order: both name the
    // failure's event, so either one sets up the slots for the notified services.
    for (std::size_t f = 0; f < step.failures.size(); ++f) {
        if (step.failures[f].event != record.outcome) {
            continue;
        }
        failure_ = f;
        notified_.resize(step.failures[f].notify.size(), slot::pending);
        if (record.status == step_status::failed) {
            steps_[record.step] = slot::failed;
        }
        for (std::size_t n = 0; n < notified_.size(); ++n) {
            if (record.status == step_status::notified &&
                step.failures[f].notify[n] == record.service) {
                notified_[n] = slot::notified;
            }
        }
    }
}

std::vector<msg::step_record> workflow_progress::records(const workflow& wf) const {
    std::vector<msg::step_record> out;
    for (std::uint32_t i = 0; i < steps_.size(); ++i) {
        const auto& s = wf.steps[i];
        if (steps_[i] == slot::done) {
            out.push_back({s.service, i, std::string(step_status::done), s.event, "", 0});
        } else if (steps_[i] == slot::failed && !unlisted_.empty()) {
            out.push_back({s.service, i, std::string(step_status::failed), unlisted_, "", 0});
        } else if (steps_[i] == slot::failed) {
            const auto& f = s.failures.at(failure_);
            out.push_back({s.service, i, std::string(step_status::failed), f.event, "", 0});
            for (std::size_t n = 0; n < notified_.size(); ++n) {
                if (notified_[n] == slot::notified) {
                    out.push_back(
                        {f.notify[n], i, std::string(step_status::notified), f.event, "", 0});
                }
            }
        }
    }
    return out;
}

msg::workflow_status workflow_progress::status(const workflow& wf) const {
    auto st = status_from_records(wf, records(wf));
    if (!st.found) {
        // Nothing done yet, but the owner knows the workflow: it is under way, every step
        // pending.
        found_under_way(wf, st);
    }
    if (undelivered_) {
        fold_send_failures(wf, {*undelivered_}, st);
    }
    if (!ended_as_.empty() &&
        (st.state == workflow_state::in_progress || st.state == workflow_state::unknown)) {
        st.state = ended_as_; // the owner ended it before the steps did
    }
    return st;
}

std::string workflow_progress::terminal(const workflow& wf) const {
    auto state = status(wf).state;
    if (state == workflow_state::in_progress || state == workflow_state::unknown) {
        return {};
    }
    return state;
}

} // namespace choreo

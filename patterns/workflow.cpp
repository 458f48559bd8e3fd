#include "patterns/workflow.hpp"

#include <algorithm>

#include "patterns/errors.hpp"

namespace choreo {

std::vector<std::string> workflow::services() const {
    std::vector<std::string> out;
    auto add = [&](const std::string& s) {
        if (std::find(out.begin(), out.end(), s) == out.end()) {
            out.push_back(s);
        }
    };
    for (const auto& s : steps) {
        add(s.service);
    }
    for (const auto& s : steps) {
        for (const auto& f : s.failures) {
            std::for_each(f.notify.begin(), f.notify.end(), add);
        }
    }
    return out;
}

const failure* workflow::find_failure(std::uint32_t index, std::string_view event) const {
    if (index >= steps.size()) {
        return nullptr;
    }
    for (const auto& f : steps[index].failures) {
        if (f.event == event) {
            return &f;
        }
    }
    return nullptr;
}

std::vector<std::string> workflow::terminals() const {
    std::vector<std::string> out{std::string(workflow_state::completed)};
    for (const auto& s : steps) {
        for (const auto& f : s.failures) {
            if (std::find(out.begin(), out.end(), f.terminal) == out.end()) {
                out.push_back(f.terminal);
            }
        }
    }
    return out;
}

std::size_t workflow::sends_per_workflow_bound() const {
    std::size_t notices = 0;
    for (const auto& s : steps) {
        for (const auto& f : s.failures) {
            notices = std::max(notices, f.notify.size());
        }
    }
    return std::max<std::size_t>(8, steps.size() + notices + 2);
}

std::size_t workflow::critical_path_hops() const {
    std::size_t longest = steps.empty() ? 0 : steps.size() - 1;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        for (const auto& f : steps[i].failures) {
            longest = std::max(longest, i + f.notify.size());
        }
    }
    return longest;
}

void workflow::set_step_deadlines(std::chrono::milliseconds deadline) {
    for (auto& s : steps) {
        s.deadline = deadline;
    }
}

std::string workflow::ends_in(const msg::step_record& record) const {
    if (record.status == step_status::send_failed) {
        return std::string(workflow_state::failed);
    }
    if (record.step >= steps.size()) {
        return {};
    }
    if (record.status == step_status::done) {
        return record.step + 1 == steps.size() ? std::string(workflow_state::completed) : "";
    }
    const failure* f = find_failure(record.step, record.outcome);
    if (record.status == step_status::failed) {
        if (f == nullptr) {
            return record.outcome; // an outcome the model does not list ends it under its name
        }
        return f->notify.empty() ? f->terminal : "";
    }
    if (record.status == step_status::notified && f != nullptr && !f->notify.empty() &&
        f->notify.back() == record.service) {
        return f->terminal;
    }
    return {};
}

void note_last_action(const std::vector<msg::step_record>& records, msg::workflow_status& st) {
    const msg::step_record* last = nullptr;
    for (const auto& r : records) {
        const bool acted = r.status == step_status::done || r.status == step_status::failed ||
                           r.status == step_status::notified;
        if (acted && r.at_ns != 0 && (last == nullptr || r.at_ns > last->at_ns)) {
            last = &r;
        }
    }
    if (last != nullptr) {
        st.last_service = last->service;
        st.last_step = last->step;
        st.last_at_ns = last->at_ns;
    }
}

namespace {

const msg::step_record* find_record(const std::vector<msg::step_record>& records,
                                    const std::string& service, std::uint32_t step,
                                    std::string_view status) {
    for (const auto& r : records) {
        if (r.service == service && r.step == step && r.status == status) {
            return &r;
        }
    }
    return nullptr;
}

} // namespace

msg::workflow_status status_from_records(const workflow& wf,
                                         const std::vector<msg::step_record>& records,
                                         const std::set<std::string>& silent) {
    msg::workflow_status st;
    st.found = !records.empty();
    if (!st.found) {
        st.state = std::string(workflow_state::unknown);
        return st; // no service knows the workflow: nothing to show step by step
    }
    st.state = std::string(workflow_state::in_progress);
    bool decided = false;
    bool saw_retired = false;
    for (std::uint32_t i = 0; i < wf.steps.size(); ++i) {
        const auto& s = wf.steps[i];
        const msg::step_record* r = find_record(records, s.service, i, step_status::done);
        if (r == nullptr) {
            r = find_record(records, s.service, i, step_status::failed);
        }
        if (r == nullptr && find_record(records, s.service, i, step_status::retired) != nullptr) {
            // The service retired its part: the workflow may have got past this step, so later
            // steps still decide, and if none does the state is "retired".
            st.steps.push_back({s.service, i, std::string(step_status::retired), "", "", 0});
            saw_retired = true;
            continue;
        }
        if (r != nullptr) {
            st.steps.push_back(*r);
        } else {
            const auto status =
                silent.contains(s.service) ? step_status::unknown : step_status::pending;
            st.steps.push_back({s.service, i, std::string(status), "", "", 0});
        }
        if (decided) {
            continue;
        }
        if (r == nullptr) {
            decided = true; // the workflow has not got past this step (or we cannot tell)
            if (silent.contains(s.service)) {
                st.state = std::string(workflow_state::unknown);
            }
        } else if (r->status == step_status::failed) {
            decided = true;
            const failure* f = wf.find_failure(i, r->outcome);
            bool all_told = f != nullptr;
            bool any_silent = false;
            for (const auto& who : f ? f->notify : std::vector<std::string>{}) {
                const auto* n = find_record(records, who, i, step_status::notified);
                if (n != nullptr) {
                    st.notified.push_back(*n);
                } else {
                    all_told = false;
                    any_silent = any_silent || silent.contains(who);
                    const auto status =
                        silent.contains(who) ? step_status::unknown : step_status::pending;
                    st.notified.push_back({who, i, std::string(status), "", "", 0});
                }
            }
            if (f == nullptr) {
                // An outcome the model does not list (a payload the service could not read,
                // say) ends the workflow under its own name, as every pattern ends it.
                st.state = r->outcome;
            } else if (all_told) {
                st.state = f->terminal;
            } else if (any_silent) {
                st.state = std::string(workflow_state::unknown);
            }
        } else if (i + 1 == wf.steps.size()) {
            st.state = std::string(workflow_state::completed);
        }
    }
    if (saw_retired && st.state == workflow_state::in_progress) {
        st.state = std::string(workflow_state::retired);
    }
    note_last_action(records, st);
    return st;
}

msg::workflow_status retired_status(const workflow& wf, std::string_view terminal) {
    msg::workflow_status st;
    st.found = true;
    st.state = std::string(terminal);
    for (std::uint32_t i = 0; i < wf.steps.size(); ++i) {
        st.steps.push_back({wf.steps[i].service, i, std::string(step_status::retired), "", "", 0});
    }
    return st;
}

std::vector<msg::step_record> retired_records(const workflow& wf, std::string_view service) {
    std::vector<msg::step_record> out;
    for (std::uint32_t i = 0; i < wf.steps.size(); ++i) {
        if (wf.steps[i].service == service) {
            out.push_back({wf.steps[i].service, i, std::string(step_status::retired), "", "", 0});
        }
    }
    return out;
}

} // namespace choreo

#include "patterns/workflow.hpp"

#include <algorithm>
#include <stdexcept>

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
    for (const auto& f : interrupts) {
        std::for_each(f.notify.begin(), f.notify.end(), add);
    }
    return out;
}

std::vector<std::string> workflow::step_services() const {
    std::vector<std::string> out;
    for (const auto& s : steps) {
        if (std::find(out.begin(), out.end(), s.service) == out.end()) {
            out.push_back(s.service);
        }
    }
    return out;
}

std::vector<const failure*> workflow::failures_of(std::uint32_t index) const {
    std::vector<const failure*> out;
    if (index >= steps.size()) {
        return out;
    }
    for (const auto& f : steps[index].failures) {
        out.push_back(&f);
    }
    for (const auto& f : interrupts) {
        out.push_back(&f);
    }
    return out;
}

const failure* workflow::interrupt_by(std::string_view command) const {
    for (const auto& f : interrupts) {
        if (f.outcome == command) {
            return &f;
        }
    }
    return nullptr;
}

bool workflow::awaited_from_outside(std::string_view event) const {
    return !event.empty() && std::any_of(steps.begin(), steps.end(),
                                         [&](const step& s) { return s.awaits == event; });
}

std::uint32_t workflow::successor(std::uint32_t index) const {
    if (index >= steps.size()) {
        return static_cast<std::uint32_t>(steps.size());
    }
    const auto& s = steps[index];
    return s.next ? std::min<std::uint32_t>(*s.next, static_cast<std::uint32_t>(steps.size()))
                  : index + 1;
}

bool workflow::successful(std::string_view terminal) const {
    if (terminal == workflow_state::completed) {
        return true;
    }
    for (const auto& s : steps) {
        for (const auto& f : s.failures) {
            if (s.optional && f.terminal == terminal) {
                return true;
            }
        }
    }
    return false;
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
    for (const auto& f : interrupts) {
        if (f.event == event) {
            return &f;
        }
    }
    return nullptr;
}

std::vector<std::string> workflow::terminals() const {
    std::vector<std::string> out{std::string(workflow_state::completed)};
    auto add = [&](const failure& f) {
        if (!f.resume && std::find(out.begin(), out.end(), f.terminal) == out.end()) {
            out.push_back(f.terminal);
        }
    };
    for (const auto& s : steps) {
        std::for_each(s.failures.begin(), s.failures.end(), add);
    }
    std::for_each(interrupts.begin(), interrupts.end(), add);
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
        return successor(record.step) == steps.size() ? std::string(workflow_state::completed) : "";
    }
    const failure* f = find_failure(record.step, record.outcome);
    if (record.status == step_status::failed) {
        if (f != nullptr && f->resume) {
            return {}; // a loop's round failed: the next round goes on
        }
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
    const auto n = static_cast<std::uint32_t>(wf.steps.size());
    auto placeholder = [&](const std::string& service, std::uint32_t i) {
        const auto status = silent.contains(service) ? step_status::unknown : step_status::pending;
        return msg::step_record{service, i, std::string(status), "", "", 0};
    };
    // What each step shows: its done or failed record, else retired, waiting or a placeholder.
    for (std::uint32_t i = 0; i < n; ++i) {
        const auto& s = wf.steps[i];
        const msg::step_record* r = find_record(records, s.service, i, step_status::done);
        if (r == nullptr) {
            r = find_record(records, s.service, i, step_status::failed);
        }
        if (r == nullptr && find_record(records, s.service, i, step_status::retired) != nullptr) {
            st.steps.push_back({s.service, i, std::string(step_status::retired), "", "", 0});
        } else if (r == nullptr) {
            r = find_record(records, s.service, i, step_status::waiting);
            st.steps.push_back(r != nullptr ? *r : placeholder(s.service, i));
        } else {
            st.steps.push_back(*r);
        }
    }
    // The workflow's path through its steps: on success to the step's successor, on a loop's
    // failure back to the next round; the first step without an outcome decides.
    bool saw_retired = false;
    std::uint32_t i = 0;
    while (i < n) {
        const auto& shown = st.steps[i];
        if (shown.status == step_status::retired) {
            // The service retired its part: the workflow may have got past this step, so later
            // steps still decide, and if none does the state is "retired".
            saw_retired = true;
            i = wf.successor(i);
            continue;
        }
        if (shown.status == step_status::done) {
            if (wf.successor(i) >= n) {
                st.state = std::string(workflow_state::completed);
            }
            i = wf.successor(i);
            continue;
        }
        if (shown.status != step_status::failed) {
            // The workflow has not got past this step (or we cannot tell).
            if (shown.status == step_status::unknown) {
                st.state = std::string(workflow_state::unknown);
            }
            break;
        }
        const failure* f = wf.find_failure(i, shown.outcome);
        if (f != nullptr && f->resume) {
            i = *f->resume; // a loop's round failed: the next round goes on
            continue;
        }
        bool all_told = f != nullptr;
        bool any_silent = false;
        for (const auto& who : f ? f->notify : std::vector<std::string>{}) {
            const auto* told = find_record(records, who, i, step_status::notified);
            if (told != nullptr) {
                st.notified.push_back(*told);
            } else {
                all_told = false;
                any_silent = any_silent || silent.contains(who);
                st.notified.push_back(placeholder(who, i));
            }
        }
        if (f == nullptr) {
            // An outcome the model does not list (a payload the service could not read, say)
            // ends the workflow under its own name, as every pattern ends it.
            st.state = shown.outcome;
        } else if (all_told) {
            st.state = f->terminal;
        } else if (any_silent) {
            st.state = std::string(workflow_state::unknown);
        }
        break;
    }
    if (saw_retired && st.state == workflow_state::in_progress) {
        st.state = std::string(workflow_state::retired);
    }
    note_last_action(records, st);
    return st;
}

workflow repeat(workflow wf, std::uint32_t first, std::uint32_t last, std::string_view event,
                std::uint32_t rounds) {
    if (rounds == 0 || first > last || last >= wf.steps.size()) {
        throw std::invalid_argument("repeat: no loop over steps " + std::to_string(first) + ".." +
                                    std::to_string(last) + " of " + wf.name);
    }
    const auto& looped = wf.steps[last].failures;
    if (std::none_of(looped.begin(), looped.end(),
                     [&](const failure& f) { return f.event == event; })) {
        throw std::invalid_argument("repeat: step " + std::to_string(last) + " of " + wf.name +
                                    " has no failure " + std::string(event));
    }
    const std::uint32_t body = last - first + 1;
    const std::uint32_t shift = (rounds - 1) * body;
    auto moved = [&](std::uint32_t i) { return i > last ? i + shift : i; };
    std::vector<step> out;
    for (std::uint32_t i = 0; i < first; ++i) {
        out.push_back(wf.steps[i]);
    }
    for (std::uint32_t r = 1; r <= rounds; ++r) {
        for (std::uint32_t i = first; i <= last; ++i) {
            auto s = wf.steps[i];
            s.round = r;
            const auto at = first + (r - 1) * body + (i - first);
            if (s.next) {
                s.next =
                    *s.next >= first && *s.next <= last ? *s.next + (r - 1) * body : moved(*s.next);
            }
            if (i == last && r < rounds) {
                s.next = last + 1 + shift; // done: past the later rounds
                for (auto& f : s.failures) {
                    if (f.event == event) {
                        f.resume = at + 1; // the first step of the next round
                    }
                }
            }
            out.push_back(std::move(s));
        }
    }
    for (std::uint32_t i = last + 1; i < wf.steps.size(); ++i) {
        auto s = wf.steps[i];
        if (s.next) {
            s.next = moved(*s.next);
        }
        out.push_back(std::move(s));
    }
    wf.steps = std::move(out);
    return wf;
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

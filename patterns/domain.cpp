#include "patterns/domain.hpp"

#include "patterns/clock.hpp"

namespace choreo {

const msg::step_record* domain_service::earlier(const std::string& workflow_id, std::uint32_t index,
                                                bool notice, std::string_view event) {
    const auto* kept = ran_.find(workflow_id);
    if (kept == nullptr) {
        return nullptr;
    }
    for (const auto& r : *kept) {
        const bool decided = r.status == step_status::done || r.status == step_status::failed;
        if (r.step == index && (notice ? r.status == step_status::notified : decided) &&
            (!notice || r.outcome == event)) {
            ++repeats_;
            return &r;
        }
    }
    return nullptr;
}

void domain_service::keep(const std::string& workflow_id, const msg::step_record& record) {
    ran_[workflow_id].push_back(record);
    ran_.finish(workflow_id); // this service's part is done, as far as it can tell
}

std::size_t domain_service::ran_bytes() const {
    auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
    std::size_t n = ran_.overhead_bytes();
    ran_.for_each([&](const std::string& id, const std::vector<msg::step_record>& records) {
        n +=
            sizeof(id) + heap(id) + sizeof(records) + records.capacity() * sizeof(msg::step_record);
        for (const auto& r : records) {
            n += heap(r.service) + heap(r.status) + heap(r.outcome) + heap(r.detail);
        }
    });
    return n;
}

void domain_service::save(snapshot::writer& w) const {
    snapshot::write_kind(w, "domain_service:" + name_);
    snapshot::write(w, ran_);
    w << repeats_;
    on_save(w);
}

void domain_service::load(snapshot::reader& r) {
    snapshot::read_kind(r, "domain_service:" + name_);
    auto ran = snapshot::read_new(r, ran_);
    std::uint64_t repeats = 0;
    r >> repeats;
    on_load(r); // takes its own data in only once all of it is read: nothing changed if it throws
    ran_ = std::move(ran);
    repeats_ = repeats;
}

const msg::step_record* domain_service::marker(const std::string& workflow_id,
                                               std::string_view status,
                                               std::string_view outcome) const {
    const auto* kept = ran_.find(workflow_id);
    if (kept == nullptr) {
        return nullptr;
    }
    for (const auto& r : *kept) {
        if (r.status == status && (outcome.empty() || r.outcome == outcome)) {
            return &r;
        }
    }
    return nullptr;
}

msg::step_record domain_service::run(const workflow& wf, std::uint32_t index,
                                     const std::string& workflow_id, const msg::value& details,
                                     bool outside_came) {
    if (const auto* r = earlier(workflow_id, index, false, {})) {
        return *r;
    }
    const auto& step = wf.steps.at(index);
    if (const auto* cut = marker(workflow_id, step_status::interrupted)) {
        msg::step_record r{name_,        index,       std::string(step_status::failed),
                           cut->outcome, cut->detail, now_ns()};
        keep(workflow_id, r);
        return r;
    }
    if (!step.awaits.empty() && !outside_came &&
        marker(workflow_id, step_status::signalled, step.awaits) == nullptr) {
        if (const auto* kept = ran_.find(workflow_id)) {
            for (const auto& r : *kept) {
                if (r.step == index && r.status == step_status::waiting) {
                    ++repeats_;
                    return r; // reached again (a re-driven step): it still waits
                }
            }
        }
        msg::step_record r{name_,
                           index,
                           std::string(step_status::waiting),
                           step.awaits,
                           "waits for " + step.awaits,
                           now_ns()};
        keep(workflow_id, r);
        return r;
    }
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
    if (decided.decided) {
        keep(workflow_id, r);
    }
    return r;
}

msg::step_record domain_service::notify(std::uint32_t index, const failure& f,
                                        const std::string& workflow_id, const msg::value& details) {
    if (const auto* r = earlier(workflow_id, index, true, f.event)) {
        return *r;
    }
    msg::step_record r{name_,
                       index,
                       std::string(step_status::notified),
                       f.event,
                       on_failure(f, workflow_id, details),
                       now_ns()};
    keep(workflow_id, r);
    return r;
}

std::optional<msg::step_record> domain_service::signal(const workflow& wf,
                                                       const std::string& workflow_id,
                                                       std::string_view event,
                                                       const msg::value& details) {
    if (marker(workflow_id, step_status::signalled, event) != nullptr) {
        ++repeats_;
        return std::nullopt;
    }
    keep(workflow_id, {name_, 0, std::string(step_status::signalled), std::string(event),
                       std::string(event) + " came", now_ns()});
    for (const auto& r : *ran_.find(workflow_id)) {
        if (r.status == step_status::waiting && r.outcome == event &&
            earlier(workflow_id, r.step, false, {}) == nullptr) {
            const auto index = r.step; // run() adds to the records r is one of
            return run(wf, index, workflow_id, details);
        }
    }
    return std::nullopt;
}

std::optional<msg::step_record>
domain_service::interrupt(const workflow& wf, const std::string& workflow_id, const failure& f) {
    if (marker(workflow_id, step_status::interrupted) != nullptr) {
        ++repeats_;
        return std::nullopt;
    }
    keep(workflow_id, {name_, 0, std::string(step_status::interrupted), f.event,
                       "interrupted by " + f.outcome, now_ns()});
    for (const auto& r : *ran_.find(workflow_id)) {
        if (r.status == step_status::waiting &&
            earlier(workflow_id, r.step, false, {}) == nullptr) {
            const auto index = r.step;
            return run(wf, index, workflow_id, {});
        }
    }
    return std::nullopt;
}

std::string domain_service::on_failure(const failure& f, const std::string&, const msg::value&) {
    return "told of " + f.event;
}

} // namespace choreo

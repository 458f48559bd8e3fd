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
        if (r.step == index && (r.status == step_status::notified) == notice &&
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

msg::step_record domain_service::run(const workflow& wf, std::uint32_t index,
                                     const std::string& workflow_id, const msg::value& details) {
    if (const auto* r = earlier(workflow_id, index, false, {})) {
        return *r;
    }
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

std::string domain_service::on_failure(const failure& f, const std::string&, const msg::value&) {
    return "told of " + f.event;
}

} // namespace choreo

#include "patterns/domain.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "patterns/clock.hpp"
#include "patterns/log.hpp"

namespace choreo {
namespace {

/// The early events of a snapshot (after the finished records; a snapshot written before they
/// were kept apart has none): a map, told from the repeats count that follows by its type.
struct early_image {
    std::vector<std::pair<std::string, std::vector<msg::step_record>>> events; ///< oldest first
    std::uint64_t evicted = 0;
    MSGPACK_DEFINE_MAP(events, evicted)
};

bool decided_status(std::string_view status) {
    return status == step_status::done || status == step_status::failed;
}

/// Returns: whether a step at or after the one that follows `record` (a step decided by
/// `service`) is `service`'s and, if `event` is given, awaits it: the marker of that event (of
/// an interrupt, for any step) is still to be used.
bool here_after(const workflow& wf, const msg::step_record& record, std::string_view service,
                std::optional<std::string_view> event) {
    std::uint32_t next = 0;
    if (record.status == step_status::done) {
        next = wf.successor(record.step);
    } else if (record.status == step_status::failed) {
        const failure* f = wf.find_failure(record.step, record.outcome);
        if (f == nullptr || !f->resume) {
            return false; // the workflow ends with this failure
        }
        next = *f->resume;
    } else {
        return false;
    }
    for (auto j = next; j < wf.steps.size(); ++j) {
        if (wf.steps[j].service == service && (!event || wf.steps[j].awaits == *event)) {
            return true;
        }
    }
    return false;
}

} // namespace

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

void domain_service::keep(const workflow* wf, const std::string& workflow_id,
                          const msg::step_record& record) {
    ran_[workflow_id].push_back(record);
    settle(wf, workflow_id, record);
    ran_.finish(workflow_id); // this service's part is done, as far as it can tell
}

void domain_service::hold(const std::string& workflow_id, const msg::step_record& record) {
    auto [records, evicted] = early_.emplace(workflow_id);
    records->push_back(record);
    if (evicted) {
        log().warn("{}: the early events of {} were evicted unused (at most {} workflows' kept, "
                   "{} evicted so far): if it comes here still, it waits for an event that came",
                   name_, printable(*evicted), early_.capacity(), early_.evicted());
    }
}

void domain_service::retain_early(std::size_t n) {
    for (const auto& id : early_.set_capacity(n)) {
        log().warn("{}: the early events of {} were evicted unused (at most {} workflows' kept)",
                   name_, printable(id), early_.capacity());
    }
}

void domain_service::settle(const workflow* wf, const std::string& workflow_id,
                            const msg::step_record& record) {
    auto* held = early_.find(workflow_id);
    if (held == nullptr) {
        return;
    }
    auto& kept = ran_[workflow_id];
    std::vector<msg::step_record> stay;
    for (auto& r : *held) {
        bool needed = false;
        if (wf != nullptr && r.status == step_status::waiting) {
            needed = std::none_of(kept.begin(), kept.end(), [&](const msg::step_record& k) {
                return k.step == r.step && decided_status(k.status);
            });
        } else if (wf != nullptr && r.status == step_status::signalled) {
            needed = here_after(*wf, record, name_, r.outcome);
        } else if (wf != nullptr && r.status == step_status::interrupted) {
            needed = here_after(*wf, record, name_, std::nullopt);
        }
        (needed ? stay : kept).push_back(std::move(r));
    }
    if (stay.empty()) {
        early_.erase(workflow_id);
    } else {
        *held = std::move(stay);
    }
}

const msg::step_record* domain_service::waiting_step(const std::string& workflow_id,
                                                     std::string_view event) {
    const auto* kept = ran_.find(workflow_id);
    auto decided = [&](std::uint32_t step) {
        return kept != nullptr && std::any_of(kept->begin(), kept->end(), [&](const auto& k) {
                   return k.step == step && decided_status(k.status);
               });
    };
    const std::vector<msg::step_record>* early = early_.find(workflow_id);
    for (const auto* records : {early, kept}) {
        if (records == nullptr) {
            continue;
        }
        for (const auto& r : *records) {
            if (r.status == step_status::waiting && (event.empty() || r.outcome == event) &&
                !decided(r.step)) {
                return &r;
            }
        }
    }
    return nullptr;
}

std::size_t domain_service::ran_bytes() const {
    auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
    std::size_t n = ran_.overhead_bytes() + early_.overhead_bytes();
    auto add = [&](const std::string& id, const std::vector<msg::step_record>& records) {
        n +=
            sizeof(id) + heap(id) + sizeof(records) + records.capacity() * sizeof(msg::step_record);
        for (const auto& r : records) {
            n += heap(r.service) + heap(r.status) + heap(r.outcome) + heap(r.detail);
        }
    };
    ran_.for_each(add);
    early_.for_each(add);
    return n;
}

void domain_service::save(snapshot::writer& w) const {
    snapshot::write_kind(w, "domain_service:" + name_);
    snapshot::write(w, ran_);
    early_image early;
    early_.for_each([&](const std::string& id, const std::vector<msg::step_record>& records) {
        early.events.emplace_back(id, records);
    });
    early.evicted = early_.evicted();
    w << early << repeats_;
    on_save(w);
}

void domain_service::load(snapshot::reader& r) {
    snapshot::read_kind(r, "domain_service:" + name_);
    auto ran = snapshot::read_new(r, ran_);
    early_image image;
    if (r.peek().type == msgpack::type::MAP) {
        r >> image; // else a snapshot from before the early events were kept apart: none
    }
    std::uint64_t repeats = 0;
    r >> repeats;
    decltype(early_) early(early_.capacity());
    for (auto& [id, records] : image.events) {
        // At most as many as the capacity was when saved; beyond this one's, the oldest go.
        if (auto evicted = early.emplace(id).second) {
            log().warn("{}: the early events of {} in the snapshot were evicted (at most {} "
                       "workflows' kept)",
                       name_, printable(*evicted), early.capacity());
        }
        *early.find(id) = std::move(records);
    }
    early.set_evicted(image.evicted + early.evicted());
    on_load(r); // takes its own data in only once all of it is read: nothing changed if it throws
    ran_ = std::move(ran);
    early_ = std::move(early);
    repeats_ = repeats;
}

const msg::step_record* domain_service::last_record(const std::string& workflow_id) const {
    const msg::step_record* last = nullptr;
    if (const auto* kept = ran_.find(workflow_id)) {
        for (const auto& r : *kept) {
            if (r.status == step_status::notified) {
                return &r; // the workflow failed: nothing follows
            }
            if (decided_status(r.status) && (last == nullptr || r.step >= last->step)) {
                last = &r;
            }
        }
    }
    return last;
}

const msg::step_record* domain_service::marker(const std::string& workflow_id,
                                               std::string_view status,
                                               std::string_view outcome) const {
    for (const auto* records : {early_.find(workflow_id), ran_.find(workflow_id)}) {
        if (records == nullptr) {
            continue;
        }
        for (const auto& r : *records) {
            if (r.status == status && (outcome.empty() || r.outcome == outcome)) {
                return &r;
            }
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
        keep(&wf, workflow_id, r);
        return r;
    }
    if (!step.awaits.empty() && !outside_came &&
        marker(workflow_id, step_status::signalled, step.awaits) == nullptr) {
        using records_type = const std::vector<msg::step_record>*;
        for (const auto* records :
             {records_type(early_.find(workflow_id)), records_type(ran_.find(workflow_id))}) {
            if (records == nullptr) {
                continue;
            }
            for (const auto& r : *records) {
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
        hold(workflow_id, r); // until the event comes, however many workflows finish meanwhile
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
        keep(&wf, workflow_id, r);
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
    keep(nullptr, workflow_id, r); // the workflow ends: nothing early of it is to be used
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
    const msg::step_record m{name_,
                             0,
                             std::string(step_status::signalled),
                             std::string(event),
                             std::string(event) + " came",
                             now_ns()};
    if (const auto* waiting = waiting_step(workflow_id, event)) {
        const auto index = waiting->step; // run() moves the records waiting is one of
        hold(workflow_id, m);
        return run(wf, index, workflow_id, details);
    }
    // No step waits for it here: early (the step is still to come), unless no step to come
    // here awaits it any more (the workflow went past, or ended here): then one more record.
    const auto* last = last_record(workflow_id);
    if (last != nullptr && !here_after(wf, *last, name_, event)) {
        ran_[workflow_id].push_back(m);
        ran_.finish(workflow_id);
    } else {
        hold(workflow_id, m);
    }
    return std::nullopt;
}

std::optional<msg::step_record>
domain_service::interrupt(const workflow& wf, const std::string& workflow_id, const failure& f) {
    if (marker(workflow_id, step_status::interrupted) != nullptr) {
        ++repeats_;
        return std::nullopt;
    }
    const msg::step_record m{
        name_,   0, std::string(step_status::interrupted), f.event, "interrupted by " + f.outcome,
        now_ns()};
    if (const auto* waiting = waiting_step(workflow_id, {})) {
        const auto index = waiting->step;
        hold(workflow_id, m);
        return run(wf, index, workflow_id, {});
    }
    const auto* last = last_record(workflow_id);
    if (last != nullptr && !here_after(wf, *last, name_, std::nullopt)) {
        // No step of the workflow is to come here: the interrupt is one of its records here,
        // kept as long as they are.
        ran_[workflow_id].push_back(m);
        ran_.finish(workflow_id);
    } else {
        // The next step of it here fails when it comes, however many workflows finish
        // meanwhile: before the workflow reached this service, or between two of its steps
        // here (the ticket's ticket_management runs steps 0 and 10).
        hold(workflow_id, m);
    }
    return std::nullopt;
}

std::string domain_service::on_failure(const failure& f, const std::string&, const msg::value&) {
    return "told of " + f.event;
}

} // namespace choreo

#include "patterns/progress.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "patterns/clock.hpp"
#include "patterns/log.hpp"

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
    if (record.status != step_status::failed && record.status != step_status::notified) {
        return; // a step waiting for an event from outside, or a marker: nothing decided
    }
    const failure* listed = wf.find_failure(record.step, record.outcome);
    if (record.status == step_status::failed && listed == nullptr) {
        steps_[record.step] = slot::failed; // an outcome the model does not list ends it
        unlisted_ = record.outcome;
        return;
    }
    if (record.status == step_status::failed && listed->resume) {
        steps_[record.step] = slot::resumed; // a loop's round failed: the next round goes on
        return;
    }
    // A failure and the notices it causes may arrive in either order: both name the
    // failure's event, so either one sets up the slots for the notified services.
    const auto failures = wf.failures_of(record.step);
    for (std::size_t f = 0; f < failures.size(); ++f) {
        if (failures[f]->event != record.outcome || failures[f]->resume) {
            continue;
        }
        failure_ = f;
        notified_.resize(failures[f]->notify.size(), slot::pending);
        if (record.status == step_status::failed) {
            steps_[record.step] = slot::failed;
        }
        for (std::size_t n = 0; n < notified_.size(); ++n) {
            if (record.status == step_status::notified &&
                failures[f]->notify[n] == record.service) {
                notified_[n] = slot::notified;
            }
        }
        break;
    }
}

std::vector<msg::step_record> workflow_progress::records(const workflow& wf) const {
    std::vector<msg::step_record> out;
    for (std::uint32_t i = 0; i < steps_.size(); ++i) {
        const auto& s = wf.steps[i];
        if (steps_[i] == slot::done) {
            out.push_back({s.service, i, std::string(step_status::done), s.event, "", 0});
        } else if (steps_[i] == slot::resumed) {
            for (const auto& f : s.failures) {
                if (f.resume) {
                    out.push_back({s.service, i, std::string(step_status::failed), f.event, "", 0});
                    break;
                }
            }
        } else if (steps_[i] == slot::failed && !unlisted_.empty()) {
            out.push_back({s.service, i, std::string(step_status::failed), unlisted_, "", 0});
        } else if (steps_[i] == slot::failed) {
            const auto& f = *wf.failures_of(i).at(failure_);
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
    if (!ended_as_.empty()) {
        st.state = ended_as_; // the owner ended it before the steps did
    }
    return st;
}

std::optional<awaited_step> workflow_progress::awaited(const workflow& wf) const {
    if (!ended_as_.empty() || undelivered_ || !unlisted_.empty()) {
        return std::nullopt;
    }
    // Along the workflow's path: a step done leads to its successor, a loop's failed round to
    // the next round.
    std::uint32_t i = 0;
    while (i < steps_.size()) {
        if (steps_[i] == slot::pending) {
            return awaited_step{i, wf.steps[i].service, false, {}};
        }
        if (steps_[i] == slot::done) {
            i = wf.successor(i);
            continue;
        }
        if (steps_[i] == slot::resumed) {
            const auto next = resumed_at(wf, i);
            if (!next) {
                return std::nullopt;
            }
            i = *next;
            continue;
        }
        if (steps_[i] == slot::failed) {
            const auto& f = *wf.failures_of(i).at(failure_);
            for (std::size_t n = 0; n < notified_.size(); ++n) {
                if (notified_[n] == slot::pending) {
                    return awaited_step{i, f.notify[n], true, f.event};
                }
            }
            return std::nullopt;
        }
        return std::nullopt;
    }
    return std::nullopt;
}

std::optional<std::uint32_t> workflow_progress::resumed_at(const workflow& wf, std::uint32_t i) {
    for (const auto& f : wf.steps.at(i).failures) {
        if (f.resume) {
            return *f.resume;
        }
    }
    return std::nullopt;
}

std::optional<std::pair<std::uint32_t, std::string>>
workflow_progress::entered_by(const workflow& wf, std::uint32_t step) const {
    for (std::uint32_t i = 0; i < steps_.size(); ++i) {
        if (steps_[i] == slot::done && wf.successor(i) == step) {
            return std::pair{i, wf.steps[i].event};
        }
        if (steps_[i] == slot::resumed && resumed_at(wf, i) == step) {
            for (const auto& f : wf.steps[i].failures) {
                if (f.resume) {
                    return std::pair{i, f.event};
                }
            }
        }
    }
    return std::nullopt;
}

bool workflow_progress::fits(const workflow& wf) const {
    if (steps_.size() != wf.steps.size()) {
        return false;
    }
    for (std::size_t i = 0; i < steps_.size(); ++i) {
        const auto index = static_cast<std::uint32_t>(i);
        if (steps_[i] == slot::notified) {
            return false;
        }
        if (steps_[i] == slot::resumed && !resumed_at(wf, index)) {
            return false;
        }
        if (steps_[i] == slot::failed && unlisted_.empty() &&
            (failure_ >= wf.failures_of(index).size() ||
             notified_.size() > wf.failures_of(index)[failure_]->notify.size())) {
            return false; // records() and awaited() name the failure's services by these
        }
    }
    return std::all_of(notified_.begin(), notified_.end(),
                       [](slot s) { return s == slot::pending || s == slot::notified; });
}

workflow_progress::image_type workflow_progress::image() const {
    auto bytes = [](const std::vector<slot>& slots) {
        std::vector<std::uint8_t> out;
        for (const auto s : slots) {
            out.push_back(static_cast<std::uint8_t>(s));
        }
        return out;
    };
    std::vector<msg::step_record> undelivered;
    if (undelivered_) {
        undelivered.push_back(*undelivered_);
    }
    return {bytes(steps_), bytes(notified_), failure_,
            unlisted_,     ended_as_,        std::move(undelivered)};
}

void workflow_progress::msgpack_unpack(const msgpack::object& o) {
    image_type i;
    o.convert(i);
    auto& [steps, notified, failure, unlisted, ended_as, undelivered] = i;
    auto slots = [](const std::vector<std::uint8_t>& codes) {
        std::vector<slot> out;
        for (const auto c : codes) {
            if (c > static_cast<std::uint8_t>(slot::resumed)) {
                throw msgpack::type_error();
            }
            out.push_back(static_cast<slot>(c));
        }
        return out;
    };
    if (undelivered.size() > 1) {
        throw msgpack::type_error();
    }
    auto s = slots(steps);
    auto n = slots(notified);
    steps_ = std::move(s);
    notified_ = std::move(n);
    failure_ = static_cast<std::size_t>(failure);
    unlisted_ = std::move(unlisted);
    ended_as_ = std::move(ended_as);
    undelivered_ = undelivered.empty()
                       ? nullptr
                       : std::make_shared<const msg::step_record>(std::move(undelivered.front()));
}

void log_failed_at_deadline(std::string_view node, std::string_view id, std::string_view detail) {
    log().warn("{}: {} {}; failed", node, printable(id), detail);
}

deadline_queue::deadline_queue(boost::asio::io_context& io, check on_due)
    : timer_(io), on_due_(std::move(on_due)), self_(std::make_shared<deadline_queue*>(this)) {}

deadline_queue::~deadline_queue() {
    self_.reset();
    timer_.cancel();
}

void deadline_queue::schedule(const std::string& workflow_id, clock::time_point due) {
    queue_.push({due, workflow_id});
    arm();
}

void deadline_queue::arm() {
    if (queue_.empty() || (armed_for_ && *armed_for_ <= queue_.top().due)) {
        return; // armed for this entry already, or for an earlier one
    }
    armed_for_ = queue_.top().due;
    timer_.expires_at(*armed_for_);
    timer_.async_wait([weak = std::weak_ptr<deadline_queue*>(self_)](boost::system::error_code) {
        // Cancelled or not, look at the queue again: a re-arm cancels the earlier wait.
        if (const auto self = weak.lock()) {
            (*self)->fire();
        }
    });
}

void deadline_queue::fire() {
    const auto now = clock::now();
    if (armed_for_ && *armed_for_ > now && timer_.expiry() == *armed_for_) {
        return; // a cancelled wait: the newer one is pending
    }
    armed_for_.reset();
    while (!queue_.empty() && queue_.top().due <= now) {
        auto e = queue_.top();
        queue_.pop();
        const auto next = on_due_(e.workflow_id, now);
        if (next) {
            // Never due again at once: a check that returns `now` would spin here.
            queue_.push(
                {std::max(*next, now + std::chrono::milliseconds(1)), std::move(e.workflow_id)});
        }
    }
    arm();
}

std::string workflow_progress::terminal(const workflow& wf) const {
    auto state = status(wf).state;
    if (state == workflow_state::in_progress || state == workflow_state::unknown) {
        return {};
    }
    return state;
}

bool step_watch::follow(const workflow& wf, const workflow_progress& p, clock::time_point now) {
    auto next = p.awaited(wf);
    const bool same = next && awaited_ && next->step == awaited_->step &&
                      next->notice == awaited_->notice && next->service == awaited_->service;
    if (!same) {
        awaited_ = std::move(next);
        attempts_ = 0;
        stuck_since_ns_ = 0;
        if (awaited_) {
            start(now, wf.steps[awaited_->step].deadline);
        }
    }
    return awaited_.has_value();
}

void step_watch::acted(const msg::step_record& r) {
    if (r.at_ns >= last_.at_ns && r.status != step_status::send_failed) {
        last_ = {r.service, r.step, r.status, r.outcome, "", r.at_ns};
    }
}

step_watch::verdict step_watch::expire(const workflow& wf, clock::time_point now) {
    if (!awaited_) {
        return verdict::fail; // nothing awaited has no deadline; not reached
    }
    if (stuck_since_ns_ == 0) {
        stuck_since_ns_ = now_ns();
        stuck_step_ = awaited_->step;
    }
    if (attempts_ >= wf.retries) {
        return verdict::fail;
    }
    ++attempts_;
    ++redrives_;
    start(now, wf.steps[awaited_->step].deadline);
    return verdict::redrive;
}

std::string step_watch::failure_detail(const workflow& wf) const {
    if (!awaited_) {
        return "stuck";
    }
    const auto& a = *awaited_;
    return fmt::format("stuck at step {} ({}{}): no progress within {} ms, re-driven {} time(s)",
                       a.step, a.service, a.notice ? ", told of " + a.event : std::string(),
                       wf.steps[a.step].deadline.count(), attempts_);
}

void step_watch::add_to(msg::workflow_status& st) const {
    if (last_.at_ns != 0) {
        st.last_service = last_.service;
        st.last_step = last_.step;
        st.last_at_ns = last_.at_ns;
    }
    st.stuck_step = stuck_step_;
    st.stuck_since_ns = stuck_since_ns_;
    st.redrives = redrives_;
    if (stuck() && st.state == workflow_state::in_progress) {
        st.state = std::string(workflow_state::stuck);
    }
}

msg::stuck_entry step_watch::entry(const std::string& workflow_id,
                                   const msg::workflow_status& st) const {
    msg::stuck_entry e;
    e.workflow_id = workflow_id;
    e.state = st.state;
    e.last = last_;
    e.stuck_since_ns = stuck_since_ns_;
    e.redrives = redrives_;
    return e;
}

std::size_t step_watch::heap_bytes() const noexcept {
    auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
    std::size_t n = heap(last_.service) + heap(last_.status) + heap(last_.outcome);
    if (awaited_) {
        n += heap(awaited_->service) + heap(awaited_->event);
    }
    return n;
}

void step_watch::start(clock::time_point now, std::chrono::milliseconds deadline) {
    due_ = now + deadline;
    due_ns_ = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(deadline).count();
}

bool step_watch::fits(const workflow& wf) const {
    return (!awaited_ || awaited_->step < wf.steps.size()) &&
           (stuck_since_ns_ == 0 || stuck_step_ < wf.steps.size());
}

step_watch::image_type step_watch::image() const {
    return {awaited_, due_ns_, attempts_, redrives_, stuck_since_ns_, stuck_step_, last_};
}

void step_watch::msgpack_unpack(const msgpack::object& o) {
    image_type i;
    o.convert(i);
    std::tie(awaited_, due_ns_, attempts_, redrives_, stuck_since_ns_, stuck_step_, last_) =
        std::move(i);
    // A deadline that passed while the node was down comes due at once: the step is re-driven
    // (or failed, its retries spent) as if the node had been up.
    due_ = clock::now() + std::chrono::nanoseconds(due_ns_ - now_ns());
}

bool no_progress(const msg::workflow_status& st, std::int64_t older_than_ns, std::int64_t now_ns) {
    if (st.state == workflow_state::stuck) {
        return true;
    }
    if (st.state != workflow_state::in_progress) {
        return false;
    }
    return st.last_at_ns != 0 && now_ns - st.last_at_ns >= older_than_ns;
}

std::optional<msg::stuck_entry> latest_entry(const workflow& wf, const std::string& workflow_id,
                                             const std::vector<msg::step_record>& records) {
    const msg::step_record* last = nullptr;
    bool unsent = false;
    for (const auto& r : records) {
        unsent = unsent || r.status == step_status::send_failed;
        if (r.status != step_status::send_failed && r.at_ns != 0 &&
            (last == nullptr || r.at_ns >= last->at_ns)) {
            last = &r;
        }
    }
    if (last == nullptr) {
        return std::nullopt;
    }
    msg::stuck_entry e;
    e.workflow_id = workflow_id;
    e.last = {last->service, last->step, last->status, last->outcome, "", last->at_ns};
    e.state = unsent ? std::string(workflow_state::failed) : wf.ends_in(*last);
    if (e.state.empty()) {
        e.state = std::string(workflow_state::in_progress);
    }
    return e;
}

} // namespace choreo

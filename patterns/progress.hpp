// How far one workflow has got, kept compactly by a pattern that owns workflow state.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "patterns/contracts.hpp"
#include "patterns/workflow.hpp"

namespace choreo {

/// Returns: the record of a message that never reached `to`: service `to`, the step it was to run
/// (or, for a notice, the step whose failure it was to be told of), status "send_failed",
/// outcome `what` (the event or command), and a detail naming the step, the sender, the peer
/// and the reason.
msg::step_record undelivered_record(std::string_view sender, std::string_view to,
                                    std::uint32_t step, std::string_view what,
                                    std::string_view reason);

/// Folds the "send_failed" records among `records` into `st`, as every pattern builds a status:
/// each takes the place of the pending or unknown placeholder of the step, or of the notice,
/// it names, and a workflow not otherwise ended is then in state "failed" (its message was
/// never sent: it will not go on). Other records are left to status_from_records.
void fold_send_failures(const workflow& wf, const std::vector<msg::step_record>& records,
                        msg::workflow_status& st);

/// What an owner of the workflow state waits for next: a step to run, or a service to be told
/// of a failure.
struct awaited_step {
    std::uint32_t step{};
    std::string service;
    bool notice = false;
    std::string event; ///< for a notice: the failure's event
    bool operator==(const awaited_step&) const = default;
    MSGPACK_DEFINE_MAP(step, service, notice, event)
};

/// Deadlines of the workflows a node owns, checked by one timer whatever their number. Each
/// workflow has at most one entry; a deadline that moves later is found out when its entry
/// comes due and queued again, so the queue holds at most one entry per workflow scheduled.
class deadline_queue {
public:
    using clock = std::chrono::steady_clock;
    /// Called with a workflow whose entry came due. Returns: its deadline now (later than the
    /// entry's: queued again; not later: expired, the owner has acted and returns the next), or
    /// nullopt to drop it (ended, retired).
    using check = std::function<std::optional<clock::time_point>(const std::string& workflow_id,
                                                                 clock::time_point now)>;

    deadline_queue(boost::asio::io_context& io, check on_due);
    ~deadline_queue();
    deadline_queue(const deadline_queue&) = delete;
    deadline_queue& operator=(const deadline_queue&) = delete;

    /// Queues `workflow_id` to be checked at `due`. Call once per workflow (again only after
    /// its check dropped it). On the io thread.
    void schedule(const std::string& workflow_id, clock::time_point due);
    /// Returns: entries queued.
    std::size_t size() const noexcept { return queue_.size(); }
    /// Forgets every entry (the owner's workflows were replaced by a snapshot's; it schedules
    /// theirs). On the io thread.
    void clear() { queue_ = {}; }

private:
    struct entry {
        clock::time_point due;
        std::string workflow_id;
        bool operator>(const entry& o) const { return due > o.due; }
    };
    void arm();
    void fire();

    boost::asio::steady_timer timer_;
    check on_due_;
    std::priority_queue<entry, std::vector<entry>, std::greater<>> queue_;
    std::optional<clock::time_point> armed_for_;
    /// Outlives nothing: a wait that completes after this queue is gone finds it expired.
    std::shared_ptr<deadline_queue*> self_;
};

/// One slot per step and per service told of a failure; outcome names are not stored, the
/// workflow model has them. Records may be folded in in any order.
class workflow_progress {
public:
    explicit workflow_progress(const workflow& wf);
    /// A progress of no workflow, for a snapshot to be read into (see fits()).
    workflow_progress() = default;

    /// Folds in what a service did (done, failed or notified), or a message of the workflow
    /// that could not be sent (send_failed: the first one is kept, detail and all). Records of
    /// steps the model does not have are ignored.
    void apply(const workflow& wf, const msg::step_record& record);
    /// Returns: the step records the slots imply (without detail and time).
    std::vector<msg::step_record> records(const workflow& wf) const;
    /// Returns: the workflow's status as the slots say.
    msg::workflow_status status(const workflow& wf) const;
    /// Returns: the terminal state reached, or "" while the workflow is in progress.
    std::string terminal(const workflow& wf) const;
    /// Returns: what the workflow waits for next (the first step not done, or the first service
    /// not yet told of a failure), or nullopt once it has ended.
    std::optional<awaited_step> awaited(const workflow& wf) const;
    /// Returns: the step done (or the loop's round failed) that led to step `step`, and the
    /// event it announced: what starts `step` again when it is re-driven; nullopt if none has.
    std::optional<std::pair<std::uint32_t, std::string>> entered_by(const workflow& wf,
                                                                    std::uint32_t step) const;
    /// The owner ended the workflow itself, in `terminal`, before the steps said so (a service
    /// refused its command, a step stuck past its retries, say): status() says so from now on,
    /// whatever records come later.
    void end_as(std::string terminal) { ended_as_ = std::move(terminal); }
    /// Returns: whether this progress can be one of `wf` (a snapshot's may be of another).
    bool fits(const workflow& wf) const;
    /// A durable node's snapshot: the slots as they are.
    template <class Packer> void msgpack_pack(Packer& o) const { o.pack(image()); }
    /// Throws: msgpack::type_error if `o` is not what msgpack_pack() wrote.
    void msgpack_unpack(const msgpack::object& o);
    /// Returns: bytes held beside sizeof(workflow_progress).
    std::size_t heap_bytes() const noexcept {
        auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
        auto bytes = steps_.capacity() + notified_.capacity() + heap(unlisted_) + heap(ended_as_);
        if (undelivered_) {
            const auto& r = *undelivered_;
            bytes +=
                sizeof(r) + heap(r.service) + heap(r.status) + heap(r.outcome) + heap(r.detail);
        }
        return bytes;
    }

private:
    /// resumed: the step failed in a round of a loop, and the next round went on.
    enum class slot : std::uint8_t { pending, done, failed, notified, resumed };
    /// Returns: the step a failed round of the loop at step `i` goes back to.
    static std::optional<std::uint32_t> resumed_at(const workflow& wf, std::uint32_t i);
    /// steps, notified, failure, unlisted, ended_as, undelivered (none or one record)
    using image_type =
        std::tuple<std::vector<std::uint8_t>, std::vector<std::uint8_t>, std::uint64_t, std::string,
                   std::string, std::vector<msg::step_record>>;
    image_type image() const;

    std::vector<slot> steps_;    ///< per step
    std::vector<slot> notified_; ///< per service told of the failure
    std::size_t failure_ = 0;    ///< index of the failure of the failed step (failures_of)
    std::string unlisted_;       ///< the outcome of a failure the model does not list
    std::string ended_as_;       ///< set by end_as()
    /// A message of the workflow that could not be sent; null on the healthy path, which so
    /// pays one pointer for it.
    std::shared_ptr<const msg::step_record> undelivered_;
};

/// What an owner of the workflow state keeps per workflow to find it stuck: what it waits for,
/// until when, how often it re-drove it, and the step that acted last.
class step_watch {
public:
    using clock = deadline_queue::clock;
    enum class verdict : std::uint8_t { redrive, fail };

    /// Follows the workflow's progress: if it now waits for something else, that is progress:
    /// the deadline starts again (from `now`, the awaited step's) and the stuck mark goes.
    /// Returns: whether the workflow still waits for a step (false: it has ended).
    bool follow(const workflow& wf, const workflow_progress& p, clock::time_point now);
    /// Notes a record of a step that acted (its time, if later than the last one's).
    void acted(const msg::step_record& r);
    /// The deadline passed with nothing new: marks the workflow stuck (the first time) and
    /// decides. Returns: redrive (counted; the deadline starts again) while retries remain,
    /// then fail.
    verdict expire(const workflow& wf, clock::time_point now);

    const std::optional<awaited_step>& awaited() const noexcept { return awaited_; }
    clock::time_point due() const noexcept { return due_; }
    bool stuck() const noexcept { return stuck_since_ns_ != 0; }
    std::uint32_t redrives() const noexcept { return redrives_; }
    /// Returns: why the owner failed the workflow: the step, its deadline and the re-drives.
    std::string failure_detail(const workflow& wf) const;
    /// Adds what the watch knows to a status: last_*, stuck_*, redrives; the state "stuck" if
    /// the workflow is stuck and `st` says it is in progress.
    void add_to(msg::workflow_status& st) const;
    /// Returns: the workflow as a stuck_request lists it, in `st`'s state.
    msg::stuck_entry entry(const std::string& workflow_id, const msg::workflow_status& st) const;
    /// Returns: bytes held beside sizeof(step_watch).
    std::size_t heap_bytes() const noexcept;
    /// Returns: whether this watch can be one of `wf` (a snapshot's may be of another).
    bool fits(const workflow& wf) const;
    /// A durable node's snapshot: the deadline as wall-clock time (a steady clock's time means
    /// nothing to another process), the rest as it is.
    template <class Packer> void msgpack_pack(Packer& o) const { o.pack(image()); }
    /// Reads what msgpack_pack() wrote; the deadline is as far from now (wall clock) as it was
    /// written for, or past. The owner re-arms its deadline queue with due().
    /// Throws: msgpack::type_error if `o` is not what msgpack_pack() wrote.
    void msgpack_unpack(const msgpack::object& o);

private:
    using image_type = std::tuple<std::optional<awaited_step>, std::int64_t, std::uint32_t,
                                  std::uint32_t, std::int64_t, std::uint32_t, msg::step_record>;
    image_type image() const;
    /// Sets the deadline `deadline` from `now`.
    void start(clock::time_point now, std::chrono::milliseconds deadline);

    std::optional<awaited_step> awaited_;
    clock::time_point due_{};
    std::int64_t due_ns_ = 0;    ///< due_ on the wall clock, for a snapshot
    std::uint32_t attempts_ = 0; ///< re-drives of the awaited step
    std::uint32_t redrives_ = 0; ///< of every step of the workflow
    std::int64_t stuck_since_ns_ = 0;
    std::uint32_t stuck_step_ = 0;
    msg::step_record last_; ///< the record that acted last, without its detail
};

/// Returns: whether a workflow whose state is `st` made no progress for `older_than_ns` at
/// `now_ns` (stuck, or in progress with its last action that old; a workflow nothing acted on
/// yet counts from `since_ns`).
bool no_progress(const msg::workflow_status& st, std::int64_t older_than_ns, std::int64_t now_ns);

/// The most entries a stuck_reply holds, whatever limit is asked: a reply stays far below a
/// node's frame limit (an entry packs to about 150 bytes).
inline constexpr std::size_t max_stuck_entries = 1'000;

/// Returns: how an owner of the workflow state answers a stuck_request: `node`'s workflows
/// not ended that are stuck or made no progress for ask.older_than_ns, at most ask.limit (and
/// max_stuck_entries). `Tracked` has `progress` (workflow_progress), `watch` (step_watch) and
/// `ended`; `now_ns` is the wall clock.
template <class Map>
msg::stuck_reply owner_stuck_reply(const workflow& wf, const std::string& node,
                                   const Map& workflows, const msg::stuck_request& ask,
                                   std::int64_t now_ns) {
    msg::stuck_reply reply{node, true, false, workflows.size(), {}};
    const auto limit = std::min<std::uint64_t>(ask.limit, max_stuck_entries);
    workflows.for_each([&](const std::string& id, const auto& t) {
        if (t.ended) {
            return;
        }
        auto st = t.progress.status(wf);
        t.watch.add_to(st);
        if (!no_progress(st, ask.older_than_ns, now_ns)) {
            return;
        }
        if (reply.entries.size() < limit) {
            reply.entries.push_back(t.watch.entry(id, st));
        } else {
            reply.more = true;
        }
    });
    return reply;
}

/// Logs that `node`, the owner of workflow `id`, failed it at a deadline, and why.
void log_failed_at_deadline(std::string_view node, std::string_view id, std::string_view detail);

/// How an owner of the workflow state checks one workflow when its deadline_queue entry comes
/// due (see deadline_queue::check): a workflow gone or ended is dropped, a deadline that
/// progress moved on is returned, and a step past its deadline is marked stuck
/// (step_watch::expire) and re-driven by `redrive()` while the model's retries remain and
/// `drivable(awaited)` holds; else `fail(detail)` ends the workflow (logged here). A workflow
/// that `redrive()` ended (its message could not be sent) is dropped. `Tracked` has `watch`
/// (step_watch), `ended`, and `scheduled` (whether it is queued), cleared here when it is
/// dropped. Returns: as deadline_queue::check.
template <class Tracked, class Drivable, class Redrive, class Fail>
std::optional<deadline_queue::clock::time_point>
owner_deadline_check(const workflow& wf, std::string_view node, const std::string& id, Tracked* t,
                     deadline_queue::clock::time_point now, Drivable drivable, Redrive redrive,
                     Fail fail) {
    if (t == nullptr) {
        return std::nullopt;
    }
    if (t->ended) {
        t->scheduled = false;
        return std::nullopt;
    }
    if (t->watch.due() > now) {
        return t->watch.due(); // progress moved the deadline on
    }
    const auto& awaited = *t->watch.awaited();
    if (t->watch.expire(wf, now) == step_watch::verdict::fail || !drivable(awaited)) {
        const auto detail = t->watch.failure_detail(wf);
        log_failed_at_deadline(node, id, detail);
        t->scheduled = false;
        fail(detail);
        return std::nullopt;
    }
    redrive();
    if (t->ended) {
        t->scheduled = false;
        return std::nullopt;
    }
    return t->watch.due();
}

/// Returns: a choreographed service's view of one workflow from the records it keeps of it:
/// the latest that acted, and the state it left the workflow in (the terminal state if that
/// record, or a message it could not send, ended it here; else "in_progress"). nullopt if it
/// keeps no record with a time.
std::optional<msg::stuck_entry> latest_entry(const workflow& wf, const std::string& workflow_id,
                                             const std::vector<msg::step_record>& records);

/// Returns: how a choreographed service answers a stuck_request from what it keeps per workflow
/// (`kept`, read through `records_of(value)`): with no ids, the workflows it acted on last more
/// than ask.older_than_ns ago and did not end, newest first, at most ask.limit (and
/// max_stuck_entries): candidates only, since a later service may have acted since; with ids,
/// its latest entry for each of the first ask.limit of them that it knows.
template <class Map, class RecordsOf>
msg::stuck_reply service_stuck_reply(const workflow& wf, const std::string& node, const Map& kept,
                                     const msg::stuck_request& ask, std::int64_t now_ns,
                                     RecordsOf records_of) {
    msg::stuck_reply reply{node, false, false, kept.size(), {}};
    const auto limit =
        static_cast<std::size_t>(std::min<std::uint64_t>(ask.limit, max_stuck_entries));
    if (!ask.workflow_ids.empty()) {
        for (std::size_t i = 0; i < ask.workflow_ids.size() && i < limit; ++i) {
            const auto& id = ask.workflow_ids[i];
            if (const auto* v = kept.find(id)) {
                if (auto e = latest_entry(wf, id, records_of(*v))) {
                    reply.entries.push_back(std::move(*e));
                }
            }
        }
        reply.more = ask.workflow_ids.size() > limit;
        return reply;
    }
    std::vector<msg::stuck_entry> found;
    kept.for_each([&](const std::string& id, const auto& v) {
        auto e = latest_entry(wf, id, records_of(v));
        if (e && e->state == workflow_state::in_progress &&
            now_ns - e->last.at_ns >= ask.older_than_ns) {
            found.push_back(std::move(*e));
        }
    });
    auto newest_first = [](const msg::stuck_entry& a, const msg::stuck_entry& b) {
        return a.last.at_ns > b.last.at_ns;
    };
    if (found.size() > limit) {
        std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(limit),
                          found.end(), newest_first);
        found.resize(limit);
        reply.more = true;
    } else {
        std::sort(found.begin(), found.end(), newest_first);
    }
    reply.entries = std::move(found);
    return reply;
}

} // namespace choreo

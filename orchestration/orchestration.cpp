#include "orchestration/orchestration.hpp"

#include <algorithm>

#include "orchestration/contracts.hpp"
#include "patterns/clock.hpp"
#include "patterns/codec.hpp"
#include "patterns/errors.hpp"
#include "patterns/log.hpp"
#include "patterns/progress.hpp"
#include "patterns/retention.hpp"

namespace choreo::orchestration {
namespace {

/// How a workflow ends when a service refuses the orchestrator's command, or the command
/// cannot be sent: the client is told rather than left waiting.
constexpr std::string_view refused_terminal = workflow_state::failed;

/// The orchestrator: owns every workflow's state and drives it step by step.
class orchestrator final : public service_behaviour {
public:
    explicit orchestrator(service_context& ctx)
        : ctx_(ctx), workflows_(ctx.retain_finished(), ctx.remember_retired()),
          early_(ctx.retain_early()),
          deadlines_(ctx.net().io(),
                     [this](const std::string& id, auto now) { return on_deadline(id, now); }) {}

private:
    struct tracked {
        std::string reply_to;
        msg::value details; ///< kept until the workflow ends: every step needs it
        workflow_progress progress;
        std::uint32_t hop = 0;
        bool ended = false;
        std::string awaiting;   ///< the service whose step_finished comes next
        std::uint32_t step = 0; ///< the step that reply is about
        step_watch watch;       ///< the deadline of that reply
        bool scheduled = false; ///< in the deadline queue (not in a snapshot: load() queues)
        /// Events from outside the chain that came (a step awaiting one runs once it came).
        std::vector<std::string> outside;
        /// The step `step` waits for an event from outside before it is commanded.
        bool parked = false;
        /// The command of an interrupt that came while a step was commanded (see
        /// outside_event()): no step is commanded any more, the next one fails with it. Empty:
        /// none came. (A snapshot written before it was kept has none.)
        std::string interrupted{};
        MSGPACK_DEFINE_MAP(reply_to, details, progress, hop, ended, awaiting, step, watch, outside,
                           parked, interrupted)
    };

    /// Events from outside the chain that came for workflows not placed yet, in a snapshot:
    /// (workflow id, events), the one that came longest ago first; and how many workflows' were
    /// evicted unused (a snapshot written before they were counted has none: 0).
    struct early_image {
        std::vector<std::pair<std::string, std::vector<std::string>>> events;
        std::uint64_t evicted = 0;
        MSGPACK_DEFINE_MAP(events, evicted)
    };

    std::error_code on_receive(const incoming& in) override {
        const auto& id = in.msg.env.workflow_id;
        const auto hop = in.msg.env.hop;
        const auto& wf = ctx_.flow();
        if (const auto* order = msg::get_if<msg::place_order>(&in.msg.payload)) {
            if (order->workflow != wf.name || wf.steps.empty()) {
                return errc::unexpected_message;
            }
            if (workflows_.retired(id)) {
                return errc::unexpected_message; // a reused workflow id starts nothing
            }
            const auto [t, fresh] = workflows_.try_emplace(id, tracked{order->reply_to,
                                                                       order->details,
                                                                       workflow_progress(wf),
                                                                       hop,
                                                                       false,
                                                                       {},
                                                                       0,
                                                                       {},
                                                                       false,
                                                                       {},
                                                                       false,
                                                                       {}});
            if (!fresh) {
                return errc::unexpected_message; // a reused workflow id starts nothing
            }
            take_early(id, *t);
            start(id, *t, 0);
            return {};
        }
        if (const auto* done = msg::get_if<step_finished>(&in.msg.payload)) {
            auto* found = workflows_.find(id);
            if (found == nullptr) {
                return errc::unknown_workflow;
            }
            auto& t = *found;
            if (!in.via_inbox && in.peer == done->record.service &&
                (t.ended || late(t, done->record))) {
                // An answer to a re-driven command, or one that comes after the workflow was
                // failed for want of it: expected, and nothing more to do.
                ++late_answers_;
                return {};
            }
            if (t.ended) {
                return errc::unknown_workflow;
            }
            // Only the answer the orchestrator waits for counts: from the service it asked,
            // about the step it asked about. It comes on the connection the orchestrator asked
            // on, or in its inbox (under the sender's name, authenticated when there are keys)
            // when that connection went with a restart of either side.
            const auto& from = in.via_inbox ? in.msg.env.sender : in.peer;
            if (from != t.awaiting || done->record.service != t.awaiting ||
                done->record.step != t.step) {
                return errc::unexpected_message;
            }
            t.hop = std::max(t.hop, hop);
            t.progress.apply(wf, done->record);
            t.watch.acted(done->record);
            next(id, t, done->record);
            return {};
        }
        if (const auto* e = msg::get_if<msg::workflow_event>(&in.msg.payload)) {
            return outside_event(id, *e);
        }
        if (const auto* refused = msg::get_if<msg::error_reply>(&in.msg.payload)) {
            // A service refused a command: the workflow cannot go on, and the client is told.
            auto* t = workflows_.find(id);
            if (in.via_inbox || t == nullptr || t->ended || in.peer != t->awaiting) {
                return errc::unexpected_message;
            }
            end(id, *t, std::string(refused_terminal),
                in.peer + " refused step " + std::to_string(t->step) + ": " + refused->reason);
            return {};
        }
        if (const auto* ask = msg::get_if<msg::status_request>(&in.msg.payload)) {
            const auto* t = workflows_.find(ask->workflow_id);
            if (t == nullptr) {
                ctx_.answer_status(in, ask->workflow_id, nullptr,
                                   workflows_.retired(ask->workflow_id));
                return {};
            }
            auto st = t->progress.status(wf);
            if (t->parked && !t->ended && t->step < st.steps.size() &&
                st.steps[t->step].status == step_status::pending) {
                // Parked here until the event from outside it awaits: what the step's service
                // would say under choreography, where it waits (a record of its own).
                const auto& awaits = wf.steps[t->step].awaits;
                auto& r = st.steps[t->step];
                r.status = std::string(step_status::waiting);
                r.outcome = awaits;
                r.detail = "waits for " + awaits;
            }
            t->watch.add_to(st);
            // A reply that cannot go out leaves the asker to time out.
            static_cast<void>(ctx_.net().reply(in, {ask->workflow_id, 0, in.msg.env.query_id,
                                                    msg::status_reply{ctx_.name(), st}}));
            return {};
        }
        if (const auto* ask = msg::get_if<msg::stuck_request>(&in.msg.payload)) {
            static_cast<void>(ctx_.net().reply(
                in, {"", 0, in.msg.env.query_id,
                     owner_stuck_reply(wf, ctx_.name(), workflows_, *ask, now_ns())}));
            return {};
        }
        return errc::unexpected_message;
    }

    /// An event from outside the chain, sent by the client. A step awaiting an outside event is
    /// commanded once that event came. An interrupt fails the first step not yet run at its
    /// service when it comes there, as under choreography: a step waiting here for an outside
    /// event (not commanded) fails at once; a step commanded already is left to its service,
    /// to which the interrupt is passed on: the service runs the step if the command came there
    /// first, or fails it with the interrupt's event if the interrupt did; and the step after
    /// it is failed with that event instead of being commanded. A workflow failing already
    /// ends as that failure says. An event for a workflow not placed yet is remembered (within
    /// the retention, as a choreographed service remembers it) and acted on once it is placed.
    std::error_code outside_event(const std::string& id, const msg::workflow_event& e) {
        const auto& wf = ctx_.flow();
        const failure* cut = wf.interrupt_by(e.event);
        if (e.workflow != wf.name || (cut == nullptr && !wf.awaited_from_outside(e.event))) {
            return errc::unexpected_message;
        }
        auto* t = workflows_.find(id);
        if (t == nullptr) {
            if (!workflows_.retired(id)) {
                remember_early(id, e.event);
            }
            return {};
        }
        if (t->ended) {
            return {}; // too late: it ended before the event came
        }
        if (cut == nullptr) {
            if (std::find(t->outside.begin(), t->outside.end(), e.event) == t->outside.end()) {
                t->outside.push_back(e.event);
            }
            if (t->parked && wf.steps[t->step].awaits == e.event) {
                start(id, *t, t->step);
            }
            return {};
        }
        const auto awaited = t->progress.awaited(wf);
        if (!awaited || awaited->notice || !t->interrupted.empty()) {
            return {}; // failing already, or interrupted already: it ends as that says
        }
        t->interrupted = e.event;
        if (t->parked) {
            interrupt_at(id, *t, t->step); // not commanded: nobody else can have run it
            return {};
        }
        // A passed-on interrupt that cannot be sent (or is dropped on the way) leaves the step
        // to run at its service: the step after it fails here all the same.
        static_cast<void>(ctx_.net().send(t->awaiting, {id, t->hop + 1, 0, e}));
        return {};
    }

    /// Remembers an event from outside for a workflow not placed yet: kept until it is placed,
    /// however many workflows end meanwhile; if retain_early() workflows' are kept already, the
    /// oldest are evicted, counted and logged.
    void remember_early(const std::string& id, const std::string& event) {
        auto [events, evicted] = early_.emplace(id);
        if (std::find(events->begin(), events->end(), event) == events->end()) {
            events->push_back(event);
        }
        if (evicted) {
            log().warn("{}: the early events of {} were evicted unused (at most {} workflows' "
                       "kept, {} evicted so far): if it is placed still, it goes on without them",
                       ctx_.name(), printable(*evicted), early_.capacity(), early_.evicted());
        }
    }

    /// A workflow just placed takes in the events from outside that came for it before: an
    /// interrupt fails its first step (as that step's service, having heard it, would), an
    /// awaited event lets the step awaiting it be commanded when the workflow gets there.
    void take_early(const std::string& id, tracked& t) {
        auto* early = early_.find(id);
        if (early == nullptr) {
            return;
        }
        for (auto& event : *early) {
            if (ctx_.flow().interrupt_by(event) != nullptr) {
                t.interrupted = event;
            } else {
                t.outside.push_back(event);
            }
        }
        early_.erase(id); // used: the workflow keeps them from now on
    }

    /// Fails step `step` with the workflow's interrupt, as the step's service would once it had
    /// heard it, and goes on as that failure says.
    void interrupt_at(const std::string& id, tracked& t, std::uint32_t step) {
        const auto& wf = ctx_.flow();
        const failure* cut = wf.interrupt_by(t.interrupted);
        const msg::step_record r{wf.steps[step].service,           step,
                                 std::string(step_status::failed), cut->event,
                                 "interrupted by " + cut->outcome, now_ns()};
        t.parked = false;
        t.progress.apply(wf, r);
        t.watch.acted(r);
        next(id, t, r);
    }

    /// Commands step `step`, or parks the workflow there until the outside event it awaits; an
    /// interrupted workflow fails the step instead.
    void start(const std::string& id, tracked& t, std::uint32_t step) {
        const auto& wf = ctx_.flow();
        if (!t.interrupted.empty()) {
            return interrupt_at(id, t, step);
        }
        const auto& awaits = wf.steps[step].awaits;
        t.parked = !awaits.empty() &&
                   std::find(t.outside.begin(), t.outside.end(), awaits) == t.outside.end();
        if (t.parked) {
            t.awaiting.clear();
            t.step = step;
            watch(id, t);
            return;
        }
        command(id, t, wf.steps[step].service, step, run_step{wf.name, step, t.details});
    }

    /// Decides what follows what a service did: the next step, the next round of a loop, the
    /// next service to tell of a failure, or the end.
    void next(const std::string& id, tracked& t, const msg::step_record& r) {
        const auto& wf = ctx_.flow();
        if (r.status == step_status::done) {
            if (wf.successor(r.step) < wf.steps.size()) {
                start(id, t, wf.successor(r.step));
            } else {
                end(id, t, std::string(workflow_state::completed), r.detail);
            }
            return;
        }
        const failure* f = wf.find_failure(r.step, r.outcome);
        if (f == nullptr) {
            return end(id, t, r.outcome, r.detail); // an outcome the model does not know
        }
        if (f->resume) {
            return start(id, t, *f->resume);
        }
        auto who = f->notify.begin();
        if (r.status == step_status::notified) {
            who = std::find(f->notify.begin(), f->notify.end(), r.service);
            who = who == f->notify.end() ? who : who + 1;
        }
        if (who == f->notify.end()) {
            return end(id, t, f->terminal, r.detail);
        }
        command(id, t, *who, r.step, tell_failure{wf.name, r.step, f->event, t.details});
    }

    /// Sends a service its command and waits for its answer about `step`. A command that
    /// cannot be sent ends the workflow (the client is told) rather than leaving it waiting.
    void command(const std::string& id, tracked& t, const std::string& service, std::uint32_t step,
                 msg::payload what) {
        t.awaiting = service;
        t.step = step;
        watch(id, t);
        send_command(id, t, service, step, std::move(what));
    }

    /// What the workflow waits for now has a deadline, checked by the one queue.
    void watch(const std::string& id, tracked& t) {
        if (t.watch.follow(ctx_.flow(), t.progress, deadline_queue::clock::now()) && !t.scheduled) {
            t.scheduled = true;
            deadlines_.schedule(id, t.watch.due());
        }
    }

    void send_command(const std::string& id, tracked& t, const std::string& service,
                      std::uint32_t step, msg::payload what) {
        const auto type = what.type_name();
        if (const auto sent = ctx_.net().send(service, {id, t.hop + 1, 0, std::move(what)});
            !sent) {
            lost(id, t,
                 undelivered_record(ctx_.name(), service, step, type, sent.error().message()));
        }
    }

    /// A command never reached its service: the status shows it on the step (or notice), and
    /// the workflow ends "failed".
    void lost(const std::string& id, tracked& t, const msg::step_record& record) {
        t.progress.apply(ctx_.flow(), record);
        end(id, t, std::string(refused_terminal), record.detail);
    }

    /// A command this node sent was dropped on the way (its service went away): as if the send
    /// had failed at once, if the workflow still waits for that service.
    void on_send_failed(const failed_send& f) override {
        auto* t = workflows_.find(f.what.env.workflow_id);
        if (t == nullptr || t->ended || f.to != t->awaiting ||
            msg::get_if<msg::workflow_event>(&f.what.payload) != nullptr) {
            return; // a passed-on interrupt lost: the step it was to stop runs, as commanded
        }
        lost(f.what.env.workflow_id, *t,
             undelivered_record(ctx_.name(), f.to, t->step, f.what.payload.type_name(),
                                make_error_code(f.reason).message()));
    }

    /// Returns: whether `r` answers a command the workflow no longer waits for (a re-driven
    /// one answered twice, or a step it has got past).
    bool late(const tracked& t, const msg::step_record& r) const {
        const auto awaited = t.progress.awaited(ctx_.flow());
        if (awaited && awaited->notice && r.status != step_status::notified) {
            return true; // a step's answer after an interrupt failed it
        }
        if (r.step != t.step || r.service != t.awaiting) {
            return r.step <= t.step;
        }
        return false;
    }

    /// The deadline queue's check: a workflow whose command went unanswered past the step's
    /// deadline is marked stuck and re-driven (the command sent again), and failed once the
    /// model's retries are spent.
    std::optional<deadline_queue::clock::time_point>
    on_deadline(const std::string& id, deadline_queue::clock::time_point now) {
        auto* t = workflows_.find(id);
        const auto& wf = ctx_.flow();
        return owner_deadline_check(
            wf, ctx_.name(), id, t, now, [](const awaited_step&) { return true; },
            [&] {
                if (t->parked) {
                    return; // nothing to send again: it waits for an event from outside
                }
                const auto& a = *t->watch.awaited();
                const auto details = t->details;
                ctx_.net().note({now_ns(), id, std::string(incident_redriven), t->awaiting});
                send_command(id, *t, t->awaiting, t->step,
                             a.notice
                                 ? msg::payload(tell_failure{wf.name, a.step, a.event, details})
                                 : msg::payload(run_step{wf.name, a.step, details}));
            },
            [&](const std::string& detail) { end(id, *t, std::string(refused_terminal), detail); });
    }

    void end(const std::string& id, tracked& t, const std::string& terminal,
             const std::string& detail) {
        t.ended = true;
        t.details = {};
        std::string().swap(t.awaiting);
        if (t.progress.terminal(ctx_.flow()).empty()) {
            t.progress.end_as(terminal); // ended by the orchestrator itself, not by a step
        }
        // Unsent, the end is counted and logged by the node; the status still shows it.
        static_cast<void>(ctx_.end_workflow(t.reply_to, id, t.hop, terminal, detail));
        workflows_.finish(id, terminal); // may retire older finished ones, never this one
        ctx_.finished(id);
    }

    std::size_t on_state_workflows() const override { return workflows_.size(); }

    std::string kind() const { return "orchestrator:" + ctx_.name(); }

    void on_save(snapshot::writer& w) const override {
        snapshot::write_kind(w, kind());
        snapshot::write(w, workflows_);
        w << late_answers_;
        early_image early;
        early_.for_each([&](const std::string& id, const std::vector<std::string>& events) {
            if (!events.empty()) {
                early.events.emplace_back(id, events);
            }
        });
        early.evicted = early_.evicted();
        w << early;
    }

    /// Takes in the workflows of a snapshot, refused whole if any is not one of this workflow.
    /// Deadlines are data (step_watch keeps when each is due, on the wall clock): every workflow
    /// still waiting for a step is queued again here, and one whose deadline passed while the node
    /// was down is re-driven (or failed) as soon as the node runs. Call before the node runs, or
    /// on its io thread.
    void on_load(snapshot::reader& r) override {
        snapshot::read_kind(r, kind());
        auto loaded = snapshot::read_new(r, workflows_);
        std::uint64_t late_answers = 0;
        r >> late_answers;
        // The early events, a map (a snapshot written before they were kept has none: what
        // follows it, if anything, is the node's, an array).
        early_image early;
        if (!r.done() && r.peek().type == msgpack::type::MAP) {
            r >> early;
        }
        std::vector<std::string> waiting;
        loaded.for_each([&](const std::string& id, const tracked& t) {
            if (!t.progress.fits(ctx_.flow()) || !t.watch.fits(ctx_.flow()) ||
                t.step >= ctx_.flow().steps.size() ||
                (!t.interrupted.empty() && ctx_.flow().interrupt_by(t.interrupted) == nullptr)) {
                throw snapshot::invalid("orchestrator snapshot: " + id + " is no " +
                                        ctx_.flow().name + " workflow");
            }
            if (!t.ended && t.watch.awaited()) {
                waiting.push_back(id);
            }
        });
        workflows_ = std::move(loaded);
        late_answers_ = late_answers;
        decltype(early_) kept(early_.capacity());
        for (auto& [id, events] : early.events) {
            // Placed already (an image from before early events were erased once used): used.
            if (!events.empty() && !workflows_.contains(id) && !workflows_.retired(id)) {
                *kept.emplace(id).first = std::move(events);
            }
        }
        kept.set_evicted(early.evicted + kept.evicted());
        early_ = std::move(kept);
        deadlines_.clear();
        for (const auto& id : waiting) {
            auto& t = *workflows_.find(id);
            t.scheduled = true;
            deadlines_.schedule(id, t.watch.due());
        }
    }

    std::uint64_t on_early_evicted() const override { return early_.evicted(); }

    std::size_t on_state_bytes() const override {
        auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
        std::size_t n = workflows_.overhead_bytes();
        workflows_.for_each([&](const std::string& id, const tracked& t) {
            n += sizeof(id) + heap(id) + sizeof(t) + heap(t.reply_to) + t.progress.heap_bytes() +
                 t.watch.heap_bytes();
            n += t.details.bytes().size() > 1 ? t.details.bytes().size() + 1 : 0;
            n += heap(t.interrupted);
        });
        n += early_.overhead_bytes(); // early events are workflow state: counted with it
        early_.for_each([&](const std::string& id, const std::vector<std::string>& events) {
            n += sizeof(id) + heap(id) + sizeof(events) + events.capacity() * sizeof(std::string);
            for (const auto& e : events) {
                n += heap(e);
            }
        });
        return n;
    }

    service_context& ctx_;
    /// Workflows in progress and the last retain_finished() ended ones; the terminal state of
    /// those retired before is remembered for status queries.
    retention_map<tracked> workflows_;
    /// Events from outside that came for workflows not placed (yet), until they are: apart from
    /// the ended workflows, bounded by retain_early() (evictions counted and logged).
    pending_map<std::vector<std::string>> early_;
    /// One timer for every workflow's deadline.
    deadline_queue deadlines_;
    std::uint64_t late_answers_ = 0; ///< answers to re-driven commands, dropped
};

/// A domain service under orchestration: runs what it is told and answers the orchestrator.
class service final : public service_behaviour {
public:
    explicit service(service_context& ctx) : ctx_(ctx) {}

private:
    std::error_code on_receive(const incoming& in) override {
        const auto& wf = ctx_.flow();
        const auto& id = in.msg.env.workflow_id;
        if (const auto* run = msg::get_if<run_step>(&in.msg.payload)) {
            if (run->workflow != wf.name || run->step >= wf.steps.size() ||
                wf.steps[run->step].service != ctx_.name()) {
                return errc::unexpected_message;
            }
            // The orchestrator commands a step that awaits an outside event once it came.
            answer(in, ctx_.domain().run(wf, run->step, id, run->details, true));
            return {};
        }
        if (const auto* told = msg::get_if<tell_failure>(&in.msg.payload)) {
            const failure* f = wf.find_failure(told->step, told->event);
            if (told->workflow != wf.name || f == nullptr ||
                std::find(f->notify.begin(), f->notify.end(), ctx_.name()) == f->notify.end()) {
                return errc::unexpected_message;
            }
            answer(in, ctx_.domain().notify(told->step, *f, id, told->details));
            return {};
        }
        if (const auto* e = msg::get_if<msg::workflow_event>(&in.msg.payload)) {
            // An interrupt the orchestrator passes on while this service has its step (see
            // outside_event()): remembered here, so that a step not run here yet fails with the
            // interrupt's event, whichever of the two came first. From the orchestrator alone.
            const failure* f = wf.interrupt_by(e->event);
            const auto& from = in.via_inbox ? in.msg.env.sender : in.peer;
            if (e->workflow != wf.name || f == nullptr || from != orchestrator_of(wf) ||
                std::none_of(wf.steps.begin(), wf.steps.end(),
                             [&](const step& s) { return s.service == ctx_.name(); })) {
                return errc::unexpected_message;
            }
            // No step waits here for an event from outside (the orchestrator commands such a
            // step once the event came): nothing runs now, and nothing is answered.
            static_cast<void>(ctx_.domain().interrupt(wf, id, *f));
            ctx_.finished(id);
            return {};
        }
        return errc::unexpected_message;
    }

    void answer(const incoming& in, msg::step_record record) {
        // Unsent (the orchestrator is gone), the answer is counted and logged by the node:
        // nobody else waits for it.
        static_cast<void>(ctx_.net().reply(
            in, {in.msg.env.workflow_id, in.msg.env.hop + 1, 0, step_finished{std::move(record)}}));
        // A service cannot tell when the workflow ends: its part is done once it has answered.
        ctx_.finished(in.msg.env.workflow_id);
    }

    // A service under orchestration keeps no workflow state (its domain service keeps what
    // makes a step idempotent): its snapshot says only whose it is.
    void on_save(snapshot::writer& w) const override {
        snapshot::write_kind(w, "orchestration.service:" + ctx_.name());
    }
    void on_load(snapshot::reader& r) override {
        snapshot::read_kind(r, "orchestration.service:" + ctx_.name());
    }

    service_context& ctx_;
};

} // namespace

std::string orchestrator_of(const workflow& wf) {
    return wf.name.substr(0, wf.name.find(':')) + "_orchestrator";
}

pattern::pattern() {
    register_contract<run_step>(do_name());
    register_contract<tell_failure>(do_name());
    register_contract<step_finished>(do_name());
}

std::string_view pattern::do_summary() const noexcept {
    return "An orchestrator, a node that is not a domain service, owns the workflow state: it "
           "calls each service in turn and waits for its reply, handles every error path, and "
           "answers status queries alone. Services never talk to each other.";
}

std::string pattern::do_entry(const workflow& wf) const {
    return orchestrator_of(wf);
}

std::vector<std::string> pattern::do_extra_nodes(const workflow& wf) const {
    return {orchestrator_of(wf)};
}

std::unique_ptr<service_behaviour> pattern::do_make_service(service_context& ctx) const {
    if (ctx.has_domain()) {
        return std::make_unique<service>(ctx);
    }
    return std::make_unique<orchestrator>(ctx);
}

status_plan pattern::do_plan_status_query(const workflow& wf,
                                          const std::string& workflow_id) const {
    return {{orchestrator_of(wf)}, msg::status_request{workflow_id}};
}

msg::workflow_status pattern::do_assemble_status(const workflow&,
                                                 const std::vector<message>& replies,
                                                 const std::set<std::string>&) const {
    return status_of_owner(replies);
}

} // namespace choreo::orchestration

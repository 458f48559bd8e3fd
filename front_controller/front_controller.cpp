#include "front_controller/front_controller.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

#include "front_controller/contracts.hpp"
#include "patterns/choreography.hpp"
#include "patterns/clock.hpp"
#include "patterns/codec.hpp"
#include "patterns/errors.hpp"
#include "patterns/progress.hpp"
#include "patterns/retention.hpp"

namespace choreo::front_controller {
namespace {

/// What the front controller keeps per workflow: who to tell, and how far it has got.
struct tracked {
    std::string reply_to;
    workflow_progress progress;
    std::uint32_t hop = 0;
    bool ended = false;
    std::string final_detail; ///< what the last actor said, until the client has been told
    msg::value details;       ///< kept until the workflow ends: a re-driven step needs it
    step_watch watch;         ///< the deadline of the step it waits for
    bool scheduled = false;   ///< in the deadline queue (not in a snapshot: load() queues)
    MSGPACK_DEFINE_MAP(reply_to, progress, hop, ended, final_detail, details, watch)
};

class service final : public service_behaviour {
public:
    explicit service(service_context& ctx)
        : ctx_(ctx), workflows_(ctx.retain_finished(), ctx.remember_retired()),
          deadlines_(ctx.net().io(),
                     [this](const std::string& id, auto now) { return on_deadline(id, now); }) {}

private:
    bool is_controller() const { return ctx_.name() == ctx_.first_service(); }

    std::error_code on_receive(const incoming& in) override {
        const auto& id = in.msg.env.workflow_id;
        const auto hop = in.msg.env.hop;
        if (const auto* order = msg::get_if<msg::place_order>(&in.msg.payload)) {
            auto reacted = react_to_order(ctx_.flow(), ctx_.domain(), id, *order);
            if (!reacted) {
                return reacted.error();
            }
            const auto& r = reacted.value();
            // A reused workflow id joins the state already kept for it: the steps already
            // taken stay taken (the domain services answer with what they decided before).
            workflows_.try_emplace(id, tracked{order->reply_to,
                                               workflow_progress(ctx_.flow()),
                                               0,
                                               false,
                                               {},
                                               order->details,
                                               {},
                                               false});
            const auto lost = pass_on(id, hop, r);
            if (!r.terminal.empty()) {
                workflows_.find(id)->final_detail = r.record.detail;
            }
            apply(id, hop, r.record);
            if (lost) {
                static_cast<void>(take(id, hop, *lost)); // tracked: cannot be unknown
            }
            return {};
        }
        if (const auto* e = msg::get_if<msg::workflow_event>(&in.msg.payload)) {
            auto r = react_to_event(ctx_.flow(), ctx_.domain(), id, *e);
            if (!r) {
                return r.error();
            }
            const auto lost = pass_on(id, hop, r.value());
            const progress_report report{r.value().record, r.value().terminal};
            if (!r.value().acted()) {
                // A step left waiting for an event from outside, or an outside event heard:
                // nothing to report until the service decides. Its part is done for now.
                if (!is_controller()) {
                    ctx_.finished(id);
                }
                return {};
            }
            if (is_controller()) {
                // The controller's own progress: no message.
                const auto ec = take(id, hop, report);
                return lost && !ec ? take(id, hop, *lost) : ec;
            }
            report_progress(id, hop, report);
            if (lost) {
                report_progress(id, hop, *lost);
            }
            // A service other than the controller cannot tell when the workflow ends: its own
            // part is done here, and that is when its ledger may retire the workflow.
            ctx_.finished(id);
            return {};
        }
        if (const auto* report = msg::get_if<progress_report>(&in.msg.payload)) {
            if (!is_controller()) {
                return errc::unexpected_message;
            }
            return take(id, hop, *report);
        }
        if (const auto* ask = msg::get_if<msg::status_request>(&in.msg.payload)) {
            if (!is_controller()) {
                return errc::unexpected_message;
            }
            const auto* t = workflows_.find(ask->workflow_id);
            if (t == nullptr) {
                ctx_.answer_status(in, ask->workflow_id, nullptr,
                                   workflows_.retired(ask->workflow_id));
                return {};
            }
            auto st = t->progress.status(ctx_.flow());
            t->watch.add_to(st);
            // A reply that cannot go out leaves the asker to time out, as if this node were
            // silent.
            static_cast<void>(ctx_.net().reply(in, {ask->workflow_id, 0, in.msg.env.query_id,
                                                    msg::status_reply{ctx_.name(), st}}));
            return {};
        }
        if (const auto* ask = msg::get_if<msg::stuck_request>(&in.msg.payload)) {
            if (!is_controller()) {
                return errc::unexpected_message; // the controller alone knows
            }
            static_cast<void>(ctx_.net().reply(
                in, {"", 0, in.msg.env.query_id,
                     owner_stuck_reply(ctx_.flow(), ctx_.name(), workflows_, *ask, now_ns())}));
            return {};
        }
        return errc::unexpected_message;
    }

    /// The controller takes a progress report into the workflow's state.
    std::error_code take(const std::string& id, std::uint32_t hop, const progress_report& report) {
        auto* t = workflows_.find(id);
        if (t == nullptr) {
            // A report that comes after its workflow was retired has nothing left to change.
            return workflows_.retired(id) ? std::error_code() : errc::unknown_workflow;
        }
        if (!report.terminal.empty()) {
            t->final_detail = report.record.detail;
        }
        apply(id, hop, report.record);
        return {};
    }

    /// Returns: the report that ends the workflow "failed" if the next event cannot be sent.
    std::optional<progress_report> pass_on(const std::string& id, std::uint32_t hop,
                                           const reaction& r) {
        if (!r.next) {
            return std::nullopt;
        }
        const auto sent = ctx_.net().send(r.next_service, {id, hop + 1, 0, *r.next});
        if (sent) {
            return std::nullopt;
        }
        return lost(r.next_service, *r.next, sent.error().message());
    }

    progress_report lost(const std::string& to, const msg::workflow_event& e,
                         std::string_view reason) const {
        return {undelivered(ctx_.flow(), ctx_.name(), to, e, reason),
                std::string(workflow_state::failed)};
    }

    /// Reports to the controller. If that cannot be sent, nobody can end the workflow: the node
    /// has counted and logged it, and the controller's status shows the workflow where it was.
    void report_progress(const std::string& id, std::uint32_t hop, const progress_report& r) {
        static_cast<void>(ctx_.net().send(ctx_.first_service(), {id, hop + 1, 0, r}));
    }

    /// An event this node sent was dropped on the way (its peer went away): as if the send had
    /// failed at once.
    void on_send_failed(const failed_send& f) override {
        const auto* e = msg::get_if<msg::workflow_event>(&f.what.payload);
        if (e == nullptr) {
            return; // a report or the end: nobody is left to tell
        }
        const auto& id = f.what.env.workflow_id;
        const auto hop = f.what.env.hop > 0 ? f.what.env.hop - 1 : 0; // the hop that caused it
        const auto report = lost(f.to, *e, make_error_code(f.reason).message());
        if (is_controller()) {
            static_cast<void>(take(id, hop, report)); // a retired workflow stays as it ended
        } else {
            report_progress(id, hop, report);
        }
    }

    /// The controller folds a step's record into the workflow's state; at the end it tells
    /// the client.
    void apply(const std::string& id, std::uint32_t hop, const msg::step_record& record) {
        auto& t = *workflows_.find(id);
        t.hop = std::max(t.hop, hop);
        t.progress.apply(ctx_.flow(), record);
        t.watch.acted(record);
        // Reports can overtake each other on their way here: the workflow has ended when the
        // state held here says so, not when the last report claims it.
        if (t.ended) {
            return;
        }
        if (const auto terminal = t.progress.terminal(ctx_.flow()); !terminal.empty()) {
            end(id, t, terminal, t.final_detail);
            return;
        }
        // Still under way: what it waits for now has a deadline, checked by the one queue.
        if (t.watch.follow(ctx_.flow(), t.progress, deadline_queue::clock::now()) && !t.scheduled) {
            t.scheduled = true;
            deadlines_.schedule(id, t.watch.due());
        }
    }

    void end(const std::string& id, tracked& t, const std::string& terminal,
             const std::string& detail) {
        t.ended = true;
        // Unsent, the end is counted and logged by the node; the status still shows it.
        static_cast<void>(ctx_.end_workflow(t.reply_to, id, t.hop, terminal, detail));
        std::string().swap(t.final_detail);
        t.details = {};
        workflows_.finish(id, terminal); // may retire older finished ones, never this one
        ctx_.finished(id);
    }

    /// The deadline queue's check: a workflow whose step passed its deadline is marked stuck
    /// and re-driven (the event that starts the step, or the notice, sent again to the service
    /// that must act), and failed once the model's retries are spent.
    std::optional<deadline_queue::clock::time_point>
    on_deadline(const std::string& id, deadline_queue::clock::time_point now) {
        auto* t = workflows_.find(id);
        return owner_deadline_check(
            ctx_.flow(), ctx_.name(), id, t, now,
            // Step 0 is the controller's own, taken with the order: it cannot be waiting for it.
            [](const awaited_step& a) { return a.notice || a.step > 0; }, [&] { redrive(id, *t); },
            [&](const std::string& detail) {
                t->progress.end_as(std::string(workflow_state::failed));
                end(id, *t, std::string(workflow_state::failed), detail);
            });
    }

    void redrive(const std::string& id, tracked& t) {
        const auto& wf = ctx_.flow();
        const auto& a = *t.watch.awaited();
        // A step starts on the event of the step that led to it (the one before it, or a
        // loop's failed round); a notice comes with the failure's.
        const auto cause = t.progress.entered_by(wf, a.step);
        if (!a.notice && !cause) {
            return; // nothing led to it that could be sent again
        }
        const auto event =
            a.notice
                ? msg::workflow_event{wf.name, a.event, a.step, t.reply_to, t.details}
                : msg::workflow_event{wf.name, cause->second, cause->first, t.reply_to, t.details};
        ctx_.net().note({now_ns(), id, std::string(incident_redriven), a.service});
        const auto sent = ctx_.net().send(a.service, {id, t.hop + 1, 0, event});
        if (!sent) {
            static_cast<void>(take(id, t.hop, lost(a.service, event, sent.error().message())));
        }
    }

    std::size_t on_state_workflows() const override { return workflows_.size(); }

    std::string kind() const { return "front_controller:" + ctx_.name(); }

    void on_save(snapshot::writer& w) const override {
        snapshot::write_kind(w, kind());
        snapshot::write(w, workflows_);
    }

    /// Takes in the workflows of a snapshot, refused whole if any is not one of this workflow.
    /// Deadlines are data (step_watch keeps when each is due, on the wall clock): every workflow
    /// still waiting for a step is queued again here, and one whose deadline passed while the node
    /// was down is re-driven (or failed) as soon as the node runs. Call before the node runs, or
    /// on its io thread.
    void on_load(snapshot::reader& r) override {
        snapshot::read_kind(r, kind());
        auto loaded = snapshot::read_new(r, workflows_);
        std::vector<std::string> waiting;
        loaded.for_each([&](const std::string& id, const tracked& t) {
            if (!t.progress.fits(ctx_.flow()) || !t.watch.fits(ctx_.flow())) {
                throw snapshot::invalid("front controller snapshot: " + id + " is no " +
                                        ctx_.flow().name + " workflow");
            }
            if (!t.ended && t.watch.awaited()) {
                waiting.push_back(id);
            }
        });
        workflows_ = std::move(loaded);
        deadlines_.clear();
        for (const auto& id : waiting) {
            auto& t = *workflows_.find(id);
            t.scheduled = true;
            deadlines_.schedule(id, t.watch.due());
        }
    }

    std::size_t on_state_bytes() const override {
        std::size_t total = workflows_.overhead_bytes();
        workflows_.for_each([&](const std::string& id, const tracked& t) {
            total += sizeof(id) + sizeof(t) + t.progress.heap_bytes() + t.watch.heap_bytes();
            total += t.details.bytes().size() > 1 ? t.details.bytes().size() + 1 : 0;
            total += id.capacity() > 15 ? id.capacity() : 0;
            total += t.reply_to.capacity() > 15 ? t.reply_to.capacity() : 0;
        });
        return total;
    }

    service_context& ctx_;
    /// Workflows in progress and the last retain_finished() ended ones; the terminal state of
    /// those retired before is remembered for status queries.
    retention_map<tracked> workflows_;
    /// One timer for every workflow's deadline (used by the controller only).
    deadline_queue deadlines_;
};

} // namespace

pattern::pattern() {
    register_contract<progress_report>(do_name());
}

std::string_view pattern::do_summary() const noexcept {
    return "The first service in the chain owns the workflow state. Every other service reports "
           "its progress back to it, and status queries go to it alone.";
}

std::unique_ptr<service_behaviour> pattern::do_make_service(service_context& ctx) const {
    return std::make_unique<service>(ctx);
}

status_plan pattern::do_plan_status_query(const workflow& wf,
                                          const std::string& workflow_id) const {
    return {{wf.steps.front().service}, msg::status_request{workflow_id}};
}

msg::workflow_status pattern::do_assemble_status(const workflow&,
                                                 const std::vector<message>& replies,
                                                 const std::set<std::string>&) const {
    return status_of_owner(replies);
}

} // namespace choreo::front_controller

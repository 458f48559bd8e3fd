#include "stamp_coupling/stamp_coupling.hpp"

#include "patterns/choreography.hpp"
#include "patterns/clock.hpp"
#include "patterns/codec.hpp"
#include "patterns/errors.hpp"
#include "patterns/retention.hpp"
#include "stamp_coupling/contracts.hpp"

namespace choreo::stamp_coupling {
namespace {

/// Writes a service's part of the stamp.
void write(stamp& s, const msg::step_record& r, const std::string& terminal) {
    auto& part = r.status == step_status::notified ? s.notified : s.steps;
    part.push_back({r.service, r.step, r.status, r.outcome, r.detail, r.at_ns});
    ++s.version;
    if (!terminal.empty()) {
        s.state = terminal;
    }
}

std::vector<msg::step_record> records_of(const stamp& s) {
    std::vector<msg::step_record> out;
    for (const auto* part : {&s.steps, &s.notified}) {
        for (const auto& e : *part) {
            out.push_back({e.service, e.step, e.status, e.outcome, e.detail, e.at_ns});
        }
    }
    return out;
}

/// What a service answers for a workflow it retired: a stamp of version 0 (any stamp still kept
/// elsewhere is more advanced) in state "retired", with a "retired" entry per step it runs.
stamp retired_stamp(const workflow& wf, const std::string& id, const std::string& service) {
    stamp s{id, std::string(workflow_state::retired), 0, {}, {}};
    for (const auto& r : retired_records(wf, service)) {
        s.steps.push_back({r.service, r.step, r.status, r.outcome, r.detail, r.at_ns});
    }
    return s;
}

bool is_retired(const stamp& s) {
    return s.version == 0 && s.state == workflow_state::retired;
}

std::size_t stamp_bytes(const stamp& s) {
    std::size_t n = sizeof(s) + s.workflow_id.capacity() + s.state.capacity();
    for (const auto* part : {&s.steps, &s.notified}) {
        for (const auto& e : *part) {
            n += sizeof(e) + e.outcome.capacity() + e.detail.capacity() + e.service.capacity();
        }
    }
    return n;
}

class service final : public service_behaviour {
public:
    explicit service(service_context& ctx)
        : ctx_(ctx), latest_(ctx.retain_finished(), ctx.remember_retired()) {}

private:
    std::error_code on_receive(const incoming& in) override {
        const auto& id = in.msg.env.workflow_id;
        if (const auto* order = msg::get_if<msg::place_order>(&in.msg.payload)) {
            auto r = react_to_order(ctx_.flow(), ctx_.domain(), id, *order);
            if (!r) {
                return r.error();
            }
            stamp fresh{id, std::string(workflow_state::in_progress), 0, {}, {}};
            pass_on(id, in.msg.env.hop, order->reply_to, std::move(fresh), r.value());
            return {};
        }
        if (const auto* e = msg::get_if<stamped_event>(&in.msg.payload)) {
            if (e->stamp.workflow_id != id) {
                return errc::wrong_type; // a stamp of another workflow
            }
            auto r = react_to_event(ctx_.flow(), ctx_.domain(), id, e->event);
            if (!r) {
                return r.error();
            }
            pass_on(id, in.msg.env.hop, e->event.reply_to, e->stamp, r.value());
            return {};
        }
        if (const auto* e = msg::get_if<msg::workflow_event>(&in.msg.payload)) {
            // An event from outside the chain, sent by a client (no stamp on it): it goes on
            // with the stamp this service kept of the step that waited for it, if one did.
            const auto& wf = ctx_.flow();
            if (wf.interrupt_by(e->event) == nullptr && !wf.awaited_from_outside(e->event)) {
                return errc::unexpected_message; // between services, events carry the stamp
            }
            auto r = react_to_event(wf, ctx_.domain(), id, *e);
            if (!r) {
                return r.error();
            }
            if (!r.value().acted()) {
                // Remembered by the domain service; no stamp to write yet. This service's part
                // is done for now.
                ctx_.finished(id);
                return {};
            }
            const auto* kept = latest_.find(id);
            pass_on(id, in.msg.env.hop, e->reply_to,
                    kept ? *kept : stamp{id, std::string(workflow_state::in_progress), 0, {}, {}},
                    r.value());
            return {};
        }
        if (const auto* ask = msg::get_if<stamp_request>(&in.msg.payload)) {
            const auto* kept = latest_.find(ask->workflow_id);
            stamp_reply reply{ctx_.name(), kept != nullptr, {}};
            if (kept != nullptr) {
                reply.stamp = *kept;
            } else if (latest_.retired(ask->workflow_id)) {
                reply.found = true;
                reply.stamp = retired_stamp(ctx_.flow(), ask->workflow_id, ctx_.name());
            }
            // A reply that cannot go out leaves the asker to count this service silent.
            static_cast<void>(
                ctx_.net().reply(in, {ask->workflow_id, 0, in.msg.env.query_id, std::move(reply)}));
            return {};
        }
        if (const auto* ask = msg::get_if<msg::stuck_request>(&in.msg.payload)) {
            auto reply = service_stuck_reply(ctx_.flow(), ctx_.name(), latest_, *ask, now_ns(),
                                             [](const stamp& s) { return records_of(s); });
            static_cast<void>(ctx_.net().reply(in, {"", 0, in.msg.env.query_id, std::move(reply)}));
            return {};
        }
        return errc::unexpected_message;
    }

    void pass_on(const std::string& id, std::uint32_t hop, const std::string& reply_to, stamp stamp,
                 const reaction& r) {
        write(stamp, r.record, r.terminal);
        if (r.next) {
            if (const auto sent = ctx_.net().send(r.next_service,
                                                  {id, hop + 1, 0, stamped_event{*r.next, stamp}});
                !sent) {
                lost(id, hop, reply_to, stamp,
                     undelivered(ctx_.flow(), ctx_.name(), r.next_service, *r.next,
                                 sent.error().message()));
            }
        }
        if (!r.terminal.empty()) {
            // Unsent, the end is counted and logged by the node; the stamps still show it.
            static_cast<void>(ctx_.end_workflow(reply_to, id, hop, r.terminal, r.record.detail));
        }
        latest_[id] = std::move(stamp);
        // No service can tell when the workflow ends: this service's part is done here (until
        // another event of the workflow comes, which finishes it again, as the newest).
        latest_.finish(id);
        ctx_.finished(id);
    }

    /// The next event never left: the stamp kept here says so (a status query then finds the
    /// workflow "failed"), and this service, the last the workflow reached, tells the client.
    void lost(const std::string& id, std::uint32_t hop, const std::string& reply_to, stamp& s,
              const msg::step_record& record) {
        write(s, record, std::string(workflow_state::failed));
        static_cast<void>(ctx_.end_workflow(reply_to, id, hop, std::string(workflow_state::failed),
                                            record.detail));
    }

    /// An event this node sent was dropped on the way (its peer went away): the stamp it carried
    /// is this service's latest, with the failure written in.
    void on_send_failed(const failed_send& f) override {
        const auto* e = msg::get_if<stamped_event>(&f.what.payload);
        if (e == nullptr) {
            return; // the end: nobody is left to tell
        }
        const auto& id = f.what.env.workflow_id;
        auto s = e->stamp;
        lost(id, f.what.env.hop > 0 ? f.what.env.hop - 1 : 0, e->event.reply_to, s,
             undelivered(ctx_.flow(), ctx_.name(), f.to, e->event,
                         make_error_code(f.reason).message()));
        latest_[id] = std::move(s);
        latest_.finish(id);
        ctx_.finished(id);
    }

    std::size_t on_state_workflows() const override { return latest_.size(); }

    std::string kind() const { return "stamp_coupling:" + ctx_.name(); }

    void on_save(snapshot::writer& w) const override {
        snapshot::write_kind(w, kind());
        snapshot::write(w, latest_);
    }

    /// Takes in the stamps of a snapshot, refused whole if one is of another workflow than it
    /// is kept under, or names a step this workflow does not have.
    void on_load(snapshot::reader& r) override {
        snapshot::read_kind(r, kind());
        auto loaded = snapshot::read_new(r, latest_);
        loaded.for_each([&](const std::string& id, const stamp& s) {
            const auto steps = ctx_.flow().steps.size();
            bool fits = s.workflow_id == id;
            for (const auto* part : {&s.steps, &s.notified}) {
                for (const auto& e : *part) {
                    fits = fits && e.step < steps;
                }
            }
            if (!fits) {
                throw snapshot::invalid("stamp coupling snapshot: the stamp of " + id +
                                        " is no stamp of a " + ctx_.flow().name + " workflow");
            }
        });
        latest_ = std::move(loaded);
    }

    std::size_t on_state_bytes() const override {
        std::size_t n = latest_.overhead_bytes();
        latest_.for_each([&](const std::string& id, const stamp& s) {
            n += sizeof(id) + id.capacity() + stamp_bytes(s);
        });
        return n;
    }

    service_context& ctx_;
    /// The last stamp this service passed on, per workflow: the only place a status query
    /// can find the state once the message that carried it has been consumed. The last
    /// retain_finished() workflows are kept; a retired one is answered with a retired stamp.
    retention_map<stamp> latest_;
};

} // namespace

pattern::pattern() {
    register_contract<stamped_event>(do_name());
    register_contract<stamp_request>(do_name());
    register_contract<stamp_reply>(do_name());
}

std::string_view pattern::do_summary() const noexcept {
    return "The workflow state travels in a stamp inside every message: each service writes its "
           "part and passes the whole stamp on. No service owns it, so there is no single place "
           "to ask for it.";
}

std::unique_ptr<service_behaviour> pattern::do_make_service(service_context& ctx) const {
    return std::make_unique<service>(ctx);
}

status_plan pattern::do_plan_status_query(const workflow& wf,
                                          const std::string& workflow_id) const {
    return {wf.services(), stamp_request{workflow_id}};
}

msg::workflow_status pattern::do_assemble_status(const workflow& wf,
                                                 const std::vector<message>& replies,
                                                 const std::set<std::string>& silent) const {
    const stamp* best = nullptr;
    std::vector<msg::step_record> retired; // placeholders of the services that retired theirs
    for (const auto& m : replies) {
        if (const auto* r = msg::get_if<stamp_reply>(&m.payload)) {
            if (r->found && is_retired(r->stamp)) {
                const auto part = records_of(r->stamp);
                retired.insert(retired.end(), part.begin(), part.end());
            } else if (r->found && (best == nullptr || r->stamp.version > best->version)) {
                best = &r->stamp;
            }
        }
    }
    auto records = best ? records_of(*best) : std::vector<msg::step_record>{};
    records.insert(records.end(), retired.begin(), retired.end());
    auto st = status_from_records(wf, records, silent);
    fold_send_failures(wf, records, st);
    return st;
}

} // namespace choreo::stamp_coupling

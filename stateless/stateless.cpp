#include "stateless/stateless.hpp"

#include "patterns/choreography.hpp"
#include "patterns/clock.hpp"
#include "patterns/codec.hpp"
#include "patterns/errors.hpp"
#include "patterns/retention.hpp"
#include "stateless/contracts.hpp"

namespace choreo::stateless {
namespace {

class service final : public service_behaviour {
public:
    explicit service(service_context& ctx)
        : ctx_(ctx), journal_(ctx.retain_finished(), ctx.remember_retired()) {}

private:
    std::error_code on_receive(const incoming& in) override {
        const auto& id = in.msg.env.workflow_id;
        if (const auto* order = msg::get_if<msg::place_order>(&in.msg.payload)) {
            auto r = react_to_order(ctx_.flow(), ctx_.domain(), id, *order);
            if (!r) {
                return r.error();
            }
            pass_on(id, in.msg.env.hop, order->reply_to, r.value());
            return {};
        }
        if (const auto* e = msg::get_if<msg::workflow_event>(&in.msg.payload)) {
            auto r = react_to_event(ctx_.flow(), ctx_.domain(), id, *e);
            if (!r) {
                return r.error();
            }
            pass_on(id, in.msg.env.hop, e->reply_to, r.value());
            return {};
        }
        if (const auto* ask = msg::get_if<snapshot_request>(&in.msg.payload)) {
            snapshot_reply reply{ctx_.name(), {}};
            if (const auto* records = journal_.find(ask->workflow_id)) {
                reply.records = *records;
            } else if (journal_.retired(ask->workflow_id)) {
                reply.records = retired_records(ctx_.flow(), ctx_.name());
            }
            // A reply that cannot go out leaves the asker to count this service silent.
            static_cast<void>(
                ctx_.net().reply(in, {ask->workflow_id, 0, in.msg.env.query_id, std::move(reply)}));
            return {};
        }
        if (const auto* ask = msg::get_if<msg::stuck_request>(&in.msg.payload)) {
            auto reply = service_stuck_reply(
                ctx_.flow(), ctx_.name(), journal_, *ask, now_ns(),
                [](const auto& records) -> const auto& { return records; });
            static_cast<void>(ctx_.net().reply(in, {"", 0, in.msg.env.query_id, std::move(reply)}));
            return {};
        }
        return errc::unexpected_message;
    }

    void pass_on(const std::string& id, std::uint32_t hop, const std::string& reply_to,
                 const reaction& r) {
        journal_[id].push_back(r.record);
        if (r.next) {
            if (const auto sent = ctx_.net().send(r.next_service, {id, hop + 1, 0, *r.next});
                !sent) {
                lost(id, hop, reply_to,
                     undelivered(ctx_.flow(), ctx_.name(), r.next_service, *r.next,
                                 sent.error().message()));
            }
        }
        if (!r.terminal.empty()) {
            // Unsent, the end is counted and logged by the node; the snapshots still show it.
            static_cast<void>(ctx_.end_workflow(reply_to, id, hop, r.terminal, r.record.detail));
        }
        // No service can tell when the workflow ends: this service's part is done here (until
        // another event of the workflow comes, which finishes it again, as the newest).
        journal_.finish(id);
        ctx_.finished(id);
    }

    /// The next event never left: the journal says so (a status query then finds the workflow
    /// "failed"), and this service, the last the workflow reached, tells the client.
    void lost(const std::string& id, std::uint32_t hop, const std::string& reply_to,
              const msg::step_record& record) {
        journal_[id].push_back(record);
        static_cast<void>(ctx_.end_workflow(reply_to, id, hop, std::string(workflow_state::failed),
                                            record.detail));
    }

    /// An event this node sent was dropped on the way (its peer went away).
    void on_send_failed(const failed_send& f) override {
        const auto* e = msg::get_if<msg::workflow_event>(&f.what.payload);
        if (e == nullptr) {
            return; // the end: nobody is left to tell
        }
        const auto& id = f.what.env.workflow_id;
        lost(id, f.what.env.hop > 0 ? f.what.env.hop - 1 : 0, e->reply_to,
             undelivered(ctx_.flow(), ctx_.name(), f.to, *e, make_error_code(f.reason).message()));
        journal_.finish(id);
        ctx_.finished(id);
    }

    std::size_t on_state_workflows() const override { return journal_.size(); }

    std::string kind() const { return "stateless:" + ctx_.name(); }

    void on_save(snapshot::writer& w) const override {
        snapshot::write_kind(w, kind());
        snapshot::write(w, journal_);
    }

    /// Takes in the journal of a snapshot, refused whole if a record names a step this workflow
    /// does not have.
    void on_load(snapshot::reader& r) override {
        snapshot::read_kind(r, kind());
        auto loaded = snapshot::read_new(r, journal_);
        loaded.for_each([&](const std::string& id, const std::vector<msg::step_record>& records) {
            for (const auto& record : records) {
                if (record.step >= ctx_.flow().steps.size()) {
                    throw snapshot::invalid("stateless snapshot: " + id + " is no " +
                                            ctx_.flow().name + " workflow");
                }
            }
        });
        journal_ = std::move(loaded);
    }

    std::size_t on_state_bytes() const override {
        auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
        std::size_t n = journal_.overhead_bytes();
        journal_.for_each([&](const std::string& id, const std::vector<msg::step_record>& records) {
            n += sizeof(id) + heap(id) + sizeof(records);
            n += records.capacity() * sizeof(msg::step_record);
            for (const auto& r : records) {
                n += heap(r.service) + heap(r.status) + heap(r.outcome) + heap(r.detail);
            }
        });
        return n;
    }

    service_context& ctx_;
    /// What this service did, per workflow: the live snapshot a status query asks for. No
    /// service keeps the workflow's state, but each keeps this much to answer for its part,
    /// and it is counted as workflow state. The last retain_finished() workflows are kept; a
    /// retired one is answered with "retired" placeholders.
    retention_map<std::vector<msg::step_record>> journal_;
};

} // namespace

pattern::pattern() {
    register_contract<snapshot_request>(do_name());
    register_contract<snapshot_reply>(do_name());
}

std::string_view pattern::do_summary() const noexcept {
    return "Nobody owns the workflow state: each service keeps its own domain data and a record "
           "of what it did per workflow. A status query asks every service for that live "
           "snapshot and assembles the answer.";
}

std::unique_ptr<service_behaviour> pattern::do_make_service(service_context& ctx) const {
    return std::make_unique<service>(ctx);
}

status_plan pattern::do_plan_status_query(const workflow& wf,
                                          const std::string& workflow_id) const {
    return {wf.services(), snapshot_request{workflow_id}};
}

msg::workflow_status pattern::do_assemble_status(const workflow& wf,
                                                 const std::vector<message>& replies,
                                                 const std::set<std::string>& silent) const {
    std::vector<msg::step_record> records;
    for (const auto& m : replies) {
        if (const auto* r = msg::get_if<snapshot_reply>(&m.payload)) {
            records.insert(records.end(), r->records.begin(), r->records.end());
        }
    }
    auto st = status_from_records(wf, records, silent);
    fold_send_failures(wf, records, st);
    return st;
}

} // namespace choreo::stateless

// A domain service: one service of a workflow with its own data, deciding outcomes from it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "patterns/codec.hpp"
#include "patterns/contracts.hpp"
#include "patterns/retention.hpp"
#include "patterns/snapshot.hpp"
#include "patterns/workflow.hpp"

namespace choreo {

/// What a domain service decided for one step: empty `failure` means success.
struct step_result {
    std::string failure; ///< a failure outcome of the step, e.g. "card_declined"
    std::string detail;
    /// false: nothing was decided (the business payload was refused), so nothing is
    /// remembered either: the same step with a payload it can read is decided on its merits.
    bool decided = true;
    bool operator==(const step_result&) const = default;
    MSGPACK_DEFINE_MAP(failure, detail, decided)
};

/// A service of a workflow with its own domain data. Outcomes are decided from that data and
/// the workflow's business payload, deterministically. It keeps no workflow state: what it
/// remembers per workflow is its business (a payment, a shipment, an email sent), and that is
/// counted as domain data, apart from any pattern's workflow state.
class domain_service {
public:
    explicit domain_service(std::string name) : name_(std::move(name)) {}
    virtual ~domain_service() = default;
    domain_service(const domain_service&) = delete;
    domain_service& operator=(const domain_service&) = delete;

    const std::string& name() const noexcept { return name_; }

    /// Runs step `index` of `wf` for a workflow with its business payload. Idempotent by
    /// workflow id and step index: a step this service already ran for the workflow (a
    /// re-driven step, a duplicate) is answered with the earlier record, not decided again, and
    /// counted in repeats().
    /// A step that awaits an event from outside the chain (step::awaits) runs only once that
    /// event came: until then the step is kept waiting (record status "waiting") and signal()
    /// runs it; `outside_came` says the caller has seen the event itself (an orchestrator
    /// commands such a step only then). A workflow interrupted here (interrupt()) runs no step
    /// any more: the step fails with the interrupt's event, and nothing is decided.
    /// Returns: the record, status "done" (outcome = step event), "failed" (failure event) or
    /// "waiting".
    msg::step_record run(const workflow& wf, std::uint32_t index, const std::string& workflow_id,
                         const msg::value& details, bool outside_came = false);

    /// The event `event` from outside the chain came for a workflow; it is remembered (within
    /// the retention), so that a step awaiting it runs at once when it comes. Idempotent.
    /// Returns: the record of the step that waited for it here and has now run, or nullopt.
    std::optional<msg::step_record> signal(const workflow& wf, const std::string& workflow_id,
                                           std::string_view event, const msg::value& details);

    /// The interrupt `f` (one of wf.interrupts) came for a workflow: remembered (within the
    /// retention), so that no later step of it runs here. Idempotent.
    /// Returns: the record of the step that waited here for an outside event, failed now with
    /// the interrupt's event, or nullopt.
    std::optional<msg::step_record> interrupt(const workflow& wf, const std::string& workflow_id,
                                              const failure& f);

    /// Tells this service that step `index` failed with `f`. Idempotent as run() is, by
    /// workflow id, step index and the failure's event.
    /// Returns: the record, status "notified".
    msg::step_record notify(std::uint32_t index, const failure& f, const std::string& workflow_id,
                            const msg::value& details);

    /// Keeps the records of at most `n` >= 1 workflows this service is done with (its part of
    /// them, as far as it can tell: it cannot know when a workflow ends), retiring the oldest;
    /// domain effects are running aggregates that retiring never changes. A step asked again after
    /// its workflow's record was retired is decided again, as if new: a re-drive must come within
    /// the retention, or it may double an effect. Called once by the node, before any step.
    void retain_finished(std::size_t n) {
        ran_.set_limits(n, 0);
        on_retain_finished(n);
    }

    /// Keeps at most `n` >= 1 workflows' events from outside the chain that came before the
    /// step they concern reached this service (and steps waiting here for such an event), apart
    /// from the finished records retain_finished() bounds: finished workflows never retire them.
    /// When one more comes to a full store, the oldest is evicted, counted in early_evicted() and
    /// logged: its workflow, if it still comes here, waits for an event that came already.
    void retain_early(std::size_t n);

    /// Returns: steps (and notices) asked again and answered with the earlier record.
    std::uint64_t repeats() const noexcept { return repeats_; }
    /// Returns: workflows whose early events (or waiting step) were evicted unused from the
    /// store retain_early() bounds. The service cannot tell a workflow that ended elsewhere (no
    /// harm done) from one that will still come here (lost): every eviction is counted.
    std::uint64_t early_evicted() const noexcept { return early_.evicted(); }
    /// Returns: workflows with early events or a waiting step held now (at most retain_early()).
    std::size_t early_workflows() const noexcept { return early_.size(); }
    /// Returns: bytes of the records that make steps idempotent and of the early events held
    /// (part of domain_bytes()).
    std::size_t ran_bytes() const;

    /// Writes everything this service holds (its domain data and the records that make steps
    /// idempotent) to `w`; load() of those bytes, into a service built the same way, gives a
    /// service that decides every next step as this one would. A durable node's snapshot.
    void save(snapshot::writer& w) const;
    /// Replaces what this service holds with what save() wrote.
    /// Throws: msgpack::type_error or msgpack::unpack_error if the bytes are not such a
    /// snapshot (the service is then as it was built, not half loaded: the node refuses to start);
    /// snapshot::invalid, a type_error, if they are the snapshot of another service.
    void load(snapshot::reader& r);

    /// Work a service does later, on its own, apart from any workflow (a survey it could not
    /// send, retried): how many items of it it holds now. While it holds any, its node runs a
    /// round of it (run_later()) every later_period(), on the node's thread.
    std::size_t later_work() const { return on_later_work(); }
    /// Returns: how long the node waits between two rounds of later work.
    std::chrono::milliseconds later_period() const { return on_later_period(); }
    /// Runs one round of the work held for later. Deterministic: what a round does depends on
    /// what the service holds, never on the clock, so that a durable node that journals its
    /// rounds among its messages rebuilds the same state when it replays them.
    void run_later() { on_run_later(); }

    /// Adds this service's domain effects to `out`.
    void add_effects(msg::domain_effects& out) const { do_add_effects(out); }
    /// Returns: bytes of domain data this service holds now (accounts, stock, outbox, ...).
    std::size_t domain_bytes() const { return on_domain_bytes() + ran_bytes(); }

private:
    virtual step_result decide(const workflow& wf, std::uint32_t index,
                               const std::string& workflow_id, const msg::value& details) = 0;
    /// Returns: what the service did on being told (the record's detail).
    virtual std::string on_failure(const failure& f, const std::string& workflow_id,
                                   const msg::value& details);
    virtual void do_add_effects(msg::domain_effects&) const {}
    virtual std::size_t on_domain_bytes() const { return 0; }
    virtual void on_retain_finished(std::size_t) {}
    virtual std::size_t on_later_work() const { return 0; }
    virtual std::chrono::milliseconds on_later_period() const { return std::chrono::seconds(1); }
    virtual void on_run_later() {}
    /// A service's own domain data in a snapshot (see save() and load()): what it changes as
    /// it decides (data it is built with and never changes, such as a catalog, is not written).
    virtual void on_save(snapshot::writer&) const = 0;
    /// Reads what on_save() wrote, every part aside first: it throws before changing anything.
    virtual void on_load(snapshot::reader&) = 0;

    /// Returns: the kept record of `workflow_id` for step `index` with status `status` (and
    /// outcome `event`, if given), counted as a repeat; nullptr if there is none.
    const msg::step_record* earlier(const std::string& workflow_id, std::uint32_t index,
                                    bool notice, std::string_view event);
    /// Returns: the latest step record of `workflow_id` kept among the finished (a notice, if
    /// there is one: the workflow failed), or nullptr if there is none.
    const msg::step_record* last_record(const std::string& workflow_id) const;
    /// Returns: the marker (status `status`, outcome `outcome`) kept for `workflow_id`, or
    /// nullptr; not counted as a repeat.
    const msg::step_record* marker(const std::string& workflow_id, std::string_view status,
                                   std::string_view outcome = {}) const;
    /// Keeps a record of a step decided or a notice taken, among the finished (ran_), and takes
    /// the workflow's early records that are used up with it out of early_ (settle()).
    void keep(const workflow* wf, const std::string& workflow_id, const msg::step_record& record);
    /// Keeps a marker or a waiting record in early_ (evicting, counting and logging the oldest
    /// workflow's if it is full).
    void hold(const std::string& workflow_id, const msg::step_record& record);
    /// Moves the early records of `workflow_id` no longer needed, once `record` was kept, to
    /// ran_: waiting records of steps decided since, interrupt markers (the workflow reached this
    /// service: the marker is one of its records from now on), and awaited-event markers no later
    /// step here awaits. `wf` null (a notice: the workflow ends): every one.
    void settle(const workflow* wf, const std::string& workflow_id, const msg::step_record& record);
    /// Returns: the waiting record of `workflow_id` for the step awaiting `event` ("" any) not
    /// decided yet, or nullptr.
    const msg::step_record* waiting_step(const std::string& workflow_id, std::string_view event);

    std::string name_;
    /// What this service did per workflow (a handful of records each), for the last workflows
    /// it took part in: what makes a repeated step answer as before.
    retention_map<std::vector<msg::step_record>> ran_;
    /// Events from outside that came before the step they concern, and steps that wait here for
    /// one, per workflow: kept until used, however many workflows finish meanwhile (bounded by
    /// retain_early(), evictions counted).
    pending_map<std::vector<msg::step_record>> early_;
    std::uint64_t repeats_ = 0;
};

/// Decodes a business payload as the workflow module's type T (a MessagePack map), under the
/// codec's rules, in one pass. A value off the wire came through the codec's limits already,
/// so none are applied again, and bytes after the first object are ignored (as before).
/// Returns: the value, or errc::not_msgpack, wrong_type, not_utf8 or missing_field.
template <class T> result<T> decode_value(const msg::value& v) {
    const auto bytes = v.bytes();
    detail::msgpack_reader in(bytes, detail::msgpack_reader::no_limit,
                              detail::msgpack_reader::no_limit);
    T out{};
    const auto status = detail::read(in, out);
    if (status == detail::read_status::ok) {
        return out;
    }
    return std::error_code(detail::error_of(status, in));
}

/// A domain service of a workflow whose business payload is a `Details` struct: decodes it
/// once per message and refuses a payload that is not one (the step fails with
/// "invalid_details", which ends the workflow under that name).
template <class Details> class typed_domain_service : public domain_service {
public:
    using domain_service::domain_service;

private:
    virtual step_result decide(const workflow& wf, std::uint32_t index,
                               const std::string& workflow_id, const Details& details) = 0;
    virtual std::string on_failure(const failure& f, const std::string& workflow_id,
                                   const Details& details) {
        static_cast<void>(workflow_id);
        static_cast<void>(details);
        return "told of " + f.event;
    }

    step_result decide(const workflow& wf, std::uint32_t index, const std::string& workflow_id,
                       const msg::value& details) final {
        auto d = decode_value<Details>(details);
        if (!d) {
            return {"invalid_details", "business payload refused: " + d.error().message(), false};
        }
        return decide(wf, index, workflow_id, d.value());
    }
    std::string on_failure(const failure& f, const std::string& workflow_id,
                           const msg::value& details) final {
        auto d = decode_value<Details>(details);
        return d ? on_failure(f, workflow_id, d.value())
                 : "told of " + f.event + " (business payload refused)";
    }
};

} // namespace choreo

// The interface every state-management pattern implements, and what a pattern is given.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "patterns/codec.hpp"
#include "patterns/domain.hpp"
#include "patterns/node.hpp"
#include "patterns/progress.hpp"
#include "patterns/snapshot.hpp"
#include "patterns/workflow.hpp"
#include "patterns/workflow_module.hpp"

namespace choreo {

/// What a node offers its pattern: the workflow model, its node, and its domain service if it
/// runs one (a node a pattern adds, such as an orchestrator, has none).
class service_context {
public:
    /// `book` is `net`'s ledger; `retain_finished` >= 1 is the node's retention (node_options).
    service_context(const workflow& wf, domain_service* domain, node& net, ledger& book,
                    std::size_t retain_finished, std::size_t retain_early = default_retain_early)
        : workflow_(wf), domain_(domain), node_(net), book_(book),
          retain_finished_(retain_finished), retain_early_(retain_early) {}

    const workflow& flow() const noexcept { return workflow_; }
    bool has_domain() const noexcept { return domain_ != nullptr; }
    /// Requires: has_domain().
    domain_service& domain() noexcept { return *domain_; }
    node& net() noexcept { return node_; }
    const std::string& name() const noexcept { return node_.name(); }
    /// The first service of the chain.
    const std::string& first_service() const { return workflow_.steps.front().service; }

    /// Finished workflows this node keeps per structure (node_options::retain_finished).
    std::size_t retain_finished() const noexcept { return retain_finished_; }
    /// Workflows with early events from outside the chain kept apart (node_options::retain_early).
    std::size_t retain_early() const noexcept { return retain_early_; }
    /// Retired workflow ids a structure that answers status queries remembers.
    std::size_t remember_retired() const noexcept {
        return retired_ids_per_kept * retain_finished_;
    }
    /// This node is done with `workflow_id` (the workflow ended, or this node's part of it is
    /// done): its ledger retires the workflow's traffic in its turn.
    void finished(std::string_view workflow_id) { book_.finish(workflow_id); }

    /// Answers a status_request as the owner of the workflow state: from `progress` if this
    /// node tracks the workflow; else, if `retired_as` names the terminal state of a workflow
    /// it retired, found with that state and a "retired" placeholder per step; else "unknown".
    void answer_status(const incoming& asker, const std::string& workflow_id,
                       const workflow_progress* progress,
                       std::optional<std::string_view> retired_as = std::nullopt);

    /// Tells the client `reply_to` that the workflow ended.
    /// Returns: as node::send(). If it cannot be sent, nobody else can tell the client: the
    /// node has counted and logged it, and the workflow's status still shows how it ended.
    result<std::size_t> end_workflow(const std::string& reply_to, const std::string& workflow_id,
                                     std::uint32_t hop, const std::string& terminal,
                                     const std::string& detail);

private:
    const workflow& workflow_;
    domain_service* domain_;
    node& node_;
    ledger& book_;
    std::size_t retain_finished_;
    std::size_t retain_early_;
};

/// A pattern's behaviour inside one service node: what it does with each message.
class service_behaviour {
public:
    virtual ~service_behaviour() = default;

    /// Handles one message addressed to this service.
    /// Returns: an error (e.g. errc::unexpected_message) if the message is refused.
    std::error_code receive(const incoming& in) { return on_receive(in); }
    /// Returns: bytes of workflow state (not domain data) this service holds now.
    std::size_t state_bytes() const { return on_state_bytes(); }
    /// Returns: how many workflows that state is about.
    std::size_t state_workflows() const { return on_state_workflows(); }
    /// Returns: workflows whose events from outside the chain, come before they could be used,
    /// this state evicted unused (node_options::retain_early); 0 if it keeps none.
    std::uint64_t early_evicted() const { return on_early_evicted(); }
    /// A workflow message this node had sent was dropped later (its peer went away): the
    /// pattern marks the workflow as it does for a send that fails at once.
    void send_failed(const failed_send& f) { on_send_failed(f); }

    /// Writes the workflow state this service holds (a front controller's table, an
    /// orchestrator's workflows, the stamps it keeps) to `w`, for a durable node's snapshot.
    void save(snapshot::writer& w) const { on_save(w); }
    /// Replaces that state with what save() wrote. Deadlines are saved as data (when the awaited
    /// step is due, on the wall clock), not as timers: an owner queues them again here, and one
    /// that passed while the node was down comes due at once. Call before the node runs, or on its
    /// io thread. Throws: msgpack::type_error or msgpack::unpack_error if the bytes are not such a
    /// snapshot (snapshot::invalid, a type_error, if they are another node's or another
    /// workflow's); the state is then as it was.
    void load(snapshot::reader& r) { on_load(r); }

private:
    virtual std::error_code on_receive(const incoming& in) = 0;
    /// By default nothing: a node with no workflow to mark leaves it to the node's count and log.
    virtual void on_send_failed(const failed_send&) {}
    virtual std::size_t on_state_bytes() const { return 0; }
    virtual std::size_t on_state_workflows() const { return 0; }
    virtual std::uint64_t on_early_evicted() const { return 0; }
    /// Every pattern says what its service keeps, even if nothing (see save() and load()). A load
    /// reads every part aside first, and throws before changing anything.
    virtual void on_save(snapshot::writer&) const = 0;
    virtual void on_load(snapshot::reader&) = 0;
};

/// How a status query is asked: the request sent, and which services it goes to.
struct status_plan {
    std::vector<std::string> ask;
    msg::payload request;
};

/// A state-management pattern. Patterns are interchangeable: the same client, workflow model,
/// domain services and transport run under each; a pattern is chosen by name at run time.
class pattern {
public:
    virtual ~pattern() = default;

    /// The name users select it by, e.g. "front_controller".
    std::string_view name() const noexcept { return do_name(); }
    /// One or two sentences on how the pattern keeps workflow state.
    std::string_view summary() const noexcept { return do_summary(); }

    /// Returns: the node clients send place_order to.
    std::string entry(const workflow& wf) const { return do_entry(wf); }
    /// Returns: the nodes this pattern runs beside the workflow's domain services (an
    /// orchestrator, say); they have no domain service.
    std::vector<std::string> extra_nodes(const workflow& wf) const { return do_extra_nodes(wf); }
    /// Returns: every node a deployment of `wf` under this pattern runs: the workflow's
    /// services, then the pattern's own nodes.
    std::vector<std::string> nodes(const workflow& wf) const;
    /// Returns: the nodes that may tell a client a workflow ended (send workflow_ended). A
    /// client refuses a workflow_ended from any other node (errc::not_permitted).
    std::set<std::string> enders(const workflow& wf) const { return do_enders(wf); }

    /// Returns: the nodes a client sends an event from outside the chain to: an interrupt's
    /// command (workflow::interrupts) or an event a step awaits (step::awaits). By default, as
    /// nobody knows where the workflow is, an interrupt goes to every service that runs a step
    /// and an awaited event to the services whose steps await it.
    std::vector<std::string> outside_event_targets(const workflow& wf,
                                                   std::string_view event) const {
        return do_outside_event_targets(wf, event);
    }

    /// Returns: the pattern's behaviour for one node (a domain service or an extra node).
    std::unique_ptr<service_behaviour> make_service(service_context& ctx) const {
        return do_make_service(ctx);
    }
    /// Returns: the request a client sends, and to whom, to learn a workflow's status.
    status_plan plan_status_query(const workflow& wf, const std::string& workflow_id) const {
        return do_plan_status_query(wf, workflow_id);
    }
    /// Builds the status from the replies that came back; `silent` did not answer in time.
    msg::workflow_status assemble_status(const workflow& wf, const std::vector<message>& replies,
                                         const std::set<std::string>& silent) const {
        return do_assemble_status(wf, replies, silent);
    }

private:
    virtual std::string_view do_name() const noexcept = 0;
    virtual std::string_view do_summary() const noexcept = 0;
    virtual std::string do_entry(const workflow& wf) const;
    virtual std::vector<std::string> do_extra_nodes(const workflow& wf) const;
    /// Default, for choreography without an owner: every service of the workflow (a step's
    /// outcome, the last notice of a failure, or a send that fails ends the workflow where it
    /// happens).
    virtual std::set<std::string> do_enders(const workflow& wf) const;
    virtual std::vector<std::string> do_outside_event_targets(const workflow& wf,
                                                              std::string_view event) const;
    virtual std::unique_ptr<service_behaviour> do_make_service(service_context& ctx) const = 0;
    virtual status_plan do_plan_status_query(const workflow& wf,
                                             const std::string& workflow_id) const = 0;
    virtual msg::workflow_status do_assemble_status(const workflow& wf,
                                                    const std::vector<message>& replies,
                                                    const std::set<std::string>& silent) const = 0;
};

/// Returns: the status in the first status_reply among `replies`, or state "unknown" if none
/// came: how a pattern whose state has one owner assembles its answer.
msg::workflow_status status_of_owner(const std::vector<message>& replies);

/// The patterns available by name.
class registry {
public:
    void add(std::unique_ptr<pattern> p);
    /// Returns: the pattern called `name`, or nullptr.
    const pattern* find(std::string_view name) const noexcept;
    std::vector<std::string> names() const;
    const std::vector<std::unique_ptr<pattern>>& all() const noexcept { return patterns_; }

private:
    std::vector<std::unique_ptr<pattern>> patterns_;
};

} // namespace choreo

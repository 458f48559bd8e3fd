// How a service reacts to a workflow event, by the workflow model: shared by every pattern.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "patterns/contracts.hpp"
#include "patterns/domain.hpp"
#include "patterns/progress.hpp"
#include "patterns/result.hpp"
#include "patterns/workflow.hpp"

namespace choreo {

/// What one service did with one event, and what must happen next.
struct reaction {
    msg::step_record record;                 ///< what this service did
    std::string next_service;                ///< who must hear `next` (empty: nobody)
    std::optional<msg::workflow_event> next; ///< the event announcing what this service did
    std::string terminal;                    ///< nonempty: the workflow ended here
    /// Returns: whether the service decided something (done, failed, notified); false for a
    /// step left waiting for an event from outside, or an outside event only remembered.
    bool acted() const {
        return record.status == step_status::done || record.status == step_status::failed ||
               record.status == step_status::notified;
    }
};

/// The first service starts the workflow: it runs step 0.
/// Returns: errc::unexpected_message if `self` is not the first service of `wf` or the order
/// names another workflow.
result<reaction> react_to_order(const workflow& wf, domain_service& self,
                                const std::string& workflow_id, const msg::place_order& order);

/// A service reacts to an event: a step's success makes it run the next step; a step's
/// failure makes it (a notified service) take note and pass the news to the next one, or (a
/// loop's failed round) run the next round's first step. An event from outside the chain
/// (an interrupt's command, or an event a step awaits), sent by a client, is remembered, and
/// runs (or fails, interrupted) the step that waited for it here, if one did.
/// Returns: errc::unexpected_message if the model gives this service nothing to do on it.
result<reaction> react_to_event(const workflow& wf, domain_service& self,
                                const std::string& workflow_id, const msg::workflow_event& e);

/// Returns: the record of an event `sender` could not send to `to` (see undelivered_record): for
/// a step's success event, about the next step, which `to` was to run; for a failure's event,
/// about the failed step, of which `to` was to be told.
msg::step_record undelivered(const workflow& wf, std::string_view sender, std::string_view to,
                             const msg::workflow_event& e, std::string_view reason);

} // namespace choreo

// How far one workflow has got, kept compactly by a pattern that owns workflow state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// One slot per step and per service told of a failure; outcome names are not stored, the
/// workflow model has them. Records may be folded in in any order.
class workflow_progress {
public:
    explicit workflow_progress(const workflow& wf);

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
    /// The owner ended the workflow itself, in `terminal`, before the steps said so (a service
    /// refused its command, say): status() says so from now on.
    void end_as(std::string terminal) { ended_as_ = std::move(terminal); }
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
    enum class slot : std::uint8_t { pending, done, failed, notified };
    std::vector<slot> steps_;    ///< per step
    std::vector<slot> notified_; ///< per service told of the failure
    std::size_t failure_ = 0;    ///< index of the failure of the failed step
    std::string unlisted_;       ///< the outcome of a failure the model does not list
    std::string ended_as_;       ///< set by end_as()
    /// A message of the workflow that could not be sent; null on the healthy path, which so
    /// pays one pointer for it.
    std::shared_ptr<const msg::step_record> undelivered_;
};

} // namespace choreo

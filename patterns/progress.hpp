// How far one workflow has got, kept compactly by a pattern that owns workflow state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "patterns/contracts.hpp"
#include "patterns/workflow.hpp"

namespace choreo {

/// One slot per step and per service told of a failure; outcome names are not stored, the
/// workflow model has them. Records may be folded in in any order.
class workflow_progress {
public:
    explicit workflow_progress(const workflow& wf);

    /// Folds in what a service did (done, failed or notified). Records of steps the model
    /// does not have are ignored.
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
        return steps_.capacity() + notified_.capacity() + heap(unlisted_) + heap(ended_as_);
    }

private:
    enum class slot : std::uint8_t { pending, done, failed, notified };
    std::vector<slot> steps_;    ///< per step
    std::vector<slot> notified_; ///< per service told of the failure
    std::size_t failure_ = 0;    ///< index of the failure of the failed step
    std::string unlisted_;       ///< the outcome of a failure the model does not list
    std::string ended_as_;       ///< set by end_as()
};

} // namespace choreo

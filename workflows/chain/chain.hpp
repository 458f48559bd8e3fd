// chain:N and chain:N:K: synthetic workflows of N pass-through steps, K of which can fail.
#pragma once

#include <cstdint>
#include <memory>

#include <msgpack.hpp>

#include "patterns/workflow_module.hpp"

namespace choreo::chain {

/// The business payload of a chain workflow.
struct item {
    std::uint32_t fail_at{}; ///< the step (from 1) that fails this workflow; 0: none fails
    bool operator==(const item&) const = default;
    MSGPACK_DEFINE_MAP(fail_at)
};

/// The longest chain the module builds.
inline constexpr std::size_t max_length = 1024;

/// Returns: a chain of `n` pass-through steps, services "step_1" ... "step_n". The `k` steps
/// after the first (step_2 ... step_k+1) can fail; each failure notifies the last service
/// (step_n, as email is told in the order workflow) and ends the workflow in "step_failed".
/// Requires: 1 <= n, k == 0 or k <= n - 2.
workflow model(std::size_t n, std::size_t k = 0);

/// Returns: the chain module, to register by name ("chain").
std::unique_ptr<workflow_module> make_module();

} // namespace choreo::chain

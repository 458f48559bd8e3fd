// The chapter's claims, judged against what the demo measured.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "demo/tour.hpp"
#include "patterns/pattern.hpp"

namespace choreo::demo {

struct claim_verdict {
    std::string claim;    ///< in the chapter's words
    std::string source;   ///< e.g. "Table 11-2"
    std::string evidence; ///< the measured figures
    bool held{};
};

/// Chain lengths at which the cost of a status query is measured (Table 11-1, state management).
inline constexpr std::array<std::size_t, 3> query_lengths{1, 8, 32};
/// Chain lengths at which links and stamp sizes are measured (coupling, stamp growth).
inline constexpr std::array<std::size_t, 3> coupling_lengths{2, 8, 32};
/// Figure 11-14: chain:N:K with this N, for K = 0 .. most_failure_branches.
inline constexpr std::size_t branching_length = 8;
inline constexpr std::size_t most_failure_branches = 3;

/// The small extra runs the claims need beyond the tours, for the patterns toured.
struct claim_measurements {
    std::vector<probe> probes;
};

/// Runs every probe the claims need for each of `patterns`: one happy workflow of chain:N for
/// N in query_lengths and coupling_lengths, and one workflow per failure branch of
/// chain:branching_length:K for K up to most_failure_branches.
/// Throws: std::runtime_error if a workflow of a probe never ends.
claim_measurements measure_for_claims(const std::vector<const pattern*>& patterns,
                                      const tour_options& options);

/// Judges every claim the tours and measurements can speak to. A claim about a pattern that
/// was not toured is left out; held or not is decided from the measured figures alone.
std::vector<claim_verdict> judge_claims(const std::vector<tour>& tours,
                                        const claim_measurements& measured);

} // namespace choreo::demo

// The chapter's claims, judged against what the demo measured.
#pragma once

#include <string>
#include <vector>

#include "demo/tour.hpp"

namespace choreo::demo {

struct claim_verdict {
    std::string claim;    ///< in the chapter's words
    std::string source;   ///< e.g. "Table 11-2"
    std::string evidence; ///< the measured figures
    bool held{};
};

/// Stamp sizes measured per hop on chains of several lengths, for the stamp growth claim.
struct stamp_growth {
    std::vector<std::size_t> lengths;
    std::vector<std::vector<double>> bytes_by_hop; ///< one row per length
};

/// Judges every claim the tours can speak to (all patterns must be among them).
std::vector<claim_verdict> judge_claims(const std::vector<tour>& tours, const stamp_growth& growth);

} // namespace choreo::demo

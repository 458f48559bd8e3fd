// The patterns the per-pattern suites run over: every registered one, so that a new pattern is
// tested by registering it, with no line to add here.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "registry/builtin.hpp"

namespace choreo::testing {

/// Returns: the name of every registered pattern, in registry order.
inline std::vector<std::string> every_pattern() {
    return builtin_patterns().names();
}

/// Returns: whether the pattern's workflow state has one owner (its status query asks one node):
/// the front controller or the orchestrator, which alone can find a workflow stuck and re-drive it.
inline bool has_owner(const pattern& p, const workflow& wf) {
    return p.plan_status_query(wf, "").ask.size() == 1;
}

/// Returns: the name of every registered pattern whose order workflow has an owner.
inline std::vector<std::string> patterns_with_an_owner() {
    std::vector<std::string> out;
    const auto order = builtin_workflows().find("order").value();
    for (const auto& name : every_pattern()) {
        if (has_owner(*builtin_patterns().find(name), order)) {
            out.push_back(name);
        }
    }
    return out;
}

/// Names each test of a suite over every_pattern() after its pattern, e.g.
/// patterns/conformance.happy_path.../orchestration.
struct pattern_name {
    std::string operator()(const ::testing::TestParamInfo<std::string>& info) const {
        return info.param;
    }
};

} // namespace choreo::testing

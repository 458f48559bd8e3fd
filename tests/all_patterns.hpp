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

/// Names each test of a suite over every_pattern() after its pattern, e.g.
/// patterns/conformance.happy_path.../orchestration.
struct pattern_name {
    std::string operator()(const ::testing::TestParamInfo<std::string>& info) const {
        return info.param;
    }
};

} // namespace choreo::testing

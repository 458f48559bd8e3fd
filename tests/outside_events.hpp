// Driving workflows whose steps wait for events from outside the chain, as a test does: the
// plans of a seeded batch placed and driven (patterns/drive.hpp), every wait checked.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "patterns/drive.hpp"

namespace choreo::testing {

/// Places `n` workflows of scenario `s` from the module's generator seeded with `seed`, sends
/// each the outside events its plan names at once, and each whose plan names an interrupt that
/// interrupt once it waits at its first step awaiting an outside event; checks that each did.
inline batch place_and_drive(deployment& d, std::string_view s, std::size_t n, std::uint64_t seed) {
    auto gen = module_of(d.flow()).make_workload(d.flow(), s, seed);
    if (!gen) {
        throw std::invalid_argument("no scenario " + std::string(s) + " in " + d.flow().name);
    }
    batch b;
    b.plans = gen.value()->take(n);
    auto driven = choreo::place_and_drive(d.client(), d.flow(), b.plans, deadline);
    EXPECT_TRUE(driven.not_waiting.empty())
        << driven.not_waiting.size() << " interrupted before they waited, the first "
        << driven.not_waiting.front();
    b.ids = std::move(driven.ids);
    return b;
}

} // namespace choreo::testing

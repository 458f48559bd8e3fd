// Driving workflows whose steps wait for events from outside the chain, as a test does: the
// plans of a seeded batch placed and driven (patterns/drive.hpp), every wait checked.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "patterns/deployment.hpp"
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

/// Places `n` workflows of scenario `s` as place_and_drive() does, but sends the interrupts only
/// once the deployment is quiet (every message sent was received, twice in a row 20 ms apart):
/// each workflow whose plan names one then waits where nothing else moves it, for its outside
/// event. A status query would not tell, with few finished workflows kept: under stateless and
/// stamp coupling the steps before the wait may be retired by then.
inline batch place_then_interrupt_when_quiet(local_deployment& d, std::string_view s, std::size_t n,
                                             std::uint64_t seed) {
    auto gen = module_of(d.flow()).make_workload(d.flow(), s, seed);
    if (!gen) {
        throw std::invalid_argument("no scenario " + std::string(s) + " in " + d.flow().name);
    }
    batch b;
    b.plans = gen.value()->take(n);
    for (const auto& p : b.plans) {
        b.ids.push_back(d.client().place(p.details));
        for (const auto& e : p.outside_events) {
            EXPECT_FALSE(d.client().send_outside(b.ids.back(), e, p.details));
        }
    }
    const auto until = std::chrono::steady_clock::now() + deadline;
    std::size_t quiet = 0;
    while (quiet < 2 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        quiet = d.book().sent() == d.book().received() ? quiet + 1 : 0;
    }
    EXPECT_EQ(quiet, 2u) << "the deployment did not settle before the deadline";
    for (std::size_t i = 0; i < b.plans.size(); ++i) {
        if (!b.plans[i].interrupt.empty()) {
            EXPECT_FALSE(
                d.client().send_outside(b.ids[i], b.plans[i].interrupt, b.plans[i].details));
        }
    }
    return b;
}

} // namespace choreo::testing

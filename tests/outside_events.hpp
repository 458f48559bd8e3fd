// Driving workflows whose steps wait for events from outside the chain: the events a plan
// says to send right after placing, and the interrupt it says to send once the workflow waits.
#pragma once

#include <cstdint>
#include <string_view>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "patterns/client.hpp"

namespace choreo::testing {

/// Returns: whether the workflow waits at its first step that awaits an outside event: the
/// steps before it on the way there are done.
inline bool waits_for_outside(const workflow& wf, const msg::workflow_status& st) {
    for (std::uint32_t i = 1; i < wf.steps.size(); ++i) {
        if (!wf.steps[i].awaits.empty()) {
            return st.steps.size() == wf.steps.size() && st.steps[i - 1].status == "done";
        }
    }
    return false;
}

/// Places `n` workflows of scenario `s` from the module's generator seeded with `seed`, sends
/// each the outside events its plan names at once, and each whose plan names an interrupt that
/// interrupt once it waits at its first step awaiting an outside event (polled by status).
inline batch place_and_drive(deployment& d, std::string_view s, std::size_t n, std::uint64_t seed) {
    auto b = place(d, s, n, seed);
    for (std::size_t i = 0; i < b.ids.size(); ++i) {
        for (const auto& e : b.plans[i].outside_events) {
            EXPECT_FALSE(d.client().send_outside(b.ids[i], e, b.plans[i].details));
        }
    }
    for (std::size_t i = 0; i < b.ids.size(); ++i) {
        if (b.plans[i].interrupt.empty()) {
            continue;
        }
        const auto st = await_status(d, b.ids[i], [&](const msg::workflow_status& now) {
            return waits_for_outside(d.flow(), now);
        });
        EXPECT_TRUE(waits_for_outside(d.flow(), st)) << b.ids[i] << " never waited for the expert";
        EXPECT_FALSE(d.client().send_outside(b.ids[i], b.plans[i].interrupt, b.plans[i].details));
    }
    return b;
}

} // namespace choreo::testing

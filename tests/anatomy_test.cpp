// choreo-bench --anatomy: the tap between the nodes sees exactly the messages the ledger counts,
// and a body's breakdown adds up to its size.
#include "bench/anatomy.hpp"

#include <numeric>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "patterns/codec.hpp"
#include "patterns/deployment.hpp"

namespace choreo::testing {
namespace {

class tapped : public ::testing::TestWithParam<std::string> {};

// The tap forwards what it sees unchanged: the workflow ends as it would without it, and its
// messages are, one for one and byte for byte, what the transport's ledger counts for the
// first workflow of a deployment without a tap.
TEST_P(tapped, one_workflow_is_what_the_ledger_counts_for_it) {
    const auto& p = pattern_named(GetParam());
    for (const auto* scenario : {"happy", "payment_rejected", "back_order"}) {
        SCOPED_TRACE(scenario);
        const auto wf = workflow_named("order");
        const auto seen = bench::tap_one_workflow(p, wf, scenario, 7, deadline);
        local_deployment d(p, wf, options(transport::ipc));
        const auto b = place(d, scenario, 1, 7);
        ASSERT_TRUE(d.client().wait_for(b.ids, deadline));
        const auto counted = d.traffic().of_workflow(b.ids.front()).value();
        std::size_t bytes = 0;
        for (const auto& m : seen) {
            bytes += m.bytes();
            EXPECT_TRUE(decode(m.type, m.body)) << m.type << " from " << m.from;
        }
        EXPECT_EQ(seen.size(), counted.inter_service.messages + counted.client.messages);
        EXPECT_EQ(bytes, counted.inter_service.bytes + counted.client.bytes);
        EXPECT_EQ(seen.front().type, "place_order");
        EXPECT_EQ(seen.back().type, "workflow_ended");
    }
}

INSTANTIATE_TEST_SUITE_P(patterns, tapped, ::testing::ValuesIn(every_pattern()), pattern_name{});

TEST(anatomy, the_parts_of_a_body_add_up_to_its_size_and_compact_forms_are_smaller) {
    const auto& p = pattern_named("stamp_coupling");
    const auto seen = bench::tap_one_workflow(p, workflow_named("order"), "happy", 7, deadline);
    ASSERT_EQ(seen.size(), 5U);
    for (const auto& m : seen) {
        const auto a = bench::anatomy_of(m.body);
        const auto sum =
            std::accumulate(a.parts.begin(), a.parts.end(), std::size_t{0},
                            [](std::size_t n, const auto& part) { return n + part.bytes; });
        EXPECT_EQ(sum, m.body.size()) << m.type;
        EXPECT_LT(a.positional, a.bytes);
        EXPECT_LE(a.positional_coded, a.positional);
        EXPECT_LE(a.positional_lean, a.positional_coded);
    }
    // The stamp grows by one service's entry per hop.
    EXPECT_LT(seen[1].body.size(), seen[2].body.size());
    EXPECT_LT(seen[2].body.size(), seen[3].body.size());
    EXPECT_THROW(bench::anatomy_of("\xc1"), std::invalid_argument);
}

} // namespace
} // namespace choreo::testing

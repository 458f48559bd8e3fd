// The ticket workflow over processes: 1,000 mixed tickets through one choreo-node process per
// node over tcp, under every pattern, end exactly as predicted with the predicted effects; and
// choreo-ctl places tickets on a running deployment.
#include "spawned_deployment.hpp"

#include <chrono>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "outside_events.hpp"

namespace choreo::testing {
namespace {

constexpr std::size_t tickets = 1'000;
constexpr std::uint64_t workload_seed = 2027;

class ticket_at_scale : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = pattern_named(GetParam());
    const workflow ticket_ = workflow_named("ticket");
};

INSTANTIATE_TEST_SUITE_P(patterns, ticket_at_scale, ::testing::ValuesIn(every_pattern()),
                         pattern_name{});

// The expert's reports and the customers' cancels come from the test's client, over tcp, to
// the processes the pattern sends them to; every ticket ends once, as predicted.
TEST_P(ticket_at_scale, a_thousand_mixed_tickets_over_tcp_end_as_predicted) {
    captured_log log;
    spawned s(pattern_, ticket_, {}); // durable, the default for spawned nodes
    ASSERT_TRUE(s.d.wait_ready(deadline).empty());
    const auto b = place_and_drive(s.d, "mixed", tickets, workload_seed);
    EXPECT_TRUE(ended_as_planned(s.d, b));
    EXPECT_TRUE(effects_as_predicted(s.d, b));
    EXPECT_EQ(s.d.rejected(), 0U);
    EXPECT_EQ(log.lines_with("ended twice"), 0U);
    EXPECT_EQ(s.d.client().ended_count(), tickets);
}

// choreo-ctl place --workflow ticket drives what the plans name (the expert's reports, the
// cancels once a ticket waits for the expert) and reports every ticket ended as predicted.
TEST_P(ticket_at_scale, choreo_ctl_places_mixed_tickets_and_every_one_ends_as_predicted) {
    demo::spawned_services children(std::string(CHOREO_BIN_DIR) + "/choreo-node", pattern_, ticket_,
                                    transport::ipc, {"ctl"}, {}, default_retain_finished,
                                    {"--in-memory"});
    auto full = children.where();
    full.set("ctl", "ipc://" + (children.topology_file().parent_path() / "ctl.sock").string(),
             node_role::client);
    children.share(full);
    const auto timeout = std::chrono::duration_cast<std::chrono::seconds>(deadline);
    const auto [code, out] = run_command(
        std::string(CHOREO_BIN_DIR) + "/choreo-ctl --pattern " + std::string(pattern_.name()) +
        " --workflow ticket --as ctl --topology " + children.topology_file().string() +
        " place --scenario mixed --count 100 --seed 3 --timeout " +
        std::to_string(timeout.count()) + " 2>&1");
    EXPECT_EQ(code, 0) << out;
    EXPECT_NE(out.find("placed 100 mixed ticket workflows"), std::string::npos) << out;
    EXPECT_NE(out.find("every workflow ended as predicted"), std::string::npos) << out;
    EXPECT_EQ(out.find("interrupted before"), std::string::npos) << out;
}

} // namespace
} // namespace choreo::testing

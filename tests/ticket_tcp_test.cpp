// The ticket workflow over processes: 1,000 mixed tickets through one choreo-node process per
// node over tcp, under every pattern, end exactly as predicted with the predicted effects; and
// choreo-ctl places tickets on a running deployment.
#include "spawned_deployment.hpp"

#include <chrono>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "demo/table_11_8.hpp"
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

// Table 11-8's workflow control under --fault kill:notification@N, one choreo-node per node,
// the victim never restarted: an owner marks every ticket the kill stopped stuck at its step
// deadline after the step before acted, re-drives it and, the retries spent, ends it "failed"
// and tells the client; without an owner nobody finds any, they never end, and only a stuck
// query asking every service lists them (the victim silent).
TEST_P(ticket_at_scale, workflow_control_a_killed_service_is_found_by_an_owner_only) {
    demo::lost_tickets_options o;
    o.node_binary = std::string(CHOREO_BIN_DIR) + "/choreo-node";
    o.step_deadline = scaled(std::chrono::milliseconds(300));
    o.quiet = scaled(std::chrono::milliseconds(1'000));
    o.wait = deadline;
    const auto r = demo::measure_killed_tickets(pattern_, ticket_, o);
    const bool owner = has_owner(pattern_, ticket_);
    EXPECT_EQ(r.fault, "kill:notification@45");
    EXPECT_EQ(r.placed, o.tickets);
    EXPECT_GT(r.lost, 0U) << "the kill stopped no ticket: nothing was measured";
    ASSERT_EQ(r.detected_after_ns.size(), r.detected);
    EXPECT_EQ(r.listed, r.not_ended);
    EXPECT_EQ(r.recovered, 0U) << "nothing brings the victim back";
    if (owner) {
        EXPECT_EQ(r.detector, pattern_.entry(ticket_));
        EXPECT_EQ(r.detected, r.lost);
        // The owner's deadline runs on its steady clock from when it heard of the step; the
        // figure is two wall-clock times (the step's, the mark's): within a few ms of it.
        for (const auto ns : r.detected_after_ns) {
            EXPECT_GE(ns, std::chrono::nanoseconds(o.step_deadline).count() * 9 / 10);
        }
        EXPECT_EQ(r.ended_failed, r.lost) << "the retries spent, the owner fails it";
        EXPECT_EQ(r.not_ended, 0U);
        EXPECT_EQ(r.ended, r.placed);
        EXPECT_EQ(r.query_nodes, 1U);
        EXPECT_EQ(r.query_messages, 2U);
        EXPECT_EQ(r.listed_not_lost, 0U);
    } else {
        EXPECT_EQ(r.detector, "");
        EXPECT_EQ(r.detected, 0U);
        // A ticket that ended at the victim (it told the client last: unassigned, escalated)
        // still looks in progress to the services before it, and the victim does not answer:
        // the query may list it too, never more of them than ended.
        EXPECT_LE(r.listed_not_lost, r.ended);
        EXPECT_EQ(r.ended_failed, 0U);
        EXPECT_EQ(r.not_ended, r.lost);
        EXPECT_EQ(r.ended + r.lost, r.placed);
        EXPECT_EQ(r.query_nodes, ticket_.services().size());
        EXPECT_EQ(r.query_silent, std::vector<std::string>{"notification"});
    }
    ::testing::Test::RecordProperty("lost", static_cast<int>(r.lost));
}

} // namespace
} // namespace choreo::testing

// choreo-node --step-deadline: the deadline an owner of the workflow state (front controller,
// orchestrator) gives each step, in place of the model's; a bad value is refused with status 2.
#include "demo/cli.hpp"

#include <chrono>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "demo/spawn.hpp"
#include "harness.hpp"
#include "patterns/remote_deployment.hpp"

namespace choreo {
namespace {

using namespace std::chrono_literals;

const std::string bin_dir = CHOREO_BIN_DIR;

TEST(cli_parse_step_deadline, reads_durations_from_1_ms_to_24_h_in_whole_milliseconds) {
    using ms = std::chrono::milliseconds;
    EXPECT_EQ(std::get<ms>(cli::parse_step_deadline("1ms")), 1ms);
    EXPECT_EQ(std::get<ms>(cli::parse_step_deadline("500ms")), 500ms);
    EXPECT_EQ(std::get<ms>(cli::parse_step_deadline("1.9ms")), 1ms);
    EXPECT_EQ(std::get<ms>(cli::parse_step_deadline("30s")), 30s);
    EXPECT_EQ(std::get<ms>(cli::parse_step_deadline("86400s")), 24h);
    EXPECT_EQ(std::get<ms>(cli::parse_step_deadline("2000000us")), 2s);
}

TEST(cli_parse_step_deadline, refuses_what_is_no_duration_from_1_ms_to_24_h) {
    for (const auto* text : {"", "0", "0ms", "999us", "5", "-1ms", "86401s", "1h", "1 s", "nans",
                             "infs", "fast", "1e308s"}) {
        const auto got = cli::parse_step_deadline(text);
        ASSERT_TRUE(std::holds_alternative<std::string>(got)) << text;
        EXPECT_EQ(std::get<std::string>(got), "'" + std::string(text) +
                                                  "' is not a duration from 1ms to 24h with its "
                                                  "unit (ns, us, ms, s), e.g. 500ms or 30s")
            << text;
    }
}

// Refused while the command line is read: before any file is opened or socket bound.
TEST(choreo_node_step_deadline, a_bad_value_is_refused_with_status_2_naming_the_option) {
    for (const auto* text : {"0", "fast", "25h", "-5s"}) {
        const auto [code, out] = testing::run_command(
            bin_dir +
            "/choreo-node --pattern orchestration --service order_orchestrator "
            "--bind tcp://127.0.0.1:* --in-memory --step-deadline " +
            std::string(text) + " 2>&1 </dev/null");
        EXPECT_EQ(code, 2) << text << ": " << out;
        EXPECT_NE(out.find("--step-deadline"), std::string::npos) << out;
        EXPECT_NE(out.find("'" + std::string(text) + "' is not a duration from 1ms to 24h"),
                  std::string::npos)
            << out;
        EXPECT_EQ(out.find("bound "), std::string::npos) << "refused before binding: " << out;
    }
}

/// The patterns with a node that owns the workflow state.
class step_deadline : public ::testing::TestWithParam<std::string> {};

// A step held by its service: the owner, told by --step-deadline to wait far less than the
// model's 60 s, marks the workflow stuck, re-drives the step the model's retries times and then
// ends it failed, naming the deadline it was given. With the model's deadline nothing would end
// before the test's deadline (30 s).
TEST_P(step_deadline, the_owner_fails_a_held_step_after_the_deadline_given) {
    const auto& p = testing::pattern_named(GetParam());
    const auto wf = testing::workflow_named("order");
    const auto given = testing::scaled(200ms);
    demo::spawned_services children(
        bin_dir + "/choreo-node", p, wf, transport::tcp, {"client"}, {}, default_retain_finished,
        {"--in-memory", "--step-deadline", std::to_string(given.count()) + "ms"});
    remote_deployment d(p, wf, children.where(), testing::remote());
    children.share(d.where());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    d.hold("payment");
    const auto one = testing::place(d, "happy", 1, 9);
    ASSERT_TRUE(d.client().wait_for(one.ids, testing::deadline)) << "the held step never failed";
    const auto o = d.client().outcome(one.ids.front());
    EXPECT_EQ(o->terminal, workflow_state::failed);
    EXPECT_NE(o->detail.find("stuck at step 1 (payment): no progress within " +
                             std::to_string(given.count()) + " ms, re-driven " +
                             std::to_string(wf.retries) + " time(s)"),
              std::string::npos)
        << o->detail;
    d.release("payment");
}

INSTANTIATE_TEST_SUITE_P(owners, step_deadline,
                         ::testing::Values("front_controller", "orchestration"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

} // namespace
} // namespace choreo

// The chapter's failure claims, measured on choreo-node processes over tcp under every pattern:
// the counts each run reports, against what the workflow model and the pattern predict.
#include "demo/failure_claims.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "traffic_model.hpp"

namespace choreo {
namespace {

using std::chrono::milliseconds;
using testing::scaled;

const std::string bin_dir = CHOREO_BIN_DIR;

demo::failure_claims_options small() {
    demo::failure_claims_options o;
    o.node_binary = bin_dir + "/choreo-node";
    o.orders = 40;
    o.in_flight = 6;
    o.placed_during = 5;
    o.outage_step_deadline = scaled(milliseconds(2'000));
    o.held = 4;
    o.step_deadline = scaled(milliseconds(300));
    o.retries = 1;
    o.wait = testing::deadline;
    o.query_timeout = scaled(milliseconds(1'000));
    o.quiet = scaled(milliseconds(600));
    o.seed = 5;
    return o;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

/// Returns: the node that tells the client a completed workflow ended, as the model says.
std::string ender_of_a_completed(const pattern& p, const workflow& wf) {
    for (const auto& [from, to] : testing::expected_for(p, wf, testing::completes(wf)).client) {
        if (to == "client") {
            return from;
        }
    }
    return {};
}

class failure_claims : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow wf_ = testing::workflow_named("order");
    const demo::failure_claims_options o_ = small();

    /// Checks an outage of `victim` against the model: who can act and who can end.
    void check_outage(const std::string& victim) {
        const auto r = demo::measure_outage(pattern_, wf_, victim, o_);
        EXPECT_EQ(r.victim, victim);
        EXPECT_EQ(r.placed, 1 + o_.in_flight + o_.placed_during);
        EXPECT_EQ(r.ended_after, r.placed) << "every workflow ends once the node is back";
        // In flight: they wait at the third step's service, which is up: it acts on each.
        EXPECT_EQ(r.in_flight.workflows, o_.in_flight);
        EXPECT_EQ(r.in_flight.progressed, o_.in_flight);
        // They end during the outage unless the node down is the one that tells the client.
        EXPECT_EQ(r.in_flight.ended,
                  ender_of_a_completed(pattern_, wf_) == victim ? 0U : o_.in_flight);
        // Placed during: nothing starts if the entry is down; else the steps before the middle
        // service act, and none ends (every one needs the node down).
        EXPECT_EQ(r.placed_during.workflows, o_.placed_during);
        EXPECT_EQ(r.placed_during.progressed,
                  victim == pattern_.entry(wf_) ? 0U : o_.placed_during);
        EXPECT_EQ(r.placed_during.ended, 0U);

        // State management: a status query asks where the pattern keeps the state; the node
        // down is named in its errors, and the others answer.
        ASSERT_EQ(r.statuses.size(), 3U);
        for (const auto& s : r.statuses) {
            const auto asked = pattern_.plan_status_query(wf_, s.workflow_id).ask;
            EXPECT_EQ(s.asked, asked) << s.of;
            EXPECT_FALSE(contains(s.answered, victim)) << s.of;
            EXPECT_TRUE(s.errors.empty()) << s.of << ": " << s.errors.front();
            if (contains(asked, victim)) {
                EXPECT_EQ(s.answered.size(), asked.size() - 1) << s.of;
                EXPECT_EQ(s.silent, std::vector<std::string>{victim}) << s.of;
            } else {
                auto answered = s.answered;
                std::sort(answered.begin(), answered.end());
                auto all = asked;
                std::sort(all.begin(), all.end());
                EXPECT_EQ(answered, all) << s.of;
                EXPECT_TRUE(s.silent.empty()) << s.of;
                EXPECT_TRUE(s.found) << s.of;
            }
            if (asked == std::vector<std::string>{victim}) {
                EXPECT_FALSE(s.found) << s.of << ": nobody else holds the state";
                EXPECT_EQ(s.state, workflow_state::unknown) << s.of;
            }
            if (s.of == "finished before" && !contains(asked, victim)) {
                EXPECT_EQ(s.state, workflow_state::completed);
            }
        }
    }
};

// Recoverability with a store per node: the killed service carries on from its store, every
// message it had not acknowledged is resent, and nothing is lost or doubled.
TEST_P(failure_claims, a_durable_service_killed_and_restarted_loses_and_doubles_nothing) {
    const auto r = demo::measure_recovery(pattern_, wf_, true, o_);
    EXPECT_EQ(r.victim, "payment");
    EXPECT_EQ(r.tally, (demo::fault_tally{1, 1, 0, 0}));
    EXPECT_EQ(r.placed, o_.orders);
    EXPECT_EQ(r.lost, 0U);
    EXPECT_EQ(r.ended, o_.orders);
    EXPECT_EQ(r.as_predicted, o_.orders);
    EXPECT_EQ(r.effects_doubled, 0U);
    EXPECT_EQ(r.effects_lost, 0U);
    EXPECT_EQ(r.refusals, 0U);
    EXPECT_GT(r.resent, 0U) << "the kill left messages unacknowledged";
}

// Recoverability in memory: what is lost is measured, not predicted. A charge is forgotten only
// if the killed service had acknowledged its message before the kill (else it is resent and
// applied again): that depends on when its acknowledgements left, so no count is asserted
// beyond the kill, the restart and the resends that followed.
TEST_P(failure_claims, a_service_in_memory_killed_and_restarted_is_measured) {
    const auto r = demo::measure_recovery(pattern_, wf_, false, o_);
    EXPECT_FALSE(r.durable);
    EXPECT_EQ(r.tally, (demo::fault_tally{1, 1, 0, 0}));
    EXPECT_EQ(r.placed, o_.orders);
    EXPECT_EQ(r.ended + r.lost, r.placed);
    EXPECT_LE(r.as_predicted, r.ended);
    EXPECT_GT(r.resent, 0U) << "the kill left messages unacknowledged";
}

// Fault tolerance against the central node: the owner of the workflow state, or the entry.
TEST_P(failure_claims, with_the_central_node_down_only_steps_past_it_progress) {
    check_outage(demo::central_node(pattern_, wf_));
}

// Fault tolerance against the middle service.
TEST_P(failure_claims, with_the_middle_service_down_the_steps_before_and_after_it_progress) {
    check_outage(demo::middle_service(wf_));
}

// Error handling: an owner marks every held workflow stuck and ends it failed; without one, a
// stuck query asking every service finds them all (the paused service silent), and nobody ends
// them. No finished workflow is ever listed.
TEST_P(failure_claims, every_held_workflow_is_found_by_the_owner_or_by_asking_every_service) {
    const auto r = demo::measure_stuck(pattern_, wf_, o_);
    const bool owner = testing::has_owner(pattern_, wf_);
    EXPECT_EQ(r.owner, owner);
    EXPECT_EQ(r.finished, 3U);
    EXPECT_EQ(r.held, o_.held);
    EXPECT_EQ(r.detected, o_.held);
    EXPECT_EQ(r.detection_ns.size(), o_.held);
    EXPECT_EQ(r.false_alarms, 0U);
    EXPECT_FALSE(r.blind_spots.empty());
    EXPECT_GT(r.query_messages, 0U);
    if (owner) {
        EXPECT_EQ(r.ended_failed, o_.held);
        EXPECT_EQ(r.failed_ns.size(), o_.held);
        EXPECT_EQ(r.not_ended, 0U);
        EXPECT_EQ(r.queries, 1U);
        EXPECT_TRUE(r.silent.empty()) << "only the owner is asked";
        EXPECT_EQ(r.query_messages, 2U);
    } else {
        EXPECT_EQ(r.ended_failed, 0U);
        EXPECT_EQ(r.not_ended, o_.held) << "nobody can end them";
        EXPECT_GE(r.queries, 1U);
        EXPECT_EQ(r.silent, std::vector<std::string>{"payment"});
    }
}

INSTANTIATE_TEST_SUITE_P(patterns, failure_claims, ::testing::ValuesIn(testing::every_pattern()),
                         testing::pattern_name{});

TEST(failure_claims_demo, prints_each_claim_with_its_evidence) {
    const auto [status, out] =
        testing::run_command(bin_dir + "/choreo-demo --failure-claims --pattern stateless 2>&1");
    EXPECT_EQ(status, 0) << out;
    for (const auto* part :
         {"Recoverability (Table 11-1", "Fault tolerance (Table 11-5", "progressed: a live node",
          "State management: what a status query answered during the outage",
          "Error handling and workflow control", "cannot detect: "}) {
        EXPECT_NE(out.find(part), std::string::npos) << part << "\n" << out;
    }
    const auto [bad, refused] =
        testing::run_command(bin_dir + "/choreo-demo --failure-claims --json 2>&1");
    EXPECT_EQ(bad, 2) << refused;
    EXPECT_NE(refused.find("do not apply"), std::string::npos) << refused;
}

// --step-deadline's refusals are tested in tests/step_deadline_test.cpp.
TEST(step_retries_option, bad_values_are_refused_with_status_2) {
    const auto node = bin_dir + "/choreo-node --pattern orchestration --service payment "
                                "--bind 'tcp://127.0.0.1:*' ";
    for (const auto& args : {"--step-retries -1", "--step-retries many"}) {
        const auto [status, out] = testing::run_command(node + args + " </dev/null 2>&1");
        EXPECT_EQ(status, 2) << args << ": " << out;
        EXPECT_NE(out.find("--step-retries"), std::string::npos) << args << ": " << out;
    }
}

} // namespace
} // namespace choreo

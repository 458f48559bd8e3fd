// Stuck workflows, found as each pattern honestly allows: an owner of the workflow state marks a
// step past its deadline stuck, re-drives it and then fails it; choreography without an owner
// can only list the workflows with no progress when asked.
#include "patterns/stuck.hpp"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "patterns/clock.hpp"
#include "workflows/order/order.hpp"

namespace choreo {
namespace {

using namespace std::chrono_literals;
using testing::deadline;
using testing::options;
using testing::pattern_named;
using testing::place;
using testing::scaled;

/// The service held in these tests: the second step's, so that a step has acted before it.
const std::string held = "payment";

/// Returns: the order workflow with every step's deadline `step_deadline` and `retries`.
workflow order_with(std::chrono::milliseconds step_deadline, std::uint32_t retries) {
    auto wf = testing::workflow_named("order");
    wf.set_step_deadlines(step_deadline);
    wf.retries = retries;
    return wf;
}

std::uint64_t repeats_of(local_deployment& d, const std::string& service) {
    return d.on_service(service, [](service_node& s) { return s.domain()->repeats(); });
}

std::uint64_t total_repeats(local_deployment& d) {
    std::uint64_t n = 0;
    for (const auto& s : d.services()) {
        n += repeats_of(d, s);
    }
    return n;
}

/// Waits until `ready()` holds or the deadline passes. Returns: whether it holds.
template <class Ready> bool eventually(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!ready()) {
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

/// Returns: workflow messages `from` sent `to` for workflow `id`, as the transport counted them.
std::size_t sent_for(local_deployment& d, const std::string& from, const std::string& to,
                     const std::string& id) {
    std::size_t n = 0;
    for (const auto& r : d.traffic().trace_of(id)) {
        n += r.query_id == 0 && r.from == from && r.to == to && r.workflow_id == id ? 1 : 0;
    }
    return n;
}

/// Returns: ids of the workflows a stuck report lists, sorted.
std::vector<std::string> ids_of(const stuck_report& r) {
    std::vector<std::string> out;
    for (const auto& w : r.workflows) {
        out.push_back(w.workflow_id);
    }
    std::sort(out.begin(), out.end());
    return out;
}

stuck_query query(std::chrono::milliseconds older_than, std::size_t limit) {
    stuck_query q;
    q.older_than = older_than;
    q.limit = limit;
    q.timeout = scaled(2s);
    return q;
}

class stuck : public ::testing::TestWithParam<std::string> {};
/// The patterns with a node that owns the workflow state: only they can fail a workflow.
class stuck_owner : public ::testing::TestWithParam<std::string> {};

// A step held past its deadline, with retries to spare: the owner marks the workflow stuck (the
// step, since when) and re-drives it; once released, the workflow completes as predicted and
// every re-driven step was answered from the service's record, not decided again. Without an
// owner nobody marks or re-drives anything: the status only says when the last step acted.
TEST_P(stuck, a_held_step_is_marked_stuck_and_redriven_without_doubling_its_effect) {
    const auto& p = pattern_named(GetParam());
    local_deployment d(p, order_with(scaled(100ms), 1'000'000), options(transport::tcp));
    auto b = place(d, "mixed", 20, 5);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    ASSERT_EQ(total_repeats(d), 0U) << "nothing was re-driven yet";

    d.hold(held);
    const auto one = place(d, "happy", 1, 6);
    const auto& id = one.ids[0];
    const auto owner = testing::has_owner(p, d.flow());
    const auto seen = testing::await_status(d, id, [&](const msg::workflow_status& s) {
        return owner ? s.state == workflow_state::stuck && s.redrives >= 2
                     : s.last_at_ns != 0 &&
                           now_ns() - s.last_at_ns >= scaled(300ms).count() * 1'000'000;
    });
    ASSERT_GE(seen.steps.size(), 2U);
    EXPECT_EQ(seen.steps[1].status, step_status::pending);
    EXPECT_EQ(seen.last_service, "order_placement");
    EXPECT_EQ(seen.last_step, 0U);
    EXPECT_NE(seen.last_at_ns, 0);
    if (owner) {
        EXPECT_EQ(seen.state, workflow_state::stuck);
        EXPECT_EQ(seen.stuck_step, 1U);
        EXPECT_NE(seen.stuck_since_ns, 0);
        EXPECT_LE(seen.stuck_since_ns, now_ns());
        EXPECT_GE(seen.redrives, 2U);
    } else {
        EXPECT_EQ(seen.state, workflow_state::in_progress) << "nobody can tell it is stuck";
        EXPECT_EQ(seen.stuck_since_ns, 0);
        EXPECT_EQ(seen.redrives, 0U);
    }

    // The stuck query lists it, and only it.
    const auto report = find_stuck(d.client(), p, d.flow(), query(scaled(50ms), 50));
    EXPECT_EQ(report.owner, owner);
    EXPECT_EQ(ids_of(report), std::vector<std::string>{id});
    EXPECT_FALSE(report.blind_spots.empty());

    d.release(held);
    ASSERT_TRUE(testing::ended_as_planned(d, one));
    const auto end = d.client().status(id).status;
    EXPECT_EQ(end.state, workflow_state::completed);
    // Every re-driven message reached the held service and was answered from its record.
    const auto owner_node = p.plan_status_query(d.flow(), id).ask.front();
    if (owner) {
        ASSERT_TRUE(eventually([&] { return repeats_of(d, held) == end.redrives; }))
            << repeats_of(d, held) << " repeats at " << held << ", " << end.redrives
            << " re-drives";
        EXPECT_EQ(sent_for(d, owner_node, held, id), 1 + end.redrives);
    } else {
        EXPECT_EQ(end.redrives, 0U);
        EXPECT_EQ(total_repeats(d), 0U);
    }
    b.ids.push_back(id);
    b.plans.push_back(one.plans[0]);
    EXPECT_TRUE(testing::effects_as_predicted(d, b)) << "a re-driven step doubled an effect";
    EXPECT_EQ(d.rejected(), 0U);
}

// With the retries spent the owner fails the workflow and tells the client, naming the step; the
// re-driven sends are exactly the model's retries. Released later, the held service runs the step
// once and answers every repeat from its record: the failed workflow is charged at most once.
TEST_P(stuck_owner, fails_a_workflow_stuck_past_its_retries_and_tells_the_client) {
    const auto& p = pattern_named(GetParam());
    const std::uint32_t retries = 2;
    local_deployment d(p, order_with(scaled(100ms), retries), options(transport::tcp));
    ASSERT_TRUE(testing::has_owner(p, d.flow()));
    const auto b = place(d, "mixed", 20, 5);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    const auto before = testing::predicted(d, b);

    d.hold(held);
    const auto one = place(d, "happy", 1, 6);
    const auto& id = one.ids[0];
    ASSERT_TRUE(d.client().wait_for(one.ids, deadline)) << "the client was never told";
    const auto told = d.client().outcome(id);
    EXPECT_EQ(told->terminal, workflow_state::failed);
    EXPECT_NE(told->detail.find("step 1"), std::string::npos) << told->detail;
    EXPECT_NE(told->detail.find(held), std::string::npos) << told->detail;

    const auto st = d.client().status(id).status;
    EXPECT_EQ(st.state, workflow_state::failed);
    EXPECT_EQ(st.stuck_step, 1U);
    EXPECT_NE(st.stuck_since_ns, 0);
    EXPECT_EQ(st.redrives, retries);
    const auto owner_node = p.plan_status_query(d.flow(), id).ask.front();
    EXPECT_EQ(sent_for(d, owner_node, held, id), 1 + retries) << "the step's sends, re-drives in";
    // A failed workflow is not stuck any more.
    EXPECT_TRUE(find_stuck(d.client(), p, d.flow(), query(scaled(50ms), 50)).workflows.empty());

    d.release(held);
    // Under the front controller the services after the held one are choreographed: they go on
    // with every copy of the event the held one passes on. Under orchestration nobody is asked
    // for a step after the workflow failed.
    const auto downstream = p.name() == "front_controller" ? 3U : 1U;
    ASSERT_TRUE(eventually([&] { return total_repeats(d) == retries * downstream; }))
        << total_repeats(d) << " repeats";
    EXPECT_EQ(repeats_of(d, held), retries);
    auto all = b;
    all.ids.push_back(id);
    all.plans.push_back(one.plans[0]);
    const auto after = testing::predicted(d, all); // as if the failed one had completed, once
    const auto got = d.effects();
    const auto o = decode_value<order::order>(one.plans[0].details).value();
    const auto charged = "charged_cents:" + o.customer;
    EXPECT_EQ(got.at(charged), after.at(charged)) << "charged once, after the release";
    for (const auto& [key, n] : got) {
        const auto was = before.contains(key) ? before.at(key) : 0;
        const auto once = after.contains(key) ? after.at(key) : 0;
        EXPECT_TRUE(n == was || n == once)
            << key << " = " << n << ", not " << was << " or " << once;
    }
    EXPECT_EQ(d.client().status(id).status.state, workflow_state::failed) << "it stays failed";
    EXPECT_EQ(d.rejected(), 0U);
}

// Without an owner a stuck query asks every service (twice: candidates, then their latest
// records) and lists exactly the workflows held up, not the finished ones; each service lists at
// most the limit asked, and the report says when more may be stuck.
TEST_P(stuck, a_stuck_query_lists_exactly_the_held_workflows_at_a_bounded_cost) {
    const auto& p = pattern_named(GetParam());
    local_deployment d(p, order_with(scaled(10s), 1'000'000), options(transport::tcp));
    const auto owner = testing::has_owner(p, d.flow());
    const auto b = place(d, "mixed", 30, 5);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    d.hold(held);
    const auto stalled = place(d, "happy", 3, 6);
    auto want = stalled.ids;
    std::sort(want.begin(), want.end());

    const auto older = scaled(200ms);
    stuck_report report;
    ASSERT_TRUE(eventually([&] {
        report = find_stuck(d.client(), p, d.flow(), query(older, 50));
        return ids_of(report) == want;
    })) << "listed "
        << ids_of(report).size() << " workflow(s)";
    EXPECT_EQ(report.owner, owner);
    EXPECT_FALSE(report.truncated);
    EXPECT_TRUE(report.silent.empty());
    // One request and one reply per node asked, once with an owner, twice without.
    EXPECT_EQ(report.asked.size(), owner ? 1U : d.services().size());
    EXPECT_EQ(report.messages, 2 * report.asked.size() * (owner ? 1 : 2));
    EXPECT_GT(report.bytes, 0U);
    for (const auto& w : report.workflows) {
        EXPECT_EQ(w.last.service, "order_placement") << w.workflow_id;
        EXPECT_EQ(w.last.step, 0U);
        EXPECT_GE(w.age_ns, older.count() * 1'000'000);
        EXPECT_EQ(w.state, workflow_state::in_progress) << "the deadline is far";
    }

    // Bounded: a limit below the number stuck lists no more than it, and says so.
    const auto capped = find_stuck(d.client(), p, d.flow(), query(older, 2));
    EXPECT_LE(capped.workflows.size(), 2U);
    EXPECT_TRUE(capped.truncated);

    d.release(held);
    ASSERT_TRUE(testing::ended_as_planned(d, stalled));
    EXPECT_TRUE(find_stuck(d.client(), p, d.flow(), query(older, 50)).workflows.empty());
}

INSTANTIATE_TEST_SUITE_P(patterns, stuck_owner,
                         ::testing::ValuesIn(testing::patterns_with_an_owner()),
                         testing::pattern_name{});
INSTANTIATE_TEST_SUITE_P(patterns, stuck, ::testing::ValuesIn(testing::every_pattern()),
                         testing::pattern_name{});

} // namespace
} // namespace choreo

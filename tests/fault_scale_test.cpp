// Faults at scale: 1,000 mixed orders through durable choreo-node processes over tcp while one
// node is killed and restarted, or paused, at a seeded point, or while every node drops sends:
// every workflow ends once, as predicted, and every domain effect happens once.
#include "spawned_deployment.hpp"

#include <chrono>
#include <cstdint>
#include <iostream>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "traffic_model.hpp"

namespace choreo {
namespace {

using std::chrono::milliseconds;
using testing::spawned;

constexpr std::size_t orders = 1'000;
constexpr std::uint64_t workload_seed = 1009;

/// One node of one pattern's order deployment: the victim of a fault.
struct victim {
    std::string pattern;
    std::string node;
};

/// Names a victim in a test's output (and ctest's list) as PATTERN/NODE.
void PrintTo(const victim& v, std::ostream* out) {
    *out << v.pattern << "/" << v.node;
}

/// Returns: every node of every modelled pattern's order deployment, the pattern's own nodes
/// (an orchestrator) included.
std::vector<victim> every_node() {
    std::vector<victim> out;
    const auto wf = testing::workflow_named("order");
    for (const auto& p : testing::modelled_patterns()) {
        for (const auto& n : testing::pattern_named(p).nodes(wf)) {
            out.push_back({p, n});
        }
    }
    return out;
}

/// Returns: the workflow messages `node` receives for the batch of `orders` mixed workflows the
/// tests place (their plans come from the same seeded generator), as the model says: the node
/// handles each of them once, however the batch goes, so a fault after any of them acts.
std::size_t certainly_handled(const pattern& p, const workflow& wf, const std::string& node) {
    auto gen = module_of(wf).make_workload(wf, "mixed", workload_seed);
    std::size_t n = 0;
    for (const auto& plan : gen.value()->take(orders)) {
        n += testing::received_per_workflow(p, wf, testing::ending_in(wf, plan.expected_terminal),
                                            node);
    }
    return n;
}

/// Returns: a point in [1, last] drawn from a generator seeded with `what` (the fault, its
/// pattern and its victim): the same point in every run, a different one for each victim.
std::size_t seeded_point(const std::string& what, std::size_t last) {
    std::seed_seq seed(what.begin(), what.end());
    std::mt19937_64 gen(seed);
    return std::uniform_int_distribution<std::size_t>(1, last)(gen);
}

/// What delivery did to get every message through, over the whole deployment.
struct delivery {
    std::uint64_t resent{};     ///< the nodes' and the client's
    std::uint64_t duplicates{}; ///< received again and dropped, the nodes' and the client's
    std::uint64_t dropped{};    ///< by a drop fault
    std::vector<msg::inspect_reply> nodes;
};

/// Waits until no node has a message waiting for its ack: every resend has been answered.
/// Returns: each node's figures then, and the client's added to the sums.
delivery quiet(spawned& s) {
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    delivery out;
    for (;;) {
        out.nodes = s.d.inspect_all();
        std::uint64_t unacked = 0;
        for (const auto& n : out.nodes) {
            unacked += n.unacked;
        }
        if (unacked == 0) {
            break;
        }
        if (std::chrono::steady_clock::now() >= until) {
            ADD_FAILURE() << unacked << " message(s) still unacknowledged";
            break;
        }
        std::this_thread::sleep_for(milliseconds(50));
    }
    const auto client = s.d.client_ledger().delivery();
    out.resent = client.resent.messages;
    out.duplicates = client.duplicates.messages;
    for (const auto& n : out.nodes) {
        out.resent += n.resent;
        out.duplicates += n.duplicates;
        out.dropped += n.dropped_by_fault;
    }
    return out;
}

/// Returns: the figures of `node` among `d.nodes`.
const msg::inspect_reply& figures_of(const delivery& d, const std::string& node) {
    for (const auto& n : d.nodes) {
        if (n.node == node) {
            return n;
        }
    }
    throw std::invalid_argument("no figures of " + node);
}

/// Prints what a run did, for the record (not asserted: the spread follows the timing).
void report(const std::string& what, const delivery& d, std::chrono::steady_clock::time_point t0) {
    std::cout << what << ": " << d.resent << " resent, " << d.duplicates
              << " duplicates (duplicates/resent per node:";
    for (const auto& n : d.nodes) {
        std::cout << " " << n.node << " " << n.duplicates << "/" << n.resent;
    }
    std::cout
        << " ), " << d.dropped << " dropped; "
        << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count()
        << " ms\n";
}

/// Places the batch on a deployment of `faults`, checks that every workflow ended once, as
/// predicted, with exactly the predicted effects and no refusal, then that `acted` (the process
/// faults' events) happened. Returns: the delivery figures once every node is quiet.
delivery place_and_check(spawned& s, const std::vector<std::string>& acted) {
    testing::captured_log log;
    EXPECT_FALSE(s.children.data_dir().empty()); // durable, the default for spawned nodes
    EXPECT_TRUE(s.d.wait_ready(testing::deadline).empty());
    const auto b = testing::place(s.d, "mixed", orders, workload_seed);
    EXPECT_TRUE(s.children.await_fault_events(acted.size(), testing::deadline));
    std::vector<std::string> seen;
    for (const auto& e : s.children.fault_events()) {
        seen.push_back(e.service + " " + e.what);
    }
    EXPECT_EQ(seen, acted);
    EXPECT_TRUE(testing::ended_as_planned(s.d, b)); // every one, as predicted
    // Nothing lost, nothing doubled: no double charge, no lost decrement, no duplicate email.
    EXPECT_TRUE(testing::effects_as_predicted(s.d, b));
    EXPECT_EQ(s.d.rejected(), 0U);
    auto d = quiet(s);
    // Once: a workflow_ended sent again is dropped as a duplicate by the client's delivery; one
    // that got past it would be logged as ended twice.
    EXPECT_EQ(log.lines_with("ended twice"), 0U);
    EXPECT_EQ(s.d.client().ended_count(), orders);
    return d;
}

class fault_scale : public ::testing::TestWithParam<victim> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam().pattern);
    const workflow wf_ = testing::workflow_named("order");
    const std::string victim_ = GetParam().node;
    /// The fault's point: after the victim's n-th handled message, n drawn from the messages
    /// it handles for the batch.
    std::size_t point(const std::string& fault) const {
        const auto certain = certainly_handled(pattern_, wf_, victim_);
        const auto n = seeded_point(fault + ":" + GetParam().pattern + ":" + victim_, certain);
        std::cout << fault << " " << victim_ << " under " << pattern_.name() << " after " << n
                  << " of the " << certain << " messages it handles\n";
        return n;
    }
};

// SIGKILL mid-batch, a restart on the data directory a second later. The message the victim
// died handling was never acknowledged (its batch never committed), so its sender, which
// lives on, sends it again: resends happen. Duplicates need not: what the victim had sent but
// still held in its own queues died with it, and what was sent to it but not committed is new
// to it when sent again; a duplicate needs a message applied whose ack did not come back in
// time, which the timing decides (printed, not asserted).
TEST_P(fault_scale, a_node_killed_at_a_seeded_point_and_restarted_loses_and_doubles_nothing) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto n = point("kill");
    spawned s(pattern_, wf_, {"kill:" + victim_ + "@" + std::to_string(n) + ":restart=1s"});
    const auto d = place_and_check(s, {victim_ + " killed", victim_ + " restarted"});
    const auto events = s.children.fault_events();
    ASSERT_EQ(events.size(), 2U);
    EXPECT_NE(events[0].detail.find("SIGKILL after " + std::to_string(n) + " handled messages"),
              std::string::npos)
        << events[0].detail;
    EXPECT_EQ(s.children.tally(), (demo::fault_tally{1, 1, 0, 0}));
    report("kill " + victim_, d, t0);
    EXPECT_GT(d.resent, 0U);
}

// SIGSTOP mid-batch for a second, then SIGCONT. The message the victim stopped after was not
// acknowledged; its sender sends it again while the victim is stopped (the first resend comes
// after node_options::resend_initial, 200 ms), and the victim, continued, applies the first
// copy and drops the second: a duplicate in the victim's own count.
TEST_P(fault_scale, a_node_paused_at_a_seeded_point_loses_and_doubles_nothing) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto n = point("pause");
    const auto pause = testing::scaled(milliseconds(1'000));
    spawned s(pattern_, wf_,
              {"pause:" + victim_ + "@" + std::to_string(n) + ":" + std::to_string(pause.count()) +
               "ms"});
    const auto d = place_and_check(s, {victim_ + " paused", victim_ + " continued"});
    const auto events = s.children.fault_events();
    ASSERT_EQ(events.size(), 2U);
    EXPECT_NE(events[0].detail.find("SIGSTOP after " + std::to_string(n) + " handled messages"),
              std::string::npos)
        << events[0].detail;
    EXPECT_EQ(s.children.tally(), (demo::fault_tally{0, 0, 1, 1}));
    report("pause " + victim_, d, t0);
    EXPECT_GT(d.resent, 0U);
    EXPECT_GT(figures_of(d, victim_).duplicates, 0U);
}

INSTANTIATE_TEST_SUITE_P(every_node_of_every_pattern, fault_scale,
                         ::testing::ValuesIn(every_node()),
                         [](const ::testing::TestParamInfo<victim>& p) {
                             return p.param.pattern + "_" + p.param.node;
                         });

class fault_scale_drop : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow wf_ = testing::workflow_named("order");
};

// Every node drops 5% of its inter-service sends (seeded). A dropped send is never
// acknowledged, so its sender sends it again until a copy gets through: each node that dropped
// a send resent. (Not resent >= dropped: a resend dropped in its turn counts as dropped, not as
// resent, so a message dropped twice and then delivered counts 2 dropped, 1 resent.)
TEST_P(fault_scale_drop, every_workflow_ends_once_as_predicted_with_five_percent_of_sends_dropped) {
    const auto t0 = std::chrono::steady_clock::now();
    spawned s(pattern_, wf_, {"drop:0.05:seed=17"});
    const auto d = place_and_check(s, {});
    report("drop", d, t0);
    EXPECT_GT(d.dropped, 0U);
    for (const auto& n : d.nodes) {
        if (n.dropped_by_fault > 0) {
            EXPECT_GT(n.resent, 0U) << n.node;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(every_pattern, fault_scale_drop,
                         ::testing::ValuesIn(testing::modelled_patterns()),
                         testing::pattern_name{});

} // namespace
} // namespace choreo

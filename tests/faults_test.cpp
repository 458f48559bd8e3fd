// Fault injection (--fault): the spec parser, a drop in every pattern, and kills and pauses of
// real choreo-node processes over tcp.
#include "demo/faults.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "spawned_deployment.hpp"
#include "traffic_model.hpp"

namespace choreo {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::received_per_workflow;
using testing::spawned;
const std::string bin_dir = CHOREO_BIN_DIR;

demo::fault fault_of(std::string_view spec) {
    auto parsed = demo::parse_fault(spec);
    EXPECT_TRUE(parsed.value) << spec << ": " << parsed.error;
    return parsed.value.value_or(demo::fault{});
}

TEST(fault_spec, reads_every_form) {
    const auto kill = fault_of("kill:payment@412:restart=1s");
    EXPECT_EQ(kill.kind, demo::fault_kind::kill);
    EXPECT_EQ(kill.service, "payment");
    EXPECT_EQ(kill.after, 412U);
    EXPECT_TRUE(kill.restarts);
    EXPECT_EQ(kill.duration, seconds(1));

    const auto for_good = fault_of("kill:email@1");
    EXPECT_EQ(for_good.after, 1U);
    EXPECT_FALSE(for_good.restarts);

    const auto pause = fault_of("pause:fulfillment@30:250ms");
    EXPECT_EQ(pause.kind, demo::fault_kind::pause);
    EXPECT_EQ(pause.service, "fulfillment");
    EXPECT_EQ(pause.after, 30U);
    EXPECT_EQ(pause.duration, milliseconds(250));

    const auto delay = fault_of("delay:order_placement:200us");
    EXPECT_EQ(delay.kind, demo::fault_kind::delay);
    EXPECT_EQ(delay.service, "order_placement");
    EXPECT_EQ(delay.duration, std::chrono::microseconds(200));

    const auto drop = fault_of("drop:0.05");
    EXPECT_EQ(drop.kind, demo::fault_kind::drop);
    EXPECT_EQ(drop.probability, 0.05);
    EXPECT_EQ(drop.seed, std::nullopt);
    EXPECT_EQ(fault_of("drop:0").probability, 0.0);
    EXPECT_EQ(fault_of("drop:0.5:seed=7").seed, 7U);
}

TEST(fault_spec, writes_each_fault_in_a_form_it_reads_back_equal) {
    for (const auto* spec :
         {"kill:payment@412:restart=1s", "kill:email@1", "kill:email@3:restart=0",
          "pause:fulfillment@30:250ms", "delay:order_placement:200us", "delay:email:1500ns",
          "drop:0.05", "drop:0.999:seed=18446744073709551615"}) {
        const auto f = fault_of(spec);
        EXPECT_EQ(f.text(), spec);
        EXPECT_EQ(fault_of(f.text()), f) << spec;
    }
}

TEST(fault_spec, refuses_malformed_specs_and_says_why) {
    const std::vector<std::pair<std::string, std::string>> refused{
        {"", "unknown fault ''"},
        {"crash:payment@1", "unknown fault 'crash'"},
        {"kill", "names no message count"},
        {"kill:payment", "names no message count"},
        {"kill:payment@0", "N = 0"},
        {"kill:payment@-1", "is not a whole number"},
        {"kill:payment@x", "is not a whole number"},
        {"kill:@3", "'' is not a node name"},
        {"kill:pay ment@3", "is not a node name"},
        {"kill:payment@3:1s", "is not restart=DELAY"},
        {"kill:payment@3:restart=forever", "is not a duration"},
        {"kill:payment@3:restart=11s", "is not a duration"},
        {"pause:payment@3", "needs a duration"},
        {"pause:payment@0:1s", "N = 0"},
        {"pause:payment@3:0", "above 0"},
        {"delay:payment", "needs a duration"},
        {"delay:payment:fast", "is not a duration"},
        {"drop:1", "is not a probability"},
        {"drop:1.5", "is not a probability"},
        {"drop:-0.1", "is not a probability"},
        {"drop:nan", "is not a probability"},
        {"drop:", "is not a probability"},
        {"drop:0.1:7", "is not seed=S"},
        {"drop:0.1:seed=x", "is not seed=S"},
    };
    for (const auto& [spec, why] : refused) {
        const auto parsed = demo::parse_fault(spec);
        EXPECT_FALSE(parsed.value) << spec;
        EXPECT_NE(parsed.error.find(why), std::string::npos) << spec << ": " << parsed.error;
        EXPECT_TRUE(parsed.error.starts_with("'" + spec + "': ")) << parsed.error;
    }
}

TEST(fault_plan, refuses_services_outside_the_deployment_and_faults_given_twice) {
    const std::vector<std::string> nodes{"order_placement", "payment", "fulfillment", "email"};
    auto plan_of = [](std::vector<std::string> specs) {
        auto parsed = demo::parse_faults(specs);
        EXPECT_EQ(parsed.error, "");
        return parsed.plan;
    };
    EXPECT_EQ(demo::plan_error(
                  plan_of({"kill:payment@3", "delay:payment:1ms", "drop:0.1", "pause:email@2:1s"}),
                  nodes),
              std::nullopt);
    const auto unknown = demo::plan_error(plan_of({"kill:orchestrator@3"}), nodes);
    ASSERT_TRUE(unknown);
    EXPECT_NE(unknown->find("'orchestrator' is no node of this deployment; valid: "
                            "order_placement, payment, fulfillment, email"),
              std::string::npos)
        << *unknown;
    EXPECT_TRUE(demo::plan_error(plan_of({"kill:payment@3", "pause:payment@5:1s"}), nodes));
    EXPECT_TRUE(demo::plan_error(plan_of({"delay:email:1ms", "delay:email:2ms"}), nodes));
    EXPECT_TRUE(demo::plan_error(plan_of({"drop:0.1", "drop:0.2"}), nodes));
    EXPECT_EQ(demo::parse_faults({"drop:0.1", "kill:payment@0"}).error.substr(0, 17),
              "'kill:payment@0':");
}

TEST(fault_plan, gives_each_node_its_delay_the_drop_and_a_restarted_node_no_kill) {
    const auto plan =
        demo::parse_faults({"kill:payment@3:restart=1s", "delay:email:2ms", "drop:0.25"}).plan;
    EXPECT_TRUE(plan.has_process_faults());
    ASSERT_NE(plan.process_fault_of("payment"), nullptr);
    EXPECT_EQ(plan.process_fault_of("email"), nullptr);
    const auto email = plan.options_for("email", {}, 9);
    EXPECT_EQ(email.link_delay, milliseconds(2));
    EXPECT_EQ(email.drop.probability, 0.25);
    EXPECT_EQ(email.drop.seed, 9U);
    EXPECT_EQ(plan.options_for("payment", {}, 9).link_delay, milliseconds(0));
    EXPECT_EQ(plan.node_args(9, true),
              (std::vector<std::string>{"--fault", "kill:payment@3:restart=1s", "--fault",
                                        "delay:email:2ms", "--fault", "drop:0.25:seed=9"}));
    EXPECT_EQ(plan.node_args(9, false), (std::vector<std::string>{"--fault", "delay:email:2ms",
                                                                  "--fault", "drop:0.25:seed=9"}));
}

class faults : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow wf_ = testing::workflow_named("order");
};

/// Waits until `d` has settled: every message counted as sent has been handled, the same in two
/// looks in a row, and each of the `placed` workflows has ended or lost a message.
/// Returns: every node's and the client's messages sent, handled and dropped by a fault.
std::array<std::uint64_t, 3> settled(local_deployment& d, std::size_t placed) {
    std::vector<std::string> names = d.nodes();
    names.push_back("client");
    auto totals = [&] {
        std::array<std::uint64_t, 3> t{}; // sent, handled, dropped
        for (const auto& n : names) {
            const auto c = d.counters(n);
            t[0] += c.sent;
            t[1] += c.received;
            t[2] += c.dropped_by_fault;
        }
        return t;
    };
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    std::array<std::uint64_t, 3> last{};
    for (bool done = false; !done;) {
        if (std::chrono::steady_clock::now() >= until) {
            ADD_FAILURE() << "not settled: " << d.client().ended_count() << " ended, " << last[2]
                          << " dropped, " << placed << " placed";
            break;
        }
        std::this_thread::sleep_for(milliseconds(20));
        const auto now = totals();
        done = now == last && now[0] == now[1] && d.client().ended_count() + now[2] >= placed;
        last = now;
    }
    return last;
}

// drop:P in one process: a dropped send is never acknowledged, so its sender sends it again
// until one copy gets through; every workflow ends as predicted, with the predicted effects.
TEST_P(faults, under_a_seeded_drop_resends_end_every_workflow_as_predicted) {
    const auto plan = demo::parse_faults({"drop:0.05:seed=11"}).plan;
    local_deployment d(pattern_, wf_, plan.local_options(testing::options(transport::inproc), 0));
    const auto b = testing::place(d, "mixed", 300, 3);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    EXPECT_EQ(d.effects(), testing::predicted(d, b)); // nothing lost, nothing doubled
    std::uint64_t dropped = 0;
    std::uint64_t resent = 0;
    for (const auto& n : d.nodes()) {
        dropped += d.counters(n).dropped_by_fault;
        resent += d.counters(n).resent;
    }
    EXPECT_GT(dropped, 0U);
    EXPECT_GT(resent, 0U); // every drop was followed by a resend, lost or not
    EXPECT_EQ(d.rejected(), 0U);
    // A status query is never dropped.
    const auto answer = d.client().status(b.ids.front());
    EXPECT_TRUE(answer.errors.empty());
    EXPECT_TRUE(answer.status.found);
}

TEST_P(faults, the_same_seed_drops_the_same_sends_of_workflows_placed_one_at_a_time) {
    auto run = [&] {
        const auto plan = demo::parse_faults({"drop:0.2:seed=5"}).plan;
        auto o = plan.local_options(testing::options(transport::inproc), 0);
        // No resends in this test: a resend's draw would come when its timer fires, and the
        // stream's order would follow the clock. Here a dropped send stays lost.
        o.node.resend_initial = std::chrono::hours(1);
        o.node.resend_max = std::chrono::hours(1);
        local_deployment d(pattern_, wf_, o);
        auto gen = module_of(wf_).make_workload(wf_, "happy", 1);
        std::vector<std::string> ids;
        for (const auto& p : gen.value()->take(20)) { // one at a time: the same order of sends
            ids.push_back(d.client().place(p.details));
            settled(d, ids.size());
        }
        std::vector<bool> ended;
        for (const auto& id : ids) {
            ended.push_back(d.client().outcome(id).has_value());
        }
        return std::make_pair(ended, settled(d, ids.size())[2]);
    };
    const auto first = run();
    EXPECT_EQ(run(), first);
    EXPECT_GT(first.second, 0U);
    EXPECT_NE(std::count(first.first.begin(), first.first.end(), false), 0);
}

/// Places one workflow of `plan` and waits for it to end as predicted.
::testing::AssertionResult one_ends_as_predicted(deployment& d, const planned_workflow& plan) {
    const auto id = d.client().place(plan.details);
    if (!d.client().wait_for({id}, testing::deadline)) {
        return ::testing::AssertionFailure() << id << " did not end";
    }
    const auto o = d.client().outcome(id);
    if (o->terminal != plan.expected_terminal) {
        return ::testing::AssertionFailure()
               << id << " ended " << o->terminal << ", predicted " << plan.expected_terminal;
    }
    return ::testing::AssertionSuccess();
}

/// Kills `victim` after its N-th handled message, N the messages it handles for `before + 1`
/// happy workflows: the first `before` end as predicted with no kill seen, the next one is
/// killed at its last message to the victim, and ends as predicted once the victim, restarted on
/// its data directory, is sent that message again. Then a batch ends as predicted, and no node
/// refused anything.
void kill_and_restart(const pattern& p, const workflow& wf, const std::string& victim,
                      std::vector<std::string> node_args = {},
                      remote_options o = testing::remote()) {
    constexpr std::size_t before = 3;
    const auto per = received_per_workflow(p, wf, testing::completes(wf), victim);
    ASSERT_GT(per, 0U) << victim;
    const auto n = per * (before + 1);
    spawned s(p, wf, {"kill:" + victim + "@" + std::to_string(n) + ":restart=100ms"},
              std::move(node_args), std::move(o));
    ASSERT_TRUE(s.d.wait_ready(testing::deadline).empty());
    const pid_t first_pid = s.children.pid_of(victim);
    auto gen = module_of(wf).make_workload(wf, "happy", 21);
    const auto plans = gen.value()->take(before + 1);
    for (std::size_t i = 0; i < before; ++i) {
        ASSERT_TRUE(one_ends_as_predicted(s.d, plans[i]));
        // per x (i + 1) < n messages handled: no kill yet (status queries do not count)
        ASSERT_TRUE(s.d.client().status(s.d.client().workflow_id(i + 1)).errors.empty());
        EXPECT_EQ(s.children.tally(), demo::fault_tally{}) << "after workflow " << i + 1;
        EXPECT_EQ(s.children.pid_of(victim), first_pid);
    }
    const auto killed_in = s.d.client().place(plans[before].details); // its n-th to the victim
    ASSERT_TRUE(s.children.await_fault_events(2, testing::deadline));
    const auto events = s.children.fault_events();
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[0].service, victim);
    EXPECT_EQ(events[0].what, "killed");
    EXPECT_NE(events[0].detail.find("SIGKILL after " + std::to_string(n) + " handled messages"),
              std::string::npos)
        << events[0].detail;
    EXPECT_EQ(events[1].what, "restarted") << events[1].detail;
    EXPECT_EQ(s.children.tally(), (demo::fault_tally{1, 1, 0, 0}));
    const pid_t second_pid = s.children.pid_of(victim);
    EXPECT_GT(second_pid, 0);
    EXPECT_NE(second_pid, first_pid);

    // The restarted node has the topology, its peers reach it again, and it is not killed again.
    ASSERT_TRUE(s.d.wait_ready(testing::deadline).empty());
    // The message it died handling was never acknowledged (its batch never committed): its
    // sender sends it again, and the workflow carries on. (A killed orchestrator's: that message
    // is a reply to its command, kept by the replier for the restarted orchestrator's connection.)
    ASSERT_TRUE(s.d.client().wait_for({killed_in}, testing::deadline)) << killed_in;
    EXPECT_EQ(s.d.client().outcome(killed_in)->terminal, plans[before].expected_terminal);
    const auto after = testing::place(s.d, "happy", 2 * n + 10, 22);
    EXPECT_TRUE(testing::ended_as_planned(s.d, after));
    EXPECT_EQ(s.children.tally(), (demo::fault_tally{1, 1, 0, 0}));
    EXPECT_EQ(s.children.pid_of(victim), second_pid);
    // The restarted node carries on from its store: it knows every workflow its peers and the
    // client send it again, so it refuses none, and no peer refuses what it sends again.
    EXPECT_EQ(s.d.rejected(), 0U);
}

TEST_P(faults, a_killed_node_dies_at_its_nth_message_and_serves_again_once_restarted) {
    kill_and_restart(pattern_, wf_, "payment");
}

TEST_P(faults, the_entry_node_killed_and_restarted_serves_again) {
    kill_and_restart(pattern_, wf_, pattern_.entry(wf_));
}

TEST_P(faults, a_paused_node_stops_and_continues_and_every_workflow_ends_as_predicted) {
    spawned s(pattern_, wf_, {"pause:fulfillment@10:300ms"});
    ASSERT_TRUE(s.d.wait_ready(testing::deadline).empty());
    const pid_t pid = s.children.pid_of("fulfillment");
    const auto b = testing::place(s.d, "mixed", 100, 4);
    ASSERT_TRUE(s.children.await_fault_events(2, testing::deadline));
    const auto events = s.children.fault_events();
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[0].what, "paused");
    EXPECT_NE(events[0].detail.find("SIGSTOP after 10 handled messages"), std::string::npos)
        << events[0].detail;
    EXPECT_EQ(events[1].what, "continued");
    EXPECT_EQ(s.children.tally(), (demo::fault_tally{0, 0, 1, 1}));
    // Over tcp a stopped process loses nothing: its peers' messages wait in the kernel and in
    // their queues.
    EXPECT_TRUE(testing::ended_as_planned(s.d, b));
    EXPECT_EQ(s.d.effects(), testing::predicted(s.d, b));
    EXPECT_EQ(s.children.pid_of("fulfillment"), pid);
    EXPECT_EQ(s.d.rejected(), 0U);
}

TEST_P(faults, a_node_killed_for_good_stays_down_and_the_others_serve_on) {
    spawned s(pattern_, wf_, {"kill:email@1"});
    ASSERT_TRUE(s.d.wait_ready(testing::deadline).empty());
    auto gen = module_of(wf_).make_workload(wf_, "happy", 8);
    s.d.client().place(gen.value()->take(1).front().details);
    ASSERT_TRUE(s.children.await_fault_events(2, testing::deadline));
    const auto events = s.children.fault_events();
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[0].what, "killed");
    EXPECT_EQ(events[1].what, "not restarted");
    EXPECT_EQ(s.children.tally(), (demo::fault_tally{1, 0, 0, 0}));
    EXPECT_EQ(s.children.pid_of("email"), -1);
    // Every other node answers within the wait (asked again and again); email cannot.
    EXPECT_EQ(s.d.wait_ready(testing::scaled(seconds(2))), std::vector<std::string>{"email"});
}

INSTANTIATE_TEST_SUITE_P(every_pattern, faults, ::testing::ValuesIn(testing::modelled_patterns()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(faults_with_keys, a_killed_node_restarted_with_its_keys_is_reached_again) {
    const auto& p = testing::pattern_named("front_controller");
    const auto wf = testing::workflow_named("order");
    const auto dir = std::filesystem::temp_directory_path() /
                     ("choreo-fault-keys-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    topology names;
    for (const auto& n : p.nodes(wf)) {
        names.set(n, "tcp://127.0.0.1:1");
    }
    names.set("client", "tcp://127.0.0.1:2", node_role::client, true);
    keys_dir::generate(names, dir.string());
    auto o = testing::remote();
    o.node.keys =
        std::make_shared<const credentials>(keys_dir::load(names, dir.string(), "client"));
    kill_and_restart(p, wf, "payment", {"--keys", dir.string()}, o);
    std::filesystem::remove_all(dir);
}

/// Runs a program; returns its exit status and what it printed on stdout and stderr.
std::pair<int, std::string> run(const std::string& command) {
    return testing::run_command(command + " 2>&1");
}

TEST(fault_option, bad_specs_are_refused_with_status_2) {
    const auto node = bin_dir + "/choreo-node --pattern stateless --service payment "
                                "--bind 'tcp://127.0.0.1:*' --fault ";
    for (const auto& [spec, why] : std::vector<std::pair<std::string, std::string>>{
             {"kill:payment@0", "N = 0"},
             {"drop:1", "is not a probability"},
             {"kill:orchestrator@3", "'orchestrator' is no node of this deployment"},
             {"boom", "unknown fault 'boom'"}}) {
        const auto [status, out] = run(node + spec + " </dev/null");
        EXPECT_EQ(status, 2) << spec << ": " << out;
        EXPECT_NE(out.find(why), std::string::npos) << spec << ": " << out;
    }
    const auto demo = bin_dir + "/choreo-demo --pattern stateless --orders 2 ";
    for (const auto& [args, why] : std::vector<std::pair<std::string, std::string>>{
             {"--fault kill:payment@3", "need --spawn"},
             {"--fault pause:payment@3:1s", "need --spawn"},
             {"--spawn --fault kill:nobody@3", "'nobody' is no node of this deployment"},
             {"--fault drop:-1", "is not a probability"},
             {"--fault delay:email", "needs a duration"},
             {"--fault drop:0.1 --json", "--json and --report are for the tour"}}) {
        const auto [status, out] = run(demo + args);
        EXPECT_EQ(status, 2) << args << ": " << out;
        EXPECT_NE(out.find(why), std::string::npos) << args << ": " << out;
    }
    const auto [status, out] =
        run(bin_dir + "/choreo-bench --pattern stateless --workflows 10 --fault kill:payment@3");
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("restart=DELAY"), std::string::npos) << out;
}

TEST(fault_option, choreo_demo_prints_what_each_fault_did_and_what_was_lost) {
    const auto [status, out] =
        run(bin_dir + "/choreo-demo --pattern stateless --spawn --scenario happy --orders 30 "
                      "--fault kill:payment@5:restart=100ms --fault drop:0.1 --seed 3");
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("killed payment: SIGKILL after 5 handled messages"), std::string::npos)
        << out;
    EXPECT_NE(out.find("restarted payment: on tcp://127.0.0.1:"), std::string::npos) << out;
    EXPECT_NE(out.find("kills 1, restarts 1, pauses 0, continues 0"), std::string::npos) << out;
    EXPECT_NE(out.find("placed 30, ended "), std::string::npos) << out;
    EXPECT_NE(out.find("inter-service sends dropped by a fault: "), std::string::npos) << out;
}

} // namespace
} // namespace choreo

// The chapter's trade-off claims, each checked against exact counts from the transport. Every
// expected figure comes from the workflow model (tests/traffic_model.hpp), never from a run.
#include "patterns/deployment.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "traffic_model.hpp"
#include "workflows/chain/chain.hpp"

namespace choreo {
namespace {

using testing::ended_as_planned;
using testing::expected_for;
using testing::link;
using testing::options;
using testing::pattern_named;
using testing::place;
using testing::traffic_of;

/// Query traffic the ledger saw, as "from->to type".
std::multiset<std::string> query_messages(const local_deployment& d) {
    std::multiset<std::string> out;
    for (const auto& r : d.book().trace()) {
        if (r.query_id != 0) {
            out.insert(r.from + "->" + r.to + " " + r.type);
        }
    }
    return out;
}

/// Returns: the scenarios of a workflow's module, the mix last.
std::vector<std::string> scenarios_of(const workflow& wf) {
    return module_of(wf).scenarios(wf);
}

/// Returns: the inter-service messages the model predicts for every workflow of `b`.
std::size_t modelled_inter_service(const deployment& d, const testing::batch& b) {
    std::size_t n = 0;
    for (const auto& p : b.plans) {
        n += expected_for(d.used_pattern(), d.flow(),
                          testing::ending_in(d.flow(), p.expected_terminal))
                 .inter_service.size();
    }
    return n;
}

/// Places one workflow per route given by `fail_at` (chain::item; 0: it completes).
testing::batch place_chain_items(deployment& d, const std::vector<std::uint32_t>& fail_at) {
    testing::batch b;
    for (const auto at : fail_at) {
        // The terminal the model gives the route: completed, or that of the failing step.
        const auto terminal = at == 0 ? std::string(workflow_state::completed)
                                      : d.flow().steps.at(at - 1).failures.at(0).terminal;
        planned_workflow p{msg::value::of(chain::item{at}), terminal,
                           at == 0 ? "happy" : "failure"};
        b.ids.push_back(d.client().place(p.details));
        b.plans.push_back(std::move(p));
    }
    return b;
}

/// Returns: the route of a chain workflow placed with `fail_at`.
testing::route chain_route(const workflow& wf, std::uint32_t fail_at) {
    return fail_at == 0 ? testing::completes(wf) : testing::fails_at(wf, fail_at - 1);
}

/// Checks that every workflow of `b` sent exactly the inter-service messages of its route.
void expect_traffic_as_modelled(local_deployment& d, const testing::batch& b,
                                const std::function<testing::route(std::size_t)>& route_of) {
    for (std::size_t i = 0; i < b.ids.size(); ++i) {
        const auto want = expected_for(d.used_pattern(), d.flow(), route_of(i));
        const auto trace = d.book().trace_of(b.ids[i]);
        EXPECT_EQ(testing::inter_service_links(trace), want.inter_service)
            << b.ids[i] << " (" << b.plans[i].scenario << ")";
        EXPECT_EQ(std::count_if(trace.begin(), trace.end(),
                                [](const traffic_record& r) { return r.query_id == 0; }),
                  static_cast<std::ptrdiff_t>(want.inter_service.size() + want.client.size()))
            << b.ids[i];
        EXPECT_EQ(d.client().outcome(b.ids[i])->path_messages, want.path_messages) << b.ids[i];
    }
}

// ---- Table 11-2: front controller ---------------------------------------------------------------

// Querying state is trivial.
TEST(claims, front_controller_status_query_is_one_request_and_one_reply_from_order_placement) {
    local_deployment d(pattern_named("front_controller"), testing::workflow_named("order"),
                       options(transport::tcp));
    const auto& controller = d.flow().steps.front().service;
    const auto b = place(d, "mixed", 20);
    ASSERT_TRUE(ended_as_planned(d, b));
    for (const auto& id : b.ids) {
        const auto answer = d.client().status(id);
        EXPECT_EQ(answer.cost.messages, 2U);
        EXPECT_EQ(answer.asked, std::vector<std::string>{controller});
        EXPECT_EQ(answer.answered, std::vector<std::string>{controller});
        EXPECT_EQ(answer.status.state, d.client().outcome(id)->terminal);
    }
    const auto seen = query_messages(d);
    EXPECT_EQ(seen.size(), 2 * b.ids.size());
    EXPECT_EQ(seen.count("client->" + controller + " status_request"), b.ids.size());
    EXPECT_EQ(seen.count(controller + "->client status_reply"), b.ids.size());
}

// It increases communication overhead: every service past the first reports back.
TEST(claims, front_controller_sends_more_inter_service_messages_than_stateless_in_every_scenario) {
    const auto wf = testing::workflow_named("order");
    for (const auto& s : scenarios_of(wf)) {
        SCOPED_TRACE(s);
        std::map<std::string, std::uint64_t> measured, modelled;
        for (std::string name : {"front_controller", "stateless"}) {
            local_deployment d(pattern_named(name), wf, options(transport::inproc));
            const auto b = place(d, s, 50);
            ASSERT_TRUE(ended_as_planned(d, b));
            measured[name] = traffic_of(d, b).inter_service.messages;
            modelled[name] = modelled_inter_service(d, b);
        }
        EXPECT_EQ(measured, modelled);
        if (modelled["stateless"] == 0) {
            // Every workflow ended at the first service (an invalid order): nobody reports.
            EXPECT_EQ(measured["front_controller"], 0U);
        } else {
            EXPECT_GT(measured["front_controller"], measured["stateless"]);
        }
    }
}

// ---- Table 11-3: stateless choreography ---------------------------------------------------------

// The state must be built on the fly.
TEST(claims, stateless_status_query_touches_every_service_in_the_workflow) {
    local_deployment d(pattern_named("stateless"), testing::workflow_named("order"),
                       options(transport::tcp));
    const auto b = place(d, "mixed", 20);
    ASSERT_TRUE(ended_as_planned(d, b));
    const auto services = d.flow().services();
    for (const auto& id : b.ids) {
        auto answer = d.client().status(id);
        std::sort(answer.answered.begin(), answer.answered.end());
        auto expected = services;
        std::sort(expected.begin(), expected.end());
        EXPECT_EQ(answer.answered, expected);
        EXPECT_EQ(answer.cost.messages, 2 * services.size());
        EXPECT_EQ(answer.status.state, d.client().outcome(id)->terminal);
    }
    const auto seen = query_messages(d);
    for (const auto& s : services) {
        EXPECT_EQ(seen.count("client->" + s + " snapshot_request"), b.ids.size()) << s;
        EXPECT_EQ(seen.count(s + "->client snapshot_reply"), b.ids.size()) << s;
    }
}

// ---- Table 11-4: stamp coupling -----------------------------------------------------------------

// Contracts are larger.
TEST(claims, stamp_messages_are_larger_than_stateless_ones_in_every_scenario) {
    const auto wf = testing::workflow_named("order");
    for (const auto& s : scenarios_of(wf)) {
        SCOPED_TRACE(s);
        std::map<std::string, double> mean_bytes;
        std::size_t modelled = 0;
        for (std::string name : {"stamp_coupling", "stateless"}) {
            local_deployment d(pattern_named(name), wf, options(transport::inproc));
            const auto b = place(d, s, 50);
            ASSERT_TRUE(ended_as_planned(d, b));
            mean_bytes[name] = traffic_of(d, b).mean_inter_bytes();
            modelled = modelled_inter_service(d, b);
        }
        if (modelled == 0) {
            continue; // workflows that end at the first service send no contract between services
        }
        EXPECT_GT(mean_bytes["stamp_coupling"], mean_bytes["stateless"]);
    }
}

TEST(claims, the_stamp_grows_with_every_step_of_a_workflow) {
    local_deployment d(pattern_named("stamp_coupling"), testing::workflow_named("chain:8"),
                       options(transport::inproc));
    const auto b = place(d, "happy", 5);
    ASSERT_TRUE(ended_as_planned(d, b));
    for (const auto& id : b.ids) {
        std::vector<std::size_t> sizes;
        for (const auto& r : d.book().trace_of(id)) {
            if (r.type == "stamped_event") {
                sizes.push_back(r.bytes);
            }
        }
        ASSERT_EQ(sizes.size(), d.flow().steps.size() - 1) << "one stamped event per hop";
        EXPECT_EQ(std::adjacent_find(sizes.begin(), sizes.end(), std::greater_equal<>()),
                  sizes.end())
            << "each hop's stamp must be strictly larger than the last";
    }
}

TEST(claims, the_stamp_grows_with_the_length_of_the_chain) {
    std::vector<double> stamp_mean;
    for (const auto* name : {"chain:2", "chain:8", "chain:32"}) {
        SCOPED_TRACE(name);
        local_deployment d(pattern_named("stamp_coupling"), testing::workflow_named(name),
                           options(transport::inproc));
        const auto b = place(d, "happy", 10);
        ASSERT_TRUE(ended_as_planned(d, b));
        stamp_mean.push_back(traffic_of(d, b).mean_inter_bytes());
    }
    EXPECT_LT(stamp_mean[0], stamp_mean[1]);
    EXPECT_LT(stamp_mean[1], stamp_mean[2]);
}

// No just-in-time status: there is no single place to ask.
TEST(claims, no_single_service_can_answer_a_stamp_coupling_status_query_alone) {
    const auto& p = pattern_named("stamp_coupling");
    local_deployment d(p, testing::workflow_named("order"), options(transport::inproc));
    std::vector<std::string> ids;
    auto singles = scenarios_of(d.flow());
    singles.pop_back(); // every scenario but the mix: one workflow ending each way
    for (const auto& s : singles) {
        const auto b = place(d, s, 1, 7);
        ASSERT_TRUE(ended_as_planned(d, b));
        ids.push_back(b.ids[0]);
    }
    d.hold("fulfillment"); // one more, caught between payment and fulfillment
    const auto held = place(d, "happy", 1, 8);
    ids.push_back(held.ids[0]);
    const auto st = testing::await_status(d, held.ids[0], [](const msg::workflow_status& s) {
        return s.steps.size() > 1 && s.steps[1].status == "done";
    });
    ASSERT_TRUE(st.steps.size() > 1 && st.steps[1].status == "done")
        << "the held workflow never got past payment";

    std::map<std::string, int> answers_alone; // service -> workflows it alone answers right
    for (const auto& id : ids) {
        const auto full = d.client().status(id);
        EXPECT_EQ(full.asked.size(), d.flow().services().size()) << "the query asks everyone";
        for (const auto& m : full.replies) {
            const auto alone = p.assemble_status(d.flow(), {m}, {});
            answers_alone[m.env.sender] += alone == full.status ? 1 : 0;
        }
    }
    for (const auto& s : d.flow().services()) {
        EXPECT_LT(answers_alone[s], static_cast<int>(ids.size()))
            << s << " alone answered every workflow's status";
    }
    d.release("fulfillment");
    EXPECT_TRUE(ended_as_planned(d, held));
}

// ---- Figure 11-10: error conditions add communication links -------------------------------------

// Under choreography (the pattern adds no node of its own) the error paths open links the happy
// path never uses; under orchestration every error path runs over the star's links already.
TEST(claims, error_conditions_add_communication_links_under_choreography_only) {
    for (const auto& name : testing::modelled_patterns()) {
        SCOPED_TRACE(name);
        const auto& p = pattern_named(name);
        std::map<std::string, std::set<link>> links, modelled;
        for (const auto* s : {"happy", "mixed"}) {
            local_deployment d(p, testing::workflow_named("order"), options(transport::inproc));
            const auto b = place(d, s, 100);
            ASSERT_TRUE(ended_as_planned(d, b));
            links[s] = testing::links_in(d.book().trace());
            for (const auto& plan : b.plans) {
                const auto want =
                    expected_for(p, d.flow(), testing::ending_in(d.flow(), plan.expected_terminal))
                        .links();
                modelled[s].insert(want.begin(), want.end());
            }
        }
        EXPECT_EQ(links, modelled);
        const auto& happy = links["happy"];
        const auto& all = links["mixed"];
        EXPECT_TRUE(std::includes(all.begin(), all.end(), happy.begin(), happy.end()));
        const auto wf = testing::workflow_named("order");
        if (p.extra_nodes(wf).empty()) {
            EXPECT_GT(all.size(), happy.size());
            EXPECT_FALSE(happy.contains({"payment", "email"}));
            EXPECT_TRUE(all.contains({"payment", "email"}));
            EXPECT_TRUE(all.contains({"fulfillment", "email"}));
        } else {
            EXPECT_EQ(all, happy);
        }
    }
}

// ---- one semantic workflow, one implementation per pattern --------------------------------------

TEST(claims, every_pattern_ends_the_same_orders_the_same_way_with_the_same_effects) {
    std::map<std::string, std::vector<std::string>> terminals;
    std::map<std::string, domain_effects> effects;
    domain_effects prediction;
    for (const auto& p : builtin_patterns().all()) {
        local_deployment d(*p, testing::workflow_named("order"), options(transport::inproc, false));
        const auto b = place(d, "mixed", 1000, 11);
        ASSERT_TRUE(ended_as_planned(d, b));
        terminals[std::string(p->name())] = testing::terminals_of(d, b);
        effects[std::string(p->name())] = d.effects();
        prediction = testing::predicted(d, b);
    }
    ASSERT_EQ(terminals.size(), builtin_patterns().all().size());
    for (const auto& [name, t] : terminals) {
        EXPECT_EQ(t, terminals.begin()->second) << name;
        EXPECT_EQ(effects[name], prediction) << name;
    }
}

// ---- Table 11-1 against 11-5: orchestration -----------------------------------------------------

// State management: the orchestrator owns the state; asking it costs the same at any length.
TEST(claims, orchestration_status_query_is_two_messages_to_the_orchestrator_at_any_length) {
    const auto& p = pattern_named("orchestration");
    for (const auto* name : {"order", "chain:1", "chain:8", "chain:32"}) {
        SCOPED_TRACE(name);
        local_deployment d(p, testing::workflow_named(name), options(transport::inproc));
        const auto owner = p.extra_nodes(d.flow());
        ASSERT_EQ(owner.size(), 1U) << "one orchestrator per workflow";
        const auto& orchestrator = owner.front();
        const auto b = place(d, scenarios_of(d.flow()).back(), 10);
        ASSERT_TRUE(ended_as_planned(d, b));
        for (const auto& id : b.ids) {
            const auto answer = d.client().status(id);
            EXPECT_EQ(answer.cost.messages, 2U);
            EXPECT_EQ(answer.asked, owner);
            EXPECT_EQ(answer.answered, owner);
            EXPECT_EQ(answer.status.state, d.client().outcome(id)->terminal);
            EXPECT_EQ(answer.status.steps.size(), d.flow().steps.size());
        }
        const auto seen = query_messages(d);
        EXPECT_EQ(seen.size(), 2 * b.ids.size());
        EXPECT_EQ(seen.count("client->" + orchestrator + " status_request"), b.ids.size());
        EXPECT_EQ(seen.count(orchestrator + "->client status_reply"), b.ids.size());
    }
}

// Service coupling: the links form a star around the orchestrator, against the chain of
// choreography. chain:N has N services: 2N links to and from the orchestrator; N-1 events
// along the chain; the front controller adds N-1 reports to its first service.
TEST(claims, orchestration_links_form_a_star_against_the_choreographed_chain) {
    for (const std::size_t n : {2U, 8U, 32U}) {
        const auto name = "chain:" + std::to_string(n);
        SCOPED_TRACE(name);
        const std::map<std::string, std::size_t> by_formula{{"stateless", n - 1},
                                                            {"stamp_coupling", n - 1},
                                                            {"front_controller", 2 * (n - 1)},
                                                            {"orchestration", 2 * n}};
        for (const auto& pattern : testing::modelled_patterns()) {
            SCOPED_TRACE(pattern);
            const auto& p = pattern_named(pattern);
            local_deployment d(p, testing::workflow_named(name), options(transport::inproc));
            const auto b = place(d, "happy", 5);
            ASSERT_TRUE(ended_as_planned(d, b));
            const auto links = testing::links_in(d.book().trace());
            const auto modelled = expected_for(p, d.flow(), testing::completes(d.flow())).links();
            EXPECT_EQ(links, modelled);
            EXPECT_EQ(modelled.size(), by_formula.at(pattern));
            ::testing::Test::RecordProperty("links_" + pattern + "_chain_" + std::to_string(n),
                                            static_cast<int>(links.size()));
            for (const auto& extra : p.extra_nodes(d.flow())) {
                for (const auto& [from, to] : links) {
                    EXPECT_TRUE(from == extra || to == extra)
                        << from << "->" << to << " bypasses " << extra;
                }
            }
        }
    }
    // The order workflow's links form the same star.
    const auto& p = pattern_named("orchestration");
    local_deployment d(p, testing::workflow_named("order"), options(transport::inproc));
    const auto b = place(d, "mixed", 100);
    ASSERT_TRUE(ended_as_planned(d, b));
    const auto orchestrator = p.entry(d.flow());
    const auto links = testing::links_in(d.book().trace());
    EXPECT_EQ(links.size(), 2 * d.flow().services().size());
    for (const auto& [from, to] : links) {
        EXPECT_TRUE(from == orchestrator || to == orchestrator) << from << "->" << to;
    }
}

// Responsiveness: the critical path from place_order to workflow_ended. Orchestration: a command
// and a reply per step, plus the client's two; choreography: one event per step after the first,
// plus the client's two; front controller: one more, the last report.
TEST(claims, critical_path_messages_per_pattern_on_the_happy_order) {
    const auto wf = testing::workflow_named("order");
    const auto steps = wf.steps.size();
    const std::map<std::string, std::size_t> by_formula{{"stateless", steps - 1 + 2},
                                                        {"stamp_coupling", steps - 1 + 2},
                                                        {"front_controller", steps - 1 + 1 + 2},
                                                        {"orchestration", 2 * steps + 2}};
    for (const auto& name : testing::modelled_patterns()) {
        SCOPED_TRACE(name);
        const auto& p = pattern_named(name);
        const auto modelled = expected_for(p, wf, testing::completes(wf)).path_messages;
        EXPECT_EQ(modelled, by_formula.at(name));
        local_deployment d(p, wf, options(transport::inproc));
        const auto b = place(d, "happy", 20);
        ASSERT_TRUE(ended_as_planned(d, b));
        for (const auto& id : b.ids) {
            EXPECT_EQ(d.client().outcome(id)->path_messages, modelled) << id;
        }
        ::testing::Test::RecordProperty("critical_path_" + name, static_cast<int>(modelled));
    }
    EXPECT_GT(by_formula.at("orchestration"), by_formula.at("front_controller"));
    EXPECT_GT(by_formula.at("front_controller"), by_formula.at("stateless"));
}

// Scalability: the orchestrator is a bottleneck. Messages handled (sent and received, the
// client's included) per workflow, node by node.
TEST(claims, the_orchestrator_is_the_busiest_node_and_handles_every_message_of_a_workflow) {
    const auto wf = testing::workflow_named("order");
    std::map<std::string, std::size_t> busiest; // pattern -> most any node handles
    for (const auto& name : testing::modelled_patterns()) {
        SCOPED_TRACE(name);
        const auto& p = pattern_named(name);
        const auto want = expected_for(p, wf, testing::completes(wf));
        local_deployment d(p, wf, options(transport::inproc));
        const auto b = place(d, "happy", 20);
        ASSERT_TRUE(ended_as_planned(d, b));
        for (const auto& id : b.ids) {
            const auto trace = d.book().trace_of(id);
            for (const auto& node : d.nodes()) {
                EXPECT_EQ(testing::handled_by(trace, node), want.handled_by(node))
                    << id << " " << node;
                busiest[name] = std::max(busiest[name], testing::handled_by(trace, node));
            }
        }
        ::testing::Test::RecordProperty("busiest_node_messages_" + name,
                                        static_cast<int>(busiest[name]));
    }
    // The orchestrator takes part in every message of the workflow: 2 per step and 2 with the
    // client (10 for the happy order).
    const auto& orchestration = pattern_named("orchestration");
    const auto all = expected_for(orchestration, wf, testing::completes(wf));
    EXPECT_EQ(all.handled_by(orchestration.entry(wf)), 2 * wf.steps.size() + 2);
    EXPECT_EQ(busiest["orchestration"], all.inter_service.size() + all.client.size());
    // A stateless service receives its step and passes it on (the client's messages included).
    EXPECT_LE(busiest["stateless"], 3U);
    for (const auto& [name, most] : busiest) {
        if (name != "orchestration") {
            EXPECT_LT(most, busiest["orchestration"]) << name;
        }
    }
}

// Messages per failing workflow, per pattern, for every failure of the order workflow and of
// chain:8:3.
TEST(claims, messages_per_failing_workflow_per_pattern_are_as_the_model_says) {
    for (const auto& name : testing::modelled_patterns()) {
        SCOPED_TRACE(name);
        const auto& p = pattern_named(name);
        {
            local_deployment d(p, testing::workflow_named("order"), options(transport::inproc));
            auto failing = scenarios_of(d.flow());
            failing.pop_back(); // the mix
            std::erase(failing, std::string("happy"));
            for (const auto& s : failing) {
                SCOPED_TRACE(s);
                const auto b = place(d, s, 5);
                ASSERT_TRUE(ended_as_planned(d, b));
                expect_traffic_as_modelled(d, b, [&](std::size_t i) {
                    return testing::ending_in(d.flow(), b.plans[i].expected_terminal);
                });
            }
        }
        local_deployment d(p, testing::workflow_named("chain:8:3"), options(transport::inproc));
        const std::vector<std::uint32_t> fail_at{2, 3, 4};
        const auto b = place_chain_items(d, fail_at);
        ASSERT_TRUE(ended_as_planned(d, b));
        expect_traffic_as_modelled(
            d, b, [&](std::size_t i) { return chain_route(d.flow(), fail_at[i]); });
    }
}

// Figure 11-14: as error conditions multiply, choreography's links grow with them and
// orchestration's do not. chain:8:K, one workflow completing and one failing at each of the
// K steps that can fail (each failure tells step_8).
TEST(claims, figure_11_14_links_grow_with_failure_branches_under_choreography_only) {
    constexpr std::size_t n = 8;
    for (std::size_t k = 0; k <= 3; ++k) {
        const auto name = "chain:" + std::to_string(n) + (k == 0 ? "" : ":" + std::to_string(k));
        SCOPED_TRACE(name);
        const std::map<std::string, std::size_t> by_formula{{"stateless", n - 1 + k},
                                                            {"stamp_coupling", n - 1 + k},
                                                            {"front_controller", 2 * (n - 1) + k},
                                                            {"orchestration", 2 * n}};
        std::vector<std::uint32_t> fail_at{0};
        for (std::uint32_t step = 2; step <= k + 1; ++step) {
            fail_at.push_back(step);
        }
        for (const auto& pattern : testing::modelled_patterns()) {
            SCOPED_TRACE(pattern);
            const auto& p = pattern_named(pattern);
            local_deployment d(p, testing::workflow_named(name), options(transport::inproc));
            ASSERT_EQ(testing::every_route(d.flow()).size(), k + 1);
            const auto b = place_chain_items(d, fail_at);
            ASSERT_TRUE(ended_as_planned(d, b));
            std::set<link> modelled;
            for (const auto& r : testing::every_route(d.flow())) {
                const auto links = expected_for(p, d.flow(), r).links();
                modelled.insert(links.begin(), links.end());
            }
            const auto links = testing::links_in(d.book().trace());
            EXPECT_EQ(links, modelled);
            EXPECT_EQ(links.size(), by_formula.at(pattern));
            expect_traffic_as_modelled(
                d, b, [&](std::size_t i) { return chain_route(d.flow(), fail_at[i]); });
            ::testing::Test::RecordProperty("links_" + pattern + "_k" + std::to_string(k),
                                            static_cast<int>(links.size()));
        }
    }
}

} // namespace
} // namespace choreo

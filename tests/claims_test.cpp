// The chapter's trade-off claims, each checked against exact counts from the transport.
#include "patterns/deployment.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace choreo {
namespace {

using testing::ended_as_planned;
using testing::options;
using testing::pattern_named;
using testing::place;
using testing::traffic_of;

using link = std::pair<std::string, std::string>;

const std::vector<scenario> error_and_happy_scenarios{scenario::happy, scenario::payment_rejected,
                                                      scenario::back_order, scenario::mixed};

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

std::set<link> links_used(const local_deployment& d) {
    std::set<link> out;
    for (const auto& r : d.book().trace()) {
        if (r.query_id == 0) {
            out.insert({r.from, r.to});
        }
    }
    return out;
}

// Table 11-2: front controller makes querying state trivial.
TEST(claims, front_controller_status_query_is_one_request_and_one_reply_from_order_placement) {
    local_deployment d(pattern_named("front_controller"), order_workflow(),
                       options(transport::tcp));
    const auto b = place(d, scenario::mixed, 20);
    ASSERT_TRUE(ended_as_planned(d, b));
    for (const auto& id : b.ids) {
        const auto answer = d.client().status(id);
        EXPECT_EQ(answer.cost.messages, 2U);
        EXPECT_EQ(answer.asked, std::vector<std::string>{"order_placement"});
        EXPECT_EQ(answer.answered, std::vector<std::string>{"order_placement"});
        EXPECT_EQ(answer.status.state, d.client().outcome(id)->terminal);
    }
    const auto seen = query_messages(d);
    EXPECT_EQ(seen.size(), 2 * b.ids.size());
    EXPECT_EQ(seen.count("client->order_placement status_request"), b.ids.size());
    EXPECT_EQ(seen.count("order_placement->client status_reply"), b.ids.size());
}

// Table 11-2: front controller increases communication overhead.
TEST(claims, front_controller_sends_more_inter_service_messages_than_stateless_in_every_scenario) {
    for (auto s : error_and_happy_scenarios) {
        SCOPED_TRACE(to_string(s));
        std::map<std::string, double> per_workflow;
        for (std::string name : {"front_controller", "stateless"}) {
            local_deployment d(pattern_named(name), order_workflow(), options(transport::inproc));
            const auto b = place(d, s, 50);
            ASSERT_TRUE(ended_as_planned(d, b));
            per_workflow[name] = traffic_of(d, b).inter_per_workflow(b.ids.size());
        }
        EXPECT_GT(per_workflow["front_controller"], per_workflow["stateless"]);
    }
}

// Table 11-3: stateless choreography must build the state on the fly.
TEST(claims, stateless_status_query_touches_every_service_in_the_workflow) {
    local_deployment d(pattern_named("stateless"), order_workflow(), options(transport::tcp));
    const auto b = place(d, scenario::mixed, 20);
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

// Table 11-4: stamp coupling makes contracts larger.
TEST(claims, stamp_messages_are_larger_than_stateless_ones_in_every_scenario) {
    for (auto s : error_and_happy_scenarios) {
        SCOPED_TRACE(to_string(s));
        std::map<std::string, double> mean_bytes;
        for (std::string name : {"stamp_coupling", "stateless"}) {
            local_deployment d(pattern_named(name), order_workflow(), options(transport::inproc));
            const auto b = place(d, s, 50);
            ASSERT_TRUE(ended_as_planned(d, b));
            mean_bytes[name] = traffic_of(d, b).mean_inter_bytes();
        }
        EXPECT_GT(mean_bytes["stamp_coupling"], mean_bytes["stateless"]);
    }
}

TEST(claims, the_stamp_grows_with_every_step_of_a_workflow) {
    local_deployment d(pattern_named("stamp_coupling"), chain_workflow(8),
                       options(transport::inproc));
    const auto b = place(d, scenario::happy, 5);
    ASSERT_TRUE(ended_as_planned(d, b));
    for (const auto& id : b.ids) {
        std::vector<std::size_t> sizes;
        for (const auto& r : d.book().trace_of(id)) {
            if (r.type == "stamped_event") {
                sizes.push_back(r.bytes);
            }
        }
        ASSERT_EQ(sizes.size(), 7U);
        EXPECT_EQ(std::adjacent_find(sizes.begin(), sizes.end(), std::greater_equal<>()),
                  sizes.end())
            << "each hop's stamp must be strictly larger than the last";
    }
}

TEST(claims, the_stamp_grows_with_the_length_of_the_chain) {
    std::vector<double> stamp_mean;
    for (std::size_t n : {2U, 8U, 32U}) {
        SCOPED_TRACE(n);
        local_deployment d(pattern_named("stamp_coupling"), chain_workflow(n),
                           options(transport::inproc));
        const auto b = place(d, scenario::happy, 10);
        ASSERT_TRUE(ended_as_planned(d, b));
        stamp_mean.push_back(traffic_of(d, b).mean_inter_bytes());
    }
    EXPECT_LT(stamp_mean[0], stamp_mean[1]);
    EXPECT_LT(stamp_mean[1], stamp_mean[2]);
}

// Table 11-4: stamp coupling has no just-in-time status: no single place to ask.
TEST(claims, no_single_service_can_answer_a_stamp_coupling_status_query_alone) {
    const auto& p = pattern_named("stamp_coupling");
    local_deployment d(p, order_workflow(), options(transport::inproc));
    std::vector<std::string> ids;
    for (auto s :
         {scenario::happy, scenario::payment_rejected, scenario::back_order, scenario::rejected}) {
        const auto b = place(d, s, 1, 7);
        ASSERT_TRUE(ended_as_planned(d, b));
        ids.push_back(b.ids[0]);
    }
    d.hold("fulfillment"); // one more, caught between payment and fulfillment
    const auto held = place(d, scenario::happy, 1, 8);
    ids.push_back(held.ids[0]);
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    auto reached_payment = [&] {
        const auto st = d.client().status(held.ids[0]).status;
        return st.steps.size() > 1 && st.steps[1].status == "done";
    };
    while (!reached_payment() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(reached_payment()) << "the held workflow never got past payment";

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

// Figure 11-10: error conditions add communication links.
TEST(claims, error_conditions_add_communication_links) {
    for (const auto& p : builtin_patterns().all()) {
        SCOPED_TRACE(std::string(p->name()));
        std::map<scenario, std::set<link>> links;
        for (auto s : {scenario::happy, scenario::mixed}) {
            local_deployment d(*p, order_workflow(), options(transport::inproc));
            const auto b = place(d, s, 100);
            ASSERT_TRUE(ended_as_planned(d, b));
            links[s] = links_used(d);
        }
        const auto& happy = links[scenario::happy];
        const auto& all = links[scenario::mixed];
        EXPECT_TRUE(std::includes(all.begin(), all.end(), happy.begin(), happy.end()));
        EXPECT_GT(all.size(), happy.size());
        EXPECT_FALSE(happy.contains({"payment", "email"}));
        EXPECT_TRUE(all.contains({"payment", "email"}));
        EXPECT_TRUE(all.contains({"fulfillment", "email"}));
    }
}

// One semantic workflow, three implementations.
TEST(claims, every_pattern_ends_the_same_orders_the_same_way_with_the_same_effects) {
    std::map<std::string, std::vector<std::string>> terminals;
    std::map<std::string, domain_effects> effects;
    domain_effects predicted;
    for (const auto& p : builtin_patterns().all()) {
        local_deployment d(*p, order_workflow(), options(transport::inproc, false));
        const auto b = place(d, scenario::mixed, 1000, 11);
        ASSERT_TRUE(ended_as_planned(d, b));
        for (const auto& id : b.ids) {
            terminals[std::string(p->name())].push_back(d.client().outcome(id)->terminal);
        }
        effects[std::string(p->name())] = d.effects();
        predicted = predict_effects(b.placed());
    }
    ASSERT_EQ(terminals.size(), 3U);
    for (const auto& [name, t] : terminals) {
        EXPECT_EQ(t, terminals.begin()->second) << name;
        EXPECT_EQ(effects[name], predicted) << name;
    }
}

} // namespace
} // namespace choreo

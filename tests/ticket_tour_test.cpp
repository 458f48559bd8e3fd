// choreo-demo's ticket tour: Table 11-8 measured under every pattern, each cell what the run
// measured, and the ADR's requirements judged from it.
#include "demo/table_11_8.hpp"

#include <sstream>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "traffic_model.hpp"

namespace choreo::testing {
namespace {

TEST(ticket_tour, table_11_8_has_a_measured_column_per_pattern_and_judges_the_adr) {
    const auto wf = workflow_named("ticket");
    demo::tour_options o;
    o.workflow = "ticket";
    o.orders = 20;
    o.deadline = deadline;
    std::vector<const pattern*> chosen;
    std::vector<demo::tour> tours;
    for (const auto& name : modelled_patterns()) {
        chosen.push_back(&pattern_named(name));
        deployment_options dopt = options(transport::inproc);
        local_deployment d(*chosen.back(), wf, dopt);
        tours.push_back(demo::run_tour(d, *chosen.back(), o));
        EXPECT_TRUE(tours.back().as_predicted()) << name;
    }
    const auto t = demo::measure_table_11_8(chosen, tours, o);
    ASSERT_EQ(t.columns.size(), chosen.size());
    for (std::size_t k = 0; k < chosen.size(); ++k) {
        const auto& p = *chosen[k];
        const auto& c = t.columns[k];
        SCOPED_TRACE(c.pattern);
        EXPECT_EQ(c.pattern, p.name());
        const bool owner = has_owner(p, wf);
        // Workflow control: the owner detects the lost step; nobody else does.
        EXPECT_EQ(c.detected_by, owner ? p.entry(wf) : std::string());
        EXPECT_GE(c.detected_after_ms, owner ? c.step_deadline_ms : 0.0);
        EXPECT_TRUE(c.stuck_query_found);
        EXPECT_EQ(c.stuck_query_messages, owner ? 2U : 2 * 2 * wf.services().size());
        EXPECT_TRUE(c.completed_once);
        // Under drops: the owner detects every lost ticket by itself, nobody else any.
        EXPECT_GT(c.drops.lost, 0U);
        EXPECT_EQ(c.drops.marked_by_owner > 0, owner);
        EXPECT_EQ(c.drops.listed_by_query, c.drops.not_ended);
        // State query: right, at one node's or every service's cost.
        const std::size_t nodes = owner ? 1 : wf.services().size();
        for (const auto* q : {&c.mid_reassignment, &c.after_cancel}) {
            EXPECT_TRUE(q->right);
            EXPECT_EQ(q->nodes, nodes);
            EXPECT_EQ(q->messages, 2 * nodes);
            EXPECT_GT(q->bytes, 0U);
        }
        // Error handling: every traced scenario, each as the tour traced it.
        ASSERT_EQ(c.scenarios.size(), tours[k].traced.size());
        for (const auto& tr : tours[k].traced) {
            EXPECT_EQ(c.scenarios.at(tr.scenario).messages, tr.messages.size()) << tr.scenario;
            EXPECT_EQ(c.scenarios.at(tr.scenario).links, tr.links.size()) << tr.scenario;
        }
        // The errors add links to the happy path's under choreography, none to the star.
        EXPECT_EQ(c.links_added_by_errors == 0, !p.extra_nodes(wf).empty());
        // Scalability: the orchestrator handles every message of every ticket.
        if (!p.extra_nodes(wf).empty()) {
            EXPECT_EQ(c.busiest_node, p.entry(wf));
            EXPECT_DOUBLE_EQ(c.busiest_per_ticket, c.messages_per_ticket);
        } else {
            EXPECT_LT(c.busiest_per_ticket, c.messages_per_ticket);
        }
    }
    // The reassigned ticket's path goes back to assignment once.
    std::ostringstream out;
    demo::print_table_11_8(out, t);
    const auto text = out.str();
    EXPECT_NE(text.find("s3 -->|\"expert_unavailable: round 2\"| s1"), std::string::npos) << text;
    for (const auto* row :
         {"workflow control", "tickets lost to drops", "state query", "error handling",
          "scalability", "1. Tracking lost", "2. Error handling", "3. Ticket status"}) {
        EXPECT_NE(text.find(row), std::string::npos) << row;
    }
    EXPECT_EQ(text.find("WRONG"), std::string::npos) << text;
    EXPECT_NE(text.find("favour orchestration (busiest node 100%) on all three"), std::string::npos)
        << text;
}

} // namespace
} // namespace choreo::testing

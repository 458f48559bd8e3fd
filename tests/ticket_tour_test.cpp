// choreo-demo's ticket tour: Table 11-8 measured under every pattern, each cell what the run
// measured, and the ADR's requirements judged from it.
#include "demo/table_11_8.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "scratch.hpp"
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
    demo::lost_tickets_options control; // drops only: the kill's run is ticket_at_scale's
    control.seed = o.seed;
    control.step_deadline = scaled(std::chrono::milliseconds(300));
    control.quiet = scaled(std::chrono::milliseconds(1'000));
    control.wait = deadline;
    control.cpu_tickets = 100;
    const auto t = demo::measure_table_11_8(chosen, tours, o, control);
    ASSERT_EQ(t.columns.size(), chosen.size());
    for (std::size_t k = 0; k < chosen.size(); ++k) {
        const auto& p = *chosen[k];
        const auto& c = t.columns[k];
        SCOPED_TRACE(c.pattern);
        EXPECT_EQ(c.pattern, p.name());
        const bool owner = has_owner(p, wf);
        // Workflow control under drops: the owner finds every lost ticket by itself and
        // recovers it; without an owner nobody does, and only the stuck query lists them.
        const auto& r = c.drops;
        EXPECT_EQ(r.fault, "drop:0.02:seed=42");
        EXPECT_EQ(r.placed, control.tickets);
        EXPECT_GT(r.lost, 0U);
        EXPECT_EQ(r.detector, owner ? p.entry(wf) : std::string());
        EXPECT_EQ(r.detected, owner ? r.lost : 0U);
        EXPECT_EQ(r.detected_after_ns.size(), r.detected);
        EXPECT_EQ(r.recovered, owner ? r.lost : 0U);
        EXPECT_EQ(r.not_ended, owner ? 0U : r.lost);
        EXPECT_EQ(r.listed, r.not_ended);
        EXPECT_EQ(r.listed_not_lost, 0U);
        EXPECT_TRUE(c.kill.fault.empty()) << "not measured without choreo-node";
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
        // Scalability in CPU time: measured on every node's thread over the batch.
        EXPECT_EQ(c.cpu_tickets, control.cpu_tickets);
        EXPECT_GT(c.busiest_cpu_us_per_ticket, 0.0);
        EXPECT_LE(c.busiest_cpu_us_per_ticket, c.cpu_us_per_ticket);
        EXPECT_FALSE(c.busiest_cpu_node.empty());
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
         {"workflow control: --fault drop:0.02:seed=42", "state query", "error handling",
          "scalability", "1. Tracking lost", "2. Error handling", "3. Ticket status"}) {
        EXPECT_NE(text.find(row), std::string::npos) << row;
    }
    EXPECT_EQ(text.find("WRONG"), std::string::npos) << text;

    // --json and --report carry the same figures.
    const auto j = demo::to_json(t);
    ASSERT_EQ(j.at("columns").size(), t.columns.size());
    for (std::size_t k = 0; k < t.columns.size(); ++k) {
        const auto& c = t.columns[k];
        const auto& jc = j.at("columns")[k];
        EXPECT_EQ(jc.at("pattern"), c.pattern);
        const auto& drop = jc.at("workflow_control").at("drop");
        EXPECT_EQ(drop.at("fault"), c.drops.fault);
        EXPECT_EQ(drop.at("lost"), c.drops.lost);
        EXPECT_EQ(drop.at("detected"), c.drops.detected);
        EXPECT_EQ(drop.at("detected_after_ns").size(), c.drops.detected_after_ns.size());
        EXPECT_EQ(drop.at("stuck_query").at("messages"), c.drops.query_messages);
        EXPECT_TRUE(jc.at("workflow_control").at("kill").is_null());
        EXPECT_EQ(jc.at("state_query").at("after_cancel").at("bytes"), c.after_cancel.bytes);
        EXPECT_EQ(jc.at("error_handling").at("scenarios").size(), c.scenarios.size());
        EXPECT_EQ(jc.at("scalability").at("busiest_node"), c.busiest_node);
        EXPECT_EQ(jc.at("scalability").at("busiest_cpu_node"), c.busiest_cpu_node);
    }
    scratch dir("tour");
    const auto file = demo::write_table_11_8(dir.path(), t);
    std::ifstream in(file);
    const std::string md((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(md.find("```mermaid"), std::string::npos);
    EXPECT_NE(md.find("workflow control: --fault drop:0.02:seed=42"), std::string::npos) << md;
    EXPECT_NE(md.find("3. Ticket status"), std::string::npos);
    EXPECT_NE(text.find("favour orchestration (busiest node 100%) on all three"), std::string::npos)
        << text;
}

} // namespace
} // namespace choreo::testing

// docs/PROTOCOL.md states the exact messages of every workflow and status query: check them.
#include "patterns/deployment.hpp"

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace choreo {
namespace {

using testing::ended_as_planned;
using testing::options;
using testing::place;

/// The rows of a Markdown table between `<!-- NAME:begin -->` and `<!-- NAME:end -->`.
std::vector<std::vector<std::string>> documented_table(const std::string& name) {
    std::ifstream in(std::string(CHOREO_SOURCE_DIR) + "/docs/PROTOCOL.md");
    std::vector<std::vector<std::string>> rows;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (line.find("<!-- " + name + ":begin -->") != std::string::npos) {
            inside = true;
        } else if (line.find("<!-- " + name + ":end -->") != std::string::npos) {
            break;
        } else if (inside && line.starts_with("|") && !line.starts_with("|-") &&
                   !line.starts_with("| pattern")) {
            std::vector<std::string> cells;
            std::stringstream ss(line.substr(1));
            for (std::string cell; std::getline(ss, cell, '|');) {
                const auto b = cell.find_first_not_of(' ');
                const auto e = cell.find_last_not_of(' ');
                cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
            }
            rows.push_back(cells);
        }
    }
    return rows;
}

/// "a -> b: type; c -> d: type" as a multiset (concurrent messages may go in either order).
std::multiset<std::string> message_list(const std::string& cell) {
    std::multiset<std::string> out;
    std::stringstream ss(cell);
    for (std::string item; std::getline(ss, item, ';');) {
        const auto b = item.find_first_not_of(' ');
        if (b != std::string::npos) {
            out.insert(item.substr(b, item.find_last_not_of(' ') - b + 1));
        }
    }
    return out;
}

std::string message_of(const traffic_record& r) {
    return r.from + " -> " + r.to + ": " + r.type;
}

/// What one workflow of a scenario and one status query on it actually sent.
struct observed {
    std::multiset<std::string> workflow, query;
    workflow_traffic traffic;
    std::size_t query_messages{}, services_asked{};
};

observed observe(const pattern& p, scenario s) {
    local_deployment d(p, order_workflow(), options(transport::inproc));
    const auto b = place(d, s, 1);
    EXPECT_TRUE(ended_as_planned(d, b));
    observed o;
    const auto answer = d.client().status(b.ids[0]);
    for (const auto& r : d.book().trace_of(b.ids[0])) {
        (r.query_id == 0 ? o.workflow : o.query).insert(message_of(r));
    }
    o.traffic = *d.book().of_workflow(b.ids[0]);
    o.query_messages = answer.cost.messages;
    o.services_asked = answer.asked.size();
    return o;
}

TEST(protocol, documented_message_counts_match_the_transport) {
    const auto rows = documented_table("counts");
    ASSERT_EQ(rows.size(), 12U) << "3 patterns x 4 scenarios in docs/PROTOCOL.md";
    for (const auto& row : rows) {
        ASSERT_GE(row.size(), 6U);
        SCOPED_TRACE(row[0] + " " + row[1]);
        const auto o = observe(testing::pattern_named(row[0]), *scenario_by_name(row[1]));
        EXPECT_EQ(std::to_string(o.traffic.inter_service.messages), row[2]) << "inter-service";
        EXPECT_EQ(std::to_string(o.traffic.client.messages), row[3]) << "client";
        EXPECT_EQ(std::to_string(o.query_messages), row[4]) << "status query";
        EXPECT_EQ(std::to_string(o.services_asked), row[5]) << "services asked";
    }
}

TEST(protocol, documented_messages_of_each_workflow_and_status_query_match_the_transport) {
    const auto rows = documented_table("messages");
    ASSERT_EQ(rows.size(), 12U) << "3 patterns x 4 scenarios in docs/PROTOCOL.md";
    for (const auto& row : rows) {
        ASSERT_GE(row.size(), 4U);
        SCOPED_TRACE(row[0] + " " + row[1]);
        const auto o = observe(testing::pattern_named(row[0]), *scenario_by_name(row[1]));
        EXPECT_EQ(o.workflow, message_list(row[2]));
        EXPECT_EQ(o.query, message_list(row[3]));
    }
}

} // namespace
} // namespace choreo

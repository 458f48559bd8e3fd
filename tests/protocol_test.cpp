// docs/PROTOCOL.md states the exact messages of every workflow and status query, for every
// registered pattern and every scenario of the order and ticket workflows: check them.
#include "patterns/deployment.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "outside_events.hpp"
#include "registry/builtin.hpp"

namespace choreo {
namespace {

using testing::ended_as_planned;
using testing::options;

using row = std::vector<std::string>;

/// The rows of a Markdown table between `<!-- NAME:begin -->` and `<!-- NAME:end -->`, header
/// and separator left out.
std::vector<row> documented_table(const std::string& name) {
    std::ifstream in(std::string(CHOREO_SOURCE_DIR) + "/docs/PROTOCOL.md");
    std::vector<row> rows;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (line.find("<!-- " + name + ":begin -->") != std::string::npos) {
            inside = true;
        } else if (line.find("<!-- " + name + ":end -->") != std::string::npos) {
            break;
        } else if (inside && line.starts_with("|") && !line.starts_with("|-") &&
                   !line.starts_with("| pattern")) {
            row cells;
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

/// The tables of each documented workflow: its counts and its messages.
struct documented_workflow {
    std::string name, counts, messages;
};

const documented_workflow order_tables{"order", "counts", "messages"};
const documented_workflow ticket_tables{"ticket", "ticket-counts", "ticket-messages"};

/// The scenarios whose single workflow the tables document: every scenario of the workflow's
/// module but "mixed", which mixes them.
std::vector<std::string> documented_scenarios(const std::string& workflow) {
    const auto wf = testing::workflow_named(workflow);
    auto names = module_of(wf).scenarios(wf);
    std::erase(names, "mixed");
    return names;
}

/// What one workflow of a scenario and one status query on it actually sent.
struct observed {
    std::vector<std::string> workflow, query; ///< in send order
    workflow_traffic traffic;
    std::size_t query_messages{}, nodes_asked{};

    /// Returns: the counts row as docs/PROTOCOL.md would show it.
    std::string counts_row(const std::string& p, const std::string& s) const {
        std::ostringstream out;
        out << "| " << p << " | " << s << " | " << traffic.inter_service.messages << " | "
            << traffic.client.messages << " | " << query_messages << " | " << nodes_asked << " |";
        return out.str();
    }
    /// Returns: the messages row as docs/PROTOCOL.md would show it (in send order).
    std::string messages_row(const std::string& p, const std::string& s) const {
        auto join = [](const std::vector<std::string>& items) {
            std::string out;
            for (const auto& i : items) {
                out += (out.empty() ? "" : "; ") + i;
            }
            return out;
        };
        return "| " + p + " | " + s + " | " + join(workflow) + " | " + join(query) + " |";
    }
};

/// Places the scenario's first workflow (seed 42), sends the events from outside the chain its
/// plan names (the ticket's: the expert's report, a cancel once it waits for it), and asks its
/// status once it ended. The queries that waited for it to wait are left out.
observed observe(const pattern& p, const std::string& workflow, const std::string& scenario) {
    local_deployment d(p, testing::workflow_named(workflow), options(transport::inproc));
    const auto b = testing::place_and_drive(d, scenario, 1, 42);
    EXPECT_TRUE(ended_as_planned(d, b));
    observed o;
    std::uint64_t before = 0;
    for (const auto& r : d.book().trace()) {
        before = std::max(before, r.seq);
    }
    const auto answer = d.client().status(b.ids[0]);
    for (const auto& r : d.book().trace_of(b.ids[0])) {
        if (r.query_id == 0) {
            o.workflow.push_back(message_of(r));
        } else if (r.seq > before) {
            o.query.push_back(message_of(r));
        }
    }
    o.traffic = *d.book().of_workflow(b.ids[0]);
    o.query_messages = answer.cost.messages;
    o.nodes_asked = answer.asked.size();
    return o;
}

/// Returns: the pattern a row names, or nullptr (after failing the test) if the row names an
/// unknown pattern or scenario.
const pattern* pattern_of(const row& r, const std::string& workflow) {
    const auto scenarios = documented_scenarios(workflow);
    const auto* p = builtin_patterns().find(r[0]);
    if (p == nullptr) {
        ADD_FAILURE() << "no pattern '" << r[0] << "'";
    } else if (std::find(scenarios.begin(), scenarios.end(), r[1]) == scenarios.end()) {
        ADD_FAILURE() << "no scenario '" << r[1] << "' of the " << workflow << " workflow";
        p = nullptr;
    }
    return p;
}

std::multiset<std::string> as_multiset(const std::vector<std::string>& v) {
    return {v.begin(), v.end()};
}

/// Checks that a table has exactly one row per registered pattern and documented scenario,
/// and no other; a missing row is reported as the transport would fill it in.
void expect_one_row_per_pattern_and_scenario(const std::string& table, std::size_t columns,
                                             const documented_workflow& w) {
    const auto rows = documented_table(table);
    std::map<std::pair<std::string, std::string>, std::size_t> rows_of;
    for (const auto& r : rows) {
        ASSERT_GE(r.size(), 2U) << table << ": a row without a pattern and a scenario";
        EXPECT_EQ(r.size(), columns) << table << ": " << r[0] << " " << r[1];
        ++rows_of[{r[0], r[1]}];
    }
    const auto scenarios = documented_scenarios(w.name);
    ASSERT_FALSE(scenarios.empty());
    std::size_t expected = 0;
    for (const auto& p : builtin_patterns().all()) {
        const std::string name(p->name());
        for (const auto& s : scenarios) {
            ++expected;
            const auto it = rows_of.find({name, s});
            if (it == rows_of.end()) {
                const auto o = observe(*p, w.name, s);
                ADD_FAILURE() << "docs/PROTOCOL.md, table '" << table << "' has no row for " << name
                              << " " << s << "; the transport gives:\n"
                              << (table == w.counts ? o.counts_row(name, s)
                                                    : o.messages_row(name, s));
            } else {
                EXPECT_EQ(it->second, 1U) << table << ": " << name << " " << s << " twice";
            }
        }
    }
    for (const auto& [key, n] : rows_of) {
        const auto& [p, s] = key;
        EXPECT_NE(builtin_patterns().find(p), nullptr) << table << ": no pattern '" << p << "'";
        EXPECT_TRUE(std::find(scenarios.begin(), scenarios.end(), s) != scenarios.end())
            << table << ": no scenario '" << s << "' of the " << w.name << " workflow";
    }
    EXPECT_EQ(rows.size(), expected) << table;
}

void expect_counts_match_the_transport(const documented_workflow& w) {
    const auto rows = documented_table(w.counts);
    ASSERT_FALSE(rows.empty()) << "no " << w.counts << " table in docs/PROTOCOL.md";
    for (const auto& r : rows) {
        ASSERT_GE(r.size(), 6U);
        SCOPED_TRACE(r[0] + " " + r[1]);
        const auto* p = pattern_of(r, w.name);
        if (p == nullptr) {
            continue;
        }
        const auto o = observe(*p, w.name, r[1]);
        EXPECT_EQ(std::to_string(o.traffic.inter_service.messages), r[2]) << "inter-service";
        EXPECT_EQ(std::to_string(o.traffic.client.messages), r[3]) << "client";
        EXPECT_EQ(std::to_string(o.query_messages), r[4]) << "status query";
        EXPECT_EQ(std::to_string(o.nodes_asked), r[5]) << "services asked";
    }
}

void expect_messages_match_the_transport(const documented_workflow& w) {
    const auto rows = documented_table(w.messages);
    ASSERT_FALSE(rows.empty()) << "no " << w.messages << " table in docs/PROTOCOL.md";
    for (const auto& r : rows) {
        ASSERT_GE(r.size(), 4U);
        SCOPED_TRACE(r[0] + " " + r[1]);
        const auto* p = pattern_of(r, w.name);
        if (p == nullptr) {
            continue;
        }
        const auto o = observe(*p, w.name, r[1]);
        EXPECT_EQ(as_multiset(o.workflow), message_list(r[2]));
        EXPECT_EQ(as_multiset(o.query), message_list(r[3]));
    }
}

TEST(protocol, the_counts_table_has_a_row_for_every_pattern_and_scenario) {
    expect_one_row_per_pattern_and_scenario("counts", 6, order_tables);
}

TEST(protocol, the_messages_table_has_a_row_for_every_pattern_and_scenario) {
    expect_one_row_per_pattern_and_scenario("messages", 4, order_tables);
}

TEST(protocol, documented_message_counts_match_the_transport) {
    expect_counts_match_the_transport(order_tables);
}

TEST(protocol, documented_messages_of_each_workflow_and_status_query_match_the_transport) {
    expect_messages_match_the_transport(order_tables);
}

TEST(protocol, the_ticket_counts_table_has_a_row_for_every_pattern_and_scenario) {
    expect_one_row_per_pattern_and_scenario(ticket_tables.counts, 6, ticket_tables);
}

TEST(protocol, the_ticket_messages_table_has_a_row_for_every_pattern_and_scenario) {
    expect_one_row_per_pattern_and_scenario(ticket_tables.messages, 4, ticket_tables);
}

TEST(protocol, documented_ticket_message_counts_match_the_transport) {
    expect_counts_match_the_transport(ticket_tables);
}

TEST(protocol, documented_ticket_messages_of_each_workflow_and_status_query_match_the_transport) {
    expect_messages_match_the_transport(ticket_tables);
}

} // namespace
} // namespace choreo

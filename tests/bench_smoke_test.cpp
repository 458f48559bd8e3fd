// choreo-bench runs end to end with tiny counts and reports every field, losing nothing.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "traffic_model.hpp"
#include "workflows/ticket/ticket.hpp"

namespace {

using choreo::testing::run_command;

const std::vector<std::string> every_field{"pattern",
                                           "workflow",
                                           "scenario",
                                           "transport",
                                           "processes",
                                           "inflight",
                                           "link_delay",
                                           "seed",
                                           "workflows_completed",
                                           "workflows_lost",
                                           "workflows_not_as_predicted",
                                           "effects_not_as_predicted",
                                           "inter_service_messages_per_workflow",
                                           "inter_service_bytes_per_workflow",
                                           "mean_message_bytes",
                                           "ack_messages_per_workflow",
                                           "acked_messages_per_workflow",
                                           "resent_messages_per_workflow",
                                           "e2e_p50_us",
                                           "e2e_p90_us",
                                           "e2e_p99_us",
                                           "e2e_max_us",
                                           "workflows_per_s",
                                           "critical_path_messages",
                                           "status_queries",
                                           "status_query_messages",
                                           "status_query_bytes",
                                           "status_query_services",
                                           "status_query_p50_us",
                                           "status_query_p99_us",
                                           "state_bytes_per_workflow",
                                           "state_workflows",
                                           "domain_bytes",
                                           "busiest_node",
                                           "busiest_node_messages_per_workflow",
                                           "peak_rss_kb",
                                           "floor_one_way_p50_us",
                                           "floor_one_way_p99_us",
                                           "floor_messages_per_s",
                                           "floor_message_bytes",
                                           "latency_ratio_to_floor",
                                           "rate_ratio_to_floor"};

void expect_complete(const nlohmann::json& rows, std::size_t runs, std::size_t workflows) {
    ASSERT_TRUE(rows.is_array());
    ASSERT_EQ(rows.size(), runs);
    for (const auto& row : rows) {
        for (const auto& field : every_field) {
            EXPECT_TRUE(row.contains(field)) << field;
        }
        EXPECT_EQ(row["workflows_completed"].get<double>(), static_cast<double>(workflows));
        EXPECT_EQ(row["workflows_lost"].get<double>(), 0.0);
        EXPECT_EQ(row["workflows_not_as_predicted"].get<double>(), 0.0);
        EXPECT_EQ(row["effects_not_as_predicted"].get<double>(), 0.0);
        EXPECT_GT(row["floor_messages_per_s"].get<double>(), 0.0);
        EXPECT_GT(row["e2e_p50_us"].get<double>(), 0.0);
        // Every workflow message is acked, apart from the messages counted above.
        EXPECT_GT(row["ack_messages_per_workflow"].get<double>(), 0.0);
        EXPECT_GT(row["acked_messages_per_workflow"].get<double>(), 0.0);
    }
}

/// Checks the figures of a run whose workflows all complete against the traffic model: the
/// messages per workflow, the critical path and the busiest node's load are exact counts.
void expect_completing_run_as_modelled(const nlohmann::json& row) {
    const auto name = row["pattern"].get<std::string>();
    SCOPED_TRACE(name + " " + row["workflow"].get<std::string>());
    const auto modelled = choreo::testing::modelled_patterns();
    if (std::find(modelled.begin(), modelled.end(), name) == modelled.end()) {
        return; // a pattern the traffic model does not know yet: its fields are checked above
    }
    const auto& p = choreo::testing::pattern_named(name);
    const auto wf = choreo::testing::workflow_named(row["workflow"].get<std::string>());
    const auto want = choreo::testing::expected_for(p, wf, choreo::testing::completes(wf));
    EXPECT_EQ(row["inter_service_messages_per_workflow"].get<double>(),
              static_cast<double>(want.inter_service.size()));
    EXPECT_EQ(row["critical_path_messages"].get<double>(), static_cast<double>(want.path_messages));
    std::size_t busiest = 0;
    for (const auto& n : p.nodes(wf)) {
        busiest = std::max(busiest, want.handled_by(n));
    }
    EXPECT_EQ(row["busiest_node_messages_per_workflow"].get<double>(),
              static_cast<double>(busiest));
    for (const auto& extra : p.extra_nodes(wf)) {
        EXPECT_EQ(row["busiest_node"].get<std::string>(), extra)
            << "a node the pattern adds (an orchestrator) takes part in every message";
    }
}

const std::string bench = std::string(CHOREO_BIN_DIR) + "/choreo-bench";

TEST(bench_smoke, every_pattern_and_scenario_reports_every_field_and_loses_nothing) {
    const auto [code, out] = run_command(
        bench + " --workflows 20 --warmup 5 --queries 3 --inflight 4 --floor-messages 5000 "
                "--json 2>/dev/null");
    ASSERT_EQ(code, 0) << out;
    const auto wf = choreo::testing::workflow_named("order"); // the bench's default workflow
    const auto scenarios = choreo::module_of(wf).scenarios(wf);
    const auto rows = nlohmann::json::parse(out);
    expect_complete(rows, choreo::builtin_patterns().all().size() * scenarios.size(), 20);
    for (const auto& row : rows) {
        if (row["scenario"] == "happy") {
            expect_completing_run_as_modelled(row);
        }
    }
}

// The ticket workflow: the bench sends the expert's report and the customer's cancel as the
// plans say, every ticket ends as predicted, and a happy ticket's counts are the model's.
TEST(bench_smoke, the_ticket_workflow_drives_its_outside_events_and_loses_nothing) {
    const auto [code, out] =
        run_command(bench + " --workflow ticket --workflows 20 --warmup 5 --queries 3 --inflight 4 "
                            "--floor-messages 5000 --json 2>/dev/null");
    ASSERT_EQ(code, 0) << out;
    const auto wf = choreo::testing::workflow_named("ticket");
    const auto scenarios = choreo::module_of(wf).scenarios(wf);
    const auto rows = nlohmann::json::parse(out);
    expect_complete(rows, choreo::builtin_patterns().all().size() * scenarios.size(), 20);
    const auto happy = choreo::testing::walk_through(
        wf, {}, nullptr, {std::string(choreo::ticket::expert_reported)});
    const auto modelled = choreo::testing::modelled_patterns();
    std::size_t checked = 0;
    for (const auto& row : rows) {
        const auto name = row["pattern"].get<std::string>();
        if (row["scenario"] != "happy" ||
            std::find(modelled.begin(), modelled.end(), name) == modelled.end()) {
            continue;
        }
        SCOPED_TRACE(name);
        const auto& p = choreo::testing::pattern_named(name);
        const auto want = choreo::testing::expected_for(p, wf, happy);
        EXPECT_EQ(row["inter_service_messages_per_workflow"].get<double>(),
                  static_cast<double>(want.inter_service.size()));
        std::size_t busiest = 0;
        for (const auto& n : p.nodes(wf)) {
            busiest = std::max(busiest, want.handled_by(n));
        }
        EXPECT_EQ(row["busiest_node_messages_per_workflow"].get<double>(),
                  static_cast<double>(busiest));
        ++checked;
    }
    EXPECT_EQ(checked, modelled.size());
}

TEST(bench_smoke, a_chain_sweep_over_separate_processes_reports_every_length) {
    const auto [code, out] = run_command(
        bench + " --spawn --sweep 2,4 --workflows 10 --warmup 2 "
                "--queries 2 --link-delay 50us --floor-messages 5000 --json 2>/dev/null");
    ASSERT_EQ(code, 0) << out;
    const auto rows = nlohmann::json::parse(out);
    std::size_t runs = 0;
    for (const auto* name : {"chain:2", "chain:4"}) {
        const auto wf = choreo::testing::workflow_named(name);
        runs +=
            choreo::builtin_patterns().all().size() * choreo::module_of(wf).scenarios(wf).size();
    }
    expect_complete(rows, runs, 10);
    for (const auto& row : rows) {
        EXPECT_EQ(row["processes"], "one per node");
        EXPECT_EQ(row["link_delay"], "50us");
        expect_completing_run_as_modelled(row); // chain:N completes every workflow
    }
}

TEST(bench_smoke, a_soak_reads_every_process_rss_at_every_interval_and_loses_nothing) {
    // A retention of 100 finished workflows: warm-up ends at 1,100, so growth runs from the
    // report at 1,500.
    const std::size_t workflows = 2'000, every = 500;
    const auto [code, out] = run_command(bench + " --soak " + std::to_string(workflows) +
                                         " --soak-every " + std::to_string(every) +
                                         " --retain-finished 100 --inflight 4 --json 2>/dev/null");
    ASSERT_EQ(code, 0) << out;
    const auto rows = nlohmann::json::parse(out);
    ASSERT_TRUE(rows.is_array());
    ASSERT_EQ(rows.size(), choreo::builtin_patterns().all().size());
    const auto wf = choreo::testing::workflow_named("order"); // the bench's default workflow
    for (const auto& row : rows) {
        const auto& p = choreo::testing::pattern_named(row["pattern"].get<std::string>());
        SCOPED_TRACE(std::string(p.name()));
        EXPECT_EQ(row["scenario"], choreo::module_of(wf).scenarios(wf).back()) << "the mix";
        EXPECT_EQ(row["transport"], "ipc");
        EXPECT_EQ(row["workflows_ended"].get<std::size_t>(), workflows);
        EXPECT_EQ(row["workflows_lost"].get<std::size_t>(), 0U);
        EXPECT_EQ(row["workflows_not_as_predicted"].get<std::size_t>(), 0U);
        EXPECT_EQ(row["effects_not_as_predicted"].get<std::size_t>(), 0U);
        // every node's process, then the bench's own
        auto processes = p.nodes(wf);
        processes.push_back("choreo-bench (client)");
        const auto& reports = row["reports"];
        ASSERT_EQ(reports.size(), workflows / every);
        for (std::size_t i = 0; i < reports.size(); ++i) {
            const auto& report = reports[i];
            EXPECT_EQ(report["workflows"].get<std::size_t>(), (i + 1) * every);
            EXPECT_GT(report["workflows_per_s"].get<double>(), 0.0);
            ASSERT_EQ(report["rss"].size(), processes.size());
            for (std::size_t k = 0; k < processes.size(); ++k) {
                EXPECT_EQ(report["rss"][k]["node"], processes[k]);
                EXPECT_GT(report["rss"][k]["pid"].get<long>(), 0);
                EXPECT_GT(report["rss"][k]["rss_kb"].get<long>(), 0);
            }
        }
        // Growth runs from the first report after warm-up (11 x the retention), else the first.
        const auto warm_up = row["warm_up_workflows"].get<std::size_t>();
        const auto from = row["growth_from_workflows"].get<std::size_t>();
        std::size_t first = 0;
        while (first + 2 < reports.size() &&
               reports[first]["workflows"].get<std::size_t>() < warm_up) {
            ++first;
        }
        if (reports[first]["workflows"].get<std::size_t>() < warm_up) {
            first = 0;
        }
        EXPECT_EQ(warm_up, 1'100U);
        EXPECT_EQ(from, 1'500U);
        EXPECT_EQ(from, reports[first]["workflows"].get<std::size_t>());
        const auto& growth = row["growth"];
        ASSERT_EQ(growth.size(), processes.size());
        for (std::size_t k = 0; k < processes.size(); ++k) {
            EXPECT_EQ(growth[k]["node"], processes[k]);
            EXPECT_EQ(growth[k]["first_kb"], reports[first]["rss"][k]["rss_kb"]);
            EXPECT_EQ(growth[k]["last_kb"], reports.back()["rss"][k]["rss_kb"]);
            EXPECT_TRUE(growth[k]["flat"].is_boolean()); // the verdict: memory is not pass/fail
        }
    }
}

TEST(bench_smoke, a_soak_reports_at_the_end_when_the_interval_does_not_divide_the_count) {
    const auto [code, out] = run_command(
        bench + " --soak 300 --soak-every 200 --pattern stateless --transport tcp --json "
                "2>/dev/null");
    ASSERT_EQ(code, 0) << out;
    const auto rows = nlohmann::json::parse(out);
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0]["transport"], "tcp");
    ASSERT_EQ(rows[0]["reports"].size(), 2U);
    EXPECT_EQ(rows[0]["reports"][0]["workflows"], 200);
    EXPECT_EQ(rows[0]["reports"][1]["workflows"], 300);
    EXPECT_EQ(rows[0]["workflows_lost"], 0);
}

TEST(bench_smoke, a_soak_refuses_bad_counts_and_options_it_does_not_take_with_status_2) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"--soak 0", "--soak: '0' is not a number of workflows from 1"},
        {"--soak abc", "--soak: 'abc' is not a number of workflows from 1"},
        {"--soak 2000 --soak-every 0", "--soak-every: '0' is not a number of workflows from 1"},
        {"--soak-every 1000", "requires --soak"},
        {"--soak 10 --transport inproc", "not inproc"},
        {"--soak 10 --sweep 2,4", "--sweep"},
    };
    for (const auto& [args, says] : cases) {
        const auto [code, out] = run_command(bench + " " + args + " 2>&1");
        EXPECT_EQ(code, 2) << args << "\n" << out;
        EXPECT_NE(out.find(says), std::string::npos) << args << " must say " << says << "\n" << out;
    }
}

/// The rows of a --durability run, by pattern and storage.
std::map<std::pair<std::string, std::string>, nlohmann::json>
rows_by_storage(const nlohmann::json& rows) {
    std::map<std::pair<std::string, std::string>, nlohmann::json> out;
    for (const auto& row : rows) {
        out[{row["pattern"].get<std::string>(), row["storage"].get<std::string>()}] = row;
    }
    return out;
}

// In one process: each pattern in memory, durable and durable with every commit synced. The
// stores' figures are counts: none in memory; durable, a commit per batch and no sync (no WAL
// checkpoint comes in so small a run); synced, one sync per commit exactly.
TEST(bench_smoke, durability_runs_every_pattern_in_memory_and_durable_side_by_side) {
    const auto [code, out] =
        run_command(bench + " --durability --scenario happy --workflows 20 --warmup 5 --queries 0 "
                            "--inflight 4 --floor-messages 1000 --json 2>/dev/null");
    ASSERT_EQ(code, 0) << out;
    const auto json = nlohmann::json::parse(out);
    ASSERT_TRUE(json["recoveries"].empty()); // one process: nothing to kill
    const auto& rows = json["runs"];
    const auto patterns = choreo::builtin_patterns().names();
    expect_complete(rows, patterns.size() * 3, 20);
    const auto by = rows_by_storage(rows);
    ASSERT_EQ(by.size(), patterns.size() * 3);
    for (const auto& name : patterns) {
        const std::string p(name);
        const auto& memory = by.at({p, "memory"});
        const auto& durable = by.at({p, "durable"});
        const auto& synced = by.at({p, "durable+fsync"});
        for (const auto& row : {memory, durable, synced}) {
            expect_completing_run_as_modelled(row); // happy: every workflow completes
            for (const auto* field : {"store_commits_per_workflow", "store_syncs_per_workflow",
                                      "store_rows_written_per_workflow"}) {
                EXPECT_TRUE(row.contains(field)) << field;
            }
        }
        EXPECT_EQ(memory["store_commits_per_workflow"].get<double>(), 0.0) << p;
        EXPECT_EQ(memory["store_syncs_per_workflow"].get<double>(), 0.0) << p;
        EXPECT_EQ(memory["store_sync"], "none");
        EXPECT_EQ(durable["store_sync"], "process");
        EXPECT_GT(durable["store_commits_per_workflow"].get<double>(), 0.0) << p;
        EXPECT_GT(durable["store_rows_written_per_workflow"].get<double>(),
                  durable["store_commits_per_workflow"].get<double>())
            << p;
        EXPECT_EQ(durable["store_syncs_per_workflow"].get<double>(), 0.0) << p;
        EXPECT_EQ(synced["store_sync"], "machine");
        EXPECT_GT(synced["store_commits_per_workflow"].get<double>(), 0.0) << p;
        EXPECT_EQ(synced["store_syncs_per_workflow"].get<double>(),
                  synced["store_commits_per_workflow"].get<double>())
            << p;
    }
}

// With --spawn, each choreo-node's syncs come back in its inspect_reply (one per commit under
// --store-sync machine); then a kill of payment and of the entry node, each restarted: the kill
// fires (its point is drawn below the messages those nodes handle), nothing is lost, and the
// recovery is measured from the restart.
TEST(bench_smoke, durability_with_spawn_measures_the_recovery_from_a_kill_of_each_victim) {
    const auto [code, out] = run_command(
        bench + " --durability --spawn --pattern stateless --scenario happy --store-sync machine "
                "--workflows 30 --warmup 10 --queries 0 --inflight 4 --floor-messages 1000 "
                "--recovery-runs 1 --restart-delay 100ms --json 2>/dev/null");
    ASSERT_EQ(code, 0) << out;
    const auto json = nlohmann::json::parse(out);
    expect_complete(json["runs"], 2, 30);
    const auto& synced = json["runs"][1];
    EXPECT_EQ(synced["storage"], "durable+fsync");
    EXPECT_GT(synced["store_commits_per_workflow"].get<double>(), 0.0);
    EXPECT_EQ(synced["store_syncs_per_workflow"].get<double>(),
              synced["store_commits_per_workflow"].get<double>());
    const auto& kills = json["recoveries"];
    const auto& p = choreo::testing::pattern_named("stateless");
    const auto wf = choreo::testing::workflow_named("order");
    std::vector<std::string> victims{"payment"};
    if (p.entry(wf) != "payment") {
        victims.push_back(p.entry(wf));
    }
    ASSERT_EQ(kills.size(), victims.size()) << kills.dump();
    for (std::size_t i = 0; i < victims.size(); ++i) {
        const auto& k = kills[i];
        EXPECT_EQ(k["victim"], victims[i]);
        EXPECT_TRUE(k["killed"].get<bool>()) << k.dump();
        EXPECT_EQ(k["workflows_lost"], 0) << k.dump();
        EXPECT_EQ(k["backlog_never_ended"], 0) << k.dump();
        EXPECT_TRUE(k["drained_ms"].is_number()) << k.dump();
        EXPECT_TRUE(k.contains("first_end_ms")) << k.dump();
    }
}

TEST(bench_smoke, bad_arguments_exit_with_status_2) {
    for (const auto* args :
         {"--link-delay fast", "--sweep 2,x", "--inflight 0", "--pattern x", "--store-sync machine",
          "--durability --curve", "--durability --in-memory", "--durability --restart-delay soon",
          "--durability --store-sync disk"}) {
        EXPECT_EQ(run_command(bench + " " + args + " 2>/dev/null").first, 2) << args;
    }
}

// --curve runs each configuration without and with CURVE in one run and prints CURVE's cost:
// the table's header, then one row per configuration measured both ways (structure only: the
// ratios are timings).
TEST(bench_smoke, curve_prints_curve_s_cost_beside_plain_tcp_for_each_configuration) {
    const auto [code, out] = run_command(bench + " --curve --pattern stateless --scenario happy "
                                                 "--workflows 10 --warmup 2 --queries 2 "
                                                 "--floor-messages 2000 2>/dev/null");
    ASSERT_EQ(code, 0) << out;
    const std::string title = "CURVE's cost, each figure with CURVE / without, same run:";
    const auto at = out.find(title);
    ASSERT_NE(at, std::string::npos) << out;
    std::vector<std::string> lines;
    std::size_t from = at;
    for (std::size_t i = 0; i < 3 && from != std::string::npos; ++i) {
        const auto end = out.find('\n', from);
        lines.push_back(out.substr(from, end == std::string::npos ? end : end - from));
        from = end == std::string::npos ? end : end + 1;
    }
    ASSERT_EQ(lines.size(), 3U) << out;
    for (const auto* column :
         {"pattern", "workflow/scenario", "e2e p50", "e2e p99", "wf/s", "floor p50", "floor m/s"}) {
        EXPECT_NE(lines[1].find(column), std::string::npos) << column << "\n" << lines[1];
    }
    // One configuration: stateless, order/happy, its five ratios each ending in 'x'.
    EXPECT_TRUE(lines[2].starts_with("stateless ")) << lines[2];
    EXPECT_NE(lines[2].find("order/happy"), std::string::npos) << lines[2];
    EXPECT_EQ(std::count(lines[2].begin(), lines[2].end(), 'x'), 5) << lines[2];
}

} // namespace

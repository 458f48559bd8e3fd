// Every node as its own choreo-node process over tcp or ipc, driven from this process, and the
// programs' command lines.
#include "demo/spawn.hpp"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <tuple>

#include <sys/wait.h>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "patterns/auth.hpp"
#include "patterns/remote_deployment.hpp"
#include "traffic_model.hpp"

namespace choreo {
namespace {

using testing::ended_as_planned;
using testing::place;

const std::string bin_dir = CHOREO_BIN_DIR;

/// Runs a program; returns its exit status and what it printed on stdout and stderr.
std::pair<int, std::string> run(const std::string& command) {
    return testing::run_command(command + " 2>&1");
}

// Over tcp, each child of demo::spawned_services binds a port the OS picks and reports it; the
// client binds its own the same way; then every child gets the topology (and a restarted child
// binds the port it had again). Over ipc, a socket file in a directory of its own.
class multiprocess : public ::testing::TestWithParam<std::tuple<std::string, transport>> {
protected:
    const pattern& pattern_ = testing::pattern_named(std::get<0>(GetParam()));
    const transport via_ = std::get<1>(GetParam());
    const workflow wf_ = testing::workflow_named("order");
};

TEST_P(multiprocess, mixed_orders_end_as_predicted_and_a_restarted_node_serves_the_next_batch) {
    demo::spawned_services children(bin_dir + "/choreo-node", pattern_, wf_, via_);
    remote_deployment d(pattern_, wf_, children.where(), testing::remote());
    children.share(d.where());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());

    const auto first = place(d, "mixed", 200, 5);
    ASSERT_TRUE(ended_as_planned(d, first));
    EXPECT_EQ(d.effects(), testing::predicted(d, first));
    const auto answer = d.client().status(first.ids[7]);
    EXPECT_TRUE(answer.status.found);
    EXPECT_EQ(answer.status.state, d.client().outcome(first.ids[7])->terminal);
    EXPECT_TRUE(answer.errors.empty());

    // payment dies without a chance to clean up, and comes back on its store
    const int status = children.kill("payment", SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(status));
    children.restart("payment");
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    const auto second = place(d, "mixed", 50, 6);
    EXPECT_TRUE(ended_as_planned(d, second));
    EXPECT_EQ(d.rejected(), 0U);
}

TEST_P(multiprocess, a_node_stopped_by_sigterm_exits_cleanly_with_status_zero) {
    demo::spawned_services children(bin_dir + "/choreo-node", pattern_, wf_, via_);
    remote_deployment d(pattern_, wf_, children.where(), testing::remote());
    children.share(d.where());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    const auto b = place(d, "happy", 20, 7);
    ASSERT_TRUE(ended_as_planned(d, b));
    ASSERT_EQ(d.nodes(), pattern_.nodes(wf_));
    for (const auto& n : d.nodes()) {
        const int status = children.kill(n, SIGTERM);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << n << " status " << status;
    }
}

TEST(spawned_services, a_restarted_node_whose_port_was_taken_meanwhile_fails_loudly) {
    const auto& p = testing::pattern_named("stateless");
    const auto wf = testing::workflow_named("order");
    demo::spawned_services children(bin_dir + "/choreo-node", p, wf, transport::tcp);
    remote_deployment d(p, wf, children.where(), testing::remote());
    children.share(d.where());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    const auto endpoint = *children.where().endpoint_of("payment");
    ASSERT_TRUE(endpoint.starts_with("tcp://127.0.0.1:")) << endpoint;
    EXPECT_NE(endpoint, "tcp://127.0.0.1:*");
    children.kill("payment", SIGKILL);
    zmq::context_t ctx;
    zmq::socket_t squatter(ctx, zmq::socket_type::router);
    squatter.set(zmq::sockopt::linger, 0);
    squatter.bind(endpoint); // another program takes the port meanwhile
    try {
        children.restart("payment");
        ADD_FAILURE() << "payment came back although " << endpoint << " was taken";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("payment cannot come back on " + endpoint),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(children.pid_of("payment"), -1);
    // The others still run on the endpoints they reported.
    for (const auto& [node, pid] : children.processes()) {
        EXPECT_NE(node, "payment");
        EXPECT_GT(pid, 0) << node;
    }
    EXPECT_EQ(children.processes().size(), p.nodes(wf).size() - 1);
}

/// What `choreo-ctl place` printed, read line by line.
struct place_report {
    std::size_t count = 0;
    std::string scenario;
    std::string workflow;
    std::string first_id, last_id;
    std::map<std::string, std::pair<std::size_t, std::size_t>> terminals; ///< ended, predicted
    bool all_as_predicted = false;
};

/// Reads the output of `choreo-ctl place`:
///   placed COUNT SCENARIO WORKFLOW workflows (FIRST .. LAST)
///     TERMINAL   ENDED ended,   PREDICTED predicted       (one line per terminal)
///   every workflow ended as predicted                      (or "L lost, W not as predicted")
/// Returns: nullopt if the first line is missing.
std::optional<place_report> read_place_report(const std::string& out) {
    static const std::regex head(R"(^placed (\d+) (\S+) (\S+) workflows \((\S+) \.\. (\S+)\)$)");
    static const std::regex row(R"(^  (\S+)\s+(\d+) ended,\s+(\d+) predicted$)");
    std::optional<place_report> r;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_match(line, m, head)) {
            r.emplace();
            r->count = std::stoul(m[1]);
            r->scenario = m[2];
            r->workflow = m[3];
            r->first_id = m[4];
            r->last_id = m[5];
        } else if (r && std::regex_match(line, m, row)) {
            r->terminals[m[1]] = {std::stoul(m[2]), std::stoul(m[3])};
        } else if (r && line == "every workflow ended as predicted") {
            r->all_as_predicted = true;
        }
    }
    return r;
}

/// Splits a workflow id "PREFIX-N" (client::workflow_id). Returns: (PREFIX, N).
std::pair<std::string, std::uint64_t> split_id(const std::string& id) {
    const auto dash = id.rfind('-');
    if (dash == std::string::npos) {
        return {id, 0};
    }
    return {id.substr(0, dash), std::stoull(id.substr(dash + 1))};
}

TEST_P(multiprocess, choreo_ctl_places_orders_and_queries_status_on_a_running_deployment) {
    const std::size_t count = 30;
    const std::uint64_t seed = 42;
    demo::spawned_services children(bin_dir + "/choreo-node", pattern_, wf_, via_, {"ctl"});
    // choreo-ctl binds the endpoint the file names each time it runs: over tcp, a port that is
    // free between two runs for any program to take. A socket file in the deployment's own
    // directory is not, so ctl's inbox is one, over either transport.
    auto full = children.where();
    full.set("ctl", "ipc://" + (children.topology_file().parent_path() / "ctl.sock").string(),
             node_role::client);
    children.share(full);
    const auto ctl = bin_dir + "/choreo-ctl --pattern " + std::string(pattern_.name()) +
                     " --as ctl --topology " + children.topology_file().string();
    const auto timeout = std::chrono::duration_cast<std::chrono::seconds>(testing::deadline);
    const auto [placed, out] =
        run(ctl + " place --scenario mixed --count " + std::to_string(count) + " --seed " +
            std::to_string(seed) + " --timeout " + std::to_string(timeout.count()));
    EXPECT_EQ(placed, 0) << out;

    // What ctl must have placed: the module's generator, with the same scenario and seed.
    auto generator = module_of(wf_).make_workload(wf_, "mixed", seed);
    ASSERT_TRUE(generator);
    const auto plans = generator.value()->take(count);
    std::map<std::string, std::size_t> predicted;
    for (const auto& p : plans) {
        ++predicted[p.expected_terminal];
    }

    const auto report = read_place_report(out);
    ASSERT_TRUE(report.has_value()) << "no 'placed ...' line in:\n" << out;
    EXPECT_EQ(report->count, count);
    EXPECT_EQ(report->scenario, "mixed");
    EXPECT_EQ(report->workflow, wf_.name);
    EXPECT_TRUE(report->all_as_predicted) << out;
    std::map<std::string, std::size_t> ended_as_printed, predicted_as_printed;
    for (const auto& [terminal, figures] : report->terminals) {
        ended_as_printed[terminal] = figures.first;
        predicted_as_printed[terminal] = figures.second;
    }
    EXPECT_EQ(predicted_as_printed, predicted) << out;
    EXPECT_EQ(ended_as_printed, predicted) << out;
    // The ids run from the first to the last, one per workflow, under one prefix.
    const auto [first_prefix, first_n] = split_id(report->first_id);
    const auto [last_prefix, last_n] = split_id(report->last_id);
    EXPECT_EQ(first_prefix, last_prefix) << out;
    EXPECT_EQ(last_n + 1 - first_n, count) << out;

    // The first workflow placed is the generator's first plan: its status says how it ended.
    const auto [found, status] = run(ctl + " status " + report->first_id);
    EXPECT_EQ(found, 0) << status;
    EXPECT_TRUE(
        status.starts_with(report->first_id + ": " + plans.front().expected_terminal + "\n"))
        << status;
    static const std::regex cost(
        R"(cost: (\d+) messages, \d+ bytes, asked (\d+) \(([^)]*)\), answered (\d+),)");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(status, m, cost)) << status;
    const auto ask = pattern_.plan_status_query(wf_, report->first_id).ask;
    EXPECT_EQ(std::stoul(m[1]), 2 * ask.size()) << "one request and one reply per node asked";
    EXPECT_EQ(std::stoul(m[2]), ask.size());
    EXPECT_EQ(std::stoul(m[4]), ask.size()) << "every node asked answered";
    std::string asked;
    for (const auto& n : ask) {
        asked += (asked.empty() ? "" : ", ") + n;
    }
    EXPECT_EQ(m[3].str(), asked);

    const auto [missing, none] = run(ctl + " status no-such-id");
    EXPECT_EQ(missing, 1) << none;
    EXPECT_TRUE(none.starts_with("no-such-id: not found\n")) << none;

    // inspect: a line per node, in the deployment's order, then the effects of them all.
    const auto [inspected, lines] = run(ctl + " inspect");
    EXPECT_EQ(inspected, 0) << lines;
    std::istringstream in(lines);
    std::string line;
    for (const auto& n : pattern_.nodes(wf_)) {
        ASSERT_TRUE(std::getline(in, line)) << lines;
        EXPECT_TRUE(line.starts_with(n + ": received ")) << line;
        EXPECT_TRUE(line.ends_with("early events evicted 0")) << line;
    }
    ASSERT_TRUE(std::getline(in, line)) << lines;
    EXPECT_TRUE(line.starts_with("effects: ")) << line;
}

// With keys, end to end through the programs: `choreo-ctl keygen` writes a key pair per line of
// a topology, the nodes start with them (--keys), and choreo-ctl, whose line is an operator,
// places orders, asks a status and lists stuck workflows (inspect and stuck_request are operator
// requests). The same choreo-ctl under a client line that is not an operator is refused them,
// and only them: its status query is answered.
TEST(choreo_ctl_with_keys, keygen_then_place_status_and_stuck_and_a_non_operator_only_asks_status) {
    const pattern& p = testing::pattern_named("front_controller");
    const auto wf = testing::workflow_named("order");
    const auto keys =
        std::filesystem::temp_directory_path() / ("choreo-ctl-keys-" + std::to_string(::getpid()));
    std::filesystem::remove_all(keys);
    std::filesystem::create_directory(keys);
    const auto names = keys / "names";
    {
        // keygen reads names and roles only: the endpoints are picked later, by the OS.
        std::ofstream out(names);
        for (const auto& n : p.nodes(wf)) {
            out << n << " ipc:///" << n << "\n";
        }
        out << "ctl ipc:///ctl operator\npeeker ipc:///peeker client\n";
    }
    const auto [made, made_says] = run(bin_dir + "/choreo-ctl --topology " + names.string() +
                                       " keygen --out " + (keys / "keys").string());
    ASSERT_EQ(made, 0) << made_says;
    for (const auto* who : {"order_placement", "ctl", "peeker"}) {
        const auto secret = keys / "keys" / (std::string(who) + ".key_secret");
        ASSERT_TRUE(std::filesystem::exists(keys / "keys" / (std::string(who) + ".key"))) << who;
        ASSERT_TRUE(std::filesystem::exists(secret)) << who;
        EXPECT_EQ(std::filesystem::status(secret).permissions() & std::filesystem::perms::all,
                  std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
            << who;
    }

    demo::spawned_services children(bin_dir + "/choreo-node", p, wf, transport::tcp,
                                    {"ctl", "peeker"}, {}, default_retain_finished,
                                    {"--keys", (keys / "keys").string()});
    auto full = children.where();
    const auto dir = children.topology_file().parent_path();
    full.set("ctl", "ipc://" + (dir / "ctl.sock").string(), node_role::client, true);
    full.set("peeker", "ipc://" + (dir / "peeker.sock").string(), node_role::client);
    children.share(full);
    const auto ctl_as = [&](const std::string& who) {
        return bin_dir + "/choreo-ctl --pattern " + std::string(p.name()) + " --as " + who +
               " --keys " + (keys / "keys").string() + " --topology " +
               children.topology_file().string();
    };
    const auto timeout = std::chrono::duration_cast<std::chrono::seconds>(testing::deadline);
    const auto [placed, out] = run(ctl_as("ctl") + " place --scenario mixed --count 20 --seed 3 " +
                                   "--timeout " + std::to_string(timeout.count()));
    EXPECT_EQ(placed, 0) << out;
    const auto report = read_place_report(out);
    ASSERT_TRUE(report.has_value()) << out;
    EXPECT_EQ(report->count, 20U);
    EXPECT_TRUE(report->all_as_predicted) << out;
    auto generator = module_of(wf).make_workload(wf, "mixed", 3);
    const auto first_plan = generator.value()->take(1).front();
    const auto [found, status] = run(ctl_as("ctl") + " status " + report->first_id);
    EXPECT_EQ(found, 0) << status;
    EXPECT_TRUE(status.starts_with(report->first_id + ": " + first_plan.expected_terminal + "\n"))
        << status;
    const auto [listed, stuck] = run(ctl_as("ctl") + " stuck --older-than 1ms");
    EXPECT_EQ(listed, 0) << stuck; // every node asked answered: none is silent
    EXPECT_EQ(stuck.find("error:"), std::string::npos) << stuck;

    // peeker holds a key of the deployment but is no operator: the nodes refuse its inspect and
    // stuck requests (not_permitted), so it reads nothing of what they hold, and says so.
    const auto [refused, says] = run(ctl_as("peeker") + " stuck --older-than 1ms");
    EXPECT_EQ(refused, 1) << says;
    EXPECT_NE(says.find("error: " + p.entry(wf) + ": not_permitted: "), std::string::npos) << says;
    // A status query is any client's to make: peeker is answered as the operator was.
    const auto [asked, answer] = run(ctl_as("peeker") + " status " + report->first_id);
    EXPECT_EQ(asked, 0) << answer;
    EXPECT_TRUE(answer.starts_with(report->first_id + ": " + first_plan.expected_terminal + "\n"))
        << answer;
    EXPECT_EQ(answer.find("error:"), std::string::npos) << answer;
    // Nothing else of peeker's was refused: choreo-ctl waits for the nodes to be ready with what
    // any client may ask. Counted by the nodes, read by the operator.
    auto as_operator = testing::remote();
    as_operator.client_name = "ctl";
    as_operator.node.keys =
        std::make_shared<const credentials>(keys_dir::load(full, (keys / "keys").string(), "ctl"));
    remote_deployment ctl(p, wf, full, as_operator);
    for (const auto& r : ctl.inspect_all()) {
        EXPECT_EQ(r.rejected, r.node == p.entry(wf) ? 1U : 0U) << r.node; // the stuck request
    }
    std::filesystem::remove_all(keys);
}

std::string param_name(const ::testing::TestParamInfo<multiprocess::ParamType>& info) {
    return std::get<0>(info.param) + "_" + std::string(to_string(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(patterns, multiprocess,
                         ::testing::Combine(::testing::ValuesIn(builtin_patterns().names()),
                                            ::testing::Values(transport::tcp, transport::ipc)),
                         param_name);

// At the scale an operator reaches in a day: 20,000 orders through choreo-ctl, then every
// command it has must still answer on the same deployment, and so must the inspect_request
// pages the kit reads the nodes' ledgers with. No reply may grow with the number of orders
// served (a reply over the frame limit would be refused by the client). One pattern per test
// case, so that ctest -j2 runs two side by side.
class ctl_at_scale : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow wf_ = testing::workflow_named("order");
};

/// The step lines of `choreo-ctl status` ("  SERVICE STATUS OUTCOME [DETAIL]") as
/// "service:status:outcome", in order.
std::vector<std::string> step_lines(const std::string& out) {
    static const std::regex row(R"(^  (\S+)\s+(\S+)\s+(\S+)?.*$)");
    std::vector<std::string> rows;
    std::istringstream in(out);
    std::string line;
    std::getline(in, line); // "ID: STATE"
    while (std::getline(in, line) && !line.starts_with("cost: ")) {
        std::smatch m;
        if (std::regex_match(line, m, row)) {
            rows.push_back(m[1].str() + ":" + m[2].str() + ":" + m[3].str());
        }
    }
    return rows;
}

TEST_P(ctl_at_scale, status_of_the_first_and_last_of_20000_orders_still_answers) {
    const std::size_t count = 20'000;
    const std::uint64_t seed = 42;
    demo::spawned_services children(bin_dir + "/choreo-node", pattern_, wf_, transport::ipc,
                                    {"client", "ctl"});
    children.share(children.where()); // over ipc every endpoint is known already
    const auto ctl = bin_dir + "/choreo-ctl --pattern " + std::string(pattern_.name()) +
                     " --as ctl --topology " + children.topology_file().string();
    const auto timeout = std::chrono::duration_cast<std::chrono::seconds>(testing::deadline * 2);
    const auto [placed, out] =
        run(ctl + " place --scenario mixed --count " + std::to_string(count) + " --seed " +
            std::to_string(seed) + " --timeout " + std::to_string(timeout.count()));
    ASSERT_EQ(placed, 0) << out.substr(0, 2'000);

    auto generator = module_of(wf_).make_workload(wf_, "mixed", seed);
    ASSERT_TRUE(generator);
    const auto plans = generator.value()->take(count);
    std::map<std::string, std::size_t> predicted;
    for (const auto& p : plans) {
        ++predicted[p.expected_terminal];
    }
    const auto report = read_place_report(out);
    ASSERT_TRUE(report.has_value()) << out.substr(0, 2'000);
    EXPECT_EQ(report->count, count);
    EXPECT_TRUE(report->all_as_predicted) << out.substr(0, 2'000);
    for (const auto& [terminal, n] : predicted) {
        const auto it = report->terminals.find(terminal);
        ASSERT_NE(it, report->terminals.end()) << terminal;
        EXPECT_EQ(it->second, std::pair(n, n)) << terminal;
    }
    const auto [prefix, first_n] = split_id(report->first_id);
    EXPECT_EQ(split_id(report->last_id).second + 1 - first_n, count);

    const auto ask = pattern_.plan_status_query(wf_, report->first_id).ask;
    const auto cost_as_planned = [&](const std::string& status) {
        static const std::regex cost(R"(cost: (\d+) messages, \d+ bytes, asked (\d+) \([^)]*\), )"
                                     R"(answered (\d+),)");
        std::smatch m;
        return std::regex_search(status, m, cost) && std::stoul(m[1]) == 2 * ask.size() &&
               std::stoul(m[2]) == ask.size() && std::stoul(m[3]) == ask.size();
    };

    // The first order: how it ended, unless the nodes have retired it by now (they keep a
    // bounded number of finished workflows): then "retired", or its terminal with retired
    // steps. Either way the query is answered in one round per node.
    const auto [first_code, first] = run(ctl + " status " + report->first_id);
    EXPECT_EQ(first_code, 0) << first;
    const auto first_state = first.substr(0, first.find('\n'));
    EXPECT_TRUE(first_state == report->first_id + ": " + plans.front().expected_terminal ||
                first_state == report->first_id + ": retired")
        << first;
    EXPECT_TRUE(cost_as_planned(first)) << first;

    // The last order, exactly: every step done with its event, nobody notified.
    ASSERT_EQ(plans.back().expected_terminal, workflow_state::completed)
        << "the seed must make the last order complete; choose another";
    const auto [last_code, last] = run(ctl + " status " + report->last_id);
    EXPECT_EQ(last_code, 0) << last;
    EXPECT_TRUE(last.starts_with(report->last_id + ": completed\n")) << last;
    std::vector<std::string> all_done;
    for (const auto& s : wf_.steps) {
        all_done.push_back(s.service + ":" + std::string(step_status::done) + ":" + s.event);
    }
    EXPECT_EQ(step_lines(last), all_done) << last;
    EXPECT_TRUE(cost_as_planned(last)) << last;
    EXPECT_EQ(last.find("error:"), std::string::npos) << last;

    const auto [missing, none] = run(ctl + " status no-such-id");
    EXPECT_EQ(missing, 1) << none;
    EXPECT_TRUE(none.starts_with("no-such-id: not found\n")) << none;

    // ctl still places on the same deployment, and the kit's own reads of every node still
    // fit in their frames: aggregate effects, and the whole trace read page by page.
    const auto [again, more] = run(ctl + " place --scenario happy --count 1 --seed 7");
    EXPECT_EQ(again, 0) << more;
    remote_deployment d(pattern_, wf_, children.where(), testing::remote());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    placed_workflows all;
    for (std::size_t i = 0; i < plans.size(); ++i) {
        all.emplace_back(prefix + "-" + std::to_string(first_n + i), plans[i]);
    }
    auto happy = module_of(wf_).make_workload(wf_, "happy", 7);
    all.emplace_back("the-happy-one", happy.value()->next());
    EXPECT_EQ(d.effects(), module_of(wf_).predict(wf_, all));
    const auto last_traffic = d.traffic().of_workflow(report->last_id);
    ASSERT_TRUE(last_traffic.has_value()) << "the gathered trace lacks the last order";
    EXPECT_EQ(
        last_traffic->inter_service.messages,
        testing::expected_for(pattern_, wf_, testing::completes(wf_), "ctl").inter_service.size());
    EXPECT_EQ(d.rejected(), 0U);
}

INSTANTIATE_TEST_SUITE_P(patterns, ctl_at_scale, ::testing::ValuesIn(builtin_patterns().names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

/// Returns: `items` joined with ", ".
std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) {
        out += (out.empty() ? "" : ", ") + i;
    }
    return out;
}

TEST(programs, bad_arguments_name_the_valid_choices_and_exit_with_status_2) {
    const auto wf = testing::workflow_named("order");
    auto pattern_choices = builtin_patterns().names();
    pattern_choices.push_back("all");
    const std::vector<std::pair<std::string, std::vector<std::string>>> cases{
        {"choreo-demo --pattern nope", pattern_choices},
        {"choreo-demo --orders 0", {"not in range"}},
        {"choreo-demo --workflow chain:0", builtin_workflows().usages()},
        {"choreo-demo --transport udp", {"inproc, ipc, tcp"}},
        {"choreo-demo --scenario nope", {joined(module_of(wf).scenarios(wf))}},
        {"choreo-node --pattern stateless --service nope --topology /dev/null",
         {joined(testing::pattern_named("stateless").nodes(wf))}},
        {"choreo-node --pattern orchestration --service nope --topology /dev/null",
         {joined(testing::pattern_named("orchestration").nodes(wf))}},
        {"choreo-node --pattern stateless --service payment --topology /dev/null",
         {"topology is incomplete"}},
        // The orchestrator is a node of its own under orchestration: accepted, then it too
        // needs a complete topology.
        {"choreo-node --pattern orchestration --service " +
             testing::pattern_named("orchestration").entry(wf) + " --topology /dev/null",
         {"topology is incomplete"}},
        {"choreo-ctl --topology /nonexistent status x", {"cannot be read"}},
    };
    for (const auto& [command, says] : cases) {
        const auto [code, output] = run(bin_dir + "/" + command);
        EXPECT_EQ(code, 2) << command << "\n" << output;
        for (const auto& s : says) {
            EXPECT_NE(output.find(s), std::string::npos) << command << " must say " << s << "\n"
                                                         << output;
        }
    }
}

TEST(topology_file, malformed_lines_are_refused_with_their_line_and_reason) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"payment\n", "line 1: node 'payment' has no endpoint"},
        {"# ok\npayment inproc://x\n", "line 2: endpoint 'inproc://x' must be tcp://HOST:PORT"},
        {"payment tcp://127.0.0.1\n", "needs a port between 1 and 65535"},
        {"payment tcp://127.0.0.1:0\n", "needs a port between 1 and 65535"},
        {"payment tcp://:5000\n", "has no host"},
        {"payment tcp://127.0.0.1:5000 boss\n", "role 'boss' is not service, client or operator"},
        {"a tcp://127.0.0.1:5000\na tcp://127.0.0.1:5001\n", "line 2: node 'a' is listed twice"},
        {"a tcp://127.0.0.1:5000\nb tcp://127.0.0.1:5000\n", "given to two nodes"},
        {"a tcp://127.0.0.1:5000 client extra\n", "unexpected 'extra'"},
    };
    for (const auto& [text, reason] : cases) {
        std::istringstream in(text);
        try {
            topology::parse(in);
            ADD_FAILURE() << "accepted: " << text;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
        }
    }
    std::istringstream good("# nodes\norder_placement tcp://127.0.0.1:5001 # first\n"
                            "client ipc:///tmp/x.sock client\n");
    const auto t = topology::parse(good);
    EXPECT_EQ(t.entries().size(), 2U);
    EXPECT_TRUE(t.is_client("client"));
    EXPECT_THROW(t.require({"order_placement", "payment"}), std::invalid_argument);
}

} // namespace
} // namespace choreo

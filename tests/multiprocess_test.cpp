// Every service as its own choreo-node process over tcp, driven from this process.
#include "demo/spawn.hpp"

#include <csignal>
#include <cstdio>
#include <sstream>

#include <sys/wait.h>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "patterns/remote_deployment.hpp"

namespace choreo {
namespace {

using testing::ended_as_planned;
using testing::place;

const std::string bin_dir = CHOREO_BIN_DIR;

class multiprocess : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow wf_ = order_workflow();
};

TEST_P(multiprocess, mixed_orders_end_as_predicted_and_a_restarted_node_serves_the_next_batch) {
    demo::spawned_services children(bin_dir + "/choreo-node", pattern_, wf_, transport::tcp);
    remote_deployment d(pattern_, wf_, children.where());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());

    const auto first = place(d, scenario::mixed, 200, 5);
    ASSERT_TRUE(ended_as_planned(d, first));
    EXPECT_EQ(d.effects(), predict_effects(first.placed()));
    const auto answer = d.client().status(first.ids[7]);
    EXPECT_TRUE(answer.status.found);
    EXPECT_EQ(answer.status.state, d.client().outcome(first.ids[7])->terminal);
    EXPECT_TRUE(answer.errors.empty());

    // payment dies without a chance to clean up, and comes back empty-handed
    const int status = children.kill("payment", SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(status));
    children.restart("payment");
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    const auto second = place(d, scenario::mixed, 50, 6);
    EXPECT_TRUE(ended_as_planned(d, second));
    EXPECT_EQ(d.rejected(), 0U);
}

TEST_P(multiprocess, a_node_stopped_by_sigterm_exits_cleanly_with_status_zero) {
    demo::spawned_services children(bin_dir + "/choreo-node", pattern_, wf_, transport::tcp);
    remote_deployment d(pattern_, wf_, children.where());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    const auto b = place(d, scenario::happy, 20, 7);
    ASSERT_TRUE(ended_as_planned(d, b));
    for (const auto& s : wf_.services()) {
        const int status = children.kill(s, SIGTERM);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << s << " status " << status;
    }
}

INSTANTIATE_TEST_SUITE_P(patterns, multiprocess,
                         ::testing::Values("front_controller", "stateless", "stamp_coupling"),
                         [](const auto& param) { return param.param; });

/// Runs a program; returns its exit status and what it printed on stdout and stderr.
std::pair<int, std::string> run(const std::string& command) {
    return testing::run_command(command + " 2>&1");
}

TEST(programs, bad_arguments_name_the_valid_choices_and_exit_with_status_2) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"choreo-demo --pattern nope", "front_controller, stateless, stamp_coupling, all"},
        {"choreo-demo --orders 0", "not in range"},
        {"choreo-demo --workflow chain:0", "chain:N with 1 <= N <= 1024"},
        {"choreo-demo --transport udp", "inproc, ipc, tcp"},
        {"choreo-demo --scenario nope", "happy, payment_rejected, back_order, rejected, mixed"},
        {"choreo-node --pattern stateless --service nope --topology /dev/null",
         "valid: order_placement, payment, fulfillment, email"},
        {"choreo-node --pattern stateless --service payment --topology /dev/null",
         "topology is incomplete"},
        {"choreo-ctl --topology /nonexistent status x", "cannot be read"},
    };
    for (const auto& [command, says] : cases) {
        const auto [code, output] = run(bin_dir + "/" + command);
        EXPECT_EQ(code, 2) << command << "\n" << output;
        EXPECT_NE(output.find(says), std::string::npos) << command << "\n" << output;
    }
}

TEST(programs, choreo_ctl_places_orders_and_queries_status_on_a_running_deployment) {
    const auto& p = testing::pattern_named("stateless");
    demo::spawned_services children(bin_dir + "/choreo-node", p, order_workflow(), transport::tcp,
                                    {"client", "ctl"});
    const auto ctl = bin_dir + "/choreo-ctl --pattern stateless --as ctl --topology " +
                     children.topology_file().string();
    const auto [placed, out] = run(ctl + " place --scenario mixed --count 30");
    EXPECT_EQ(placed, 0) << out;
    EXPECT_NE(out.find("every order ended as predicted"), std::string::npos) << out;
    const auto first = out.substr(out.find('(') + 1, out.find(" ..") - out.find('(') - 1);
    const auto [found, status] = run(ctl + " status " + first);
    EXPECT_EQ(found, 0) << status;
    EXPECT_NE(status.find("cost: 8 messages"), std::string::npos) << status;
    const auto [missing, none] = run(ctl + " status no-such-id");
    EXPECT_EQ(missing, 1) << none;
    EXPECT_NE(none.find("not found"), std::string::npos) << none;
}

TEST(topology_file, malformed_lines_are_refused_with_their_line_and_reason) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"payment\n", "line 1: node 'payment' has no endpoint"},
        {"# ok\npayment inproc://x\n", "line 2: endpoint 'inproc://x' must be tcp://HOST:PORT"},
        {"payment tcp://127.0.0.1\n", "needs a port between 1 and 65535"},
        {"payment tcp://127.0.0.1:0\n", "needs a port between 1 and 65535"},
        {"payment tcp://:5000\n", "has no host"},
        {"payment tcp://127.0.0.1:5000 boss\n", "role 'boss' is neither service nor client"},
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

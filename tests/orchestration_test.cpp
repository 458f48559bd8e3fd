// The orchestrator never leaves a workflow waiting: a command it cannot deliver ends it.
#include "orchestration/orchestration.hpp"

#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "harness.hpp"
#include "patterns/client.hpp"
#include "patterns/service_node.hpp"

namespace choreo {
namespace {

/// A node on its own io thread, stopped and joined on destruction.
struct running {
    boost::asio::io_context io;
    std::thread thread;
    void start(node& n) {
        thread = std::thread([this, &n] {
            n.start();
            auto guard = boost::asio::make_work_guard(io);
            io.run();
        });
    }
    void stop(node& n) {
        boost::asio::post(io, [this, &n] {
            n.stop();
            io.stop();
        });
        thread.join();
    }
};

TEST(orchestration, a_command_that_cannot_be_sent_ends_the_workflow_failed_and_says_so) {
    const auto& p = testing::pattern_named("orchestration");
    const auto wf = testing::workflow_named("order");
    const auto orchestrator = orchestration::orchestrator_of(wf);
    zmq::context_t context;
    ledger book;
    running o, c;
    service_node orch(context, o.io, p, wf, orchestrator, nullptr, book);
    node_options client_options;
    client_options.role = node_role::client;
    node client_node(context, c.io, "client", book, client_options);
    // The orchestrator's topology has no order_placement: its first command cannot be sent.
    topology where;
    where.set(orchestrator, orch.net().bind("inproc://orchestration-test-orchestrator"));
    where.set("client", client_node.bind("inproc://orchestration-test-client"), node_role::client);
    orch.net().set_topology(where);
    client_node.set_topology(where);
    client cl(client_node, p, wf);
    o.start(orch.net());
    c.start(client_node);

    const auto id = cl.place(msg::value::of(std::string("any payload")));
    ASSERT_TRUE(cl.wait_for({id}, testing::deadline)) << "the workflow was left waiting";
    const auto outcome = cl.outcome(id);
    EXPECT_EQ(outcome->terminal, "failed");
    EXPECT_NE(outcome->detail.find("cannot send step 0 to order_placement"), std::string::npos)
        << outcome->detail;
    const auto answer = cl.status(id);
    EXPECT_EQ(answer.status.state, "failed");
    EXPECT_EQ(answer.asked, std::vector<std::string>{orchestrator});

    c.stop(client_node);
    o.stop(orch.net());
}

} // namespace
} // namespace choreo

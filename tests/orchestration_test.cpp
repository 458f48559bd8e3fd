// The orchestrator never leaves a workflow waiting: a command it cannot deliver ends it.
#include "orchestration/orchestration.hpp"

#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "harness.hpp"
#include "orchestration/contracts.hpp"
#include "patterns/client.hpp"
#include "patterns/clock.hpp"
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

/// An orchestrator of the order workflow and a client, over inproc, each on its io thread, stopped
/// when it goes away. `others` are the topology's other lines (none: no service can be reached).
struct orchestrated {
    explicit orchestrated(const std::string& tag,
                          const std::vector<std::pair<std::string, std::string>>& others = {})
        : orch(context, o.io, p, wf, orchestrator, nullptr, book),
          client_node(context, c.io, "client", book, client_role()) {
        topology where;
        inbox = orch.net().bind("inproc://orchestration-test-orchestrator-" + tag);
        where.set(orchestrator, inbox);
        where.set("client", client_node.bind("inproc://orchestration-test-client-" + tag),
                  node_role::client);
        for (const auto& [name, endpoint] : others) {
            where.set(name, endpoint);
        }
        orch.net().set_topology(where);
        client_node.set_topology(where);
        cl.emplace(client_node, p, wf);
        o.start(orch.net());
        c.start(client_node);
    }
    ~orchestrated() {
        c.stop(client_node);
        o.stop(orch.net());
    }
    orchestrated(const orchestrated&) = delete;
    orchestrated& operator=(const orchestrated&) = delete;

    static node_options client_role() {
        node_options o;
        o.role = node_role::client;
        return o;
    }

    const pattern& p = testing::pattern_named("orchestration");
    const workflow wf = testing::workflow_named("order");
    const std::string orchestrator = orchestration::orchestrator_of(wf);
    zmq::context_t context;
    ledger book;
    running o, c;
    service_node orch;
    node client_node;
    std::string inbox; ///< the orchestrator's
    std::optional<client> cl;
};

TEST(orchestration, a_command_that_cannot_be_sent_ends_the_workflow_failed_and_says_so) {
    orchestrated run("1"); // no order_placement: the first command cannot be sent
    auto& cl = *run.cl;

    const auto id = cl.place(msg::value::of(std::string("any payload")));
    ASSERT_TRUE(cl.wait_for({id}, testing::deadline)) << "the workflow was left waiting";
    const auto outcome = cl.outcome(id);
    EXPECT_EQ(outcome->terminal, "failed");
    EXPECT_NE(outcome->detail.find("cannot send step 0 to order_placement"), std::string::npos)
        << outcome->detail;
    const auto answer = cl.status(id);
    EXPECT_EQ(answer.status.state, "failed");
    EXPECT_EQ(answer.asked, std::vector<std::string>{run.orchestrator});
}

// A service's answer whose connection went with a restart (of the orchestrator or of the
// service) is sent again to the orchestrator's inbox. The orchestrator takes it there from the
// service it waits for, and from nobody else.
TEST(orchestration, an_answer_in_the_inbox_from_the_service_asked_counts_and_from_another_not) {
    // order_placement is a raw inbox here; payment is in nobody's topology, so the step after
    // order_placement's cannot be sent: the workflow's end says how far it got.
    orchestrated run("2", {{"order_placement", "inproc://orchestration-test-placement"}});
    auto& cl = *run.cl;
    zmq::socket_t placement(run.context, zmq::socket_type::router);
    placement.set(zmq::sockopt::linger, 0);
    placement.set(zmq::sockopt::rcvtimeo, static_cast<int>(testing::deadline.count()));
    placement.bind("inproc://orchestration-test-placement");

    const auto id = cl.place(msg::value::of(std::string("any payload")));
    zmq::message_t routing, type, body;
    ASSERT_TRUE(placement.recv(routing) && placement.recv(type) && placement.recv(body))
        << "no command came to order_placement";
    ASSERT_EQ(type.to_string_view(), "run_step");

    // The answer, not on the command's connection but to the orchestrator's inbox.
    zmq::socket_t dealer(run.context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::rcvtimeo, static_cast<int>(testing::deadline.count()));
    dealer.connect(run.inbox);
    auto answer = [&](std::uint64_t message_id, const std::string& sender) {
        orchestration::step_finished done;
        done.record = {"order_placement", 0, "done", run.wf.steps[0].event, "", now_ns()};
        const auto f = encode({{message_id, id, sender, now_ns(), 2, 0}, done});
        dealer.send(zmq::buffer(f.type), zmq::send_flags::sndmore);
        dealer.send(zmq::buffer(f.body), zmq::send_flags::none);
    };
    auto next_reply = [&] {
        zmq::message_t t, b;
        EXPECT_TRUE(dealer.recv(t) && dealer.recv(b)) << "no reply on the inbox connection";
        return std::string(t.to_string_view());
    };
    answer(1, "payment"); // a service the orchestrator does not wait for: refused
    EXPECT_EQ(next_reply(), "error_reply");
    answer(2, "order_placement");
    EXPECT_EQ(next_reply(), "ack");

    ASSERT_TRUE(cl.wait_for({id}, testing::deadline)) << "the answer in the inbox was not taken";
    const auto outcome = cl.outcome(id);
    EXPECT_EQ(outcome->terminal, "failed");
    EXPECT_NE(outcome->detail.find("cannot send step 1 to payment"), std::string::npos)
        << outcome->detail;
    EXPECT_EQ(run.orch.net().counters().rejected, 1U);
}

} // namespace
} // namespace choreo

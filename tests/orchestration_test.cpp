// The orchestrator never leaves a workflow waiting: a command it cannot deliver ends it.
#include "orchestration/orchestration.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
#include "patterns/deployment.hpp"
#include "patterns/service_node.hpp"
#include "workflows/ticket/ticket.hpp"

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

// A cancel that comes while a step is commanded is passed on to the service the orchestrator
// awaits, and to nobody else; a service takes such an interrupt from the orchestrator alone.
TEST(orchestration, a_cancel_at_a_commanded_step_goes_on_to_the_awaited_service_alone) {
    const auto& p = testing::pattern_named("orchestration");
    const auto wf = testing::workflow_named("ticket");
    const auto orchestrator = orchestration::orchestrator_of(wf);
    local_deployment d(p, wf, testing::options(transport::tcp, true));
    const auto details = msg::value::of(ticket::trouble_ticket{"c002", "network", "north"});
    // The notification's command waits in it when the cancel comes.
    d.hold("notification");
    const auto before = d.counters("notification").received;
    const auto id = d.client().place(details);
    ASSERT_TRUE(testing::eventually([&] { return d.counters("notification").received > before; }));
    ASSERT_FALSE(d.client().send_outside(id, std::string(ticket::cancel_command), details));
    ASSERT_TRUE(d.client().ask(orchestrator, msg::inspect_request{0, 0}, testing::deadline));
    d.release("notification");
    ASSERT_TRUE(d.client().wait_for({id}, testing::deadline));
    EXPECT_EQ(d.client().outcome(id)->terminal, "cancelled");
    std::vector<std::pair<std::string, std::string>> passed_on;
    for (const auto& r : d.book().trace_of(id)) {
        if (r.type == "workflow_event" && !r.client) {
            passed_on.emplace_back(r.from, r.to);
        }
    }
    EXPECT_EQ(passed_on,
              (std::vector<std::pair<std::string, std::string>>{{orchestrator, "notification"}}));
    EXPECT_EQ(d.rejected(), 0u);

    // The same interrupt in notification's inbox, but from the client: refused. From the
    // orchestrator (as far as a deployment without keys can tell), an event that is no
    // interrupt: refused; an interrupt: taken.
    zmq::context_t context;
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::rcvtimeo, static_cast<int>(testing::deadline.count()));
    dealer.connect(*d.where().endpoint_of("notification"));
    auto send = [&](std::uint64_t message_id, const std::string& sender, std::string_view event) {
        const auto f =
            encode({{message_id, "never-placed", sender, now_ns(), 1, 0},
                    msg::workflow_event{wf.name, std::string(event), 0, "client", details}});
        dealer.send(zmq::buffer(f.type), zmq::send_flags::sndmore);
        dealer.send(zmq::buffer(f.body), zmq::send_flags::none);
        // A refused message is answered, then acknowledged (it is not sent again).
        std::vector<std::string> replies;
        while (replies.empty() || replies.back() != "ack") {
            zmq::message_t t, b;
            if (!dealer.recv(t) || !dealer.recv(b)) {
                ADD_FAILURE() << "no ack on the inbox connection";
                break;
            }
            replies.emplace_back(t.to_string_view());
        }
        return replies;
    };
    const std::vector<std::string> refused{"error_reply", "ack"};
    const std::vector<std::string> taken{"ack"};
    const auto effects = d.effects();
    // Message ids no node of the deployment has used: not taken for duplicates.
    EXPECT_EQ(send(1'000'001, "client", ticket::cancel_command), refused);
    EXPECT_EQ(send(1'000'002, orchestrator, ticket::expert_reported), refused);
    EXPECT_EQ(d.counters("notification").rejected, 2u);
    EXPECT_EQ(send(1'000'003, orchestrator, ticket::cancel_command), taken);
    EXPECT_EQ(d.counters("notification").rejected, 2u);
    EXPECT_EQ(d.effects(), effects);
}

// The orchestrator's snapshot keeps an interrupt it passed on and the events that came for
// workflows not placed yet: loaded into a fresh orchestrator, the one fails the step after the
// one it awaits, the other the first step of the workflow once placed. A snapshot written before
// it kept the events (none after the workflows' part, the node's own part after it) loads.
TEST(orchestration,
     its_snapshot_keeps_an_interrupt_passed_on_and_the_events_of_workflows_not_placed) {
    const auto& p = testing::pattern_named("orchestration");
    // Deadlines short enough to wait for: the loaded orchestrator re-drives what it awaits.
    auto wf = testing::workflow_named("ticket");
    wf.set_step_deadlines(testing::scaled(std::chrono::milliseconds(500)));
    wf.retries = 1'000;
    const auto orchestrator = orchestration::orchestrator_of(wf);
    const auto details = msg::value::of(ticket::trouble_ticket{"c002", "network", "north"});
    const std::string early = "cancelled-before-placed";
    const auto cancel = std::string(ticket::cancel_command);
    auto save = [&](local_deployment& d) {
        return d.on_service(orchestrator, [](service_node& s) {
            snapshot::writer w;
            s.behaviour().save(w);
            return w.bytes();
        });
    };

    local_deployment d1(p, wf, testing::options(transport::inproc, false));
    const auto empty = save(d1);
    ASSERT_FALSE(d1.client().send_outside(early, cancel, details));
    d1.hold("notification");
    const auto before = d1.counters("notification").received;
    const auto id = d1.client().place(details);
    ASSERT_TRUE(testing::eventually([&] { return d1.counters("notification").received > before; }));
    ASSERT_FALSE(d1.client().send_outside(id, cancel, details));
    ASSERT_TRUE(d1.client().ask(orchestrator, msg::inspect_request{0, 0}, testing::deadline));
    const auto saved = save(d1);

    local_deployment d2(p, wf, testing::options(transport::inproc, false));
    d2.on_service(orchestrator, [&](service_node& s) {
        snapshot::reader r(saved);
        s.behaviour().load(r);
    });
    EXPECT_EQ(save(d2), saved);
    // Notification, asked again, runs its step; the expert's step after it fails.
    const auto st = testing::await_status(d2, id, [](const msg::workflow_status& s) {
        return s.state != workflow_state::in_progress && s.state != workflow_state::stuck;
    });
    EXPECT_EQ(st.state, "cancelled");
    ASSERT_EQ(st.steps.size(), wf.steps.size());
    EXPECT_EQ(st.steps[2].status, "done");
    EXPECT_EQ(st.steps[3].status, "failed");
    EXPECT_EQ(st.steps[3].outcome, "ticket_cancelled");
    d2.client().place(early, details);
    ASSERT_TRUE(d2.client().wait_for({early}, testing::deadline));
    EXPECT_EQ(d2.client().outcome(early)->terminal, "cancelled");
    EXPECT_EQ(d2.client().status(early).status.steps.at(0).status, "failed");
    d1.release("notification");

    // The snapshot of an orchestrator with no events kept, as written before it kept them, and
    // the node's part after it: it loads, and leaves the node's part to be read.
    const std::size_t early_part = 18; // {"events": [], "evicted": 0}
    ASSERT_GT(empty.size(), early_part);
    snapshot::writer node_part;
    node_part << std::vector<std::uint64_t>{42};
    snapshot::reader old(empty.substr(0, empty.size() - early_part) + node_part.bytes());
    local_deployment d3(p, wf, testing::options(transport::inproc, false));
    d3.on_service(orchestrator, [&](service_node& s) { s.behaviour().load(old); });
    std::vector<std::uint64_t> placed;
    old >> placed;
    EXPECT_EQ(placed, std::vector<std::uint64_t>{42});
    EXPECT_TRUE(old.done());
    EXPECT_EQ(save(d3), empty);

    // ... and as written before the evicted ones were counted: {"events": []}, none counted.
    snapshot::writer events_only;
    events_only.out().pack_map(1);
    events_only << std::string_view("events") << std::vector<std::uint64_t>{};
    snapshot::reader older(empty.substr(0, empty.size() - early_part) + events_only.bytes() +
                           node_part.bytes());
    local_deployment d4(p, wf, testing::options(transport::inproc, false));
    d4.on_service(orchestrator, [&](service_node& s) { s.behaviour().load(older); });
    placed.clear();
    older >> placed;
    EXPECT_EQ(placed, std::vector<std::uint64_t>{42});
    EXPECT_TRUE(older.done());
    EXPECT_EQ(save(d4), empty);
}

} // namespace
} // namespace choreo

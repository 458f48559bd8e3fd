// A message that cannot be sent ends its workflow "failed" and shows in its status; the node logs
// it once per peer and reason; nothing that escapes a handler ends the process.
#include "patterns/last_resort.hpp"

#include <atomic>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "orchestration/orchestration.hpp"
#include "patterns/client.hpp"
#include "patterns/deployment.hpp"
#include "patterns/log.hpp"

namespace choreo {
namespace {

using testing::captured_log;
using testing::deadline;
using testing::pattern_named;
using testing::workflow_named;

/// The node that hands the order workflow to its second step under `p`.
std::string sender_of_step_1(const pattern& p, const workflow& wf) {
    return p.name() == "orchestration" ? orchestration::orchestrator_of(wf)
                                       : wf.steps.front().service;
}

class send_failure : public ::testing::TestWithParam<std::string> {};

TEST_P(send_failure, a_step_missing_from_the_topology_ends_every_workflow_failed_logged_once) {
    const auto& p = pattern_named(GetParam());
    const auto wf = workflow_named("order");
    const auto missing = wf.steps.at(1).service; // payment
    const auto sender = sender_of_step_1(p, wf);
    constexpr std::size_t n = 6;
    captured_log logged;
    auto o = testing::options(transport::tcp, false);
    o.unlisted = {missing};
    local_deployment d(p, wf, o);
    const auto b = testing::place(d, "happy", n);

    ASSERT_TRUE(d.client().wait_for(b.ids, deadline)) << d.client().ended_count() << " ended";
    for (const auto& id : b.ids) {
        const auto out = d.client().outcome(id);
        EXPECT_EQ(out->terminal, "failed") << id;
        EXPECT_EQ(out->detail, sender + " cannot send step 1 to " + missing + " (" +
                                   (p.name() == "orchestration" ? "run_step" : wf.steps[0].event) +
                                   "): unknown service");
    }
    const auto st = d.client().status(b.ids.front()).status;
    EXPECT_TRUE(st.found);
    EXPECT_EQ(st.state, "failed");
    ASSERT_EQ(st.steps.size(), wf.steps.size());
    EXPECT_EQ(testing::statuses(st.steps),
              (std::vector<std::string>{wf.steps[0].service + ":done:" + wf.steps[0].event,
                                        missing + ":send_failed:" + st.steps[1].outcome,
                                        wf.steps[2].service + ":pending",
                                        wf.steps[3].service + ":pending"}));
    EXPECT_EQ(st.steps[1].step, 1U);
    EXPECT_EQ(st.steps[1].detail, d.client().outcome(b.ids.front())->detail);

    const auto c = d.counters(sender);
    EXPECT_EQ(c.send_failed, n);
    EXPECT_EQ(c.send_failed_by, (std::map<std::string, std::uint64_t>{{"unknown_service", n}}));
    // n messages failed for one (peer, reason): one line.
    EXPECT_EQ(logged.lines_with(sender + ": cannot send to '" + missing + "'"), 1U);
    EXPECT_FALSE(d.failure());
}

TEST_P(send_failure, a_place_order_to_a_missing_entry_ends_at_once_failed_on_the_client) {
    const auto& p = pattern_named(GetParam());
    const auto wf = workflow_named("order");
    constexpr std::size_t n = 3;
    auto o = testing::options(transport::inproc, false);
    o.unlisted = {p.entry(wf)};
    local_deployment d(p, wf, o);
    const auto b = testing::place(d, "happy", n);

    ASSERT_TRUE(d.client().wait_for(b.ids, deadline));
    for (const auto& id : b.ids) {
        const auto out = d.client().outcome(id);
        EXPECT_EQ(out->terminal, "failed");
        EXPECT_EQ(out->detail, "place_order not sent to " + p.entry(wf) + ": unknown service");
        EXPECT_EQ(out->path_messages, 0U);
    }
    const auto c = d.counters("client");
    EXPECT_EQ(c.sent, 0U);
    EXPECT_EQ(c.send_failed_by, (std::map<std::string, std::uint64_t>{{"unknown_service", n}}));
    EXPECT_EQ(d.traffic().sent().messages, 0U); // nothing went anywhere
}

TEST(send_failure_client, a_hook_that_places_again_after_each_failed_order_does_not_recurse) {
    // Each order ends at once, failed, and its hook places the next: tens of thousands of
    // nested calls if an end were told from inside place().
    const auto& p = pattern_named("front_controller");
    const auto wf = workflow_named("order");
    auto o = testing::options(transport::inproc, false);
    o.unlisted = {p.entry(wf)};
    local_deployment d(p, wf, o);
    constexpr std::size_t orders = 50'000;
    d.client().keep_outcomes(false);
    std::atomic<std::size_t> placed{1};
    d.client().on_ended([&](const workflow_outcome&) {
        if (placed.load() < orders) {
            ++placed;
            d.client().place(msg::value{});
        }
    });
    d.client().place(msg::value{});
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (d.client().ended_count() < orders && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(d.client().ended_count(), orders);
    EXPECT_EQ(d.counters("client").send_failed, orders);
}

INSTANTIATE_TEST_SUITE_P(patterns, send_failure, ::testing::ValuesIn(testing::every_pattern()),
                         testing::pattern_name());

TEST(send_failure_log, failures_to_made_up_names_are_logged_up_to_a_cap_and_all_counted) {
    // Names that are not in the topology may come from the wire (a reply_to, say): each is
    // logged once, the first few only; every failure is counted.
    zmq::context_t ctx;
    boost::asio::io_context io;
    ledger book;
    node n(ctx, io, "lonely", book);
    captured_log logged;
    constexpr std::size_t names = 100;
    for (std::size_t i = 0; i < names; ++i) {
        for (int again = 0; again < 2; ++again) {
            const auto sent =
                n.send("made-up-\n" + std::to_string(i), {"wf", 1, 0, msg::status_request{"wf"}});
            EXPECT_EQ(sent.error(), std::error_code(errc::unknown_service));
        }
    }
    EXPECT_EQ(n.counters().send_failed, 2 * names);
    EXPECT_EQ(logged.lines_with("lonely: cannot send to 'made-up-"), 32U);
    EXPECT_EQ(logged.lines_with("made-up-\\x0a0'"), 1U); // escaped, never a line break
    EXPECT_EQ(logged.lines_with("further ones are only counted"), 1U);
}

TEST(send_failure_log, a_stopped_node_refuses_sends_with_an_error) {
    zmq::context_t ctx;
    boost::asio::io_context io;
    ledger book;
    node n(ctx, io, "a", book);
    topology t;
    t.set("b", "inproc://send-failure-stopped-b");
    n.set_topology(t);
    n.start();
    n.stop();
    for (int i = 0; i < 3; ++i) {
        const auto sent = n.send("b", {"wf", 1, 0, msg::status_request{"wf"}});
        EXPECT_EQ(sent.error(), std::error_code(choreo::send_failure::node_stopped));
    }
    EXPECT_EQ(n.counters().send_failed_by,
              (std::map<std::string, std::uint64_t>{{"node_stopped", 3}}));
    EXPECT_EQ(n.counters().sent, 0U);
}

TEST(last_resort, an_exception_escaping_a_handler_is_handed_over_and_the_io_context_runs_on) {
    boost::asio::io_context io;
    std::vector<std::string> escaped;
    int after = 0;
    boost::asio::post(io, [] { throw std::runtime_error("boom"); });
    boost::asio::post(io, [&] { ++after; });
    boost::asio::post(io, [] { throw 42; });
    boost::asio::post(io, [&] { ++after; });
    run_guarded(io, "test", [&](std::string_view what) { escaped.emplace_back(what); });
    EXPECT_EQ(escaped, (std::vector<std::string>{"boom", "unknown exception"}));
    EXPECT_EQ(after, 2);
}

TEST(last_resort, a_program_whose_handler_throws_exits_non_zero) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            boost::asio::io_context io;
            boost::asio::post(io, [] { throw std::runtime_error("boom"); });
            run_guarded(io, "program", exit_on_escape);
        },
        ::testing::ExitedWithCode(escaped_exit_status), "program: an exception escaped a handler");
}

TEST(last_resort, a_client_whose_send_throws_reports_it_and_its_io_thread_goes_on) {
    // The entry's endpoint names no transport zmq knows: connecting throws inside the client's
    // posted work. It must end up in the outcome, the status answer and ask()'s error.
    const auto& p = pattern_named("front_controller");
    const auto wf = workflow_named("order");
    zmq::context_t ctx;
    boost::asio::io_context io;
    ledger book;
    node_options options;
    options.role = node_role::client;
    node net(ctx, io, "client", book, options);
    net.bind("inproc://send-failure-throwing-client");
    topology t;
    t.set("client", "inproc://send-failure-throwing-client", node_role::client);
    t.set(p.entry(wf), "nonsense://nowhere");
    net.set_topology(t);
    client c(net, p, wf, testing::scaled(std::chrono::milliseconds(500)));
    std::atomic<int> escaped{0};
    std::thread thread([&] {
        net.start();
        auto guard = boost::asio::make_work_guard(io);
        run_guarded(io, "client", [&](std::string_view) { ++escaped; });
    });

    const auto id = c.place(msg::value{});
    ASSERT_TRUE(c.wait_for({id}, deadline));
    const auto out = c.outcome(id);
    EXPECT_EQ(out->terminal, "failed");
    EXPECT_EQ(out->detail.rfind("place_order not sent to " + p.entry(wf) + ": ", 0), 0U)
        << out->detail;
    const auto answer = c.status(id);
    EXPECT_TRUE(answer.asked.empty());
    ASSERT_EQ(answer.errors.size(), 1U);
    EXPECT_EQ(answer.errors.front().rfind(p.entry(wf) + ": ", 0), 0U);
    EXPECT_EQ(c.ask(p.entry(wf), msg::inspect_request{0, 0}, deadline).error(),
              std::error_code(choreo::send_failure::socket_error));
    EXPECT_EQ(escaped.load(), 0);

    boost::asio::post(io, [&] {
        net.stop();
        io.stop();
    });
    thread.join();
}

TEST(last_resort, a_deployment_whose_handler_throws_records_it_and_stops_every_node) {
    const auto& p = pattern_named("stateless");
    local_deployment d(p, workflow_named("order"), testing::options(transport::inproc, false));
    d.on_service("payment", [](service_node& s) {
        boost::asio::post(s.net().io(), [] { throw std::runtime_error("boom"); });
        return 0;
    });
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!d.failure() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(d.failure());
    EXPECT_EQ(*d.failure(), "payment: boom");
    // Every node stops: a workflow placed now ends at once, failed, rather than at a deadline.
    const auto b = testing::place(d, "happy", 1);
    ASSERT_TRUE(d.client().wait_for(b.ids, deadline));
    EXPECT_EQ(d.client().outcome(b.ids.front())->terminal, "failed");
    EXPECT_EQ(d.client().outcome(b.ids.front())->detail,
              "place_order not sent to order_placement: node stopped");
}

} // namespace
} // namespace choreo

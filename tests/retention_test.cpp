// Retention of finished workflows: every per-workflow structure keeps the last N finished, under
// every pattern, over real sockets; what a retired workflow's status says; the CLI's option.
#include "patterns/retention.hpp"

#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <thread>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "all_patterns.hpp"
#include "demo/spawn.hpp"
#include "harness.hpp"
#include "patterns/codec.hpp"
#include "patterns/deployment.hpp"
#include "patterns/remote_deployment.hpp"

namespace choreo {
namespace {

using testing::statuses;

// ---- the utility itself -------------------------------------------------------------------------

TEST(retention_map, keeps_what_is_in_progress_and_the_last_n_finished) {
    retention_map<int> m(2, 10);
    for (int i = 1; i <= 5; ++i) {
        m[std::to_string(i)] = i; // all in progress
    }
    EXPECT_EQ(m.size(), 5U);
    m.finish("1", "completed");
    m.finish("2", "rejected");
    m.finish("3", "completed");
    EXPECT_EQ(m.size(), 4U); // "1" retired: the oldest finished beyond 2
    EXPECT_EQ(m.finished_count(), 2U);
    EXPECT_EQ(m.find("1"), nullptr);
    EXPECT_EQ(m.retired("1"), "completed");
    EXPECT_EQ(*m.find("2"), 2);
    EXPECT_FALSE(m.retired("2")); // still held
    EXPECT_FALSE(m.retired("9")); // never seen
    m.finish("2");                // finished again: now the newest
    m.finish("4", "back_ordered");
    EXPECT_EQ(m.find("3"), nullptr);
    EXPECT_EQ(m.retired("3"), "completed");
    EXPECT_NE(m.find("2"), nullptr);
    EXPECT_NE(m.find("5"), nullptr); // in progress stays whatever finishes
}

TEST(retention_map, forgets_the_oldest_retired_ids_beyond_its_memory) {
    retention_map<int> m(1, 3);
    for (int i = 1; i <= 6; ++i) {
        m[std::to_string(i)] = i;
        m.finish(std::to_string(i), "completed");
    }
    EXPECT_EQ(m.size(), 1U);
    EXPECT_FALSE(m.retired("1"));
    EXPECT_FALSE(m.retired("2"));
    for (const auto* id : {"3", "4", "5"}) {
        EXPECT_EQ(m.retired(id), "completed") << id;
    }
}

TEST(retention_map, stays_bounded_when_one_entry_finishes_again_and_again) {
    retention_map<int> m(4, 0);
    m["a"] = 1;
    for (int i = 0; i < 100'000; ++i) {
        m.finish("a");
    }
    EXPECT_EQ(m.size(), 1U);
    EXPECT_LT(m.overhead_bytes(), 64U * 1024U);
}

TEST(ledger, keeps_the_most_recent_records_and_pages_them_by_seq) {
    ledger book(true, 2, 3); // at most 6 records
    for (int i = 0; i < 10; ++i) {
        book.record_sent(
            {0, 0, "a", "b", "workflow_event", "", 10, "wf-" + std::to_string(i), 0, false});
    }
    EXPECT_EQ(book.trace().size(), 6U);
    EXPECT_EQ(book.trace_dropped(), 4U);
    EXPECT_EQ(book.sent().messages, 10U);
    const auto first = book.trace_since(0, 2);
    ASSERT_EQ(first.size(), 2U);
    EXPECT_EQ(first[0].seq, 5U); // the 4 oldest are gone
    const auto rest = book.trace_since(first.back().seq, 100);
    ASSERT_EQ(rest.size(), 4U);
    EXPECT_EQ(rest.back().seq, 10U);
    for (int i = 0; i < 10; ++i) {
        book.finish("wf-" + std::to_string(i));
    }
    EXPECT_EQ(book.workflows_held(), 2U);
    EXPECT_FALSE(book.of_workflow("wf-0"));
    EXPECT_EQ(book.of_workflow("wf-9")->inter_service.messages, 1U);
    EXPECT_EQ(book.sent().messages, 10U); // totals keep counting the retired
}

// ---- every pattern, over real sockets -----------------------------------------------------------

constexpr std::size_t keep = 5;

class retention : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());

    /// Does this pattern have one owner of the workflow state, which answers from its compact
    /// record of a retired workflow?
    bool owned() const { return GetParam() == "front_controller" || GetParam() == "orchestration"; }

    static deployment_options options(std::size_t n) {
        auto o = testing::options(transport::inproc);
        o.node.retain_finished = n;
        return o;
    }

    /// Places `count` workflows of scenario `s` one after another, each waited for.
    static testing::batch one_by_one(local_deployment& d, std::string_view s, std::size_t count) {
        testing::batch all;
        for (std::size_t i = 0; i < count; ++i) {
            auto b = testing::place(d, s, 1, 100 + i);
            EXPECT_TRUE(testing::ended_as_planned(d, b));
            all.ids.push_back(b.ids.front());
            all.plans.push_back(b.plans.front());
        }
        return all;
    }

    static std::size_t state_of(local_deployment& d, const std::string& node) {
        return d.on_service(node, [](service_node& s) { return s.behaviour().state_workflows(); });
    }
};

TEST_P(retention, keeps_exactly_the_last_n_finished_workflows_in_every_structure) {
    local_deployment d(pattern_, testing::workflow_named("order"), options(keep));
    const auto b = one_by_one(d, "happy", keep + 3);
    std::size_t holding = 0;
    for (const auto& n : d.nodes()) {
        const auto held = state_of(d, n);
        // A node keeps workflow state for every workflow or for none (front controller's
        // reporting services, orchestrated services): with retention, N of them.
        EXPECT_TRUE(held == 0 || held == keep) << n << " holds " << held;
        holding += held == keep ? 1 : 0;
    }
    EXPECT_GE(holding, 1U);
    EXPECT_EQ(d.workflows_with_state(), keep);

    // The ledger: per-workflow traffic of the retired ones is gone in every node, the newest
    // kept; the totals still count every workflow (the happy path costs each the same).
    const auto& book = d.traffic();
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_FALSE(book.of_workflow(b.ids[i])) << b.ids[i];
    }
    const auto newest = book.of_workflow(b.ids.back());
    ASSERT_TRUE(newest);
    EXPECT_GT(newest->inter_service.messages, 0U);
    const auto per_workflow = newest->inter_service.messages + newest->client.messages;
    EXPECT_EQ(book.sent().messages, (keep + 3) * per_workflow);
    const auto kept = book.of_workflows(b.ids);
    EXPECT_EQ(kept.inter_service.messages + kept.client.messages, keep * per_workflow);
}

TEST_P(retention, a_retired_workflow_is_answered_as_the_protocol_says) {
    local_deployment d(pattern_, testing::workflow_named("order"), options(keep));
    const auto b = one_by_one(d, "happy", keep + 1);
    const std::vector<std::string> retired_steps{"order_placement:retired", "payment:retired",
                                                 "fulfillment:retired", "email:retired"};

    const auto old = d.client().status(b.ids.front()).status;
    EXPECT_TRUE(old.found);
    EXPECT_EQ(old.state, owned() ? "completed" : "retired");
    EXPECT_EQ(statuses(old.steps), retired_steps);
    EXPECT_TRUE(old.notified.empty());

    const auto young = d.client().status(b.ids.back()).status;
    EXPECT_EQ(young.state, "completed");
    EXPECT_EQ(young.steps.size(), 4U);
    for (const auto& s : young.steps) {
        EXPECT_EQ(s.status, "done") << s.service;
    }
    EXPECT_EQ(d.client().status("never-placed").status.state, "unknown");
}

// Only what finished before the last N is retired: on a mixed run with fewer workflows in
// flight than N, each of the latest (of every scenario, failures included) answers in full.
// (Retention goes by the order workflows finish in, not the order they were placed in: with
// more in flight than N, a failure that ends early can retire before slower workflows placed
// before it.)
TEST_P(retention, the_last_n_finished_of_a_mixed_run_answer_in_full) {
    constexpr std::size_t kept = 100, in_flight = 10;
    local_deployment d(pattern_, testing::workflow_named("order"), options(kept));
    testing::batch all;
    for (std::size_t round = 0; round < 20 * kept / in_flight; ++round) {
        const auto b = testing::place(d, "mixed", in_flight, 11 + round);
        ASSERT_TRUE(testing::ended_as_planned(d, b));
        all.ids.insert(all.ids.end(), b.ids.begin(), b.ids.end());
        all.plans.insert(all.plans.end(), b.plans.begin(), b.plans.end());
    }
    std::set<std::string> scenarios;
    for (std::size_t i = all.ids.size() - kept / 2; i < all.ids.size(); ++i) {
        const auto st = d.client().status(all.ids[i]).status;
        scenarios.insert(all.plans[i].scenario);
        EXPECT_EQ(st.state, all.plans[i].expected_terminal) << all.ids[i];
        for (const auto& r : st.steps) {
            EXPECT_NE(r.status, "retired") << all.ids[i] << " " << r.service;
        }
        for (const auto& r : st.notified) {
            EXPECT_EQ(r.status, "notified") << all.ids[i] << " " << r.service;
        }
    }
    // failures among them, which end sooner than the workflows around them
    EXPECT_TRUE(scenarios.contains("payment_rejected"));
    EXPECT_TRUE(scenarios.contains("back_order"));
}

TEST_P(retention, a_terminal_some_node_still_knows_is_the_state) {
    // N = 2: a completed order, then two rejected ones that only order_placement sees. The
    // owners and order_placement retire the completed one; the other services keep it.
    local_deployment d(pattern_, testing::workflow_named("order"), options(2));
    const auto done = one_by_one(d, "happy", 1);
    one_by_one(d, "rejected", 2);
    const auto st = d.client().status(done.ids.front()).status;
    EXPECT_TRUE(st.found);
    EXPECT_EQ(st.state, "completed");
    std::vector<std::string> expected{"order_placement:retired", "payment:retired",
                                      "fulfillment:retired", "email:retired"};
    if (GetParam() == "stateless") { // order_placement's journal forgot; the others' did not
        expected = {"order_placement:retired", "payment:done:payment_applied",
                    "fulfillment:done:order_fulfilled", "email:done:email_sent"};
    } else if (GetParam() == "stamp_coupling") { // email's stamp carries every step
        expected = {"order_placement:done:order_placed", "payment:done:payment_applied",
                    "fulfillment:done:order_fulfilled", "email:done:email_sent"};
    }
    EXPECT_EQ(statuses(st.steps), expected);
}

TEST_P(retention, a_workflow_retired_beyond_the_memory_of_ids_is_unknown) {
    // N = 1: ten retired ids are remembered; the first of 12 is forgotten.
    local_deployment d(pattern_, testing::workflow_named("order"), options(1));
    const auto b = one_by_one(d, "happy", 12);
    const auto first = d.client().status(b.ids[0]).status;
    EXPECT_FALSE(first.found);
    EXPECT_EQ(first.state, "unknown");
    const auto second = d.client().status(b.ids[1]).status;
    EXPECT_TRUE(second.found);
    EXPECT_EQ(second.state, owned() ? "completed" : "retired");
}

TEST_P(retention, effects_and_totals_do_not_depend_on_retention_and_the_trace_stays_capped) {
    const auto wf = testing::workflow_named("order");
    local_deployment d(pattern_, wf, options(keep));
    const auto b = testing::place(d, "mixed", 100, 7);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    EXPECT_TRUE(testing::effects_as_predicted(d, b));
    EXPECT_LE(d.workflows_with_state(), keep);
    EXPECT_EQ(d.rejected(), 0U);

    // Every node's trace holds at most its cap; the oldest records were dropped.
    const auto cap = keep * wf.sends_per_workflow_bound();
    const auto& book = d.traffic();
    EXPECT_LE(book.trace().size(), (d.nodes().size() + 1) * cap);
    EXPECT_GT(book.trace_dropped(), 0U);
    EXPECT_EQ(book.trace().size() + book.trace_dropped(), book.sent().messages);
    EXPECT_EQ(book.sent(), book.received()); // nothing lost

    // Paging a node's trace with inspect still works: the kept records, in order, ending with
    // the node's last send.
    const auto entry = pattern_.entry(wf);
    const auto sent = d.counters(entry).sent;
    std::vector<std::uint64_t> seqs;
    for (std::uint64_t since = 0;;) {
        const auto page = d.on_service(entry, [&](service_node& s) { return s.inspect(since, 7); });
        for (const auto& e : page.sent) {
            seqs.push_back(e.seq);
            since = e.seq;
        }
        if (!page.more) {
            break;
        }
    }
    ASSERT_FALSE(seqs.empty());
    EXPECT_EQ(seqs.size(), std::min<std::uint64_t>(sent, cap));
    EXPECT_EQ(seqs.back(), sent);
    for (std::size_t i = 1; i < seqs.size(); ++i) {
        EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
    }
}

TEST(retention_of_refusals, made_up_workflow_ids_do_not_grow_the_ledger) {
    // A peer outside the topology sends events the model has no use for, each under an id of
    // its own: each is refused with an error_reply, and the ledger keeps the last N of them.
    local_deployment d(testing::pattern_named("stateless"), testing::workflow_named("order"), [] {
        auto o = testing::options(transport::tcp);
        o.node.retain_finished = keep;
        return o;
    }());
    zmq::context_t context;
    zmq::socket_t intruder(context, zmq::socket_type::dealer);
    intruder.set(zmq::sockopt::routing_id, "intruder");
    intruder.set(zmq::sockopt::linger, 0);
    intruder.connect(*d.where().endpoint_of("payment"));
    constexpr int sent = 20;
    for (int i = 0; i < sent; ++i) {
        const auto f = encode({{static_cast<std::uint64_t>(i + 1), "made-up-" + std::to_string(i),
                                "intruder", 0, 1, 0},
                               msg::workflow_event{"order", "nonsense", 0, "intruder", {}}});
        ASSERT_TRUE(intruder.send(zmq::buffer(f.type), zmq::send_flags::sndmore));
        ASSERT_TRUE(intruder.send(zmq::buffer(f.body), zmq::send_flags::none));
    }
    // Each refused message is also acknowledged (its sender need not send it again), at the end
    // of the batch it came in: how many batches the 20 make depends on timing, so the acks come
    // between the error_replies anywhere. Nothing else comes.
    for (int replies = 0; replies < sent;) {
        zmq::pollitem_t items[] = {{intruder.handle(), 0, ZMQ_POLLIN, 0}};
        ASSERT_EQ(zmq::poll(items, 1, testing::deadline), 1) << "error_reply " << replies;
        std::vector<zmq::message_t> parts;
        ASSERT_TRUE(zmq::recv_multipart(intruder, std::back_inserter(parts)));
        taken_over(parts.front()); // TSan: see patterns/handover.hpp
        const auto type = parts.front().to_string();
        ASSERT_TRUE(type == "error_reply" || type == "ack") << type;
        replies += type == "error_reply" ? 1 : 0;
    }
    EXPECT_EQ(d.counters("payment").rejected, static_cast<std::uint64_t>(sent));
    // The node retires a refused id after its error_reply is on the wire: the last reply can
    // reach this thread first, so the ledger is read until it has caught up (or the deadline).
    const auto held_now = [&] {
        const auto& book = d.traffic();
        std::size_t held = 0;
        for (int i = 0; i < sent; ++i) {
            held += book.of_workflow("made-up-" + std::to_string(i)) ? 1 : 0;
        }
        return held;
    };
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    while (held_now() != keep && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const auto& book = d.traffic();
    EXPECT_FALSE(book.of_workflow("made-up-0"));
    EXPECT_TRUE(book.of_workflow("made-up-" + std::to_string(sent - 1)));
    EXPECT_EQ(held_now(), keep);
}

INSTANTIATE_TEST_SUITE_P(patterns, retention, ::testing::ValuesIn(testing::every_pattern()),
                         testing::pattern_name());

// ---- the programs' option -----------------------------------------------------------------------

const std::string bin_dir = CHOREO_BIN_DIR;

TEST(retain_finished_option, reaches_every_spawned_node) {
    const auto& p = testing::pattern_named("stateless");
    const auto wf = testing::workflow_named("order");
    demo::spawned_services children(bin_dir + "/choreo-node", p, wf, transport::ipc, {"client"}, {},
                                    3);
    auto o = testing::remote();
    o.node.retain_finished = 3;
    remote_deployment d(p, wf, children.where(), o);
    children.share(d.where());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    std::vector<std::string> ids;
    for (std::uint64_t i = 0; i < 5; ++i) {
        const auto b = testing::place(d, "happy", 1, 40 + i);
        ASSERT_TRUE(testing::ended_as_planned(d, b));
        ids.push_back(b.ids.front());
    }
    for (const auto& r : d.inspect_all()) {
        EXPECT_EQ(r.state_workflows, 3U) << r.node; // every service takes part in a happy order
    }
    EXPECT_EQ(d.client().status(ids.front()).status.state, "retired");
    EXPECT_EQ(d.client().status(ids.back()).status.state, "completed");
}

/// Expects each of `programs` (command lines) to refuse `option` with 0, a word or a negative
/// number: status 2, naming the option.
void expect_count_refused(const std::vector<std::string>& programs, const std::string& option) {
    for (const auto& program : programs) {
        for (const auto* value : {"0", "abc", "-3"}) {
            const auto [code, out] =
                testing::run_command(program + " " + option + " " + value + " 2>&1 >/dev/null");
            EXPECT_EQ(code, 2) << program << " " << value;
            EXPECT_NE(out.find(option), std::string::npos) << program << ": " << out;
        }
    }
}

/// Expects `option` in the --help of each of `programs` (binary names).
void expect_in_help(const std::vector<std::string>& programs, const std::string& option) {
    for (const auto& program : programs) {
        const auto [code, out] = testing::run_command(bin_dir + "/" + program + " --help");
        EXPECT_EQ(code, 0) << program;
        EXPECT_NE(out.find(option), std::string::npos) << program;
    }
}

const std::string node_command =
    bin_dir + "/choreo-node --pattern stateless --service payment --topology /nonexistent";

TEST(retain_finished_option, refuses_zero_and_non_numbers_with_status_2) {
    expect_count_refused({node_command, bin_dir + "/choreo-demo", bin_dir + "/choreo-bench"},
                         "--retain-finished");
}

TEST(retain_finished_option, is_listed_in_every_program_s_help) {
    expect_in_help({"choreo-node", "choreo-demo", "choreo-bench"}, "--retain-finished");
}

TEST(retain_early_option, is_read_by_choreo_node_and_choreo_demo_and_refuses_zero_with_status_2) {
    expect_count_refused({node_command, bin_dir + "/choreo-demo"}, "--retain-early");
    expect_in_help({"choreo-node", "choreo-demo"}, "--retain-early");
}

} // namespace
} // namespace choreo

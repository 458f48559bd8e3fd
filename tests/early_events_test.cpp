// Events from outside the chain that come before the step they concern: a domain service keeps
// them apart from the finished workflows it retires, bounded on their own, and never lets one go
// silently; its snapshot carries them.
#include "patterns/domain.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "orchestration/orchestration.hpp"
#include "patterns/deployment.hpp"
#include "patterns/snapshot.hpp"
#include "workflows/ticket/ticket.hpp"

namespace choreo {
namespace {

using namespace std::chrono_literals;

/// Service "b" of `early_workflow()`: every step it runs succeeds.
class passing_service final : public domain_service {
public:
    passing_service() : domain_service("b") {}

private:
    step_result decide(const workflow&, std::uint32_t, const std::string&,
                       const msg::value&) override {
        return {};
    }
    void on_save(snapshot::writer& w) const override { w << std::uint64_t{7}; }
    void on_load(snapshot::reader& r) override {
        std::uint64_t seven = 0;
        r >> seven;
    }
};

/// a -> b (awaits "reported") -> b, and a cancel from outside at any step.
workflow early_workflow() {
    workflow wf;
    wf.name = "early";
    for (const auto& [service, event] :
         {std::pair<std::string, std::string>{"a", "a_done"}, {"b", "b_done"}, {"b", "b_again"}}) {
        step s;
        s.service = service;
        s.event = event;
        wf.steps.push_back(s);
    }
    wf.steps[1].awaits = "reported";
    failure cancel;
    cancel.outcome = "cancel";
    cancel.event = "was_cancelled";
    cancel.terminal = "cancelled";
    wf.interrupts = {cancel};
    return wf;
}

/// Runs step 2 of `n` other workflows at `s`: each finishes there, and is retired in its turn.
void finish_others(domain_service& s, const workflow& wf, int n) {
    for (int i = 0; i < n; ++i) {
        const auto r = s.run(wf, 2, "other-" + std::to_string(i), {});
        ASSERT_EQ(r.status, step_status::done);
    }
}

TEST(early_events, an_interrupt_between_two_steps_of_a_service_outlives_any_number_of_finished) {
    // The workflow reached b (step 1) and comes back to it (step 2): a cancel that came in
    // between fails step 2, however many workflows finished at b meanwhile.
    const auto wf = early_workflow();
    passing_service s;
    s.retain_finished(1);
    EXPECT_FALSE(s.signal(wf, "w", "reported", {}));
    ASSERT_EQ(s.run(wf, 1, "w", {}).status, step_status::done);
    EXPECT_FALSE(s.interrupt(wf, "w", wf.interrupts.front()));
    EXPECT_EQ(s.early_workflows(), 1u);
    finish_others(s, wf, 50);
    const auto r = s.run(wf, 2, "w", {});
    EXPECT_EQ(r.status, step_status::failed);
    EXPECT_EQ(r.outcome, "was_cancelled");
    EXPECT_EQ(s.early_workflows(), 0u) << "used, the marker is one of w's records now";
    EXPECT_EQ(s.early_evicted(), 0u);
    // After the last step of w here, an interrupt is an ordinary record: nothing held early.
    EXPECT_FALSE(s.interrupt(wf, "w2", wf.interrupts.front()));
    EXPECT_EQ(s.early_workflows(), 1u);
    ASSERT_EQ(s.run(wf, 2, "w3", {}).status, step_status::done);
    EXPECT_FALSE(s.interrupt(wf, "w3", wf.interrupts.front()));
    EXPECT_EQ(s.early_workflows(), 1u) << "w2's only";
}

TEST(early_events, an_awaited_event_come_early_outlives_any_number_of_finished_workflows) {
    const auto wf = early_workflow();
    passing_service s;
    s.retain_finished(1);
    EXPECT_FALSE(s.signal(wf, "w", "reported", {}));
    EXPECT_EQ(s.early_workflows(), 1u);
    finish_others(s, wf, 50);
    const auto r = s.run(wf, 1, "w", {});
    EXPECT_EQ(r.status, step_status::done);
    EXPECT_EQ(r.outcome, "b_done");
    EXPECT_EQ(s.early_workflows(), 0u) << "used: the marker is one of the finished records now";
    EXPECT_EQ(s.early_evicted(), 0u);
}

TEST(early_events, a_step_waiting_for_an_outside_event_outlives_finished_workflows) {
    const auto wf = early_workflow();
    passing_service s;
    s.retain_finished(1);
    EXPECT_EQ(s.run(wf, 1, "w", {}).status, step_status::waiting);
    finish_others(s, wf, 50);
    EXPECT_EQ(s.run(wf, 1, "w", {}).status, step_status::waiting) << "a re-drive still waits";
    const auto r = s.signal(wf, "w", "reported", {});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, step_status::done);
    EXPECT_EQ(s.early_workflows(), 0u);
}

TEST(early_events, an_interrupt_come_early_fails_the_step_it_finds_however_many_finished) {
    const auto wf = early_workflow();
    passing_service s;
    s.retain_finished(1);
    EXPECT_FALSE(s.interrupt(wf, "w", wf.interrupts.front()));
    finish_others(s, wf, 50);
    const auto r = s.run(wf, 1, "w", {});
    EXPECT_EQ(r.status, step_status::failed);
    EXPECT_EQ(r.outcome, "was_cancelled");
    EXPECT_EQ(s.early_workflows(), 0u);
    // The interrupt is one of the workflow's records here now: the next step fails as well.
    EXPECT_EQ(s.run(wf, 2, "w", {}).status, step_status::failed);
}

TEST(early_events, an_interrupt_cuts_a_step_that_waited_while_others_finished) {
    const auto wf = early_workflow();
    passing_service s;
    s.retain_finished(1);
    EXPECT_EQ(s.run(wf, 1, "w", {}).status, step_status::waiting);
    finish_others(s, wf, 50);
    const auto r = s.interrupt(wf, "w", wf.interrupts.front());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, step_status::failed);
    EXPECT_EQ(r->outcome, "was_cancelled");
    EXPECT_EQ(s.early_workflows(), 0u);
}

TEST(early_events, the_expert_s_report_serves_every_round_of_the_ticket_until_the_last) {
    const auto wf = testing::workflow_named("ticket");
    auto made = module_of(wf).make_service(wf, "expert_app");
    ASSERT_TRUE(made);
    auto& app = *made.value();
    app.retain_finished(1);
    // No expert completes a network ticket in the west: every round fails, the third escalates.
    const auto details = msg::value::of(ticket::trouble_ticket{"c001", "network", "west"});
    const auto other = msg::value::of(ticket::trouble_ticket{"c002", "printer", "north"});
    EXPECT_FALSE(app.signal(wf, "t", std::string(ticket::expert_reported), details));
    auto churn = [&](int round) {
        for (int i = 0; i < 5; ++i) {
            const auto id = "churn-" + std::to_string(round) + "-" + std::to_string(i);
            static_cast<void>(app.signal(wf, id, std::string(ticket::expert_reported), other));
            static_cast<void>(app.run(wf, 3, id, other));
        }
    };
    for (const std::uint32_t step : {3u, 6u, 9u}) {
        SCOPED_TRACE(step);
        churn(static_cast<int>(step));
        const auto held = app.early_workflows();
        const auto r = app.run(wf, step, "t", details);
        EXPECT_EQ(r.status, step_status::failed);
        EXPECT_EQ(r.outcome, "expert_unavailable");
        // Kept for the rounds to come; used once no later round awaits it.
        EXPECT_EQ(app.early_workflows(), step == 9 ? held - 1 : held);
    }
    EXPECT_EQ(app.early_evicted(), 0u);
}

TEST(early_events, overflowing_the_early_events_is_counted_and_logged_not_silent) {
    const auto wf = early_workflow();
    passing_service s;
    s.retain_finished(1);
    s.retain_early(3);
    testing::captured_log log;
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(s.signal(wf, "w" + std::to_string(i), "reported", {}));
    }
    EXPECT_EQ(s.early_workflows(), 3u);
    EXPECT_EQ(s.early_evicted(), 2u);
    EXPECT_EQ(log.lines_with("b: the early events of w0 were evicted unused"), 1u);
    EXPECT_EQ(log.lines_with("b: the early events of w1 were evicted unused"), 1u);
    // What was evicted is lost, as counted: w0's step waits; w4's runs at once.
    EXPECT_EQ(s.run(wf, 1, "w0", {}).status, step_status::waiting);
    EXPECT_EQ(s.run(wf, 1, "w4", {}).status, step_status::done);
    EXPECT_EQ(s.early_evicted(), 3u) << "w0's waiting step took the place of w2's report";
    // A smaller capacity evicts at once, and says so.
    s.retain_early(1);
    EXPECT_EQ(s.early_workflows(), 1u);
    EXPECT_EQ(s.early_evicted(), 4u);
    EXPECT_EQ(log.lines_with("were evicted unused"), 4u);
}

TEST(early_events, a_snapshot_carries_them_and_one_written_before_they_were_kept_loads) {
    const auto wf = early_workflow();
    passing_service s;
    s.retain_finished(1);
    s.retain_early(2);
    for (int i = 0; i < 3; ++i) {
        static_cast<void>(s.signal(wf, "w" + std::to_string(i), "reported", {}));
    }
    static_cast<void>(s.interrupt(wf, "cut", wf.interrupts.front()));
    finish_others(s, wf, 3);
    snapshot::writer w;
    s.save(w);

    passing_service loaded;
    loaded.retain_finished(1);
    loaded.retain_early(2);
    snapshot::reader r(w.bytes());
    loaded.load(r);
    snapshot::writer again;
    loaded.save(again);
    EXPECT_EQ(again.bytes(), w.bytes());
    EXPECT_EQ(loaded.early_workflows(), 2u);
    EXPECT_EQ(loaded.early_evicted(), s.early_evicted());
    EXPECT_EQ(loaded.early_evicted(), 2u) << "w0's and w1's reports";
    EXPECT_EQ(loaded.run(wf, 1, "w2", {}).status, step_status::done);
    EXPECT_EQ(loaded.run(wf, 1, "cut", {}).status, step_status::failed);
    EXPECT_EQ(loaded.run(wf, 1, "w0", {}).status, step_status::waiting);
    EXPECT_EQ(loaded.early_evicted(), 2u) << "w2 and cut used theirs: room for w0's waiting step";

    // A snapshot from before: kind, finished records, repeats, the service's own data.
    snapshot::writer old;
    snapshot::write_kind(old, "domain_service:b");
    snapshot::write(old, retention_map<std::vector<msg::step_record>>(1, 0));
    old << std::uint64_t{4} << std::uint64_t{7};
    passing_service from_old;
    snapshot::reader old_reader(old.bytes());
    EXPECT_NO_THROW(from_old.load(old_reader));
    EXPECT_EQ(from_old.repeats(), 4u);
    EXPECT_EQ(from_old.early_workflows(), 0u);
}

TEST(early_events, an_orchestrator_counts_and_logs_the_early_events_it_evicts) {
    const auto wf = testing::workflow_named("ticket");
    auto o = testing::options(transport::inproc, false);
    o.node.retain_early = 2;
    const auto& p = testing::pattern_named("orchestration");
    local_deployment d(p, wf, o);
    testing::captured_log log;
    const auto details = msg::value::of(ticket::trouble_ticket{"c001", "network", "west"});
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(d.client().send_outside("never-placed-" + std::to_string(i),
                                             std::string(ticket::expert_reported), details));
    }
    const auto owner = orchestration::orchestrator_of(wf);
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    std::uint64_t evicted = 0;
    while (evicted < 3 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(5ms);
        evicted = d.on_service(owner, [](service_node& s) { return s.early_evicted(); });
    }
    EXPECT_EQ(evicted, 3u);
    EXPECT_EQ(log.lines_with("were evicted unused"), 3u);
    // An operator sees the count in the node's inspect_reply, over the wire.
    const auto asked = d.client().ask(owner, msg::inspect_request{0, 0}, testing::deadline);
    ASSERT_TRUE(asked);
    const auto* reply = msg::get_if<msg::inspect_reply>(&asked.value().payload);
    ASSERT_NE(reply, nullptr);
    EXPECT_EQ(reply->early_evicted, 3u);
}

} // namespace
} // namespace choreo

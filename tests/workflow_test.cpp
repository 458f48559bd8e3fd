// The workflow models (order, chain:N, chain:N:K), the workflow registry, status assembly from
// step records, the modules' seeded workloads and their domain services, all driven directly,
// without a network.
#include "patterns/workflow.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "patterns/domain.hpp"
#include "patterns/errors.hpp"
#include "patterns/workflow_module.hpp"
#include "registry/builtin.hpp"
#include "workflows/chain/chain.hpp"
#include "workflows/order/order.hpp"

namespace choreo::msg {
// Readable failure messages; internal linkage, so no other test file can clash with it.
static void PrintTo(const step_record& r, std::ostream* os) {
    *os << "{" << r.service << ", step " << r.step << ", " << r.status << ", '" << r.outcome
        << "', '" << r.detail << "', " << r.at_ns << "}";
}
} // namespace choreo::msg

namespace choreo {
namespace {

const std::vector<std::string> order_services{"order_placement", "payment", "fulfillment", "email"};

/// Returns: the built-in workflow called `name`. Throws: std::invalid_argument if none.
workflow find_workflow(std::string_view name) {
    auto wf = builtin_workflows().find(name);
    if (!wf) {
        throw std::invalid_argument("no workflow " + std::string(name));
    }
    return std::move(wf).value();
}

// ---- the order workflow ------------------------------------------------------------------------

TEST(order_workflow, has_four_steps_each_run_by_its_service_announcing_its_event) {
    const auto wf = order::model();
    EXPECT_EQ(wf.name, "order");
    ASSERT_EQ(wf.steps.size(), 4U);
    const std::vector<std::string> events{"order_placed", "payment_applied", "order_fulfilled",
                                          "email_sent"};
    for (std::size_t i = 0; i < wf.steps.size(); ++i) {
        EXPECT_EQ(wf.steps[i].service, order_services[i]) << "step " << i;
        EXPECT_EQ(wf.steps[i].event, events[i]) << "step " << i;
    }
}

TEST(order_workflow, each_step_but_the_last_can_fail_in_exactly_one_way) {
    const auto wf = order::model();
    ASSERT_EQ(wf.steps.size(), 4U);
    ASSERT_EQ(wf.steps[0].failures.size(), 1U);
    ASSERT_EQ(wf.steps[1].failures.size(), 1U);
    ASSERT_EQ(wf.steps[2].failures.size(), 1U);
    EXPECT_TRUE(wf.steps[3].failures.empty());

    const auto& invalid = wf.steps[0].failures[0];
    EXPECT_EQ(invalid.outcome, "invalid_order");
    EXPECT_EQ(invalid.event, "order_rejected");
    EXPECT_EQ(invalid.terminal, "rejected");
    EXPECT_TRUE(invalid.notify.empty());

    const auto& declined = wf.steps[1].failures[0];
    EXPECT_EQ(declined.outcome, "card_declined");
    EXPECT_EQ(declined.event, "payment_declined");
    EXPECT_EQ(declined.terminal, "payment_rejected");
    EXPECT_EQ(declined.notify, std::vector<std::string>{"email"});

    const auto& back_order = wf.steps[2].failures[0];
    EXPECT_EQ(back_order.outcome, "out_of_stock");
    EXPECT_EQ(back_order.event, "order_back_ordered");
    EXPECT_EQ(back_order.terminal, "back_ordered");
    EXPECT_EQ(back_order.notify, std::vector<std::string>{"email"});
}

TEST(order_workflow, ends_in_one_of_four_terminals_completed_first) {
    EXPECT_EQ(
        order::model().terminals(),
        (std::vector<std::string>{"completed", "rejected", "payment_rejected", "back_ordered"}));
}

TEST(order_workflow, lists_its_services_in_step_order_without_repeats) {
    EXPECT_EQ(order::model().services(), order_services);
}

TEST(order_workflow, finds_a_failure_by_step_and_event_only) {
    const auto wf = order::model();
    const auto* f = wf.find_failure(1, "payment_declined");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->terminal, "payment_rejected");
    EXPECT_EQ(wf.find_failure(2, "payment_declined"), nullptr);
    EXPECT_EQ(wf.find_failure(1, "card_declined"), nullptr); // an outcome, not an event
    EXPECT_EQ(wf.find_failure(3, "email_sent"), nullptr);
    EXPECT_EQ(wf.find_failure(4, "payment_declined"), nullptr);
}

TEST(order_workflow, has_a_critical_path_of_three_hops) {
    EXPECT_EQ(order::model().critical_path_hops(), 3U);
}

TEST(order_workflow, the_registered_order_is_the_model_run_by_the_order_module) {
    const auto wf = find_workflow("order");
    const auto model = order::model();
    EXPECT_EQ(wf.name, model.name);
    EXPECT_EQ(wf.services(), model.services());
    EXPECT_EQ(wf.terminals(), model.terminals());
    ASSERT_EQ(wf.steps.size(), model.steps.size());
    for (std::size_t i = 0; i < wf.steps.size(); ++i) {
        EXPECT_EQ(wf.steps[i].event, model.steps[i].event) << i;
        EXPECT_EQ(wf.steps[i].failures.size(), model.steps[i].failures.size()) << i;
    }
    EXPECT_EQ(model.module, nullptr); // built by hand: it can be inspected, not run
    ASSERT_NE(wf.module, nullptr);
    EXPECT_EQ(wf.module, builtin_workflows().module("order"));
    EXPECT_EQ(module_of(wf).name(), "order");
}

TEST(workflow_model, lists_notified_services_after_the_steps) {
    workflow wf{"custom",
                {{"a", "a_done", {{"oops", "a_failed", "failed", {"audit", "b", "audit"}}}},
                 {"b", "b_done", {}}}};
    EXPECT_EQ(wf.services(), (std::vector<std::string>{"a", "b", "audit"}));
    EXPECT_EQ(wf.terminals(), (std::vector<std::string>{"completed", "failed"}));
}

TEST(workflow_model, counts_notifications_on_the_critical_path) {
    workflow wf{"custom",
                {{"a", "a_done", {{"oops", "a_failed", "failed", {"x", "y", "z", "w", "v"}}}},
                 {"b", "b_done", {}}}};
    EXPECT_EQ(wf.critical_path_hops(), 5U);
    EXPECT_EQ(workflow{}.critical_path_hops(), 0U);
}

TEST(workflow_model, a_model_built_by_hand_has_no_module_to_run_it) {
    const workflow wf{"custom", {{"a", "a_done", {}}}};
    EXPECT_EQ(wf.module, nullptr);
    EXPECT_THROW(static_cast<void>(module_of(wf)), std::invalid_argument);
}

// ---- chains ------------------------------------------------------------------------------------

TEST(chain_workflow, has_n_pass_through_steps_named_by_their_number) {
    const auto wf = chain::model(8);
    EXPECT_EQ(wf.name, "chain:8");
    ASSERT_EQ(wf.steps.size(), 8U);
    for (std::size_t i = 0; i < 8; ++i) {
        EXPECT_EQ(wf.steps[i].service, "step_" + std::to_string(i + 1));
        EXPECT_EQ(wf.steps[i].event, "step_" + std::to_string(i + 1) + "_done");
        EXPECT_TRUE(wf.steps[i].failures.empty());
    }
    EXPECT_EQ(wf.services().size(), 8U);
    EXPECT_EQ(wf.terminals(), std::vector<std::string>{"completed"});
    EXPECT_EQ(wf.critical_path_hops(), 7U);
    EXPECT_EQ(chain::model(1).critical_path_hops(), 0U);
}

TEST(chain_workflow, with_k_failures_steps_2_to_k_plus_1_can_fail_each_notifying_the_last) {
    for (const std::size_t n : {3U, 4U, 8U, 32U}) {
        for (std::size_t k = 1; k + 2 <= n; ++k) {
            SCOPED_TRACE("chain:" + std::to_string(n) + ":" + std::to_string(k));
            const auto wf = chain::model(n, k);
            EXPECT_EQ(wf.name, "chain:" + std::to_string(n) + ":" + std::to_string(k));
            ASSERT_EQ(wf.steps.size(), n);
            const auto last = "step_" + std::to_string(n);
            for (std::size_t i = 1; i <= n; ++i) {
                const auto& s = wf.steps[i - 1];
                const auto name = "step_" + std::to_string(i);
                EXPECT_EQ(s.service, name);
                EXPECT_EQ(s.event, name + "_done");
                if (i >= 2 && i <= k + 1) {
                    ASSERT_EQ(s.failures.size(), 1U) << name;
                    EXPECT_EQ(s.failures[0].outcome, "fault");
                    EXPECT_EQ(s.failures[0].event, name + "_failed");
                    EXPECT_EQ(s.failures[0].terminal, "step_failed");
                    EXPECT_EQ(s.failures[0].notify, std::vector<std::string>{last});
                    const auto* f =
                        wf.find_failure(static_cast<std::uint32_t>(i - 1), name + "_failed");
                    EXPECT_EQ(f, &s.failures[0]);
                } else {
                    EXPECT_TRUE(s.failures.empty()) << name;
                }
            }
            // The notified service is a step already: no service is added.
            EXPECT_EQ(wf.services().size(), n);
            EXPECT_EQ(wf.terminals(), (std::vector<std::string>{"completed", "step_failed"}));
            // A failure at step i costs i - 1 hops plus one notice: never more than the happy
            // path's n - 1, since i <= k + 1 <= n - 1.
            EXPECT_EQ(wf.critical_path_hops(), n - 1);
        }
    }
}

TEST(chain_workflow, is_found_by_name_with_and_without_failing_steps) {
    for (const std::size_t n : {3U, 8U, 32U}) {
        for (std::size_t k = 1; k + 2 <= n; ++k) {
            const auto name = "chain:" + std::to_string(n) + ":" + std::to_string(k);
            const auto wf = builtin_workflows().find(name);
            ASSERT_TRUE(wf.ok()) << name;
            EXPECT_EQ(wf.value().name, name);
            EXPECT_EQ(wf.value().steps.size(), n);
            EXPECT_EQ(wf.value().terminals().size(), 2U) << name;
            EXPECT_EQ(wf.value().module, builtin_workflows().module("chain"));
        }
    }
}

TEST(chain_workflow, more_failing_steps_than_n_minus_2_are_refused) {
    // The first step cannot fail (it takes the workflow in) and the last is the one told.
    for (const char* name : {"chain:8:7", "chain:8:8", "chain:8:100", "chain:2:1", "chain:1:1",
                             "chain:3:2", "chain:1024:1023"}) {
        EXPECT_EQ(builtin_workflows().find(name).error(), std::error_code(errc::unknown_workflow))
            << name;
    }
    EXPECT_TRUE(builtin_workflows().find("chain:8:6").ok());
    EXPECT_TRUE(builtin_workflows().find("chain:3:1").ok());
    EXPECT_TRUE(builtin_workflows().find("chain:1024:1022").ok());
}

TEST(chain_workflow, zero_failing_steps_is_chain_n_under_the_name_asked_for) {
    // chain:N:0 is the K = 0 member of the Figure 11-14 family: the module accepts it, builds
    // the same N pass-through steps as chain:N, and keeps the name it was asked for, which is
    // the name clients put in place_order.
    for (const std::size_t n : {1U, 2U, 8U}) {
        const auto name = "chain:" + std::to_string(n) + ":0";
        const auto wf = builtin_workflows().find(name);
        ASSERT_TRUE(wf.ok()) << name;
        const auto plain = find_workflow("chain:" + std::to_string(n));
        EXPECT_EQ(wf.value().name, name);
        EXPECT_EQ(wf.value().services(), plain.services());
        EXPECT_EQ(wf.value().terminals(), std::vector<std::string>{"completed"});
        for (const auto& s : wf.value().steps) {
            EXPECT_TRUE(s.failures.empty()) << name << " " << s.service;
        }
        EXPECT_EQ(module_of(wf.value()).scenarios(wf.value()), std::vector<std::string>{"happy"});
    }
}

// ---- the workflow registry ---------------------------------------------------------------------

TEST(workflow_registry, finds_order_and_chains_of_one_to_1024_steps) {
    const auto order = builtin_workflows().find("order");
    ASSERT_TRUE(order.ok());
    EXPECT_EQ(order.value().name, "order");
    EXPECT_EQ(order.value().steps.size(), 4U);
    for (std::size_t n : {1U, 8U, 1024U}) {
        const auto chain = builtin_workflows().find("chain:" + std::to_string(n));
        ASSERT_TRUE(chain.ok()) << n;
        EXPECT_EQ(chain.value().name, "chain:" + std::to_string(n));
        EXPECT_EQ(chain.value().steps.size(), n);
        EXPECT_EQ(module_of(chain.value()).name(), "chain");
    }
    EXPECT_EQ(chain::max_length, 1024U);
}

TEST(workflow_registry, refuses_every_other_name_as_unknown_workflow) {
    for (const char* name : {"chain:0",
                             "chain:1025",
                             "chain:x",
                             "chain:",
                             "foo",
                             "",
                             "Order",
                             "order ",
                             "order:1",
                             "chain:-1",
                             "chain: 8",
                             "chain:8 ",
                             "chain:8x",
                             "chain8",
                             "chain:99999999999999999999999",
                             "chain:8:",
                             "chain:8:x",
                             "chain:8:-1",
                             "chain:8: 1",
                             "chain:8:1 ",
                             "chain:8:1:1",
                             "chain::1",
                             "chain:0:0",
                             "chain:1025:0",
                             "chain:8:99999999999999999999999",
                             "tickets",
                             "ticket:3"}) {
        EXPECT_EQ(builtin_workflows().find(name).error(), std::error_code(errc::unknown_workflow))
            << "'" << name << "'";
    }
}

TEST(workflow_registry, finds_modules_by_family_name_only) {
    const auto* order = builtin_workflows().module("order");
    const auto* chain = builtin_workflows().module("chain");
    ASSERT_NE(order, nullptr);
    ASSERT_NE(chain, nullptr);
    EXPECT_EQ(order->name(), "order");
    EXPECT_EQ(chain->name(), "chain");
    EXPECT_EQ(builtin_workflows().module("chain:8"), nullptr);
    ASSERT_NE(builtin_workflows().module("ticket"), nullptr);
    EXPECT_EQ(builtin_workflows().module("ticket")->name(), "ticket");
    EXPECT_EQ(builtin_workflows().module(""), nullptr);
}

TEST(workflow_registry, usages_say_how_each_module_names_its_workflows) {
    const auto usages = builtin_workflows().usages();
    ASSERT_EQ(usages.size(), 3U); // order, chain, ticket
    EXPECT_EQ(usages[0], builtin_workflows().module("order")->usage());
    EXPECT_EQ(usages[0], "order");
    EXPECT_EQ(usages[1], builtin_workflows().module("chain")->usage());
    EXPECT_NE(usages[1].find("chain:N"), std::string::npos) << usages[1];
    EXPECT_NE(usages[1].find("chain:N:K"), std::string::npos) << usages[1];
    EXPECT_NE(usages[1].find(std::to_string(chain::max_length)), std::string::npos) << usages[1];
    EXPECT_EQ(usages[2], "ticket");
}

TEST(workflow_registry, a_registry_knows_only_the_modules_added_to_it) {
    workflow_registry r;
    EXPECT_EQ(r.find("order").error(), std::error_code(errc::unknown_workflow));
    EXPECT_TRUE(r.usages().empty());
    r.add(order::make_module());
    ASSERT_TRUE(r.find("order").ok());
    EXPECT_EQ(r.find("order").value().module, r.module("order"));
    EXPECT_NE(r.module("order"), builtin_workflows().module("order"));
    EXPECT_EQ(r.find("chain:8").error(), std::error_code(errc::unknown_workflow));
    EXPECT_THROW(r.add(order::make_module()), std::invalid_argument);
    EXPECT_EQ(r.usages(), std::vector<std::string>{"order"});
}

// ---- status from records -----------------------------------------------------------------------

msg::step_record done(std::uint32_t step) {
    const auto wf = order::model();
    return {wf.steps[step].service, step, "done", wf.steps[step].event, "ok", 100 + step};
}

msg::step_record failed(std::uint32_t step, std::string event) {
    return {order_services[step], step, "failed", std::move(event), "no", 200 + step};
}

msg::step_record notified(std::string who, std::uint32_t step, std::string event) {
    return {std::move(who), step, "notified", std::move(event), "told", 300 + step};
}

msg::step_record placeholder(std::uint32_t step, std::string status) {
    return {order_services[step], step, std::move(status), "", "", 0};
}

TEST(status_from_records, with_no_records_the_workflow_is_not_found_and_has_no_steps) {
    const auto st = status_from_records(order::model(), {});
    EXPECT_FALSE(st.found);
    EXPECT_EQ(st.state, "unknown");
    EXPECT_TRUE(st.steps.empty());
    EXPECT_TRUE(st.notified.empty());
}

TEST(status_from_records, a_workflow_half_way_is_in_progress) {
    const auto st = status_from_records(order::model(), {done(0), done(1)});
    EXPECT_TRUE(st.found);
    EXPECT_EQ(st.state, "in_progress");
    EXPECT_EQ(st.steps, (std::vector<msg::step_record>{done(0), done(1), placeholder(2, "pending"),
                                                       placeholder(3, "pending")}));
    EXPECT_TRUE(st.notified.empty());
}

TEST(status_from_records, a_workflow_with_every_step_done_is_completed) {
    const auto st = status_from_records(order::model(), {done(3), done(1), done(0), done(2)});
    EXPECT_TRUE(st.found);
    EXPECT_EQ(st.state, "completed");
    EXPECT_EQ(st.steps, (std::vector<msg::step_record>{done(0), done(1), done(2), done(3)}));
}

TEST(status_from_records, a_declined_payment_ends_the_workflow_only_once_email_was_told) {
    const auto wf = order::model();
    const auto before = status_from_records(wf, {done(0), failed(1, "payment_declined")});
    EXPECT_EQ(before.state, "in_progress");
    EXPECT_EQ(before.steps, (std::vector<msg::step_record>{done(0), failed(1, "payment_declined"),
                                                           placeholder(2, "pending"),
                                                           placeholder(3, "pending")}));
    EXPECT_EQ(before.notified, (std::vector<msg::step_record>{{"email", 1, "pending", "", "", 0}}));

    const auto after = status_from_records(
        wf, {done(0), failed(1, "payment_declined"), notified("email", 1, "payment_declined")});
    EXPECT_EQ(after.state, "payment_rejected");
    EXPECT_EQ(after.notified,
              std::vector<msg::step_record>{notified("email", 1, "payment_declined")});
}

TEST(status_from_records, a_notice_for_another_step_does_not_count) {
    const auto st = status_from_records(
        order::model(), {done(0), failed(1, "payment_declined"), notified("email", 2, "x")});
    EXPECT_EQ(st.state, "in_progress");
}

TEST(status_from_records, a_back_order_ends_once_email_was_told) {
    const auto st =
        status_from_records(order::model(), {notified("email", 2, "order_back_ordered"), done(1),
                                             failed(2, "order_back_ordered"), done(0)});
    EXPECT_EQ(st.state, "back_ordered");
    EXPECT_EQ(st.steps[3], placeholder(3, "pending"));
}

TEST(status_from_records, an_invalid_order_is_rejected_at_once) {
    const auto st = status_from_records(order::model(), {failed(0, "order_rejected")});
    EXPECT_TRUE(st.found);
    EXPECT_EQ(st.state, "rejected");
    EXPECT_TRUE(st.notified.empty());
}

TEST(status_from_records, a_silent_service_makes_its_step_and_the_state_unknown) {
    const auto st = status_from_records(order::model(), {done(0), done(1)}, {"fulfillment"});
    EXPECT_TRUE(st.found);
    EXPECT_EQ(st.state, "unknown");
    EXPECT_EQ(st.steps, (std::vector<msg::step_record>{done(0), done(1), placeholder(2, "unknown"),
                                                       placeholder(3, "pending")}));
}

TEST(status_from_records, a_silent_service_past_the_current_step_changes_only_its_own_step) {
    const auto st = status_from_records(order::model(), {done(0)}, {"email"});
    EXPECT_EQ(st.state, "in_progress");
    EXPECT_EQ(st.steps[1], placeholder(1, "pending"));
    EXPECT_EQ(st.steps[3], placeholder(3, "unknown"));
}

TEST(status_from_records, a_silent_notified_service_makes_the_state_unknown) {
    const auto st =
        status_from_records(order::model(), {done(0), failed(1, "payment_declined")}, {"email"});
    EXPECT_EQ(st.state, "unknown");
    EXPECT_EQ(st.notified, (std::vector<msg::step_record>{{"email", 1, "unknown", "", "", 0}}));
}

TEST(status_from_records, with_every_service_silent_nothing_is_found) {
    const std::set<std::string> all(order_services.begin(), order_services.end());
    const auto st = status_from_records(order::model(), {}, all);
    EXPECT_FALSE(st.found);
    EXPECT_EQ(st.state, "unknown");
    EXPECT_TRUE(st.steps.empty());
    EXPECT_TRUE(st.notified.empty());
}

TEST(status_from_records, a_record_of_the_wrong_step_is_ignored) {
    auto misplaced = done(1);
    misplaced.step = 2;
    const auto st = status_from_records(order::model(), {done(0), misplaced});
    EXPECT_EQ(st.state, "in_progress");
    EXPECT_EQ(st.steps[1], placeholder(1, "pending"));
    EXPECT_EQ(st.steps[2], placeholder(2, "pending"));
}

// ---- the order module's workload ---------------------------------------------------------------

/// Returns: the module's seeded workload of scenario `s`. Throws: std::invalid_argument if the
/// module has no such scenario (which fails the test).
std::unique_ptr<workload> workload_of(const workflow& wf, std::string_view s, std::uint64_t seed) {
    auto w = module_of(wf).make_workload(wf, s, seed);
    if (!w) {
        throw std::invalid_argument("no scenario " + std::string(s) + " in " + wf.name);
    }
    return std::move(w).value();
}

order::order order_of(const planned_workflow& p) {
    auto o = decode_value<order::order>(p.details);
    if (!o) {
        throw std::invalid_argument("not an order: " + error_code_name(o.error()));
    }
    return std::move(o).value();
}

void expect_same(const std::vector<planned_workflow>& a, const std::vector<planned_workflow>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].details, b[i].details) << i;
        EXPECT_EQ(a[i].expected_terminal, b[i].expected_terminal) << i;
        EXPECT_EQ(a[i].scenario, b[i].scenario) << i;
    }
}

/// The terminal each single scenario of the order workflow leads to.
const std::map<std::string, std::string> order_terminal{{"happy", "completed"},
                                                        {"payment_rejected", "payment_rejected"},
                                                        {"back_order", "back_ordered"},
                                                        {"rejected", "rejected"}};

/// Checks that a planned order is what its scenario says it is: the order causes the
/// terminal planned for it.
void expect_shaped_by_its_scenario(const planned_workflow& p) {
    const auto& s = p.scenario;
    ASSERT_TRUE(order_terminal.contains(s)) << "scenario '" << s << "'";
    EXPECT_EQ(p.expected_terminal, order_terminal.at(s));
    const auto o = order_of(p);
    ASSERT_FALSE(o.items.empty());
    ASSERT_FALSE(o.customer.empty());
    EXPECT_EQ(o.customer.front(), s == "payment_rejected" ? 'd' : 'c') << s;
    EXPECT_EQ(o.items.back().sku.starts_with("rare-"), s == "back_order") << s;
    EXPECT_EQ(o.items.front().quantity == 0, s == "rejected") << s;
}

TEST(order_scenarios, are_the_four_endings_then_their_mix_last) {
    const auto wf = find_workflow("order");
    const auto& m = module_of(wf);
    EXPECT_EQ(m.scenarios(wf), (std::vector<std::string>{"happy", "payment_rejected", "back_order",
                                                         "rejected", "mixed"}));
    // The demo traces one workflow of each of these: each ends differently.
    const auto traced = m.traced_scenarios(wf);
    EXPECT_EQ(traced, (std::vector<std::string>{"happy", "payment_rejected", "back_order"}));
    std::set<std::string> endings;
    for (const auto& s : traced) {
        endings.insert(workload_of(wf, s, 1)->next().expected_terminal);
    }
    EXPECT_EQ(endings.size(), traced.size());
}

TEST(order_scenarios, an_unknown_scenario_is_refused) {
    const auto wf = find_workflow("order");
    for (const char* s : {"sad", "", "Mixed", "happy ", "failure"}) {
        EXPECT_EQ(module_of(wf).make_workload(wf, s, 42).error(),
                  std::error_code(errc::unknown_workflow))
            << "'" << s << "'";
    }
}

TEST(order_workload, gives_the_same_orders_for_the_same_seed) {
    const auto wf = find_workflow("order");
    for (const auto& s : module_of(wf).scenarios(wf)) {
        SCOPED_TRACE(s);
        expect_same(workload_of(wf, s, 7)->take(200), workload_of(wf, s, 7)->take(200));
    }
}

TEST(order_workload, take_is_the_same_as_calling_next_repeatedly) {
    const auto wf = find_workflow("order");
    auto a = workload_of(wf, "mixed", 9);
    auto b = workload_of(wf, "mixed", 9);
    std::vector<planned_workflow> one_by_one;
    for (int i = 0; i < 100; ++i) {
        one_by_one.push_back(b->next());
    }
    expect_same(a->take(100), one_by_one);
}

TEST(order_workload, gives_different_orders_for_a_different_seed) {
    const auto wf = find_workflow("order");
    const auto a = workload_of(wf, "mixed", 42)->take(100);
    const auto b = workload_of(wf, "mixed", 43)->take(100);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        differ += a[i].details == b[i].details ? 0 : 1;
    }
    EXPECT_GT(differ, 50U);
}

TEST(order_workload, each_scenario_yields_its_terminal_and_the_orders_that_cause_it) {
    const auto wf = find_workflow("order");
    for (const auto& [s, t] : order_terminal) {
        SCOPED_TRACE(s);
        for (const auto& p : workload_of(wf, s, 1)->take(100)) {
            EXPECT_EQ(p.scenario, s);
            EXPECT_EQ(p.expected_terminal, t);
            expect_shaped_by_its_scenario(p);
        }
    }
}

TEST(order_workload, the_mixed_scenario_of_one_seed_is_one_sequence) {
    const auto wf = find_workflow("order");
    const auto a = workload_of(wf, "mixed", 42)->take(1'000);
    expect_same(a, workload_of(wf, "mixed", 42)->take(1'000));
    std::set<std::string> seen;
    for (const auto& p : a) {
        expect_shaped_by_its_scenario(p);
        seen.insert(p.scenario);
    }
    // Every scenario occurs (the rarest, at 5%, is missing from 1000 orders with a
    // probability of 0.95^1000 < 1e-22).
    EXPECT_EQ(seen.size(), order_terminal.size());
}

TEST(order_workload, the_mixed_scenario_mixes_the_scenarios_in_their_promised_shares) {
    // The order module's promise: 55% happy, 20% payment rejected, 20% back order, 5% rejected.
    // A count of n independent draws with share p lies within z standard deviations,
    // z * sqrt(n p (1 - p)), of n p; with z = 5 a correct generator falls outside with a
    // probability below 1e-6 per share, whatever the standard library's distributions do.
    const std::map<std::string, double> share{
        {"happy", 0.55}, {"payment_rejected", 0.20}, {"back_order", 0.20}, {"rejected", 0.05}};
    constexpr double z = 5.0;
    constexpr std::size_t n = 10'000;
    const auto wf = find_workflow("order");
    std::map<std::string, std::size_t> count;
    for (const auto& p : workload_of(wf, "mixed", 42)->take(n)) {
        ++count[p.scenario];
        EXPECT_EQ(p.expected_terminal, order_terminal.at(p.scenario));
    }
    std::size_t total = 0;
    for (const auto& [s, k] : count) {
        ASSERT_TRUE(share.contains(s)) << "scenario '" << s << "'";
        total += k;
    }
    EXPECT_EQ(total, n);
    for (const auto& [s, p] : share) {
        const double expected = static_cast<double>(n) * p;
        const double tolerance = z * std::sqrt(static_cast<double>(n) * p * (1.0 - p));
        EXPECT_NEAR(static_cast<double>(count[s]), expected, tolerance) << s;
    }
}

// ---- the chain module's workload ---------------------------------------------------------------

chain::item item_of(const planned_workflow& p) {
    auto it = decode_value<chain::item>(p.details);
    if (!it) {
        throw std::invalid_argument("not a chain item: " + error_code_name(it.error()));
    }
    return it.value();
}

TEST(chain_workload, every_workflow_of_a_chain_without_failures_completes) {
    const auto wf = find_workflow("chain:8");
    EXPECT_EQ(module_of(wf).scenarios(wf), std::vector<std::string>{"happy"});
    EXPECT_EQ(module_of(wf).traced_scenarios(wf), std::vector<std::string>{"happy"});
    for (const auto& p : workload_of(wf, "happy", 42)->take(200)) {
        EXPECT_EQ(p.expected_terminal, "completed");
        EXPECT_EQ(p.scenario, "happy");
        EXPECT_EQ(item_of(p), chain::item{0});
    }
    // Nothing can fail, so there is nothing to mix.
    for (const char* s : {"mixed", "failure", "sad"}) {
        EXPECT_EQ(module_of(wf).make_workload(wf, s, 42).error(),
                  std::error_code(errc::unknown_workflow))
            << s;
    }
}

TEST(chain_workload, with_failing_steps_fails_at_each_of_them_and_mixes_both_endings) {
    const auto wf = find_workflow("chain:8:3");
    const auto& m = module_of(wf);
    EXPECT_EQ(m.scenarios(wf), (std::vector<std::string>{"happy", "failure", "mixed"}));
    EXPECT_EQ(m.traced_scenarios(wf), (std::vector<std::string>{"happy", "failure"}));
    for (const auto& p : workload_of(wf, "happy", 42)->take(100)) {
        EXPECT_EQ(p.expected_terminal, "completed");
        EXPECT_EQ(item_of(p), chain::item{0});
    }
    std::set<std::uint32_t> failing_at;
    for (const auto& p : workload_of(wf, "failure", 42)->take(300)) {
        EXPECT_EQ(p.expected_terminal, "step_failed");
        EXPECT_EQ(p.scenario, "failure");
        failing_at.insert(item_of(p).fail_at);
    }
    // Steps 2 to K+1, each of them.
    EXPECT_EQ(failing_at, (std::set<std::uint32_t>{2, 3, 4}));

    std::map<std::string, std::size_t> seen;
    for (const auto& p : workload_of(wf, "mixed", 42)->take(300)) {
        ++seen[p.scenario];
        const auto at = item_of(p).fail_at;
        EXPECT_EQ(p.expected_terminal, at == 0 ? "completed" : "step_failed");
        EXPECT_EQ(p.scenario, at == 0 ? "happy" : "failure");
        EXPECT_TRUE(at == 0 || (at >= 2 && at <= 4)) << at;
    }
    EXPECT_EQ(seen.size(), 2U);
    expect_same(workload_of(wf, "mixed", 42)->take(300), workload_of(wf, "mixed", 42)->take(300));
}

// ---- the order domain services -----------------------------------------------------------------

std::unique_ptr<domain_service> service_of(const workflow& wf, std::string_view name) {
    auto s = module_of(wf).make_service(wf, name);
    EXPECT_TRUE(s.ok()) << name;
    return s ? std::move(s).value() : nullptr;
}

domain_effects effects_of(const domain_service& s) {
    domain_effects e;
    s.add_effects(e);
    return e;
}

/// The standard stock as effects: "stock:<sku>" -> units.
domain_effects standard_stock() {
    domain_effects out;
    for (const auto& [sku, p] : order::fixture::standard().catalog) {
        out["stock:" + sku] = p.stock;
    }
    return out;
}

/// A record without its time stamp, which every run takes anew.
msg::step_record timeless(msg::step_record r) {
    r.at_ns = 0;
    return r;
}

const order::order good_order{"c001", {{"sku-001", 2, 749}, {"sku-002", 1, 999}}};

msg::step_record run(domain_service& s, const workflow& wf, std::uint32_t step,
                     const std::string& id, const order::order& o) {
    return s.run(wf, step, id, msg::value::of(o));
}

TEST(domain_services, exist_only_for_the_services_of_the_workflow) {
    const auto wf = find_workflow("order");
    for (const auto& name : order_services) {
        const auto s = module_of(wf).make_service(wf, name);
        ASSERT_TRUE(s.ok()) << name;
        EXPECT_EQ(s.value()->name(), name);
    }
    EXPECT_EQ(module_of(wf).make_service(wf, "shipping").error(),
              std::error_code(errc::unknown_service));
    EXPECT_EQ(module_of(wf).make_service(wf, "step_1").error(),
              std::error_code(errc::unknown_service));
    EXPECT_EQ(module_of(wf).make_service(wf, "order_orchestrator").error(),
              std::error_code(errc::unknown_service));
}

TEST(domain_services, the_order_total_is_price_times_quantity_summed) {
    EXPECT_EQ(order::total_cents(good_order), 2U * 749U + 999U);
    EXPECT_EQ(order::total_cents({}), 0U);
}

TEST(domain_services, order_placement_accepts_a_valid_order) {
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "order_placement");
    const auto r = run(*s, wf, 0, "wf-1", good_order);
    EXPECT_EQ(r.service, "order_placement");
    EXPECT_EQ(r.step, 0U);
    EXPECT_EQ(r.status, "done");
    EXPECT_EQ(r.outcome, "order_placed");
    EXPECT_EQ(r.detail, "accepted 2 line(s)");
    EXPECT_EQ(effects_of(*s), (domain_effects{{"orders_accepted", 1}, {"orders_rejected", 0}}));
}

TEST(domain_services, order_placement_rejects_what_it_cannot_sell) {
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "order_placement");
    const std::vector<std::pair<order::order, std::string>> bad{
        {{"", {{"sku-001", 1, 749}}}, "no customer"},
        {{"c001", {}}, "no items"},
        {{"c001", {{"sku-999", 1, 1}}}, "unknown sku sku-999"},
        {{"c001", {{"sku-001", 0, 749}}}, "quantity 0 of sku-001 out of range"},
        {{"c001", {{"sku-001", 101, 749}}}, "quantity 101 of sku-001 out of range"},
        {{"c001", {{"sku-001", 1, 1}}}, "price of sku-001 is 749 cents, not 1"},
    };
    std::uint32_t n = 0;
    for (const auto& [o, why] : bad) {
        const auto r = run(*s, wf, 0, "wf-bad-" + std::to_string(++n), o);
        EXPECT_EQ(r.status, "failed") << why;
        EXPECT_EQ(r.outcome, "order_rejected") << why;
        EXPECT_EQ(r.detail, why);
    }
    EXPECT_EQ(run(*s, wf, 0, "wf-max", {"c001", {{"sku-001", 100, 749}}}).status, "done");
    EXPECT_EQ(effects_of(*s), (domain_effects{{"orders_accepted", 1}, {"orders_rejected", 6}}));
}

TEST(domain_services, payment_charges_a_good_customer) {
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "payment");
    const auto r = run(*s, wf, 1, "wf-1", good_order);
    EXPECT_EQ(r.status, "done");
    EXPECT_EQ(r.outcome, "payment_applied");
    EXPECT_EQ(r.detail, "charged 2497 cents");
    EXPECT_EQ(effects_of(*s), (domain_effects{{"charged_cents:c001", 2'497}}));
}

TEST(domain_services, payment_declines_a_d_customer_and_an_unknown_one) {
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "payment");
    auto o = good_order;
    o.customer = "d003";
    const auto r = run(*s, wf, 1, "wf-1", o);
    EXPECT_EQ(r.service, "payment");
    EXPECT_EQ(r.step, 1U);
    EXPECT_EQ(r.status, "failed");
    EXPECT_EQ(r.outcome, "payment_declined");
    EXPECT_EQ(r.detail, "card of d003 declined");
    o.customer = "stranger";
    EXPECT_EQ(run(*s, wf, 1, "wf-2", o).outcome, "payment_declined");
    EXPECT_TRUE(effects_of(*s).empty());
}

TEST(domain_services, payment_declines_beyond_the_credit_limit) {
    // The standard data is the only data a module's service starts from: reach c001's limit
    // with two orders of just over half of it each.
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "payment");
    const auto limit = order::fixture::standard().accounts.at("c001").credit_limit_cents;
    const order::order half{"c001", {{"sku-001", 1, limit / 2 + 1}}};
    EXPECT_EQ(run(*s, wf, 1, "wf-1", half).status, "done");
    const auto r = run(*s, wf, 1, "wf-2", half);
    EXPECT_EQ(r.status, "failed");
    EXPECT_EQ(r.outcome, "payment_declined");
    EXPECT_EQ(r.detail, "credit limit of c001 reached");
    EXPECT_EQ(effects_of(*s),
              (domain_effects{{"charged_cents:c001", static_cast<std::int64_t>(limit / 2 + 1)}}));
}

TEST(domain_services, running_the_same_step_twice_changes_nothing) {
    const auto wf = find_workflow("order");
    for (std::uint32_t step = 0; step < order_services.size(); ++step) {
        const auto& name = order_services[step];
        SCOPED_TRACE(name);
        auto s = service_of(wf, name);
        const auto first = run(*s, wf, step, "wf-1", good_order);
        const auto effects = effects_of(*s);
        const auto bytes = s->domain_bytes();
        const auto second = run(*s, wf, step, "wf-1", good_order);
        EXPECT_EQ(timeless(second), timeless(first)); // the same decision, only later
        EXPECT_EQ(effects_of(*s), effects);
        EXPECT_EQ(s->domain_bytes(), bytes); // its domain data did not grow either
    }
}

TEST(domain_services, the_same_step_of_another_workflow_runs_again) {
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "payment");
    run(*s, wf, 1, "wf-1", good_order);
    run(*s, wf, 1, "wf-2", good_order);
    EXPECT_EQ(effects_of(*s), (domain_effects{{"charged_cents:c001", 2 * 2'497}}));
}

TEST(domain_services, fulfillment_ships_from_stock) {
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "fulfillment");
    const auto r = run(*s, wf, 2, "wf-1", good_order);
    EXPECT_EQ(r.status, "done");
    EXPECT_EQ(r.outcome, "order_fulfilled");
    EXPECT_EQ(r.detail, "shipped 3 unit(s)");
    auto expected = standard_stock();
    expected["stock:sku-001"] -= 2;
    expected["stock:sku-002"] -= 1;
    expected["back_orders"] = 0;
    EXPECT_EQ(effects_of(*s), expected);
}

TEST(domain_services, fulfillment_back_orders_a_rare_sku_and_leaves_stock_untouched) {
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "fulfillment");
    auto o = good_order;
    o.items.push_back({"rare-002", 1, 99'999});
    const auto r = run(*s, wf, 2, "wf-1", o);
    EXPECT_EQ(r.status, "failed");
    EXPECT_EQ(r.outcome, "order_back_ordered");
    EXPECT_EQ(r.detail, "rare-002 short of 1");
    auto expected = standard_stock(); // not even the skus that were in stock
    expected["back_orders"] = 1;
    EXPECT_EQ(effects_of(*s), expected);
    run(*s, wf, 2, "wf-1", o);
    EXPECT_EQ(effects_of(*s), expected);
}

TEST(domain_services, email_confirms_a_completed_order) {
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "email");
    const auto r = run(*s, wf, 3, "wf-1", good_order);
    EXPECT_EQ(r.status, "done");
    EXPECT_EQ(r.outcome, "email_sent");
    EXPECT_EQ(r.detail, "sent 'order confirmed' to c001");
    // Emails are counted per customer and subject.
    EXPECT_EQ(effects_of(*s), (domain_effects{{"email:c001:order confirmed", 1}}));
    run(*s, wf, 3, "wf-2", good_order);
    EXPECT_EQ(effects_of(*s), (domain_effects{{"email:c001:order confirmed", 2}}));
}

TEST(domain_services, email_tells_of_each_failure_once) {
    const auto wf = find_workflow("order");
    auto s = service_of(wf, "email");
    const auto& declined = wf.steps[1].failures[0];
    const auto& back_order = wf.steps[2].failures[0];
    const auto details = msg::value::of(good_order);
    const auto r = s->notify(1, declined, "wf-1", details);
    EXPECT_EQ(r.service, "email");
    EXPECT_EQ(r.step, 1U);
    EXPECT_EQ(r.status, "notified");
    EXPECT_EQ(r.outcome, "payment_declined");
    EXPECT_EQ(r.detail, "sent 'payment declined' to c001");
    const auto bytes = s->domain_bytes();
    EXPECT_EQ(timeless(s->notify(1, declined, "wf-1", details)), timeless(r));
    EXPECT_EQ(s->domain_bytes(), bytes);
    EXPECT_EQ(effects_of(*s), (domain_effects{{"email:c001:payment declined", 1}}));
    s->notify(2, back_order, "wf-2", details);
    s->notify(1, declined, "wf-3", details); // another order of the same customer
    EXPECT_EQ(effects_of(*s), (domain_effects{{"email:c001:payment declined", 2},
                                              {"email:c001:order delayed: back order", 1}}));
}

TEST(domain_services, a_business_payload_that_is_not_an_order_fails_the_step_and_changes_nothing) {
    const auto wf = find_workflow("order");
    for (std::uint32_t step = 0; step < order_services.size(); ++step) {
        const auto& name = order_services[step];
        SCOPED_TRACE(name);
        auto s = service_of(wf, name);
        const auto effects = effects_of(*s);
        const auto bytes = s->domain_bytes();
        const auto r = s->run(wf, step, "wf-1", msg::value::of(chain::item{2}));
        EXPECT_EQ(r.service, name);
        EXPECT_EQ(r.status, "failed");
        EXPECT_EQ(r.outcome, "invalid_details");
        EXPECT_EQ(r.detail,
                  "business payload refused: " + std::error_code(errc::missing_field).message());
        EXPECT_EQ(effects_of(*s), effects);
        EXPECT_EQ(s->domain_bytes(), bytes);
        // The same workflow with a real order afterwards is decided on its merits.
        EXPECT_EQ(run(*s, wf, step, "wf-1", good_order).status, "done");
    }
}

TEST(domain_services, a_chain_step_passes_every_workflow_not_marked_to_fail_there) {
    const auto wf = find_workflow("chain:3");
    auto s = service_of(wf, "step_2");
    const auto r = s->run(wf, 1, "wf-1", msg::value::of(chain::item{0}));
    EXPECT_EQ(r, (msg::step_record{"step_2", 1, "done", "step_2_done", "passed", r.at_ns}));
    EXPECT_EQ(effects_of(*s), (domain_effects{{"passed:step_2", 1}}));
    EXPECT_EQ(module_of(wf).make_service(wf, "step_4").error(),
              std::error_code(errc::unknown_service));
}

TEST(domain_services, a_chain_step_that_can_fail_fails_the_workflows_marked_for_it) {
    const auto wf = find_workflow("chain:5:2");
    auto step_3 = service_of(wf, "step_3");
    auto step_5 = service_of(wf, "step_5");
    const auto r = step_3->run(wf, 2, "wf-1", msg::value::of(chain::item{3}));
    EXPECT_EQ(r, (msg::step_record{"step_3", 2, "failed", "step_3_failed", "failed on purpose",
                                   r.at_ns}));
    // Marked for another step: passed on.
    EXPECT_EQ(step_3->run(wf, 2, "wf-2", msg::value::of(chain::item{2})).status, "done");
    const auto* f = wf.find_failure(2, "step_3_failed");
    ASSERT_NE(f, nullptr);
    const auto told = step_5->notify(2, *f, "wf-1", msg::value::of(chain::item{3}));
    EXPECT_EQ(told, (msg::step_record{"step_5", 2, "notified", "step_3_failed",
                                      "told of step_3_failed", told.at_ns}));
    EXPECT_EQ(effects_of(*step_3), (domain_effects{{"failed:step_3", 1}, {"passed:step_3", 1}}));
    EXPECT_EQ(effects_of(*step_5), (domain_effects{{"told:step_5", 1}}));
}

/// Drives one workflow through its model by hand, the way every pattern must.
/// Returns: the terminal state it ended in.
std::string drive(const workflow& wf, std::map<std::string, std::unique_ptr<domain_service>>& by,
                  const std::string& id, const msg::value& details) {
    for (std::uint32_t i = 0; i < wf.steps.size(); ++i) {
        const auto r = by.at(wf.steps[i].service)->run(wf, i, id, details);
        if (r.status == "failed") {
            const auto* f = wf.find_failure(i, r.outcome);
            EXPECT_NE(f, nullptr) << r.outcome;
            if (f == nullptr) {
                return r.outcome;
            }
            for (const auto& who : f->notify) {
                by.at(who)->notify(i, *f, id, details);
            }
            return f->terminal;
        }
    }
    return "completed";
}

class domain_services_driven_by_hand : public ::testing::TestWithParam<std::string> {};

/// "chain:8:3" -> "chain_8_3": GoogleTest names allow no ':'.
std::string workflow_param_name(const ::testing::TestParamInfo<std::string>& p) {
    auto name = p.param;
    std::replace(name.begin(), name.end(), ':', '_');
    return name;
}

INSTANTIATE_TEST_SUITE_P(of_each_module, domain_services_driven_by_hand,
                         ::testing::Values("order", "chain:8", "chain:8:3"), workflow_param_name);

TEST_P(domain_services_driven_by_hand, reach_the_workloads_terminals_and_the_predicted_effects) {
    const auto wf = find_workflow(GetParam());
    const auto& m = module_of(wf);
    std::map<std::string, std::unique_ptr<domain_service>> by;
    for (const auto& name : wf.services()) {
        by[name] = service_of(wf, name);
        ASSERT_NE(by[name], nullptr);
    }
    placed_workflows placed;
    std::set<std::string> terminals;
    for (const auto& p : workload_of(wf, m.scenarios(wf).back(), 42)->take(300)) {
        placed.emplace_back("wf-" + std::to_string(placed.size() + 1), p);
        EXPECT_EQ(drive(wf, by, placed.back().first, p.details), p.expected_terminal)
            << placed.back().first;
        terminals.insert(p.expected_terminal);
    }
    // The mix reaches every terminal of the model.
    EXPECT_EQ(terminals.size(), wf.terminals().size());
    domain_effects actual;
    for (const auto& [name, s] : by) {
        s->add_effects(actual);
    }
    const auto predicted = m.predict(wf, placed);
    EXPECT_EQ(actual, predicted) << ::testing::PrintToString(
        effects_differences(actual, predicted));
}

TEST(domain_effects_differences, name_every_key_that_differs_an_absent_key_reading_zero) {
    const domain_effects got{{"a", 1}, {"b", 2}, {"zero", 0}};
    const domain_effects predicted{{"a", 1}, {"b", 3}, {"c", 4}};
    EXPECT_EQ(effects_differences(got, predicted),
              (std::vector<std::string>{"b: got 2, predicted 3", "c: got 0, predicted 4"}));
    EXPECT_TRUE(effects_differences(got, got).empty());
    EXPECT_TRUE(effects_differences({}, {{"zero", 0}}).empty());
}

} // namespace
} // namespace choreo

// The core is open: a workflow module defined only in the tests (review: submit -> check ->
// publish) runs under every pattern, over every transport, as the built-in ones do.
#include "review_workflow.hpp"

#include <array>
#include <map>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "patterns/deployment.hpp"
#include "traffic_model.hpp"

namespace choreo {
namespace {

using testing::effects_as_predicted;
using testing::ended_as_planned;
using testing::options;
using testing::place;
using testing::statuses;

/// Returns: the review workflow, from the tests' own registry.
workflow review_workflow() {
    return review::test_workflows().find("review").value();
}

class open_core : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow review_ = review_workflow();
};

INSTANTIATE_TEST_SUITE_P(patterns, open_core, ::testing::ValuesIn(testing::every_pattern()),
                         testing::pattern_name{});

TEST_P(open_core, every_review_ends_as_predicted_with_the_predicted_effects) {
    for (auto via : {transport::inproc, transport::ipc, transport::tcp}) {
        SCOPED_TRACE(to_string(via));
        local_deployment d(this->pattern_, this->review_, options(via, false));
        const auto b = place(d, "mixed", 200, 31);
        ASSERT_TRUE(ended_as_planned(d, b));
        EXPECT_TRUE(effects_as_predicted(d, b));
        std::map<std::string, int> ended;
        for (const auto& t : testing::terminals_of(d, b)) {
            ++ended[t];
        }
        EXPECT_EQ(ended.size(), d.flow().terminals().size()) << "the mix ends every way";
        EXPECT_EQ(d.rejected(), 0U);
        EXPECT_EQ(d.book().sent(), d.book().received());
        for (const auto& id : {b.ids.front(), b.ids.back()}) {
            const auto answer = d.client().status(id);
            EXPECT_TRUE(answer.status.found) << id;
            EXPECT_EQ(answer.status.state, d.client().outcome(id)->terminal) << id;
            EXPECT_TRUE(answer.errors.empty()) << id;
        }
    }
}

TEST_P(open_core, a_published_review_shows_every_step_done) {
    local_deployment d(this->pattern_, this->review_, options(transport::inproc));
    const auto b = place(d, "happy", 3);
    ASSERT_TRUE(ended_as_planned(d, b));
    EXPECT_TRUE(effects_as_predicted(d, b));
    for (const auto& id : b.ids) {
        const auto answer = d.client().status(id);
        EXPECT_EQ(answer.status.state, "completed");
        EXPECT_EQ(statuses(answer.status.steps),
                  (std::vector<std::string>{"submit:done:submitted", "check:done:checked",
                                            "publish:done:published"}));
        EXPECT_TRUE(answer.status.notified.empty());
    }
}

TEST_P(open_core, a_refused_review_is_returned_to_its_author_and_the_status_says_so) {
    local_deployment d(this->pattern_, this->review_, options(transport::inproc));
    const auto b = place(d, "rejected", 3);
    ASSERT_TRUE(ended_as_planned(d, b));
    EXPECT_TRUE(effects_as_predicted(d, b));
    const auto effects = d.effects();
    EXPECT_EQ(effects.at("refused"), 3);
    EXPECT_EQ(effects.at("published"), 0);
    for (const auto& id : b.ids) {
        const auto answer = d.client().status(id);
        EXPECT_EQ(answer.status.state, "rejected");
        EXPECT_EQ(
            statuses(answer.status.steps),
            (std::vector<std::string>{"submit:done:submitted", "check:failed:submission_rejected",
                                      "publish:pending"}));
        EXPECT_EQ(statuses(answer.status.notified),
                  std::vector<std::string>{"submit:notified:submission_rejected"});
    }
}

TEST_P(open_core, a_review_caught_mid_flight_shows_where_it_is) {
    local_deployment d(this->pattern_, this->review_, options(transport::inproc));
    d.hold("publish");
    const auto b = place(d, "happy", 1);
    const auto st = testing::await_status(d, b.ids[0], [](const msg::workflow_status& s) {
        return s.steps.size() == 3 && s.steps[1].status == "done";
    });
    EXPECT_EQ(st.state, "in_progress");
    EXPECT_EQ(statuses(st.steps),
              (std::vector<std::string>{"submit:done:submitted", "check:done:checked",
                                        "publish:pending"}));
    d.release("publish");
    ASSERT_TRUE(ended_as_planned(d, b));
    EXPECT_EQ(d.client().status(b.ids[0]).status.state, "completed");
}

TEST_P(open_core, an_unknown_review_is_not_found) {
    local_deployment d(this->pattern_, this->review_, options(transport::inproc));
    const auto answer = d.client().status("no-such-review");
    EXPECT_FALSE(answer.status.found);
    EXPECT_EQ(answer.status.state, "unknown");
    EXPECT_EQ(answer.answered.size(), answer.asked.size());
}

// A failure that notifies the first service: under the front controller the controller tells
// itself, with no message. The traffic is exactly what the model predicts, for every pattern
// the model knows.
TEST(open_core_all, review_traffic_is_as_the_model_says_under_every_pattern) {
    const auto wf = review_workflow();
    for (const auto& name : testing::modelled_patterns()) {
        SCOPED_TRACE(name);
        const auto& p = testing::pattern_named(name);
        local_deployment d(p, wf, options(transport::inproc));
        const auto b = place(d, "mixed", 50, 5);
        ASSERT_TRUE(ended_as_planned(d, b));
        for (std::size_t i = 0; i < b.ids.size(); ++i) {
            const auto want =
                testing::expected_for(p, wf, testing::ending_in(wf, b.plans[i].expected_terminal));
            EXPECT_EQ(testing::inter_service_links(d.book().trace_of(b.ids[i])), want.inter_service)
                << b.ids[i] << " " << b.plans[i].expected_terminal;
            EXPECT_EQ(d.client().outcome(b.ids[i])->path_messages, want.path_messages) << b.ids[i];
        }
    }
}

TEST(open_core_all, every_pattern_ends_the_same_reviews_the_same_way) {
    std::map<std::string, std::vector<std::string>> terminals;
    std::map<std::string, domain_effects> effects;
    for (const auto& p : builtin_patterns().all()) {
        local_deployment d(*p, review_workflow(), options(transport::inproc, false));
        const auto b = place(d, "mixed", 300, 77);
        ASSERT_TRUE(ended_as_planned(d, b));
        terminals[std::string(p->name())] = testing::terminals_of(d, b);
        effects[std::string(p->name())] = d.effects();
        EXPECT_EQ(effects[std::string(p->name())], testing::predicted(d, b)) << p->name();
    }
    ASSERT_EQ(terminals.size(), builtin_patterns().all().size());
    for (const auto& [name, t] : terminals) {
        EXPECT_EQ(t, terminals.begin()->second) << name;
        EXPECT_EQ(effects[name], effects.begin()->second) << name;
    }
}

TEST(open_core_all, the_review_module_lives_in_the_tests_registry_only) {
    EXPECT_FALSE(builtin_workflows().find("review")) << "review must not ship with the kit";
    ASSERT_NE(review::test_workflows().module("review"), nullptr);
    const auto wf = review_workflow();
    EXPECT_EQ(&module_of(wf), review::test_workflows().module("review"));
    EXPECT_EQ(wf.services(), (std::vector<std::string>{"submit", "check", "publish"}));
    EXPECT_EQ(wf.terminals(), (std::vector<std::string>{"completed", "rejected"}));
    EXPECT_FALSE(review::test_workflows().find("review:2"));

    const auto& m = module_of(wf);
    EXPECT_EQ(m.scenarios(wf).back(), "mixed");
    EXPECT_FALSE(m.make_workload(wf, "nope", 1));
    EXPECT_FALSE(m.make_service(wf, "nope"));
    auto gen = m.make_workload(wf, "rejected", 3);
    ASSERT_TRUE(gen);
    const auto plan = gen.value()->next();
    EXPECT_EQ(plan.expected_terminal, "rejected");
    EXPECT_NE(m.describe(plan.details).find("author-"), std::string::npos);
    EXPECT_EQ(m.describe(msg::value::of(42)), "(not a submission)");
    EXPECT_NE(m.describe(m.predict(wf, {})).find("0 checked"), std::string::npos);
}

} // namespace
} // namespace choreo

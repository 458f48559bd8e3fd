// A durable node's snapshot of everything it holds beside the transport: every domain service's
// data and every pattern's workflow state, taken mid-batch from a running deployment, loads into
// freshly built services that answer and decide as the originals would; bytes that are not such
// a snapshot are refused and change nothing.
#include "patterns/snapshot.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "all_patterns.hpp"
#include "harness.hpp"
#include "outside_events.hpp"
#include "patterns/deployment.hpp"
#include "review_workflow.hpp"

namespace choreo {
namespace {

using namespace std::chrono_literals;
using testing::ended_as_planned;

/// Places `n` workflows of scenario `s`, and sends the events from outside the chain their plans
/// name (the ticket's expert reports, and its cancels once the deployment is quiet: with few
/// finished workflows kept, a status query cannot tell under every pattern that a ticket waits).
testing::batch place(local_deployment& d, std::string_view s, std::size_t n, std::uint64_t seed) {
    const auto& wf = d.flow();
    const bool outside =
        !wf.interrupts.empty() || std::any_of(wf.steps.begin(), wf.steps.end(),
                                              [](const step& st) { return !st.awaits.empty(); });
    return outside ? testing::place_then_interrupt_when_quiet(d, s, n, seed)
                   : testing::place(d, s, n, seed);
}

/// What can be seen of one node: its snapshot and what a service built from it must show.
struct node_image {
    std::string domain;    ///< domain_service::save (empty: the node runs none)
    std::string behaviour; ///< service_behaviour::save
    msg::domain_effects effects;
    std::uint64_t repeats = 0;
    std::size_t workflows = 0; ///< service_behaviour::state_workflows
    bool operator==(const node_image&) const = default;
};

using images = std::map<std::string, node_image>;

/// On the node's thread.
node_image image_of(service_node& s) {
    node_image i;
    if (auto* d = s.domain()) {
        snapshot::writer w;
        d->save(w);
        i.domain = w.bytes();
        d->add_effects(i.effects);
        i.repeats = d->repeats();
    }
    snapshot::writer w;
    s.behaviour().save(w);
    i.behaviour = w.bytes();
    i.workflows = s.behaviour().state_workflows();
    return i;
}

images images_of(local_deployment& d) {
    images out;
    for (const auto& n : d.nodes()) {
        out[n] = d.on_service(n, [](service_node& s) { return image_of(s); });
    }
    return out;
}

/// Returns: the images of every node once the deployment is quiet (every message sent was
/// received, and two rounds of images agree): every node's state is then as it stays.
images settled_images(local_deployment& d) {
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    images last;
    while (std::chrono::steady_clock::now() < until) {
        if (d.book().sent() == d.book().received()) {
            auto now = images_of(d);
            if (now == last && d.book().sent() == d.book().received()) {
                return now;
            }
            last = std::move(now);
        }
        std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "the deployment did not settle before the deadline";
    return last;
}

/// On the node's thread. Throws: as the loads do.
void load_into(service_node& s, const node_image& i) {
    if (auto* d = s.domain()) {
        snapshot::reader r(i.domain);
        d->load(r);
    }
    snapshot::reader r(i.behaviour);
    s.behaviour().load(r);
}

/// Returns: success if `load()` throws what a refused snapshot throws.
template <class F>::testing::AssertionResult refused(F load) {
    try {
        load();
    } catch (const msgpack::type_error& e) {
        return ::testing::AssertionSuccess() << e.what();
    } catch (const msgpack::unpack_error& e) {
        return ::testing::AssertionSuccess() << e.what();
    }
    return ::testing::AssertionFailure() << "loaded";
}

workflow workflow_of(const std::string& name) {
    return name == "review" ? review::test_workflows().find("review").value()
                            : testing::workflow_named(name);
}

/// Each workflow module (order, chain, ticket, the tests' own review) under each pattern.
class snapshot_state : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
protected:
    const workflow flow_ = workflow_of(std::get<0>(GetParam()));
    const pattern& pattern_ = testing::pattern_named(std::get<1>(GetParam()));
    /// The workflows wait at the last service: every path of every module reaches it but the
    /// ones that end before.
    const std::string held_ = flow_.steps.back().service;

    /// Few finished workflows kept: the snapshots hold retired ids as well.
    deployment_options options() const {
        auto o = testing::options(transport::inproc, false);
        o.node.retain_finished = 6;
        return o;
    }
};

std::string name_of(const ::testing::TestParamInfo<snapshot_state::ParamType>& info) {
    auto w = std::get<0>(info.param);
    for (auto& c : w) {
        c = c == ':' ? '_' : c;
    }
    return w + "_" + std::get<1>(info.param);
}

INSTANTIATE_TEST_SUITE_P(modules, snapshot_state,
                         ::testing::Combine(::testing::Values("order", "chain:5:2", "review",
                                                              "ticket"),
                                            ::testing::ValuesIn(testing::every_pattern())),
                         name_of);

TEST_P(snapshot_state,
       a_snapshot_taken_mid_batch_loads_into_fresh_services_that_answer_and_decide_as_before) {
    local_deployment d1(pattern_, flow_, options());
    const auto ended = place(d1, "mixed", 24, 7);
    ASSERT_TRUE(ended_as_planned(d1, ended));
    d1.hold(held_);
    const auto flying = place(d1, "mixed", 12, 8);
    const auto saved = settled_images(d1);
    std::size_t in_flight = 0;
    for (const auto& id : flying.ids) {
        in_flight += d1.client().outcome(id) ? 0 : 1;
    }
    ASSERT_GT(in_flight, 0U) << "some workflows are in flight when the snapshot is taken";

    local_deployment d2(pattern_, flow_, options());
    for (const auto& [n, image] : saved) {
        d2.on_service(n, [&, &image = image](service_node& s) { load_into(s, image); });
    }
    // (a) a loaded service saves the bytes it was loaded from; (b) it shows what the original did.
    const auto loaded = images_of(d2);
    for (const auto& [n, image] : saved) {
        SCOPED_TRACE(n);
        const auto& again = loaded.at(n);
        EXPECT_EQ(again.domain, image.domain);
        EXPECT_EQ(again.behaviour, image.behaviour);
        EXPECT_EQ(again.effects, image.effects);
        EXPECT_EQ(again.repeats, image.repeats);
        EXPECT_EQ(again.workflows, image.workflows);
    }
    // Status queries, answered from the loaded state alone, say what the originals say: of the
    // retired, the ended and the ones in flight.
    auto all_ids = ended.ids;
    all_ids.insert(all_ids.end(), flying.ids.begin(), flying.ids.end());
    std::size_t retired = 0;
    for (const auto& id : all_ids) {
        const auto st = d1.client().status(id).status;
        EXPECT_EQ(d2.client().status(id).status, st) << id;
        retired += std::any_of(st.steps.begin(), st.steps.end(),
                               [](const auto& r) { return r.status == step_status::retired; });
    }
    EXPECT_GT(retired, 0U) << "the snapshots hold retired workflows";

    // (c) A step asked again after the load is answered from the record, not decided again.
    // The step asked about is one of the last workflow placed whose record the first service
    // still holds: its first step, unless the first service runs later steps of workflows too
    // (the ticket's closes tickets), whose records may have retired those of the first step.
    // Found by asking, the service put back as it was after each question.
    const auto& first = flow_.steps.front().service;
    const auto held = d2.on_service(first, [&](service_node& s) {
        for (auto i = flying.ids.size(); i-- > 0;) {
            for (auto step = static_cast<std::uint32_t>(flow_.steps.size()); step-- > 0;) {
                if (flow_.steps[step].service != first) {
                    continue;
                }
                snapshot::writer as_it_was;
                s.domain()->save(as_it_was);
                const auto repeats = s.domain()->repeats();
                static_cast<void>(
                    s.domain()->run(flow_, step, flying.ids[i], flying.plans[i].details));
                const bool repeated = s.domain()->repeats() == repeats + 1;
                snapshot::reader r(as_it_was.bytes());
                s.domain()->load(r);
                if (repeated) {
                    return std::make_pair(i, step);
                }
            }
        }
        return std::make_pair(flying.ids.size(), std::uint32_t{0});
    });
    ASSERT_LT(held.first, flying.ids.size())
        << first << " holds the record of a workflow in flight";
    const auto last_id = flying.ids[held.first];
    const auto& last_details = flying.plans[held.first].details;
    const auto held_step = held.second;
    auto ask_again = [&](local_deployment& d) {
        return d.on_service(first, [&](service_node& s) {
            const auto before = image_of(s);
            const auto record = s.domain()->run(flow_, held_step, last_id, last_details);
            const auto after = image_of(s);
            EXPECT_EQ(after.effects, before.effects) << "a repeated step changed the effects";
            EXPECT_EQ(after.repeats, before.repeats + 1);
            return record;
        });
    };
    EXPECT_EQ(ask_again(d2), ask_again(d1));

    // The next step of a workflow in flight is decided by the loaded service as by the original.
    const auto last = static_cast<std::uint32_t>(flow_.steps.size() - 1);
    std::size_t decided = 0;
    for (std::size_t i = 0; i < flying.ids.size(); ++i) {
        const auto st = d1.client().status(flying.ids[i]).status;
        if (st.state != workflow_state::in_progress || st.steps.size() != flow_.steps.size() ||
            st.steps[last].status != step_status::pending ||
            st.steps[last - 1].status != step_status::done) {
            continue;
        }
        auto next = [&](local_deployment& d) {
            return d.on_service(held_, [&](service_node& s) {
                auto r = s.domain()->run(flow_, last, flying.ids[i], flying.plans[i].details);
                r.at_ns = 0;
                // Work held for later (a survey to retry) runs on the original's timer, not yet
                // on the loaded one's: both are run to the end, which no timing changes.
                while (s.domain()->later_work() > 0) {
                    s.domain()->run_later();
                }
                return std::make_pair(r, image_of(s).effects);
            });
        };
        EXPECT_EQ(next(d2), next(d1)) << flying.ids[i];
        ++decided;
    }
    EXPECT_GT(decided, 0U) << "a workflow waits for the held service's step";
    d1.release(held_);
}

/// The same, under the patterns with an owner of the workflow state only: without one, nothing
/// re-drives a step, and the messages in flight are the transport's to keep.
class snapshot_owner : public snapshot_state {};

INSTANTIATE_TEST_SUITE_P(modules, snapshot_owner,
                         ::testing::Combine(::testing::Values("order", "chain:5:2", "review",
                                                              "ticket"),
                                            ::testing::ValuesIn(testing::patterns_with_an_owner())),
                         name_of);

TEST_P(snapshot_owner,
       an_owner_loaded_from_a_snapshot_re_drives_what_waits_and_all_end_as_planned) {
    // Deadlines short enough to wait for, retries enough never to fail: the held workflows are
    // re-driven by the loaded owner once the deadlines saved with them pass.
    auto wf = flow_;
    wf.set_step_deadlines(testing::scaled(500ms));
    wf.retries = 1'000;
    local_deployment d1(pattern_, wf, options());
    auto all = place(d1, "mixed", 24, 7);
    ASSERT_TRUE(ended_as_planned(d1, all));
    d1.hold(held_);
    const auto flying = place(d1, "mixed", 12, 8);
    const auto saved = settled_images(d1);

    local_deployment d2(pattern_, wf, options());
    for (const auto& [n, image] : saved) {
        d2.on_service(n, [&, &image = image](service_node& s) { load_into(s, image); });
    }
    for (std::size_t i = 0; i < flying.ids.size(); ++i) {
        const auto st = testing::await_status(d2, flying.ids[i], [](const msg::workflow_status& s) {
            return s.state != workflow_state::in_progress && s.state != workflow_state::stuck;
        });
        EXPECT_EQ(st.state, flying.plans[i].expected_terminal) << flying.ids[i];
    }
    all.ids.insert(all.ids.end(), flying.ids.begin(), flying.ids.end());
    all.plans.insert(all.plans.end(), flying.plans.begin(), flying.plans.end());
    EXPECT_TRUE(testing::effects_as_predicted(d2, all));
}

TEST_P(snapshot_state, garbage_and_the_snapshot_of_another_node_are_refused_and_change_nothing) {
    local_deployment d1(pattern_, flow_, options());
    const auto b = place(d1, "mixed", 20, 3);
    ASSERT_TRUE(ended_as_planned(d1, b));
    const auto saved = settled_images(d1);

    local_deployment d2(pattern_, flow_, options());
    const std::vector<std::string> garbage{"", "\xc1", std::string("\x2a"), "not a snapshot",
                                           std::string("\x92\xa1x\x01", 4)};
    for (const auto& [n, own] : saved) {
        SCOPED_TRACE(n);
        std::vector<std::string> domain_bytes = garbage, behaviour_bytes = garbage;
        // Cut short by a byte: every part but the last reads, and still nothing changes.
        if (!own.domain.empty()) {
            domain_bytes.push_back(own.domain.substr(0, own.domain.size() - 1));
        }
        behaviour_bytes.push_back(own.behaviour.substr(0, own.behaviour.size() - 1));
        for (const auto& [other, theirs] : saved) {
            if (other != n) {
                if (!theirs.domain.empty()) {
                    domain_bytes.push_back(theirs.domain);
                }
                behaviour_bytes.push_back(theirs.behaviour);
            }
        }
        d2.on_service(n, [&, &n = n](service_node& s) {
            const auto before = image_of(s);
            if (auto* d = s.domain()) {
                for (const auto& bytes : domain_bytes) {
                    snapshot::reader r(bytes);
                    EXPECT_TRUE(refused([&] { d->load(r); })) << n << ": " << bytes.size();
                    EXPECT_EQ(image_of(s), before);
                }
            }
            for (const auto& bytes : behaviour_bytes) {
                snapshot::reader r(bytes);
                EXPECT_TRUE(refused([&] { s.behaviour().load(r); })) << n << ": " << bytes.size();
                EXPECT_EQ(image_of(s), before);
            }
            // ... and its own snapshot loads.
            EXPECT_NO_THROW(load_into(s, saved.at(n)));
            EXPECT_EQ(image_of(s), saved.at(n));
        });
    }
}

} // namespace
} // namespace choreo

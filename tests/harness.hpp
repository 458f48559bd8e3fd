// Shared test helpers: place seeded orders on a deployment and wait for them, with a deadline.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "patterns/deployment.hpp"
#include "registry/builtin.hpp"

namespace choreo::testing {

/// How long a test waits for workflows before failing (never hangs).
inline constexpr auto deadline = std::chrono::seconds(30);

/// Orders placed on a deployment: ids[i] runs plans[i].
struct batch {
    std::vector<std::string> ids;
    std::vector<planned_order> plans;

    /// Returns: (workflow id, plan) pairs, as predict_effects() takes them.
    std::vector<std::pair<std::string, planned_order>> placed() const {
        std::vector<std::pair<std::string, planned_order>> out;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            out.emplace_back(ids[i], plans[i]);
        }
        return out;
    }
};

/// Places `n` orders of scenario `s` from a generator seeded with `seed`.
inline batch place(deployment& d, scenario s, std::size_t n, std::uint64_t seed = 42) {
    order_generator gen(seed, s, d.flow());
    batch b;
    b.plans = gen.take(n);
    for (const auto& p : b.plans) {
        b.ids.push_back(d.client().place(p.order));
    }
    return b;
}

/// Waits for every workflow of `b` and checks each ended in its predicted terminal state.
/// Returns: testing::AssertionSuccess() or a message naming the first difference.
inline ::testing::AssertionResult ended_as_planned(deployment& d, const batch& b) {
    if (!d.client().wait_for(b.ids, deadline)) {
        return ::testing::AssertionFailure() << d.client().ended_count() << " workflow(s) ended, "
                                             << b.ids.size() << " expected, before the deadline";
    }
    for (std::size_t i = 0; i < b.ids.size(); ++i) {
        const auto o = d.client().outcome(b.ids[i]);
        if (o->terminal != b.plans[i].expected_terminal) {
            return ::testing::AssertionFailure() << b.ids[i] << " ended " << o->terminal
                                                 << ", predicted " << b.plans[i].expected_terminal;
        }
    }
    return ::testing::AssertionSuccess();
}

/// Returns: deployment options for a transport, with the ledger's trace kept.
inline deployment_options options(transport t, bool trace = true) {
    deployment_options o;
    o.via = t;
    o.keep_trace = trace;
    return o;
}

/// Returns: the registered pattern called `name` (fails the test if there is none).
inline const pattern& pattern_named(std::string_view name) {
    const auto* p = builtin_patterns().find(name);
    EXPECT_NE(p, nullptr) << "no pattern " << name;
    return *p;
}

} // namespace choreo::testing

namespace choreo::testing {

/// The transport's count of a batch's workflow traffic (status queries excluded).
struct batch_traffic {
    traffic_totals inter_service;
    traffic_totals client;
    double inter_per_workflow(std::size_t n) const {
        return static_cast<double>(inter_service.messages) / static_cast<double>(n);
    }
    double mean_inter_bytes() const {
        return inter_service.messages == 0 ? 0.0
                                           : static_cast<double>(inter_service.bytes) /
                                                 static_cast<double>(inter_service.messages);
    }
};

inline batch_traffic traffic_of(deployment& d, const batch& b) {
    const auto w = d.traffic().of_workflows(b.ids);
    return {w.inter_service, w.client};
}

} // namespace choreo::testing

namespace choreo::testing {

/// Runs a shell command. Returns: its exit status (-1 if it did not exit) and its stdout.
inline std::pair<int, std::string> run_command(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    char buffer[4096];
    while (pipe != nullptr && std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
        output += buffer;
    }
    const int status = pipe != nullptr ? ::pclose(pipe) : -1;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

} // namespace choreo::testing

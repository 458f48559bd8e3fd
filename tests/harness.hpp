// Shared test helpers: place seeded workflows on a deployment and wait for them, with a deadline.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/wait.h>

#include "patterns/deployment.hpp"
#include "patterns/handover.hpp"
#include "patterns/log.hpp"
#include "patterns/remote_deployment.hpp"
#include "patterns/workflow_module.hpp"
#include "registry/builtin.hpp"

namespace choreo::testing {

/// Returns: the factor every deadline of the suite is multiplied by: the environment variable
/// CHOREO_TEST_DEADLINE_SCALE (a positive number, e.g. 3 for a sanitizer build on a slow
/// machine), 1 if it is not set. Throws: std::invalid_argument if it is set to anything else.
inline double deadline_scale() {
    static const double scale = [] {
        const char* text = std::getenv("CHOREO_TEST_DEADLINE_SCALE");
        if (text == nullptr || *text == '\0') {
            return 1.0;
        }
        char* end = nullptr;
        const double v = std::strtod(text, &end);
        if (end == text || *end != '\0' || !std::isfinite(v) || v <= 0.0) {
            throw std::invalid_argument(
                "CHOREO_TEST_DEADLINE_SCALE must be a positive number, not '" + std::string(text) +
                "'");
        }
        return v;
    }();
    return scale;
}

/// Returns: `base` multiplied by deadline_scale(), never less than 1 ms.
inline std::chrono::milliseconds scaled(std::chrono::milliseconds base) {
    const auto ms = std::ceil(static_cast<double>(base.count()) * deadline_scale());
    return std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(ms)));
}

/// How long a test waits for workflows before failing (never hangs): 30 s, scaled.
inline const std::chrono::milliseconds deadline = scaled(std::chrono::seconds(30));

/// Polls `done` every 5 ms until it holds or `deadline` passes.
/// Returns: whether it held (the caller asserts it: a timeout is not hidden).
template <class Done> bool eventually(Done done) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

/// Workflows placed on a deployment: ids[i] runs plans[i].
struct batch {
    std::vector<std::string> ids;
    std::vector<planned_workflow> plans;

    /// Returns: (workflow id, plan) pairs, as workflow_module::predict() takes them.
    placed_workflows placed() const {
        placed_workflows out;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            out.emplace_back(ids[i], plans[i]);
        }
        return out;
    }
};

/// Returns: the built-in workflow called `name` (order, chain:N, chain:N:K); throws if none.
inline workflow workflow_named(std::string_view name) {
    auto wf = builtin_workflows().find(name);
    if (!wf) {
        throw std::invalid_argument("no workflow " + std::string(name));
    }
    return std::move(wf).value();
}

/// Places `n` workflows of scenario `s` from the workflow module's generator seeded with
/// `seed`.
inline batch place(deployment& d, std::string_view s, std::size_t n, std::uint64_t seed = 42) {
    auto gen = module_of(d.flow()).make_workload(d.flow(), s, seed);
    if (!gen) {
        throw std::invalid_argument("no scenario " + std::string(s) + " in " + d.flow().name);
    }
    batch b;
    b.plans = gen.value()->take(n);
    for (const auto& p : b.plans) {
        b.ids.push_back(d.client().place(p.details));
    }
    return b;
}

/// Returns: the domain effects the module predicts for a batch.
inline domain_effects predicted(deployment& d, const batch& b) {
    return module_of(d.flow()).predict(d.flow(), b.placed());
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

/// Returns: deployment options for a transport, with the ledger's trace kept and the status
/// query's timeout scaled.
inline deployment_options options(transport t, bool trace = true) {
    deployment_options o;
    o.via = t;
    o.keep_trace = trace;
    o.query_timeout = scaled(o.query_timeout);
    return o;
}

/// Returns: options for a client of nodes in other processes, its timeouts scaled.
inline remote_options remote() {
    remote_options o;
    o.query_timeout = scaled(o.query_timeout);
    o.inspect_timeout = scaled(o.inspect_timeout);
    return o;
}

/// Returns: the registered pattern called `name`. Throws: std::invalid_argument if there is
/// none, which fails the test that asked.
inline const pattern& pattern_named(std::string_view name) {
    const auto* p = builtin_patterns().find(name);
    if (p == nullptr) {
        throw std::invalid_argument("no pattern " + std::string(name));
    }
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

namespace choreo::testing {

/// A directed link between two nodes: (from, to).
using link = std::pair<std::string, std::string>;

/// Returns: true for a record of workflow traffic between two nodes that are not clients
/// (status queries, operator traffic and the client's own messages left out).
inline bool is_inter_service(const traffic_record& r) {
    return r.query_id == 0 && !r.client;
}

/// Returns: the distinct links of inter-service workflow traffic in `trace`.
inline std::set<link> links_in(const std::vector<traffic_record>& trace) {
    std::set<link> out;
    for (const auto& r : trace) {
        if (is_inter_service(r)) {
            out.insert({r.from, r.to});
        }
    }
    return out;
}

/// Returns: the inter-service workflow messages of `trace` as links, sorted (a multiset).
inline std::vector<link> inter_service_links(const std::vector<traffic_record>& trace) {
    std::vector<link> out;
    for (const auto& r : trace) {
        if (is_inter_service(r)) {
            out.emplace_back(r.from, r.to);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Returns: the workflow messages (inter-service and client, no status queries) of `trace`
/// that `node` sent or received.
inline std::size_t handled_by(const std::vector<traffic_record>& trace, const std::string& node) {
    std::size_t n = 0;
    for (const auto& r : trace) {
        n += r.query_id == 0 && (r.from == node || r.to == node) ? 1 : 0;
    }
    return n;
}

/// Polls a workflow's status until `ready(status)` holds or the deadline passes.
/// Returns: the last status seen (the caller checks it: a timeout is not hidden).
template <class Ready>
msg::workflow_status await_status(deployment& d, const std::string& id, Ready ready) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    auto answer = d.client().status(id);
    while (!ready(answer.status) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        answer = d.client().status(id);
    }
    return answer.status;
}

/// Returns: the steps of a status as "service:status[:outcome]", for readable comparisons.
inline std::vector<std::string> statuses(const std::vector<msg::step_record>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) {
        out.push_back(r.service + ":" + r.status + (r.outcome.empty() ? "" : ":" + r.outcome));
    }
    return out;
}

/// Returns: every workflow of `b` ended in the terminal the client heard, in placing order.
inline std::vector<std::string> terminals_of(deployment& d, const batch& b) {
    std::vector<std::string> out;
    for (const auto& id : b.ids) {
        const auto o = d.client().outcome(id);
        out.push_back(o ? o->terminal : "(not ended)");
    }
    return out;
}

/// Checks that a deployment's domain effects equal the module's prediction for `b`, key for
/// key. Returns: testing::AssertionSuccess() or every key on which they differ.
inline ::testing::AssertionResult effects_as_predicted(deployment& d, const batch& b) {
    const auto got = d.effects();
    const auto want = predicted(d, b);
    if (got == want) {
        return ::testing::AssertionSuccess();
    }
    auto failure = ::testing::AssertionFailure();
    failure << "domain effects differ from the prediction:";
    for (const auto& line : effects_differences(got, want)) {
        failure << "\n  " << line;
    }
    failure << "\n  (" << got.size() << " keys, " << want.size() << " predicted)";
    return failure;
}

} // namespace choreo::testing

namespace choreo::testing {

/// Copies every line the choreo logger writes while it lives.
class captured_log {
public:
    captured_log() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
        sink_->set_pattern("%v");
        choreo::log().sinks().push_back(sink_);
    }
    ~captured_log() { std::erase(choreo::log().sinks(), sink_); }
    captured_log(const captured_log&) = delete;
    captured_log& operator=(const captured_log&) = delete;

    /// Returns: how many lines contain `part`.
    std::size_t lines_with(const std::string& part) {
        choreo::log().flush();
        std::istringstream in(text_.str());
        std::size_t n = 0;
        for (std::string line; std::getline(in, line);) {
            n += line.find(part) != std::string::npos ? 1 : 0;
        }
        return n;
    }

private:
    std::ostringstream text_;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

} // namespace choreo::testing

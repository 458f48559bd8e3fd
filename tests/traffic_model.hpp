// What each pattern must send for one workflow, derived from the workflow model alone: the
// expected figures of the claims tests, never copied from a run.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patterns/pattern.hpp"
#include "patterns/workflow.hpp"

namespace choreo::testing {

/// The way one workflow goes through its model: the steps it runs, and the failure that ends
/// it after the last of them (the services it names are told, in order), if any.
struct route {
    std::size_t last_step = 0;       ///< index of the last step run
    const failure* failed = nullptr; ///< the failure of that step; nullptr: it completed

    /// Returns: the services told of the failure, in the order they are told.
    std::vector<std::string> told() const {
        return failed != nullptr ? failed->notify : std::vector<std::string>{};
    }
};

/// Returns: the route of a workflow that completes. Requires: wf has steps.
inline route completes(const workflow& wf) {
    return {wf.steps.size() - 1, nullptr};
}

/// Returns: the route of a workflow that fails at step `index` with that step's first failure.
/// Throws: std::out_of_range if the step cannot fail.
inline route fails_at(const workflow& wf, std::size_t index) {
    return {index, &wf.steps.at(index).failures.at(0)};
}

/// Returns: the route of the workflows that end in `terminal`.
/// Throws: std::invalid_argument if no failure, or more than one, ends there.
inline route ending_in(const workflow& wf, std::string_view terminal) {
    if (terminal == workflow_state::completed) {
        return completes(wf);
    }
    std::optional<route> found;
    for (std::size_t i = 0; i < wf.steps.size(); ++i) {
        for (const auto& f : wf.steps[i].failures) {
            if (f.terminal != terminal) {
                continue;
            }
            if (found) {
                throw std::invalid_argument("several failures of " + wf.name + " end in " +
                                            std::string(terminal));
            }
            found = route{i, &f};
        }
    }
    if (!found) {
        throw std::invalid_argument("no failure of " + wf.name + " ends in " +
                                    std::string(terminal));
    }
    return *found;
}

/// Returns: every route of `wf`: completing, then each failure of each step.
inline std::vector<route> every_route(const workflow& wf) {
    std::vector<route> out{completes(wf)};
    for (std::size_t i = 0; i < wf.steps.size(); ++i) {
        for (const auto& f : wf.steps[i].failures) {
            out.push_back({i, &f});
        }
    }
    return out;
}

/// The messages one workflow causes under a pattern, as the model says they must be.
struct expected_traffic {
    std::vector<std::pair<std::string, std::string>> inter_service; ///< (from, to), sorted
    std::vector<std::pair<std::string, std::string>> client;        ///< place_order, workflow_ended
    std::size_t path_messages = 0; ///< from place_order to workflow_ended, both included

    /// Returns: the workflow messages (inter-service and client) `node` sends or receives.
    std::size_t handled_by(const std::string& node) const {
        std::size_t n = 0;
        for (const auto* part : {&inter_service, &client}) {
            for (const auto& [from, to] : *part) {
                n += from == node || to == node ? 1 : 0;
            }
        }
        return n;
    }
    /// Returns: the distinct inter-service links.
    std::set<std::pair<std::string, std::string>> links() const {
        return {inter_service.begin(), inter_service.end()};
    }
};

/// Returns: the names of the patterns this model knows, in the chapter's order.
inline std::vector<std::string> modelled_patterns() {
    return {"front_controller", "stateless", "stamp_coupling", "orchestration"};
}

/// A way through a model with loops and events from outside the chain: the steps run, in the
/// order they run (a loop's failed rounds included), and what the client sent from outside.
struct walk {
    std::vector<std::size_t> run;    ///< indices of the steps run, in order
    const failure* failed = nullptr; ///< the failure that ends it; nullptr: it completed
    /// The failure is an interrupt that came while the last step of `run` waited for the
    /// event from outside the chain it awaits (step::awaits), which never came; or, with
    /// `interrupted_before_placed`, before the workflow was placed (`run` is step 0 alone).
    bool interrupted_waiting = false;
    bool interrupted_before_placed = false;
    /// The interrupt came while step `*held` was commanded but held at its service: that step
    /// runs, and the step after it, the last of `run` (unless `held` is the last step, which
    /// completes the workflow), fails with the interrupt at its service, which heard it first.
    std::optional<std::size_t> held{};
    std::vector<std::string> outside{}; ///< outside events the client sent, each once

    std::vector<std::string> told() const {
        return failed != nullptr ? failed->notify : std::vector<std::string>{};
    }
};

/// Returns: the walk of route `r` (steps 0 to r.last_step, nothing from outside).
inline walk walk_of(const route& r) {
    walk w;
    for (std::size_t i = 0; i <= r.last_step; ++i) {
        w.run.push_back(i);
    }
    w.failed = r.failed;
    return w;
}

/// Returns: the walk of a workflow through `wf` whose step `i` ends with the failure announced
/// by `failing[i]`, if listed, and succeeds otherwise: a failure with rounds left resumes at the
/// next round (step::next and failure::resume), any other ends the workflow. With `interrupt`,
/// the workflow is interrupted while it waits at the first step awaiting an outside event.
/// `outside`: the outside events the client sends.
/// Throws: std::invalid_argument if a listed failure is not one of its step's.
inline walk walk_through(const workflow& wf, const std::map<std::size_t, std::string>& failing,
                         const failure* interrupt = nullptr,
                         std::vector<std::string> outside = {}) {
    walk w;
    w.outside = std::move(outside);
    std::size_t i = 0;
    while (i < wf.steps.size()) {
        w.run.push_back(i);
        if (interrupt != nullptr && !wf.steps[i].awaits.empty()) {
            w.failed = interrupt;
            w.interrupted_waiting = true;
            break;
        }
        const auto f = failing.find(i);
        if (f == failing.end()) {
            i = wf.successor(static_cast<std::uint32_t>(i));
            continue;
        }
        const failure* how = wf.find_failure(static_cast<std::uint32_t>(i), f->second);
        if (how == nullptr) {
            throw std::invalid_argument("step " + std::to_string(i) + " of " + wf.name +
                                        " has no failure " + f->second);
        }
        if (!how->resume) {
            w.failed = how;
            break;
        }
        i = *how->resume;
    }
    return w;
}

/// Returns: the walk of a workflow that took walk `before` (its last step run, none failed) and
/// was interrupted by `interrupt`, sent by the client, while that last step was held at its
/// service: the step runs; the step after it, if any, fails with the interrupt.
inline walk interrupted_while_held(const workflow& wf, walk before, const failure* interrupt) {
    before.held = before.run.back();
    const auto next = wf.successor(static_cast<std::uint32_t>(*before.held));
    if (next < wf.steps.size()) {
        before.run.push_back(next);
        before.failed = interrupt;
    }
    before.outside.push_back(interrupt->outcome);
    return before;
}

/// Returns: what pattern `p` sends for one workflow of `wf` taking walk `w`, placed by
/// `client`. The chain of services the workflow visits is the services of the steps run, then
/// the services told of its failure:
/// - stateless and stamp coupling: each visited service passes an event to the next; the last
///   one ends the workflow;
/// - front controller: the same events, and every visited service but the controller (the
///   first service) reports its progress to the controller, which ends the workflow;
/// - orchestration: the orchestrator (the pattern's entry) sends each visited service a command
///   and hears its reply, then ends the workflow. It commands a step awaiting an outside event
///   only once that event came: a step interrupted while waiting is not visited, nor one the
///   workflow is interrupted at before it is placed. An interrupt that comes while a step is
///   held at its service is passed on to that service (one message more, answered by nothing),
///   and the step after it is failed by the orchestrator itself: not visited.
/// Each outside event goes from the client to the nodes the pattern sends it to.
/// Throws: std::invalid_argument for a pattern this model does not know.
inline expected_traffic expected_for(const pattern& p, const workflow& wf, const walk& w,
                                     const std::string& client = "client") {
    std::vector<std::string> visited;
    for (const auto i : w.run) {
        visited.push_back(wf.steps.at(i).service);
    }
    const std::string entry = p.entry(wf);
    const auto name = p.name();
    const bool failed_unvisited =
        w.interrupted_waiting || w.interrupted_before_placed || (w.held && w.failed != nullptr);
    if (name == "orchestration" && failed_unvisited) {
        visited.pop_back();
    }
    for (const auto& s : w.told()) {
        visited.push_back(s);
    }
    expected_traffic t;
    std::string ender;
    std::size_t end_hop = 0; // the hop count of workflow_ended
    auto events = [&] {
        for (std::size_t k = 0; k + 1 < visited.size(); ++k) {
            t.inter_service.emplace_back(visited[k], visited[k + 1]);
        }
    };
    if (name == "stateless" || name == "stamp_coupling") {
        events();
        ender = visited.back();
        end_hop = visited.size() - 1;
    } else if (name == "front_controller") {
        const auto& controller = wf.steps.front().service;
        events();
        for (std::size_t k = 1; k < visited.size(); ++k) {
            if (visited[k] != controller) {
                t.inter_service.emplace_back(visited[k], controller);
            }
        }
        ender = controller;
        // The last report to arrive comes from the last service visited, one hop after it
        // acted (none if that service is the controller itself).
        end_hop = visited.size() - 1 + (visited.back() != controller ? 1 : 0);
    } else if (name == "orchestration") {
        for (const auto& s : visited) {
            t.inter_service.emplace_back(entry, s);
            t.inter_service.emplace_back(s, entry);
        }
        ender = entry;
        end_hop = t.inter_service.size();
        if (w.held) {
            t.inter_service.emplace_back(entry, wf.steps.at(*w.held).service);
        }
    } else {
        throw std::invalid_argument("the traffic model does not know pattern " + std::string(name));
    }
    std::sort(t.inter_service.begin(), t.inter_service.end());
    t.client = {{client, entry}, {ender, client}};
    for (const auto& e : w.outside) {
        for (const auto& to : p.outside_event_targets(wf, e)) {
            t.client.emplace_back(client, to);
        }
    }
    t.path_messages = end_hop + 2;
    return t;
}

/// Returns: what pattern `p` sends for one workflow of `wf` taking route `r` (see above).
inline expected_traffic expected_for(const pattern& p, const workflow& wf, const route& r,
                                     const std::string& client = "client") {
    return expected_for(p, wf, walk_of(r), client);
}

} // namespace choreo::testing

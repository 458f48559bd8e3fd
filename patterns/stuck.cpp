#include "patterns/stuck.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "patterns/clock.hpp"
#include "patterns/codec.hpp"

namespace choreo {
namespace {

/// Asks every node in `to` and collects the stuck_replies, counting what it cost.
std::vector<msg::stuck_reply> ask_all(client& c, const std::vector<std::string>& to,
                                      const msg::stuck_request& request, const stuck_query& q,
                                      stuck_report& report) {
    std::vector<msg::stuck_reply> replies;
    for (const auto& node : to) {
        // What the client's node sends: an envelope with no workflow, the query's id, the time.
        const message sent{{1, "", c.name(), now_ns(), 0, 1}, request};
        report.bytes += encode(sent).size();
        ++report.messages;
        auto answer = c.ask(node, request, q.timeout);
        if (!answer) {
            report.errors.push_back(node + ": " + answer.error().message());
            if (std::find(report.silent.begin(), report.silent.end(), node) ==
                report.silent.end()) {
                report.silent.push_back(node);
            }
            continue;
        }
        ++report.messages;
        report.bytes += encode(answer.value()).size();
        if (const auto* r = msg::get_if<msg::stuck_reply>(&answer.value().payload)) {
            replies.push_back(*r);
        } else if (const auto* e = msg::get_if<msg::error_reply>(&answer.value().payload)) {
            report.errors.push_back(node + ": " + e->code + ": " + e->reason);
            report.silent.push_back(node);
        }
    }
    return replies;
}

stuck_workflow listed(const msg::stuck_entry& e, std::int64_t now) {
    return {e.workflow_id,    e.state,   e.last, e.last.at_ns != 0 ? now - e.last.at_ns : 0,
            e.stuck_since_ns, e.redrives};
}

} // namespace

stuck_report find_stuck(client& c, const pattern& p, const workflow& wf, const stuck_query& q) {
    stuck_report report;
    report.asked = p.plan_status_query(wf, "").ask;
    const auto older = static_cast<std::int64_t>(q.older_than.count());
    const msg::stuck_request first{older, q.limit, {}};
    const auto replies = ask_all(c, report.asked, first, q, report);
    const auto now = now_ns();
    for (const auto& r : replies) {
        report.truncated = report.truncated || r.more;
        report.owner = report.owner || r.owner;
    }
    if (report.owner) {
        for (const auto& r : replies) {
            for (const auto& e : r.entries) {
                report.workflows.push_back(listed(e, now));
            }
        }
        report.blind_spots = {
            "the owner lists what it holds: a workflow it never heard of (its order lost on the "
            "way in) is not listed",
            "a stuck workflow is re-driven and then failed by the owner; services after a "
            "choreographed step may still act on it after that"};
    } else {
        // Round 2: the latest record of every candidate anywhere, since a later service may
        // have acted on it after the one that listed it.
        std::vector<std::string> candidates;
        for (const auto& r : replies) {
            for (const auto& e : r.entries) {
                if (candidates.size() < q.limit && std::find(candidates.begin(), candidates.end(),
                                                             e.workflow_id) == candidates.end()) {
                    candidates.push_back(e.workflow_id);
                }
            }
        }
        std::map<std::string, msg::stuck_entry> latest;
        // Only the candidates asked about in round 2 are judged: a workflow a service listed
        // beyond the limit was not checked against the others' records.
        auto fold = [&](const std::vector<msg::stuck_reply>& from) {
            for (const auto& r : from) {
                for (const auto& e : r.entries) {
                    if (std::find(candidates.begin(), candidates.end(), e.workflow_id) ==
                        candidates.end()) {
                        report.truncated = true; // listed, but left unchecked
                        continue;
                    }
                    auto [it, fresh] = latest.try_emplace(e.workflow_id, e);
                    if (!fresh && (e.last.at_ns > it->second.last.at_ns ||
                                   (it->second.state == workflow_state::in_progress &&
                                    e.state != workflow_state::in_progress))) {
                        it->second = e; // later, or one that says the workflow ended
                    }
                }
            }
        };
        fold(replies);
        if (!candidates.empty()) {
            fold(ask_all(c, report.asked, {older, q.limit, candidates}, q, report));
        }
        const auto later = now_ns();
        for (const auto& [id, e] : latest) {
            if (e.state == workflow_state::in_progress && later - e.last.at_ns >= older) {
                report.workflows.push_back(listed(e, later));
            }
        }
        report.blind_spots = {
            "no service owns the workflow: a workflow is only seen through the last record a "
            "service kept; one whose first step never acted (its order lost on the way in) is "
            "invisible",
            fmt::format("each service lists at most {} candidates, newest first; older ones are "
                        "not looked at{}",
                        q.limit,
                        report.truncated ? " (some service had more: more may be stuck)" : ""),
            "no progress is not proof of a fault: a slow step looks the same, and nobody "
            "re-drives or fails the workflow"};
        if (!report.silent.empty()) {
            report.blind_spots.push_back(
                "services that did not answer: their records are missing, so a workflow they "
                "moved on may show as stuck before them, and one stuck after them is not seen");
        }
    }
    std::sort(report.workflows.begin(), report.workflows.end(),
              [](const stuck_workflow& a, const stuck_workflow& b) {
                  return a.age_ns != b.age_ns ? a.age_ns > b.age_ns : a.workflow_id < b.workflow_id;
              });
    return report;
}

} // namespace choreo

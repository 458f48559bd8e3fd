#include "demo/claims.hpp"

#include <algorithm>
#include <functional>
#include <numeric>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace choreo::demo {
namespace {

const tour* find(const std::vector<tour>& tours, std::string_view name) {
    for (const auto& t : tours) {
        if (t.pattern == name) {
            return &t;
        }
    }
    return nullptr;
}

/// Patterns whose services talk to each other: they add no node of their own.
std::vector<const tour*> choreographed(const std::vector<tour>& tours) {
    std::vector<const tour*> out;
    for (const auto& t : tours) {
        if (t.extra_nodes.empty()) {
            out.push_back(&t);
        }
    }
    return out;
}

const scenario_cost* cost_of(const tour& t, std::string_view scenario) {
    for (const auto& c : t.costs) {
        if (c.scenario == scenario) {
            return &c;
        }
    }
    return nullptr;
}

const probe* probe_of(const claim_measurements& m, std::string_view pattern,
                      const std::string& workflow) {
    for (const auto& p : m.probes) {
        if (p.pattern == pattern && p.workflow == workflow) {
            return &p;
        }
    }
    return nullptr;
}

std::string chain_name(std::size_t n) {
    return fmt::format("chain:{}", n);
}

std::string branching_name(std::size_t k) {
    return k == 0 ? chain_name(branching_length) : fmt::format("chain:{}:{}", branching_length, k);
}

double mean(const std::vector<double>& v) {
    return v.empty() ? 0.0
                     : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

std::string link_name(const link& l) {
    return l.first + "->" + l.second;
}

std::string names(const std::vector<std::string>& v) {
    return v.empty() ? std::string("nobody") : fmt::format("{}", fmt::join(v, ", "));
}

bool is_extra(const std::vector<std::string>& extra, const std::string& node) {
    return std::find(extra.begin(), extra.end(), node) != extra.end();
}

/// The node with the most messages handled (ties: the first by name), and that count.
template <class Count>
std::pair<std::string, Count> busiest(const std::map<std::string, Count>& handled) {
    std::pair<std::string, Count> top{"nobody", Count{}};
    for (const auto& [node, n] : handled) {
        if (n > top.second) {
            top = {node, n};
        }
    }
    return top;
}

// ---- Tables 11-2 to 11-4 and Figure 11-10: the choreography patterns ------------------------

void front_controller_query(const std::vector<tour>& tours, std::vector<claim_verdict>& out) {
    const tour* fc = find(tours, "front_controller");
    if (fc == nullptr) {
        return;
    }
    claim_verdict v{"Front controller makes querying state trivial", "Table 11-2", "", true};
    std::set<std::string> asked;
    for (const auto& c : fc->costs) {
        v.held = v.held && c.query_messages == 2 && c.query_services == 1;
    }
    for (const auto& s : fc->shots) {
        v.held = v.held && s.answer.cost.messages == 2 && s.answer.asked.size() == 1;
        asked.insert(s.answer.asked.begin(), s.answer.asked.end());
    }
    const auto& c = fc->costs.back();
    v.evidence = fmt::format("every status query ({} in all): {} messages, {} B, {} node asked "
                             "({})",
                             fc->costs.size() + fc->shots.size(), c.query_messages, c.query_bytes,
                             c.query_services, fmt::join(asked, ", "));
    out.push_back(v);
}

void front_controller_overhead(const std::vector<tour>& tours, std::vector<claim_verdict>& out) {
    const tour* fc = find(tours, "front_controller");
    const tour* sl = find(tours, "stateless");
    if (fc == nullptr || sl == nullptr) {
        return;
    }
    claim_verdict v{"Front controller increases communication overhead", "Table 11-2", "", true};
    std::vector<std::string> parts;
    for (const auto& c : fc->costs) {
        const auto* other = cost_of(*sl, c.scenario);
        if (other == nullptr || (c.inter_messages == 0 && other->inter_messages == 0)) {
            continue; // e.g. rejected at the door: no inter-service message under any pattern
        }
        v.held = v.held && c.inter_messages > other->inter_messages;
        parts.push_back(fmt::format("{} {:.1f} vs {:.1f}", c.scenario, c.inter_messages,
                                    other->inter_messages));
    }
    if (parts.empty()) {
        return; // a one-step workflow: nothing travels between services to compare
    }
    v.evidence = fmt::format("inter-service messages per workflow, front controller vs "
                             "stateless: {}",
                             fmt::join(parts, "; "));
    out.push_back(v);
}

void stateless_query(const std::vector<tour>& tours, std::vector<claim_verdict>& out) {
    const tour* sl = find(tours, "stateless");
    if (sl == nullptr) {
        return;
    }
    claim_verdict v{"Stateless choreography builds the state on the fly, from every service",
                    "Table 11-3", "", true};
    std::vector<std::string> parts;
    for (const auto& s : sl->shots) {
        v.held = v.held && s.answer.asked.size() == sl->services.size() &&
                 s.answer.answered.size() == s.answer.asked.size();
        parts.push_back(fmt::format("{}: asked {} of {} services, {} answered, {} messages, {} B",
                                    s.moment, s.answer.asked.size(), sl->services.size(),
                                    s.answer.answered.size(), s.answer.cost.messages,
                                    s.answer.cost.bytes));
    }
    for (const auto& c : sl->costs) {
        v.held = v.held && c.query_services == sl->services.size();
    }
    v.evidence = fmt::format("{}", fmt::join(parts, "; "));
    out.push_back(v);
}

void stamp_size(const std::vector<tour>& tours, const claim_measurements& m,
                std::vector<claim_verdict>& out) {
    const tour* st = find(tours, "stamp_coupling");
    const tour* sl = find(tours, "stateless");
    if (st == nullptr || sl == nullptr) {
        return;
    }
    claim_verdict v{"Stamp coupling makes contracts larger", "Table 11-4", "", true};
    std::vector<std::string> parts;
    for (const auto& c : st->costs) {
        const auto* other = cost_of(*sl, c.scenario);
        if (other == nullptr || c.inter_messages == 0) {
            continue;
        }
        v.held = v.held && c.mean_message_bytes > other->mean_message_bytes;
        parts.push_back(fmt::format("{} {:.0f} B vs {:.0f} B", c.scenario, c.mean_message_bytes,
                                    other->mean_message_bytes));
    }
    std::vector<std::string> chain;
    double last = 0;
    for (const auto n : coupling_lengths) {
        const auto* p = probe_of(m, st->pattern, chain_name(n));
        if (p == nullptr) {
            continue;
        }
        const auto& hops = p->hop_bytes;
        const bool grows =
            std::adjacent_find(hops.begin(), hops.end(), std::greater_equal<>()) == hops.end();
        const auto mean_bytes = mean(hops);
        v.held = v.held && p->as_predicted && grows && mean_bytes > last;
        last = mean_bytes;
        chain.push_back(fmt::format("chain:{} {:.0f} B", n, mean_bytes));
    }
    v.held = v.held && !chain.empty();
    v.evidence = fmt::format("mean message, stamp vs stateless: {}. Mean stamped message "
                             "grows hop by hop and with length: {}",
                             fmt::join(parts, "; "), fmt::join(chain, ", "));
    out.push_back(v);
}

void stamp_query(const std::vector<tour>& tours, std::vector<claim_verdict>& out) {
    const tour* st = find(tours, "stamp_coupling");
    if (st == nullptr || st->shots.empty() || st->services.size() < 2) {
        return; // with one service there is only one place to ask
    }
    claim_verdict v{"Stamp coupling has no single place to query the state", "Table 11-4", "",
                    true};
    // Whoever could answer every query alone would be that single place.
    std::vector<std::string> everyone = st->shots.front().answer.asked;
    std::vector<std::string> parts;
    for (const auto& s : st->shots) {
        std::erase_if(everyone, [&](const std::string& who) {
            return std::find(s.sole_answerers.begin(), s.sole_answerers.end(), who) ==
                   s.sole_answerers.end();
        });
        parts.push_back(fmt::format("{}: asked {} services, {} answered, {} could answer alone "
                                    "({})",
                                    s.moment, s.answer.asked.size(), s.answer.answered.size(),
                                    s.sole_answerers.size(), names(s.sole_answerers)));
    }
    v.held = everyone.empty();
    v.evidence = v.held ? fmt::format("{}; no one service answered every query alone",
                                      fmt::join(parts, "; "))
                        : fmt::format("{}; {} answered every query alone", fmt::join(parts, "; "),
                                      names(everyone));
    out.push_back(v);
}

void error_links(const std::vector<tour>& tours, std::vector<claim_verdict>& out) {
    const auto choreo = choreographed(tours);
    if (choreo.empty() || choreo.front()->traced.size() < 2) {
        return; // no choreography, or a workflow traced without error paths
    }
    claim_verdict v{"Error conditions add communication links", "Figure 11-10", "", true};
    std::vector<std::string> parts;
    for (const auto& t : tours) {
        const auto& happy = t.traced.front().links;
        std::set<link> all;
        for (const auto& tr : t.traced) {
            all.insert(tr.links.begin(), tr.links.end());
        }
        std::vector<std::string> added;
        for (const auto& l : all) {
            if (!happy.contains(l)) {
                added.push_back("+" + link_name(l));
            }
        }
        if (t.extra_nodes.empty()) {
            v.held = v.held && !added.empty();
        }
        parts.push_back(fmt::format("{}: {} path {} links, with error paths {}{}", t.pattern,
                                    t.traced.front().scenario, happy.size(), all.size(),
                                    added.empty() ? std::string(" (none added)")
                                                  : fmt::format(" ({})", fmt::join(added, ", "))));
    }
    v.evidence =
        fmt::format("inter-service links of the traced workflows: {}", fmt::join(parts, "; "));
    out.push_back(v);
}

void one_semantic_workflow(const std::vector<tour>& tours, std::vector<claim_verdict>& out) {
    if (tours.size() < 2) {
        return;
    }
    claim_verdict v{fmt::format("One semantic workflow, {} implementations", tours.size()),
                    "semantic coupling", "", true};
    for (const auto& t : tours) {
        v.held = v.held && t.outcomes == tours.front().outcomes && t.as_predicted() &&
                 effects_differences(t.effects, tours.front().effects).empty();
    }
    v.evidence = fmt::format("{} seeded {} workflows: same terminal state per workflow and the "
                             "same domain effects ({}) under all {} patterns{}",
                             tours.front().outcomes.size(), tours.front().workflow,
                             tours.front().effects_summary, tours.size(),
                             v.held ? "" : " -- NOT the case in this run");
    out.push_back(v);
}

// ---- Table 11-1 and Figure 11-14: orchestration against choreography ------------------------

constexpr std::string_view orchestration = "orchestration";

void orchestration_state(const std::vector<tour>& tours, const claim_measurements& m,
                         std::vector<claim_verdict>& out) {
    const tour* orch = find(tours, orchestration);
    if (orch == nullptr) {
        return;
    }
    claim_verdict v{"Orchestration: state management is easy: a status query is one request "
                    "to the orchestrator and one reply, at any workflow length",
                    "Table 11-1", "", true};
    auto one_owner = [](const status_answer& a, const std::vector<std::string>& extra) {
        return a.cost.messages == 2 && a.asked.size() == 1 && a.answered.size() == 1 &&
               is_extra(extra, a.asked.front()) && a.status.found;
    };
    for (const auto& s : orch->shots) {
        v.held = v.held && one_owner(s.answer, orch->extra_nodes);
    }
    for (const auto& c : orch->costs) {
        v.held = v.held && c.query_messages == 2 && c.query_services == 1;
    }
    const auto& shot = orch->shots.back().answer;
    std::vector<std::string> parts{fmt::format("{}: {} messages to {} node ({})", orch->workflow,
                                               shot.cost.messages, shot.asked.size(),
                                               names(shot.asked))};
    std::vector<std::string> contrast;
    for (const auto n : query_lengths) {
        const auto* p = probe_of(m, orchestration, chain_name(n));
        if (p == nullptr) {
            v.held = false;
            continue;
        }
        v.held = v.held && p->as_predicted && one_owner(p->query, p->extra_nodes);
        if (p->workflow == orch->workflow) {
            continue; // shown already, from the tour
        }
        parts.push_back(fmt::format("chain:{}: {} messages to {} node ({})", n,
                                    p->query.cost.messages, p->query.asked.size(),
                                    names(p->query.asked)));
    }
    for (const auto& t : tours) {
        if (const auto* p = probe_of(m, t.pattern, chain_name(query_lengths.back()));
            p != nullptr && t.pattern != orchestration) {
            contrast.push_back(fmt::format("{} {} messages to {} node{}", t.pattern,
                                           p->query.cost.messages, p->query.asked.size(),
                                           p->query.asked.size() == 1 ? "" : "s"));
        }
    }
    v.evidence = fmt::format("status query under orchestration: {}", fmt::join(parts, "; "));
    if (!contrast.empty()) {
        v.evidence +=
            fmt::format(". At chain:{}: {}", query_lengths.back(), fmt::join(contrast, ", "));
    }
    out.push_back(v);
}

void orchestration_coupling(const std::vector<tour>& tours, const claim_measurements& m,
                            std::vector<claim_verdict>& out) {
    if (find(tours, orchestration) == nullptr) {
        return;
    }
    claim_verdict v{"Orchestration: services are coupled to the orchestrator: the links form "
                    "a star around it",
                    "Table 11-1", "", true};
    std::vector<std::string> rows;
    std::string centre;
    bool all_stars = true;
    for (const auto& t : tours) {
        std::vector<std::string> counts;
        for (const auto n : coupling_lengths) {
            const auto* p = probe_of(m, t.pattern, chain_name(n));
            const auto* o = probe_of(m, orchestration, chain_name(n));
            if (p == nullptr || o == nullptr) {
                v.held = false;
                continue;
            }
            counts.push_back(fmt::format("{}", p->links.size()));
            v.held = v.held && p->as_predicted && o->links.size() >= p->links.size();
            if (t.pattern != orchestration) {
                continue;
            }
            // A star: one of the pattern's own nodes is at an end of every link, and it is
            // linked to every service both ways.
            bool star = false;
            for (const auto& hub : p->extra_nodes) {
                std::set<std::string> to, from;
                bool on_every_link = true;
                for (const auto& l : p->links) {
                    on_every_link = on_every_link && (l.first == hub || l.second == hub);
                    (l.first == hub ? to : from).insert(l.first == hub ? l.second : l.first);
                }
                if (on_every_link && to.size() == p->steps && from.size() == p->steps) {
                    centre = hub;
                    star = true;
                }
            }
            all_stars = all_stars && star;
            v.held = v.held && star;
        }
        rows.push_back(fmt::format("{} {}", t.pattern, fmt::join(counts, "/")));
    }
    v.evidence = fmt::format("distinct links of a chain:N workflow for N = {}: {}; {}",
                             fmt::join(coupling_lengths, "/"), fmt::join(rows, ", "),
                             !all_stars || centre.empty()
                                 ? std::string("orchestration's links do NOT all form a star")
                                 : "every orchestration link has " + centre +
                                       " at one end, and it is linked to every service both "
                                       "ways");
    out.push_back(v);
}

void orchestration_responsiveness(const std::vector<tour>& tours, std::vector<claim_verdict>& out) {
    const tour* orch = find(tours, orchestration);
    if (orch == nullptr || tours.size() < 2) {
        return;
    }
    claim_verdict v{"Orchestration: responsiveness suffers: more messages on the critical path",
                    "Table 11-1", "", true};
    const auto& happy = orch->traced.front();
    std::vector<std::string> parts;
    for (const auto& t : tours) {
        const auto& tr = t.traced.front();
        if (&t != orch) {
            v.held = v.held && happy.path_messages > tr.path_messages;
        }
        v.held = v.held && tr.terminal == tr.expected;
        parts.push_back(fmt::format("{} {}", t.pattern, tr.path_messages));
    }
    v.evidence =
        fmt::format("messages from place_order to workflow_ended, both included, on one "
                    "{} {} workflow ({} steps): {}",
                    happy.scenario, orch->workflow, orch->services.size(), fmt::join(parts, ", "));
    out.push_back(v);
}

void orchestration_bottleneck(const std::vector<tour>& tours, std::vector<claim_verdict>& out) {
    const tour* orch = find(tours, orchestration);
    if (orch == nullptr || tours.size() < 2) {
        return;
    }
    claim_verdict v{"Orchestration: scalability suffers: the orchestrator is a bottleneck that "
                    "handles the most messages",
                    "Table 11-1", "", true};
    const auto orch_happy = busiest(orch->traced.front().handled);
    const auto orch_batch = busiest(orch->handled_per_workflow);
    v.held = is_extra(orch->extra_nodes, orch_happy.first) &&
             is_extra(orch->extra_nodes, orch_batch.first);
    std::vector<std::string> happy_parts, batch_parts;
    for (const auto& t : tours) {
        const auto happy = busiest(t.traced.front().handled);
        const auto batch = busiest(t.handled_per_workflow);
        if (&t != orch) {
            v.held = v.held && orch_happy.second > happy.second && orch_batch.second > batch.second;
        }
        happy_parts.push_back(fmt::format("{} {} ({})", t.pattern, happy.second, happy.first));
        batch_parts.push_back(fmt::format("{} {:.1f} ({})", t.pattern, batch.second, batch.first));
    }
    v.evidence =
        fmt::format("messages sent or received per workflow by the busiest node, "
                    "client traffic included; one {} workflow: {}; batch of {} {}: {}",
                    orch->traced.front().scenario, fmt::join(happy_parts, ", "),
                    orch->costs.back().workflows, orch->scenario, fmt::join(batch_parts, ", "));
    out.push_back(v);
}

void figure_11_14(const std::vector<tour>& tours, const claim_measurements& m,
                  std::vector<claim_verdict>& out) {
    const tour* orch = find(tours, orchestration);
    const auto choreo = choreographed(tours);
    if (orch == nullptr || choreo.empty()) {
        return;
    }
    claim_verdict v{"As error conditions multiply, choreography's communication links grow and "
                    "orchestration's do not",
                    "Figure 11-14", "", true};
    auto links_at = [&](const std::string& pattern, std::size_t k) -> const probe* {
        const auto* p = probe_of(m, pattern, branching_name(k));
        v.held = v.held && p != nullptr && p->as_predicted;
        return p;
    };
    std::vector<std::string> link_rows, message_rows;
    for (const auto& t : tours) {
        std::vector<std::string> links, messages;
        for (std::size_t k = 0; k <= most_failure_branches; ++k) {
            const auto* p = links_at(t.pattern, k);
            const auto* o = links_at(orch->pattern, k);
            if (p == nullptr || o == nullptr) {
                continue;
            }
            links.push_back(fmt::format("{}", p->links.size()));
            messages.push_back(fmt::format("{:.1f}", p->messages_per_workflow));
            if (k == 0 || &t == orch) {
                continue;
            }
            const auto* p0 = links_at(t.pattern, k - 1);
            const auto* o0 = links_at(orch->pattern, k - 1);
            if (p0 != nullptr && o0 != nullptr) {
                // choreography gains links with each branch, and more than orchestration does
                v.held = v.held && p->links.size() > p0->links.size() &&
                         p->links.size() - p0->links.size() > o->links.size() - o0->links.size();
            }
        }
        link_rows.push_back(fmt::format("{} {}", t.pattern, fmt::join(links, "/")));
        message_rows.push_back(fmt::format("{} {}", t.pattern, fmt::join(messages, "/")));
    }
    v.evidence = fmt::format("chain:{}:K, one workflow per failure branch, for K = 0..{}: "
                             "distinct links {}; inter-service messages per workflow {}",
                             branching_length, most_failure_branches, fmt::join(link_rows, ", "),
                             fmt::join(message_rows, ", "));
    out.push_back(v);
}

} // namespace

claim_measurements measure_for_claims(const std::vector<const pattern*>& patterns,
                                      const tour_options& o) {
    std::set<std::size_t> lengths(query_lengths.begin(), query_lengths.end());
    lengths.insert(coupling_lengths.begin(), coupling_lengths.end());
    lengths.insert(branching_length);
    claim_measurements m;
    for (const auto* p : patterns) {
        for (const auto n : lengths) {
            m.probes.push_back(run_probe(*p, chain_name(n), false, o));
        }
        for (std::size_t k = 1; k <= most_failure_branches; ++k) {
            m.probes.push_back(run_probe(*p, branching_name(k), true, o));
        }
    }
    return m;
}

std::vector<claim_verdict> judge_claims(const std::vector<tour>& tours,
                                        const claim_measurements& measured) {
    std::vector<claim_verdict> out;
    if (tours.empty()) {
        return out;
    }
    front_controller_query(tours, out);
    front_controller_overhead(tours, out);
    stateless_query(tours, out);
    stamp_size(tours, measured, out);
    stamp_query(tours, out);
    error_links(tours, out);
    one_semantic_workflow(tours, out);
    orchestration_state(tours, measured, out);
    orchestration_coupling(tours, measured, out);
    orchestration_responsiveness(tours, out);
    orchestration_bottleneck(tours, out);
    figure_11_14(tours, measured, out);
    return out;
}

} // namespace choreo::demo

#include "demo/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

namespace choreo::demo {
namespace {

constexpr int width = 96;

void heading(std::ostream& out, const std::string& title, char rule) {
    const auto fill = width - static_cast<int>(title.size()) - 4;
    fmt::print(out, "\n{} {} {}\n", std::string(2, rule), title,
               std::string(static_cast<std::size_t>(std::max(fill, 2)), rule));
}

std::string steps_line(const msg::workflow_status& s) {
    std::vector<std::string> parts;
    for (const auto& r : s.steps) {
        parts.push_back(r.service + " " + r.status);
    }
    for (const auto& r : s.notified) {
        parts.push_back(r.service + " " + r.status + " (" + r.outcome + ")");
    }
    return fmt::format("{}", fmt::join(parts, ", "));
}

/// The node that handles the most messages per workflow, and how many.
std::pair<std::string, double> busiest(const std::map<std::string, double>& handled) {
    std::pair<std::string, double> top{"nobody", 0.0};
    for (const auto& [node, n] : handled) {
        if (n > top.second) {
            top = {node, n};
        }
    }
    return top;
}

std::string node_list(const std::vector<std::string>& v) {
    return v.empty() ? std::string("none") : fmt::format("{}", fmt::join(v, ", "));
}

void print_shot(std::ostream& out, const status_shot& s) {
    fmt::print(out, "  status query, {}:\n", s.moment);
    fmt::print(out, "    answer  {}: {}\n",
               s.answer.status.found ? s.answer.status.state : "not found",
               steps_line(s.answer.status));
    fmt::print(out, "    cost    {} messages, {} B, asked {} node(s): {}; {} answered\n",
               s.answer.cost.messages, s.answer.cost.bytes, s.answer.asked.size(),
               node_list(s.answer.asked), s.answer.answered.size());
    fmt::print(out, "    alone   {}\n",
               s.sole_answerers.empty() ? std::string("no single node's reply gives this answer")
                                        : fmt::format("{} could have answered alone",
                                                      fmt::join(s.sole_answerers, ", ")));
    for (const auto& e : s.answer.errors) {
        fmt::print(out, "    error   {}\n", e);
    }
}

} // namespace

void print_tour(std::ostream& out, const tour& t, const tour_options& o) {
    heading(out, fmt::format("{}  ({} workflow, {})", t.pattern, t.workflow, to_string(o.via)),
            '=');
    fmt::print(out, "{}\n", t.summary);
    fmt::print(out, "nodes: {}{}\n", fmt::join(t.services, ", "),
               t.extra_nodes.empty()
                   ? std::string()
                   : fmt::format(", and the pattern's own: {}", fmt::join(t.extra_nodes, ", ")));
    for (const auto& tr : t.traced) {
        heading(out, fmt::format("one {} workflow: {}", tr.scenario, tr.workflow_id), '-');
        fmt::print(out, "  placed: {}\n", tr.details);
        fmt::print(out, "  {:>3}  {:<18}    {:<18} {:<16} {:<34} {:>6}\n", "#", "from", "to",
                   "type", "says", "bytes");
        std::size_t n = 0, inter = 0, inter_bytes = 0;
        for (const auto& m : tr.messages) {
            fmt::print(out, "  {:>3}  {:<18} -> {:<18} {:<16} {:<34} {:>6}\n", ++n, m.from, m.to,
                       m.type, m.label, m.bytes);
            if (!m.client) {
                ++inter;
                inter_bytes += m.bytes;
            }
        }
        fmt::print(out,
                   "  => {} ({}), {} inter-service messages, {} B; {} client messages; critical "
                   "path {} messages\n",
                   tr.terminal,
                   tr.terminal == tr.expected ? "as predicted" : "PREDICTED " + tr.expected, inter,
                   inter_bytes, tr.messages.size() - inter, tr.path_messages);
    }
    heading(out, "status queries", '-');
    for (const auto& s : t.shots) {
        print_shot(out, s);
    }
    const auto& all = t.costs.back();
    heading(out, fmt::format("{} {} workflows (seed {})", all.workflows, t.scenario, o.seed), '-');
    std::vector<std::string> ended;
    for (const auto& [terminal, n] : t.ended) {
        ended.push_back(fmt::format("{} {}", terminal, n));
    }
    fmt::print(out, "  ended: {}{}\n", fmt::join(ended, ", "),
               t.lost + t.wrong == 0
                   ? "  -- every one as predicted"
                   : fmt::format("  -- {} LOST, {} NOT AS PREDICTED", t.lost, t.wrong));
    fmt::print(out, "  domain effects: {}\n", t.effects_summary);
    if (t.effects_differences.empty()) {
        fmt::print(out, "    as predicted, every one of {} quantities\n", t.effects.size());
    } else {
        fmt::print(out, "    DIFFER from the prediction:\n");
        for (const auto& d : t.effects_differences) {
            fmt::print(out, "      {}\n", d);
        }
    }
    const auto top = busiest(t.handled_per_workflow);
    fmt::print(out, "  busiest node: {}, {:.1f} messages sent or received per workflow\n",
               top.first, top.second);
    fmt::print(out,
               "  held at the end: workflow state {} B about {} workflows ({:.0f} B/wf); domain "
               "data {} B; {} message(s) refused\n",
               t.state_bytes, t.state_workflows, t.state_bytes_per_workflow, t.domain_bytes,
               t.rejected);
}

void print_comparison(std::ostream& out, const std::vector<tour>& tours) {
    heading(out, "comparison: per workflow (inter-service) and per status query", '=');
    fmt::print(out, "  {:<17} {:<17} {:>5} {:>9} {:>10} {:>9} {:>7} {:>8} {:>9}\n", "pattern",
               "scenario", "flows", "msgs/wf", "bytes/wf", "B/msg", "q msgs", "q bytes", "q nodes");
    for (const auto& t : tours) {
        for (const auto& c : t.costs) {
            fmt::print(out, "  {:<17} {:<17} {:>5} {:>9.1f} {:>10.0f} {:>9.0f} {:>7} {:>8} {:>9}\n",
                       t.pattern, c.scenario, c.workflows, c.inter_messages, c.inter_bytes,
                       c.mean_message_bytes, c.query_messages, c.query_bytes, c.query_services);
        }
    }
    fmt::print(out, "  (client messages -- placing the workflow, hearing it ended -- are not in "
                    "msgs/wf: 2 per workflow under every pattern)\n\n");
    fmt::print(out, "  {:<17} {:>5} {:>9} {:>5} {:>11} {:>10} {:>9}  {}\n", "pattern", "links",
               "crit path", "nodes", "busiest/wf", "state B/wf", "domain B", "busiest node");
    for (const auto& t : tours) {
        const auto top = busiest(t.handled_per_workflow);
        fmt::print(out, "  {:<17} {:>5} {:>9} {:>5} {:>11.1f} {:>10.0f} {:>9}  {}\n", t.pattern,
                   t.links.size(), t.traced.front().path_messages,
                   t.services.size() + t.extra_nodes.size(), top.second, t.state_bytes_per_workflow,
                   t.domain_bytes, top.first);
    }
    fmt::print(out,
               "  (links: distinct inter-service links used. crit path: messages from place_order "
               "to\n   workflow_ended on one {} workflow. busiest/wf: messages the busiest node "
               "sent or\n   received per workflow. state B/wf: workflow state held by all nodes / "
               "the workflows\n   it is about. domain B: the services' own data)\n",
               tours.empty() ? std::string() : tours.front().traced.front().scenario);
}

void print_claims(std::ostream& out, const std::vector<claim_verdict>& claims) {
    heading(out, "the chapter's claims, measured", '=');
    for (const auto& c : claims) {
        fmt::print(out, "  [{}] {} ({})\n", c.held ? "held" : "FAILED", c.claim, c.source);
        fmt::print(out, "         {}\n", c.evidence);
    }
}

namespace {

nlohmann::json links_json(const std::set<link>& links) {
    auto j = nlohmann::json::array();
    for (const auto& [from, to] : links) {
        j.push_back({{"from", from}, {"to", to}});
    }
    return j;
}

} // namespace

nlohmann::json to_json(const std::vector<tour>& tours, const std::vector<claim_verdict>& claims,
                       const claim_measurements& measured, const tour_options& o) {
    nlohmann::json j;
    j["workflow"] = o.workflow;
    j["scenario"] = tours.empty() ? o.scenario : tours.front().scenario;
    j["workflows"] = o.orders;
    j["seed"] = o.seed;
    j["transport"] = to_string(o.via);
    j["patterns"] = nlohmann::json::array();
    for (const auto& t : tours) {
        nlohmann::json p;
        p["pattern"] = t.pattern;
        p["summary"] = t.summary;
        p["services"] = t.services;
        p["extra_nodes"] = t.extra_nodes;
        p["ended"] = t.ended;
        p["predicted"] = t.predicted;
        p["lost"] = t.lost;
        p["not_as_predicted"] = t.wrong;
        p["effects"] = t.effects;
        p["effects_summary"] = t.effects_summary;
        p["effects_match_prediction"] = t.effects_differences.empty();
        p["effects_differences"] = t.effects_differences;
        p["rejected_messages"] = t.rejected;
        p["workflow_state_bytes"] = t.state_bytes;
        p["workflows_with_state"] = t.state_workflows;
        p["workflow_state_bytes_per_workflow"] = t.state_bytes_per_workflow;
        p["domain_bytes"] = t.domain_bytes;
        p["critical_path_messages"] = t.traced.front().path_messages;
        p["messages_handled_per_workflow"] = t.handled_per_workflow;
        for (const auto& [l, totals] : t.links) {
            p["links"].push_back({{"from", l.first},
                                  {"to", l.second},
                                  {"messages", totals.messages},
                                  {"bytes", totals.bytes}});
        }
        for (const auto& c : t.costs) {
            p["costs"].push_back({{"scenario", c.scenario},
                                  {"workflows", c.workflows},
                                  {"inter_service_messages_per_workflow", c.inter_messages},
                                  {"inter_service_bytes_per_workflow", c.inter_bytes},
                                  {"client_messages_per_workflow", c.client_messages},
                                  {"mean_message_bytes", c.mean_message_bytes},
                                  {"status_query_messages", c.query_messages},
                                  {"status_query_bytes", c.query_bytes},
                                  {"status_query_nodes", c.query_services}});
        }
        for (const auto& tr : t.traced) {
            nlohmann::json jt{
                {"scenario", tr.scenario},       {"workflow_id", tr.workflow_id},
                {"details", tr.details},         {"terminal", tr.terminal},
                {"expected", tr.expected},       {"critical_path_messages", tr.path_messages},
                {"links", links_json(tr.links)}, {"messages_handled", tr.handled}};
            for (const auto& m : tr.messages) {
                jt["messages"].push_back({{"from", m.from},
                                          {"to", m.to},
                                          {"type", m.type},
                                          {"label", m.label},
                                          {"bytes", m.bytes}});
            }
            p["traced"].push_back(jt);
        }
        for (const auto& s : t.shots) {
            p["status_queries"].push_back({{"moment", s.moment},
                                           {"state", s.answer.status.state},
                                           {"found", s.answer.status.found},
                                           {"messages", s.answer.cost.messages},
                                           {"bytes", s.answer.cost.bytes},
                                           {"asked", s.answer.asked},
                                           {"answered", s.answer.answered},
                                           {"answerable_alone_by", s.sole_answerers}});
        }
        j["patterns"].push_back(p);
    }
    j["claims"] = nlohmann::json::array();
    for (const auto& c : claims) {
        j["claims"].push_back(
            {{"claim", c.claim}, {"source", c.source}, {"evidence", c.evidence}, {"held", c.held}});
    }
    j["claim_measurements"] = nlohmann::json::array();
    for (const auto& p : measured.probes) {
        j["claim_measurements"].push_back(
            {{"pattern", p.pattern},
             {"workflow", p.workflow},
             {"workflows", p.workflows},
             {"failure_branches", p.failure_branches},
             {"as_predicted", p.as_predicted},
             {"links", p.links.size()},
             {"inter_service_messages_per_workflow", p.messages_per_workflow},
             {"status_query_messages", p.query.cost.messages},
             {"status_query_nodes", p.query.asked}});
    }
    return j;
}

namespace {

std::string mermaid_id(const std::string& name) {
    std::string out;
    for (char c : name) {
        out += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
    }
    return out;
}

std::string sequence_diagram(const traced_workflow& tr) {
    std::string s = "```mermaid\nsequenceDiagram\n";
    std::vector<std::string> seen;
    for (const auto& m : tr.messages) {
        for (const auto& who : {m.from, m.to}) {
            if (std::find(seen.begin(), seen.end(), who) == seen.end()) {
                seen.push_back(who);
                s += fmt::format("    participant {} as {}\n", mermaid_id(who), who);
            }
        }
    }
    for (const auto& m : tr.messages) {
        auto label = m.label; // Mermaid reads "->" in a message text as an arrow
        for (auto at = label.find("->"); at != std::string::npos; at = label.find("->")) {
            label.replace(at, 2, " then ");
        }
        s += fmt::format("    {}->>{}: {} {} ({} B)\n", mermaid_id(m.from), mermaid_id(m.to),
                         m.type, label, m.bytes);
    }
    s += fmt::format("    Note over {}: {}\n```\n", mermaid_id(tr.messages.back().to), tr.terminal);
    return s;
}

std::string links_graph(const std::string& name, const traced_workflow& tr) {
    std::map<std::pair<std::string, std::string>, int> count;
    for (const auto& m : tr.messages) {
        ++count[{m.from, m.to}];
    }
    std::string s = fmt::format("digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box];\n", name);
    for (const auto& [link, n] : count) {
        s += fmt::format("  \"{}\" -> \"{}\" [label=\"{}\"];\n", link.first, link.second, n);
    }
    return s + "}\n";
}

} // namespace

std::vector<std::filesystem::path> write_report(const std::filesystem::path& dir,
                                                const std::vector<tour>& tours,
                                                const std::vector<claim_verdict>& claims,
                                                const claim_measurements& measured,
                                                const tour_options& o) {
    std::filesystem::create_directories(dir);
    std::vector<std::filesystem::path> written;
    std::ofstream md(dir / "report.md");
    fmt::print(md,
               "# choreo report\n\nWorkflow `{}`, {} {} workflows, seed {}, transport {}. "
               "Every figure below was counted at the transport during this run.\n",
               o.workflow, o.orders, tours.empty() ? o.scenario : tours.front().scenario, o.seed,
               to_string(o.via));
    const bool dot = std::system("command -v dot >/dev/null 2>&1") == 0;
    for (const auto& t : tours) {
        fmt::print(md, "\n## {}\n\n{}\n\nNodes: {}{}.\n", t.pattern, t.summary,
                   fmt::join(t.services, ", "),
                   t.extra_nodes.empty()
                       ? std::string()
                       : fmt::format("; the pattern's own: {}", fmt::join(t.extra_nodes, ", ")));
        for (const auto& tr : t.traced) {
            fmt::print(md, "\n### {} workflow `{}` -> {}\n\n{}; critical path {} messages.\n\n{}",
                       tr.scenario, tr.workflow_id, tr.terminal, tr.details, tr.path_messages,
                       sequence_diagram(tr));
            const auto base = fmt::format("{}-{}-links", t.pattern, tr.scenario);
            const auto gv = dir / (base + ".dot");
            std::ofstream(gv) << links_graph(base, tr);
            written.push_back(gv);
            if (dot) {
                const auto svg = dir / (base + ".svg");
                const auto cmd = fmt::format("dot -Tsvg '{}' -o '{}'", gv.string(), svg.string());
                if (std::system(cmd.c_str()) == 0) {
                    written.push_back(svg);
                    fmt::print(md,
                               "\nCommunication links used (message counts on the edges):\n\n"
                               "![links]({}.svg)\n",
                               base);
                }
            } else {
                fmt::print(md, "\nCommunication links: `{}.dot` (install graphviz for SVG)\n",
                           base);
            }
        }
        fmt::print(md, "\n| scenario | workflows | msgs/wf | bytes/wf | B/msg | query msgs | "
                       "query bytes | services asked |\n|---|---|---|---|---|---|---|---|\n");
        for (const auto& c : t.costs) {
            fmt::print(md, "| {} | {} | {:.1f} | {:.0f} | {:.0f} | {} | {} | {} |\n", c.scenario,
                       c.workflows, c.inter_messages, c.inter_bytes, c.mean_message_bytes,
                       c.query_messages, c.query_bytes, c.query_services);
        }
        fmt::print(md,
                   "\nDomain effects: {} ({}). Held at the end: workflow state {} B about {} "
                   "workflows ({:.0f} B/wf), domain data {} B.\n",
                   t.effects_summary,
                   t.effects_differences.empty()
                       ? std::string("as predicted")
                       : fmt::format("DIFFER: {}", fmt::join(t.effects_differences, "; ")),
                   t.state_bytes, t.state_workflows, t.state_bytes_per_workflow, t.domain_bytes);
    }
    if (!tours.empty()) {
        fmt::print(md, "\n## Side by side\n\n| pattern | links | critical path | busiest node | "
                       "its msgs/wf | state B/wf | domain B |\n|---|---|---|---|---|---|---|\n");
        for (const auto& t : tours) {
            const auto top = busiest(t.handled_per_workflow);
            fmt::print(md, "| {} | {} | {} | {} | {:.1f} | {:.0f} | {} |\n", t.pattern,
                       t.links.size(), t.traced.front().path_messages, top.first, top.second,
                       t.state_bytes_per_workflow, t.domain_bytes);
        }
    }
    if (!measured.probes.empty()) {
        fmt::print(md, "\n## Extra runs behind the claims\n\nOne workflow of each chain (one per "
                       "failure branch of chain:N:K), in this process.\n\n| pattern | workflow | "
                       "workflows | links | msgs/wf | status query msgs | nodes asked |\n"
                       "|---|---|---|---|---|---|---|\n");
        for (const auto& p : measured.probes) {
            fmt::print(md, "| {} | {} | {} | {} | {:.1f} | {} | {} |\n", p.pattern, p.workflow,
                       p.workflows, p.links.size(), p.messages_per_workflow, p.query.cost.messages,
                       p.query.asked.size());
        }
    }
    if (!claims.empty()) {
        fmt::print(md, "\n## The chapter's claims\n\n| claim | source | held | evidence |\n"
                       "|---|---|---|---|\n");
        for (const auto& c : claims) {
            fmt::print(md, "| {} | {} | {} | {} |\n", c.claim, c.source, c.held ? "yes" : "NO",
                       c.evidence);
        }
    }
    written.insert(written.begin(), dir / "report.md");
    return written;
}

} // namespace choreo::demo

#include "demo/text.hpp"

#include <cstdlib>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <fmt/ostream.h>

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

void print_shot(std::ostream& out, const status_shot& s) {
    fmt::print(out, "  status query, {}:\n", s.moment);
    fmt::print(out, "    answer  {}: {}\n",
               s.answer.status.found ? s.answer.status.state : "not found",
               steps_line(s.answer.status));
    fmt::print(out, "    cost    {} messages, {} B, asked {} service(s): {}\n",
               s.answer.cost.messages, s.answer.cost.bytes, s.answer.asked.size(),
               fmt::join(s.answer.asked, ", "));
    fmt::print(out, "    alone   {}\n",
               s.sole_answerers.empty() ? std::string("no single service's reply gives this answer")
                                        : fmt::format("{} could have answered alone",
                                                      fmt::join(s.sole_answerers, ", ")));
}

} // namespace

void print_tour(std::ostream& out, const tour& t, const tour_options& o) {
    heading(out, fmt::format("{}  ({} workflow, {})", t.pattern, t.workflow, to_string(o.via)),
            '=');
    fmt::print(out, "{}\n", t.summary);
    for (const auto& tr : t.traced) {
        heading(out, fmt::format("one {} order: {}", tr.scenario, tr.workflow_id), '-');
        fmt::print(out, "  {:>3}  {:<16}    {:<16} {:<16} {:<34} {:>6}\n", "#", "from", "to",
                   "type", "says", "bytes");
        std::size_t n = 0, inter = 0, inter_bytes = 0;
        for (const auto& m : tr.messages) {
            fmt::print(out, "  {:>3}  {:<16} -> {:<16} {:<16} {:<34} {:>6}\n", ++n, m.from, m.to,
                       m.type, m.label, m.bytes);
            if (!m.client) {
                ++inter;
                inter_bytes += m.bytes;
            }
        }
        fmt::print(out, "  => {} ({}), {} inter-service messages, {} B; {} client messages\n",
                   tr.terminal,
                   tr.terminal == tr.expected ? "as predicted" : "PREDICTED " + tr.expected, inter,
                   inter_bytes, tr.messages.size() - inter);
    }
    heading(out, "status queries", '-');
    for (const auto& s : t.shots) {
        print_shot(out, s);
    }
    const auto& all = t.costs.back();
    heading(out, fmt::format("{} {} orders (seed {})", all.workflows, to_string(o.mix), o.seed),
            '-');
    std::vector<std::string> ended;
    for (const auto& [terminal, n] : t.ended) {
        ended.push_back(fmt::format("{} {}", terminal, n));
    }
    fmt::print(out, "  ended: {}{}\n", fmt::join(ended, ", "),
               t.lost + t.wrong == 0
                   ? "  -- every one as predicted"
                   : fmt::format("  -- {} LOST, {} NOT AS PREDICTED", t.lost, t.wrong));
    fmt::print(out,
               "  domain effects {} the prediction; {} message(s) refused; workflow state "
               "held at the end: {} B\n",
               t.effects == t.predicted_effects ? "match" : "DO NOT MATCH", t.rejected,
               t.state_bytes);
}

void print_comparison(std::ostream& out, const std::vector<tour>& tours) {
    heading(out, "comparison: per workflow (inter-service) and per status query", '=');
    fmt::print(out, "  {:<17} {:<17} {:>5} {:>9} {:>10} {:>9} {:>7} {:>8} {:>9}\n", "pattern",
               "scenario", "flows", "msgs/wf", "bytes/wf", "B/msg", "q msgs", "q bytes", "q svcs");
    for (const auto& t : tours) {
        for (const auto& c : t.costs) {
            fmt::print(out, "  {:<17} {:<17} {:>5} {:>9.1f} {:>10.0f} {:>9.0f} {:>7} {:>8} {:>9}\n",
                       t.pattern, c.scenario, c.workflows, c.inter_messages, c.inter_bytes,
                       c.mean_message_bytes, c.query_messages, c.query_bytes, c.query_services);
        }
    }
    fmt::print(out, "  (client messages -- placing the order, hearing it ended -- are not in "
                    "msgs/wf: 2 per workflow under every pattern)\n");
}

void print_claims(std::ostream& out, const std::vector<claim_verdict>& claims) {
    heading(out, "the chapter's claims, measured", '=');
    for (const auto& c : claims) {
        fmt::print(out, "  [{}] {} ({})\n", c.held ? "held" : "FAILED", c.claim, c.source);
        fmt::print(out, "         {}\n", c.evidence);
    }
}

nlohmann::json to_json(const std::vector<tour>& tours, const std::vector<claim_verdict>& claims,
                       const tour_options& o) {
    nlohmann::json j;
    j["workflow"] = o.workflow;
    j["scenario"] = to_string(o.mix);
    j["orders"] = o.orders;
    j["seed"] = o.seed;
    j["transport"] = to_string(o.via);
    for (const auto& t : tours) {
        nlohmann::json p;
        p["pattern"] = t.pattern;
        p["summary"] = t.summary;
        p["ended"] = t.ended;
        p["predicted"] = t.predicted;
        p["lost"] = t.lost;
        p["not_as_predicted"] = t.wrong;
        p["effects_match_prediction"] = t.effects == t.predicted_effects;
        p["rejected_messages"] = t.rejected;
        p["workflow_state_bytes"] = t.state_bytes;
        for (const auto& c : t.costs) {
            p["costs"].push_back({{"scenario", c.scenario},
                                  {"workflows", c.workflows},
                                  {"inter_service_messages_per_workflow", c.inter_messages},
                                  {"inter_service_bytes_per_workflow", c.inter_bytes},
                                  {"client_messages_per_workflow", c.client_messages},
                                  {"mean_message_bytes", c.mean_message_bytes},
                                  {"status_query_messages", c.query_messages},
                                  {"status_query_bytes", c.query_bytes},
                                  {"status_query_services", c.query_services}});
        }
        for (const auto& tr : t.traced) {
            nlohmann::json jt{{"scenario", tr.scenario},
                              {"workflow_id", tr.workflow_id},
                              {"terminal", tr.terminal},
                              {"expected", tr.expected}};
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
    for (const auto& c : claims) {
        j["claims"].push_back(
            {{"claim", c.claim}, {"source", c.source}, {"evidence", c.evidence}, {"held", c.held}});
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

std::string sequence_diagram(const traced_order& tr) {
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

std::string links_graph(const std::string& name, const traced_order& tr) {
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
                                                const tour_options& o) {
    std::filesystem::create_directories(dir);
    std::vector<std::filesystem::path> written;
    std::ofstream md(dir / "report.md");
    fmt::print(md,
               "# choreo report\n\nWorkflow `{}`, {} {} orders, seed {}, transport {}. "
               "Every figure below was counted at the transport during this run.\n",
               o.workflow, o.orders, to_string(o.mix), o.seed, to_string(o.via));
    const bool dot = std::system("command -v dot >/dev/null 2>&1") == 0;
    for (const auto& t : tours) {
        fmt::print(md, "\n## {}\n\n{}\n", t.pattern, t.summary);
        for (const auto& tr : t.traced) {
            fmt::print(md, "\n### {} order `{}` -> {}\n\n{}", tr.scenario, tr.workflow_id,
                       tr.terminal, sequence_diagram(tr));
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

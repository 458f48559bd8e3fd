#include "bench/report.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

namespace choreo::bench {
namespace {

std::string delay_of(const run_config& c) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(c.link_delay).count();
    return us == 0 ? "0" : fmt::format("{}us", us);
}

std::string transport_label(const run_config& c) {
    return std::string(to_string(c.via)) + (c.curve ? "+curve" : "") + (c.spawn ? "/proc" : "");
}

/// Every figure of a run, named with its unit, in one order for JSON and CSV alike.
std::vector<std::pair<std::string, double>> figures(const run_result& r) {
    return {
        {"workflows_completed", static_cast<double>(r.completed)},
        {"workflows_lost", static_cast<double>(r.lost)},
        {"workflows_not_as_predicted", static_cast<double>(r.wrong)},
        {"effects_not_as_predicted", static_cast<double>(r.effects_differing)},
        {"inter_service_messages_per_workflow", r.messages_per_workflow},
        {"inter_service_bytes_per_workflow", r.bytes_per_workflow},
        {"mean_message_bytes", r.mean_message_bytes},
        {"ack_messages_per_workflow", r.acks_per_workflow},
        {"acked_messages_per_workflow", r.acked_per_workflow},
        {"resent_messages_per_workflow", r.resent_per_workflow},
        {"store_commits_per_workflow", r.store_commits_per_workflow},
        {"store_rows_written_per_workflow", r.store_rows_per_workflow},
        {"store_syncs_per_workflow", r.store_syncs_per_workflow},
        {"e2e_p50_us", r.e2e_us.p50},
        {"e2e_p90_us", r.e2e_us.p90},
        {"e2e_p99_us", r.e2e_us.p99},
        {"e2e_max_us", r.e2e_us.max},
        {"workflows_per_s", r.workflows_per_s},
        {"critical_path_messages", r.path_messages},
        {"status_queries", static_cast<double>(r.queries)},
        {"status_query_messages", r.query_messages},
        {"status_query_bytes", r.query_bytes},
        {"status_query_services", r.query_services},
        {"status_query_p50_us", r.query_us.p50},
        {"status_query_p99_us", r.query_us.p99},
        {"state_bytes_per_workflow", r.state_bytes_per_workflow},
        {"state_workflows", static_cast<double>(r.state_workflows)},
        {"domain_bytes", static_cast<double>(r.domain_bytes)},
        {"busiest_node_messages_per_workflow", r.busiest_messages_per_workflow},
        {"busiest_cpu_share", r.busiest_cpu_share},
        {"busiest_cpu_us_per_workflow", r.busiest_cpu_us_per_workflow},
        {"nodes_cpu_us_per_workflow", r.nodes_cpu_us_per_workflow},
        {"peak_rss_kb", static_cast<double>(r.peak_rss_kb)},
        {"rss_kb", static_cast<double>(r.rss_kb)},
        {"floor_one_way_p50_us", r.floor.one_way_p50_us},
        {"floor_one_way_p99_us", r.floor.one_way_p99_us},
        {"floor_messages_per_s", r.floor.messages_per_s},
        {"floor_message_bytes", static_cast<double>(r.floor.type_bytes + r.floor.body_bytes)},
        {"latency_ratio_to_floor", r.latency_ratio},
        {"rate_ratio_to_floor", r.rate_ratio},
    };
}

std::vector<std::pair<std::string, std::string>> labels(const run_result& r) {
    const auto& c = r.config;
    return {{"pattern", std::string(c.pattern_used->name())},
            {"workflow", c.workflow},
            {"scenario", c.scenario},
            {"transport", std::string(to_string(c.via))},
            {"security", c.curve ? "curve" : "none"},
            {"processes", c.spawn ? "one per node" : "one"},
            {"inflight", std::to_string(c.inflight)},
            {"link_delay", delay_of(c)},
            {"seed", std::to_string(c.seed)}};
}

/// "node:value;node:value" in the pattern's node order: per-node figures in one CSV cell.
std::string per_node(const run_result& r, double node_load::*figure) {
    std::vector<std::string> cells;
    for (const auto& n : r.nodes) {
        cells.push_back(fmt::format("{}:{:.6g}", n.node, n.*figure));
    }
    return fmt::format("{}", fmt::join(cells, ";"));
}

/// The named nodes and per-node figures, after the figures in CSV.
std::vector<std::pair<std::string, std::string>> node_columns(const run_result& r) {
    return {{"busiest_node", r.busiest_node},
            {"busiest_cpu_node", r.busiest_cpu_node},
            {"node_messages_per_workflow", per_node(r, &node_load::messages_per_workflow)},
            {"node_cpu_us_per_workflow",
             r.cpu_measured ? per_node(r, &node_load::cpu_us_per_workflow) : std::string()}};
}

/// Returns: the messages per workflow `node` handled in run `r`.
double messages_of(const run_result& r, const std::string& node) {
    for (const auto& n : r.nodes) {
        if (n.node == node) {
            return n.messages_per_workflow;
        }
    }
    return 0;
}

} // namespace

void print_table(std::ostream& out, const std::vector<run_result>& runs) {
    fmt::print(out,
               "{:<17} {:<22} {:<11} {:>4} {:>6} | {:>6} {:>7} {:>6} {:>6} | {:>8} {:>8} {:>8} "
               "{:>8} {:>7} | {:>5} {:>6} {:>5} {:>8} | {:>10} {:>8} | {:>4} {:>14} {:>13} | "
               "{:>8} {:>9} {:>8} {:>10} | {}\n",
               "pattern", "workflow/scenario", "transport", "infl", "delay", "msg/wf", "acks/wf",
               "B/wf", "B/msg", "p50 us", "p90 us", "p99 us", "max us", "wf/s", "q msg", "q B",
               "q svc", "q p50 us", "state B/wf", "domain B", "path msg", "busiest msg/wf",
               "busiest cpu %", "floor us", "floor m/s", "e2e/floor", "rate/floor", "busiest node");
    for (const auto& r : runs) {
        const auto& c = r.config;
        fmt::print(
            out,
            "{:<17} {:<22} {:<11} {:>4} {:>6} | {:>6.2f} {:>7.2f} {:>6.0f} {:>6.0f} | {:>8.1f} "
            "{:>8.1f} {:>8.1f} {:>8.0f} {:>7.0f} | {:>5.1f} {:>6.0f} {:>5.1f} {:>8.1f} | "
            "{:>10.0f} {:>8} | {:>8.0f} {:>14.2f} {:>13} | {:>8.2f} {:>9.0f} {:>8.2f} "
            "{:>9.1f}% | {}\n",
            c.pattern_used->name(), c.workflow + "/" + c.scenario, transport_label(c), c.inflight,
            delay_of(c), r.messages_per_workflow, r.acks_per_workflow, r.bytes_per_workflow,
            r.mean_message_bytes, r.e2e_us.p50, r.e2e_us.p90, r.e2e_us.p99, r.e2e_us.max,
            r.workflows_per_s, r.query_messages, r.query_bytes, r.query_services, r.query_us.p50,
            r.state_bytes_per_workflow, r.domain_bytes, r.path_messages,
            r.busiest_messages_per_workflow,
            r.cpu_measured ? fmt::format("{:.1f}%", 100 * r.busiest_cpu_share) : "-",
            r.floor.one_way_p50_us, r.floor.messages_per_s, r.latency_ratio, 100 * r.rate_ratio,
            r.busiest_node);
        if (r.lost + r.wrong > 0) {
            fmt::print(out, "  !! {} workflow(s) lost, {} not as predicted\n", r.lost, r.wrong);
        }
        if (r.resent_per_workflow > 0) {
            fmt::print(out, "  ({:.3f} resent msg/wf: acks came later than the first resend)\n",
                       r.resent_per_workflow);
        }
        if (r.effects_differing > 0) {
            fmt::print(out, "  !! {} domain effect(s) not as predicted: {}{}\n",
                       r.effects_differing, fmt::join(r.effects_differences, "; "),
                       r.effects_differing > r.effects_differences.size() ? "; ..." : "");
        }
        if (r.cpu_measured && r.busiest_cpu_node != r.busiest_node) {
            fmt::print(out,
                       "  (busiest by CPU: {}, {:.1f} us per workflow; {} handles {:.2f} msg/wf)\n",
                       r.busiest_cpu_node, r.busiest_cpu_us_per_workflow, r.busiest_cpu_node,
                       messages_of(r, r.busiest_cpu_node));
        }
    }
    fmt::print(out,
               "acks/wf = ack messages per workflow (delivery traffic, not in msg/wf: one ack "
               "acknowledges every workflow message a node read from one peer in one batch); "
               "state B/wf = workflow state bytes of every node / the most workflows one node "
               "holds state about; domain B = domain data of every service; path msg = measured "
               "critical-path messages (p50); busiest msg/wf = messages sent + received per "
               "workflow by the busiest node (client messages in, status queries out); busiest "
               "cpu % = the largest share of all node processes' CPU time one has (--spawn); "
               "e2e/floor = e2e p50 "
               "/ (path msg x (floor one-way + delay)); rate/floor = wf/s x msg/wf / floor "
               "messages/s\n");
}

void print_curve_cost(std::ostream& out, const std::vector<run_result>& runs) {
    bool header = false;
    for (const auto& with : runs) {
        if (!with.config.curve) {
            continue;
        }
        const auto plain = std::find_if(runs.begin(), runs.end(), [&](const run_result& r) {
            const auto &a = r.config, &b = with.config;
            return !a.curve && a.pattern_used == b.pattern_used && a.workflow == b.workflow &&
                   a.scenario == b.scenario && a.via == b.via && a.spawn == b.spawn &&
                   a.inflight == b.inflight;
        });
        if (plain == runs.end()) {
            continue;
        }
        if (!header) {
            fmt::print(out,
                       "\nCURVE's cost, each figure with CURVE / without, same run:\n"
                       "{:<17} {:<22} {:>10} {:>10} {:>10} {:>12} {:>12}\n",
                       "pattern", "workflow/scenario", "e2e p50", "e2e p99", "wf/s", "floor p50",
                       "floor m/s");
            header = true;
        }
        const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
        fmt::print(
            out, "{:<17} {:<22} {:>9.2f}x {:>9.2f}x {:>9.2f}x {:>11.2f}x {:>11.2f}x\n",
            with.config.pattern_used->name(), with.config.workflow + "/" + with.config.scenario,
            ratio(with.e2e_us.p50, plain->e2e_us.p50), ratio(with.e2e_us.p99, plain->e2e_us.p99),
            ratio(with.workflows_per_s, plain->workflows_per_s),
            ratio(with.floor.one_way_p50_us, plain->floor.one_way_p50_us),
            ratio(with.floor.messages_per_s, plain->floor.messages_per_s));
    }
}

nlohmann::json to_json(const std::vector<run_result>& runs) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : runs) {
        nlohmann::json row;
        for (const auto& [k, v] : labels(r)) {
            row[k] = v;
        }
        for (const auto& [k, v] : figures(r)) {
            row[k] = v;
        }
        row["busiest_node"] = r.busiest_node;
        row["busiest_cpu_node"] = r.busiest_cpu_node;
        row["effects_differences"] = r.effects_differences;
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto& n : r.nodes) {
            nlohmann::json node{{"node", n.node},
                                {"messages_per_workflow", n.messages_per_workflow}};
            if (r.cpu_measured) {
                node["pid"] = n.pid;
                node["cpu_us_per_workflow"] = n.cpu_us_per_workflow;
                node["cpu_share"] = n.cpu_share;
            }
            nodes.push_back(node);
        }
        row["nodes"] = nodes;
        j.push_back(row);
    }
    return j;
}

void print_soak_table(std::ostream& out, const std::vector<soak_result>& soaks) {
    for (const auto& r : soaks) {
        const auto& c = r.config.run;
        fmt::print(out,
                   "soak: {}, {}/{}, {} workflows, {} in flight, {}, one process per node, seed "
                   "{}, a report every {}\n",
                   c.pattern_used->name(), c.workflow, c.scenario, r.config.workflows, c.inflight,
                   to_string(c.via), c.seed, r.config.every);
        std::vector<std::size_t> widths;
        std::string head = fmt::format("  {:>6} {:>10} {:>10} {:>8} | RSS kB:", "report",
                                       "workflows", "interval s", "wf/s");
        if (!r.reports.empty()) {
            for (const auto& p : r.reports.front().rss) {
                widths.push_back(std::max<std::size_t>(9, p.node.size()));
                head += fmt::format(" {:>{}}", p.node, widths.back());
            }
        }
        fmt::print(out, "{}\n", head);
        for (std::size_t i = 0; i < r.reports.size(); ++i) {
            const auto& rep = r.reports[i];
            auto line = fmt::format("  {:>6} {:>10} {:>10.2f} {:>8.0f} |        ", i + 1,
                                    rep.workflows, rep.interval_s, rep.workflows_per_s);
            for (std::size_t k = 0; k < rep.rss.size() && k < widths.size(); ++k) {
                line += fmt::format(" {:>{}}", rep.rss[k].rss_kb, widths[k]);
            }
            fmt::print(out, "{}\n", line);
        }
        fmt::print(out,
                   "  {} ended in {:.1f} s ({:.0f}/s); lost {}, not as predicted {}, effects not "
                   "as predicted {}\n",
                   r.ended, r.seconds, r.workflows_per_s, r.lost, r.wrong, r.effects_differing);
        for (const auto& w : r.wrong_examples) {
            fmt::print(out, "  !! {}\n", w);
        }
        if (r.effects_differing > 0) {
            fmt::print(out, "  !! domain effects not as predicted: {}{}\n",
                       fmt::join(r.effects_differences, "; "),
                       r.effects_differing > r.effects_differences.size() ? "; ..." : "");
        }
        if (r.growth.empty()) {
            fmt::print(out, "  RSS growth after warm-up: needs two reports or more\n");
        } else {
            fmt::print(out,
                       "  RSS growth after warm-up (every retention structure can be full after "
                       "{} workflows), from the report at {} to the last; flat: <= {:.0f}%\n",
                       r.config.warm_up_workflows(), r.growth_from, r.config.flat_limit_pct);
            for (const auto& g : r.growth) {
                fmt::print(out, "    {:<24} {:>9} kB -> {:>9} kB {:>+8.1f}%  {}\n", g.node,
                           g.first_kb, g.last_kb, g.growth_pct, g.flat ? "flat" : "GROWS");
            }
        }
    }
}

nlohmann::json soak_to_json(const std::vector<soak_result>& soaks) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : soaks) {
        const auto& c = r.config.run;
        nlohmann::json reports = nlohmann::json::array();
        for (const auto& rep : r.reports) {
            nlohmann::json rss = nlohmann::json::array();
            for (const auto& p : rep.rss) {
                rss.push_back({{"node", p.node}, {"pid", p.pid}, {"rss_kb", p.rss_kb}});
            }
            reports.push_back({{"workflows", rep.workflows},
                               {"interval_s", rep.interval_s},
                               {"workflows_per_s", rep.workflows_per_s},
                               {"rss", rss}});
        }
        nlohmann::json growth = nlohmann::json::array();
        for (const auto& g : r.growth) {
            growth.push_back({{"node", g.node},
                              {"first_kb", g.first_kb},
                              {"last_kb", g.last_kb},
                              {"growth_pct", g.growth_pct},
                              {"flat", g.flat}});
        }
        j.push_back({{"pattern", std::string(c.pattern_used->name())},
                     {"workflow", c.workflow},
                     {"scenario", c.scenario},
                     {"transport", std::string(to_string(c.via))},
                     {"processes", "one per node"},
                     {"inflight", c.inflight},
                     {"seed", c.seed},
                     {"workflows", r.config.workflows},
                     {"every", r.config.every},
                     {"warm_up_workflows", r.config.warm_up_workflows()},
                     {"growth_from_workflows", r.growth_from},
                     {"flat_limit_pct", r.config.flat_limit_pct},
                     {"workflows_ended", r.ended},
                     {"workflows_lost", r.lost},
                     {"workflows_not_as_predicted", r.wrong},
                     {"not_as_predicted", r.wrong_examples},
                     {"effects_not_as_predicted", r.effects_differing},
                     {"effects_differences", r.effects_differences},
                     {"seconds", r.seconds},
                     {"workflows_per_s", r.workflows_per_s},
                     {"reports", reports},
                     {"growth", growth}});
    }
    return j;
}

void write_csv(std::ostream& out, const std::vector<run_result>& runs) {
    if (runs.empty()) {
        return;
    }
    std::vector<std::string> header;
    for (const auto& [k, v] : labels(runs.front())) {
        header.push_back(k);
    }
    for (const auto& [k, v] : figures(runs.front())) {
        header.push_back(k);
    }
    for (const auto& [k, v] : node_columns(runs.front())) {
        header.push_back(k);
    }
    fmt::print(out, "{}\n", fmt::join(header, ","));
    for (const auto& r : runs) {
        std::vector<std::string> cells;
        for (const auto& [k, v] : labels(r)) {
            cells.push_back(v);
        }
        for (const auto& [k, v] : figures(r)) {
            cells.push_back(fmt::format("{:.6g}", v));
        }
        for (const auto& [k, v] : node_columns(r)) {
            cells.push_back(v);
        }
        fmt::print(out, "{}\n", fmt::join(cells, ","));
    }
}

std::vector<std::filesystem::path> write_plots(const std::filesystem::path& dir,
                                               const std::vector<run_result>& runs) {
    std::filesystem::create_directories(dir);
    // One workflow: bars per pattern over its scenarios. Several (a sweep): a line per pattern
    // (and scenario, if several) over the workflows, in the order they ran.
    std::vector<std::string> workflows, scenarios, patterns;
    auto remember = [](std::vector<std::string>& seen, const std::string& name) {
        if (std::find(seen.begin(), seen.end(), name) == seen.end()) {
            seen.push_back(name);
        }
    };
    for (const auto& r : runs) {
        remember(workflows, r.config.workflow);
        remember(scenarios, r.config.scenario);
        remember(patterns, std::string(r.config.pattern_used->name()));
    }
    const bool sweep = workflows.size() > 1;
    auto series_of = [&](const run_result& r) {
        const std::string p(r.config.pattern_used->name());
        return sweep && scenarios.size() > 1 ? p + "/" + r.config.scenario : p;
    };
    std::map<std::string, std::map<std::string, const run_result*>> bars;  // scenario -> pattern
    std::map<std::string, std::map<std::size_t, const run_result*>> lines; // series -> workflow
    std::vector<std::string> series;
    for (const auto& r : runs) {
        if (sweep) {
            const auto at = static_cast<std::size_t>(
                std::find(workflows.begin(), workflows.end(), r.config.workflow) -
                workflows.begin());
            remember(series, series_of(r));
            lines[series_of(r)][at] = &r;
        } else {
            bars[r.config.scenario][std::string(r.config.pattern_used->name())] = &r;
        }
    }
    struct chart {
        std::string name, title, unit;
        double (*value)(const run_result&);
    };
    const std::vector<chart> charts{
        {"throughput", "completed workflows per second", "workflows/s",
         [](const run_result& r) { return r.workflows_per_s; }},
        {"latency_p50", "end-to-end latency p50", "us",
         [](const run_result& r) { return r.e2e_us.p50; }},
        {"latency_p99", "end-to-end latency p99", "us",
         [](const run_result& r) { return r.e2e_us.p99; }},
        {"bytes", "inter-service bytes per workflow", "bytes",
         [](const run_result& r) { return r.bytes_per_workflow; }},
        {"messages", "inter-service messages per workflow", "messages",
         [](const run_result& r) { return r.messages_per_workflow; }},
        {"query_bytes", "bytes per status query", "bytes",
         [](const run_result& r) { return r.query_bytes; }},
        {"state_bytes", "workflow state per workflow held", "bytes",
         [](const run_result& r) { return r.state_bytes_per_workflow; }},
        {"busiest_messages", "messages handled per workflow by the busiest node", "messages",
         [](const run_result& r) { return r.busiest_messages_per_workflow; }},
    };
    std::vector<std::filesystem::path> scripts;
    for (const auto& c : charts) {
        if (!bars.empty()) {
            const auto data = dir / (c.name + ".dat");
            std::ofstream d(data);
            fmt::print(d, "scenario {}\n", fmt::join(patterns, " "));
            for (const auto& scenario : scenarios) {
                const auto& by_pattern = bars[scenario];
                fmt::print(d, "{}", scenario);
                for (const auto& p : patterns) {
                    fmt::print(d, " {}", by_pattern.contains(p) ? c.value(*by_pattern.at(p)) : 0.0);
                }
                fmt::print(d, "\n");
            }
            const auto gp = dir / (c.name + ".gp");
            std::ofstream g(gp);
            fmt::print(g,
                       "set terminal svg size 800,450 dynamic\nset termoption noenhanced\n"
                       "set output '{}'\nset title '{} ({})'\n"
                       "set ylabel '{}'\nset style data histograms\nset style fill solid 0.8\n"
                       "set key outside\nset grid ytics\nset yrange [0:*]\n"
                       "plot for [i=2:{}] '{}' using i:xtic(1) title columnheader(i)\n",
                       (dir / (c.name + ".svg")).string(), c.title, workflows.front(), c.unit,
                       patterns.size() + 1, data.string());
            scripts.push_back(gp);
        }
        if (!lines.empty()) {
            const auto gp = dir / ("sweep_" + c.name + ".gp");
            std::ofstream g(gp);
            fmt::print(g,
                       "set terminal svg size 800,450 dynamic\nset termoption noenhanced\n"
                       "set output '{}'\n"
                       "set title '{} by workflow'\nset xlabel 'workflow'\n"
                       "set ylabel '{}'\nset key outside\nset grid\nset offsets 0.3,0.3,0,0\n"
                       "plot ",
                       (dir / ("sweep_" + c.name + ".svg")).string(), c.title, c.unit);
            std::vector<std::string> plotted;
            for (std::size_t i = 0; i < series.size(); ++i) {
                const auto data = dir / fmt::format("sweep_{}_{}.dat", c.name, i);
                std::ofstream d(data);
                for (const auto& [at, r] : lines[series[i]]) {
                    fmt::print(d, "{} {} {}\n", at, workflows[at], c.value(*r));
                }
                plotted.push_back(fmt::format("'{}' using 1:3:xtic(2) with linespoints title '{}'",
                                              data.string(), series[i]));
            }
            fmt::print(g, "{}\n", fmt::join(plotted, ", "));
            scripts.push_back(gp);
        }
    }
    std::vector<std::filesystem::path> svgs;
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        return svgs;
    }
    for (const auto& gp : scripts) {
        if (std::system(fmt::format("gnuplot '{}'", gp.string()).c_str()) == 0) {
            svgs.push_back(std::filesystem::path(gp).replace_extension(".svg"));
        }
    }
    return svgs;
}

} // namespace choreo::bench

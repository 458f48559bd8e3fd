#include "bench/report.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ostream.h>

namespace choreo::bench {
namespace {

std::string delay_of(const run_config& c) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(c.link_delay).count();
    return us == 0 ? "0" : fmt::format("{}us", us);
}

/// Every figure of a run, named with its unit, in one order for JSON and CSV alike.
std::vector<std::pair<std::string, double>> figures(const run_result& r) {
    return {
        {"workflows_completed", static_cast<double>(r.completed)},
        {"workflows_lost", static_cast<double>(r.lost)},
        {"workflows_not_as_predicted", static_cast<double>(r.wrong)},
        {"inter_service_messages_per_workflow", r.messages_per_workflow},
        {"inter_service_bytes_per_workflow", r.bytes_per_workflow},
        {"mean_message_bytes", r.mean_message_bytes},
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
            {"scenario", std::string(to_string(c.mix))},
            {"transport", std::string(to_string(c.via))},
            {"processes", c.spawn ? "one per service" : "one"},
            {"inflight", std::to_string(c.inflight)},
            {"link_delay", delay_of(c)},
            {"seed", std::to_string(c.seed)}};
}

} // namespace

void print_table(std::ostream& out, const std::vector<run_result>& runs) {
    fmt::print(out,
               "{:<17} {:<16} {:<9} {:>4} {:>6} {:>7} {:>7} {:>6} | {:>8} {:>8} {:>8} {:>9} "
               "{:>9} | {:>5} {:>6} {:>4} {:>8} | {:>6} | {:>8} {:>9} {:>6} {:>6}\n",
               "pattern", "workflow/scenario", "transport", "infl", "msg/wf", "B/wf", "B/msg",
               "delay", "p50 us", "p90 us", "p99 us", "max us", "wf/s", "q msg", "q B", "q svc",
               "q p50 us", "stateB", "floor us", "floor m/s", "lat x", "rate");
    for (const auto& r : runs) {
        const auto& c = r.config;
        fmt::print(out,
                   "{:<17} {:<16} {:<9} {:>4} {:>6.1f} {:>7.0f} {:>7.0f} {:>6} | {:>8.1f} {:>8.1f} "
                   "{:>8.1f} {:>9.1f} {:>9.0f} | {:>5.1f} {:>6.0f} {:>4.1f} {:>8.1f} | {:>6.0f} | "
                   "{:>8.2f} {:>9.0f} {:>6.2f} {:>5.1f}%\n",
                   c.pattern_used->name(),
                   c.workflow == "order" ? std::string(to_string(c.mix)) : c.workflow,
                   std::string(to_string(c.via)) + (c.spawn ? "/proc" : ""), c.inflight,
                   r.messages_per_workflow, r.bytes_per_workflow, r.mean_message_bytes, delay_of(c),
                   r.e2e_us.p50, r.e2e_us.p90, r.e2e_us.p99, r.e2e_us.max, r.workflows_per_s,
                   r.query_messages, r.query_bytes, r.query_services, r.query_us.p50,
                   r.state_bytes_per_workflow, r.floor.one_way_p50_us, r.floor.messages_per_s,
                   r.latency_ratio, 100 * r.rate_ratio);
        if (r.lost + r.wrong > 0) {
            fmt::print(out, "  !! {} workflow(s) lost, {} not as predicted\n", r.lost, r.wrong);
        }
    }
    fmt::print(out, "lat x = e2e p50 / (critical-path messages x (floor one-way + delay)); "
                    "rate = workflows/s x msg/wf / floor messages/s; stateB = workflow state "
                    "bytes per workflow held\n");
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
        j.push_back(row);
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
    fmt::print(out, "{}\n", fmt::join(header, ","));
    for (const auto& r : runs) {
        std::vector<std::string> cells;
        for (const auto& [k, v] : labels(r)) {
            cells.push_back(v);
        }
        for (const auto& [k, v] : figures(r)) {
            cells.push_back(fmt::format("{:.6g}", v));
        }
        fmt::print(out, "{}\n", fmt::join(cells, ","));
    }
}

std::vector<std::filesystem::path> write_plots(const std::filesystem::path& dir,
                                               const std::vector<run_result>& runs) {
    std::filesystem::create_directories(dir);
    // bars per pattern over the order workflow's scenarios; lines over chain length
    std::map<std::string, std::map<std::string, const run_result*>> bars;  // scenario -> pattern
    std::map<std::string, std::map<std::size_t, const run_result*>> sweep; // pattern -> N
    std::set<std::string> patterns;
    for (const auto& r : runs) {
        const std::string p(r.config.pattern_used->name());
        patterns.insert(p);
        if (r.config.workflow == "order") {
            bars[std::string(to_string(r.config.mix))][p] = &r;
        } else {
            sweep[p][std::stoul(r.config.workflow.substr(6))] = &r;
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
    };
    std::vector<std::filesystem::path> scripts;
    for (const auto& c : charts) {
        if (!bars.empty()) {
            const auto data = dir / (c.name + ".dat");
            std::ofstream d(data);
            fmt::print(d, "scenario {}\n", fmt::join(patterns, " "));
            for (const auto& [scenario, by_pattern] : bars) {
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
                       "set output '{}'\nset title '{}'\n"
                       "set ylabel '{}'\nset style data histograms\nset style fill solid 0.8\n"
                       "set key outside\nset grid ytics\nset yrange [0:*]\n"
                       "plot for [i=2:{}] '{}' using i:xtic(1) title columnheader(i)\n",
                       (dir / (c.name + ".svg")).string(), c.title, c.unit, patterns.size() + 1,
                       data.string());
            scripts.push_back(gp);
        }
        if (!sweep.empty()) {
            const auto gp = dir / ("sweep_" + c.name + ".gp");
            std::ofstream g(gp);
            fmt::print(g,
                       "set terminal svg size 800,450 dynamic\nset termoption noenhanced\n"
                       "set output '{}'\n"
                       "set title '{} by chain length'\nset xlabel 'steps (chain:N)'\n"
                       "set ylabel '{}'\nset key outside\nset grid\nset logscale x 2\nplot ",
                       (dir / ("sweep_" + c.name + ".svg")).string(), c.title, c.unit);
            std::vector<std::string> lines;
            for (const auto& [p, by_n] : sweep) {
                const auto data = dir / ("sweep_" + c.name + "_" + p + ".dat");
                std::ofstream d(data);
                for (const auto& [n, r] : by_n) {
                    fmt::print(d, "{} {}\n", n, c.value(*r));
                }
                lines.push_back(
                    fmt::format("'{}' using 1:2 with linespoints title '{}'", data.string(), p));
            }
            fmt::print(g, "{}\n", fmt::join(lines, ", "));
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

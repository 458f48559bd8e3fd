#include "bench/durability.hpp"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "bench/report.hpp"
#include "registry/builtin.hpp"

namespace choreo::bench {
namespace {

/// A directory of this run's own, removed at the end.
class scratch_dir {
public:
    scratch_dir() {
        auto name = (std::filesystem::temp_directory_path() / "choreo-bench-XXXXXX").string();
        if (::mkdtemp(name.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        }
        path_ = name;
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

std::string sync_name(store_sync s) {
    return s == store_sync::machine_crash ? "machine" : "process";
}

bool same_configuration(const run_config& a, const run_config& b) {
    return a.pattern_used == b.pattern_used && a.workflow == b.workflow &&
           a.scenario == b.scenario && a.via == b.via && a.spawn == b.spawn &&
           a.inflight == b.inflight;
}

double median_of(std::vector<double> v) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::string ms_text(const std::vector<double>& v) {
    return v.empty() ? "-"
                     : fmt::format("{:.0f} / {:.0f}", median_of(v),
                                   *std::max_element(v.begin(), v.end()));
}

} // namespace

std::string storage_label(const run_config& c) {
    if (c.in_memory) {
        return "memory";
    }
    return c.sync == store_sync::machine_crash ? "durable+fsync" : "durable";
}

std::vector<run_result> run_durability(const durability_config& config) {
    std::optional<scratch_dir> own;
    auto base = config.base;
    base.faults = {};
    if (!base.spawn && base.data_dir.empty()) {
        own.emplace();
        base.data_dir = own->path().string();
    }
    std::vector<run_result> runs;
    auto memory = base;
    memory.in_memory = true;
    memory.data_dir.clear();
    runs.push_back(run_workload(memory));
    for (const auto sync : config.syncs) {
        auto durable = base;
        durable.in_memory = false;
        durable.sync = sync;
        runs.push_back(run_workload(durable));
    }
    return runs;
}

std::vector<std::string> recovery_victims(const pattern& p, const workflow& wf) {
    const auto nodes = p.nodes(wf);
    std::vector<std::string> out;
    for (const auto& v : {std::string("payment"), p.entry(wf)}) {
        if (std::find(nodes.begin(), nodes.end(), v) != nodes.end() &&
            std::find(out.begin(), out.end(), v) == out.end()) {
            out.push_back(v);
        }
    }
    return out;
}

std::vector<recovery_run> run_recoveries(const durability_config& config,
                                         const std::vector<std::string>& victims) {
    if (!config.base.spawn) {
        throw std::invalid_argument("recovery runs kill a node's process: they need --spawn");
    }
    std::vector<recovery_run> out;
    std::mt19937_64 rng(config.base.seed);
    const auto& b = config.base;
    // The kill comes while workflows are in flight: after at least half the warm-up's and at
    // most half the measured workflows' messages, for a victim handling one or more per workflow.
    std::uniform_int_distribution<std::uint64_t> point(1 + b.warm_up / 2,
                                                       b.warm_up + b.workflows / 2);
    for (const auto& victim : victims) {
        for (std::size_t i = 0; i < config.recovery_runs; ++i) {
            auto c = b;
            c.in_memory = false;
            c.data_dir = b.data_dir;
            c.floor_messages = 1'000; // the floor is not what this run is about
            c.deadline = std::chrono::seconds(10);
            recovery_run r;
            r.pattern = std::string(c.pattern_used->name());
            r.workflow = c.workflow;
            r.scenario = c.scenario;
            r.victim = victim;
            r.kill_after = point(rng);
            const auto spec = fmt::format("kill:{}@{}:restart={}ms", victim, r.kill_after,
                                          config.restart_delay.count());
            const auto parsed = demo::parse_fault(spec);
            if (!parsed.value) {
                throw std::invalid_argument(spec + ": " + parsed.error);
            }
            c.faults.faults = {*parsed.value};
            const auto result = run_workload(c);
            r.recovery = result.recovery;
            r.lost = result.lost;
            fmt::print(stderr, "  {} {}: kill {} -> first end {}, drained {}\n", r.pattern, victim,
                       spec,
                       r.recovery && r.recovery->first_end_ms
                           ? fmt::format("{:.0f} ms", *r.recovery->first_end_ms)
                           : "-",
                       r.recovery && r.recovery->drained_ms
                           ? fmt::format("{:.0f} ms", *r.recovery->drained_ms)
                           : "-");
            out.push_back(std::move(r));
        }
    }
    return out;
}

void print_durability(std::ostream& out, const std::vector<run_result>& runs, double target) {
    fmt::print(out,
               "{:<17} {:<22} {:<14} {:>4} | {:>8} {:>8} {:>8} {:>7} | {:>7} {:>10} {:>7} "
               "{:>9} | {:>9} {:>10}\n",
               "pattern", "workflow/scenario", "storage", "infl", "p50 us", "p90 us", "p99 us",
               "wf/s", "acks/wf", "commits/wf", "rows/wf", "fsyncs/wf", "vs memory", "cpu us/wf");
    for (const auto& r : runs) {
        const auto& c = r.config;
        const auto memory = std::find_if(runs.begin(), runs.end(), [&](const run_result& m) {
            return m.config.in_memory && same_configuration(m.config, c);
        });
        const auto ratio = memory != runs.end() && memory->workflows_per_s > 0
                               ? r.workflows_per_s / memory->workflows_per_s
                               : 0.0;
        fmt::print(out,
                   "{:<17} {:<22} {:<14} {:>4} | {:>8.1f} {:>8.1f} {:>8.1f} {:>7.0f} | {:>7.2f} "
                   "{:>10.2f} {:>7.1f} {:>9.3f} | {:>8.0f}% {:>10}\n",
                   c.pattern_used->name(), c.workflow + "/" + c.scenario, storage_label(c),
                   c.inflight, r.e2e_us.p50, r.e2e_us.p90, r.e2e_us.p99, r.workflows_per_s,
                   r.acks_per_workflow, r.store_commits_per_workflow, r.store_rows_per_workflow,
                   r.store_syncs_per_workflow, 100 * ratio,
                   r.cpu_measured ? fmt::format("{:.0f}", r.nodes_cpu_us_per_workflow) : "-");
        if (r.lost + r.wrong + r.effects_differing > 0) {
            fmt::print(out, "  !! {} workflow(s) lost, {} not as predicted, {} effect(s) differ\n",
                       r.lost, r.wrong, r.effects_differing);
        }
        if (c.in_memory || memory == runs.end() || ratio >= target) {
            continue;
        }
        // Below the target: what the durable run spent beyond the one in memory.
        std::string where = fmt::format(
            "  below {:.0f}% of memory: {:.2f} commits, {:.1f} rows and {:.3f} fsyncs per "
            "workflow",
            100 * target, r.store_commits_per_workflow, r.store_rows_per_workflow,
            r.store_syncs_per_workflow);
        if (r.cpu_measured && memory->cpu_measured) {
            where += fmt::format("; nodes' CPU {:.0f} -> {:.0f} us/wf, busiest {} {:.0f} us/wf "
                                 "({:.0f}% of all nodes' CPU)",
                                 memory->nodes_cpu_us_per_workflow, r.nodes_cpu_us_per_workflow,
                                 r.busiest_cpu_node, r.busiest_cpu_us_per_workflow,
                                 100 * r.busiest_cpu_share);
        }
        fmt::print(out, "{}\n", where);
    }
    fmt::print(out,
               "storage: memory = nothing on disk; durable = one SQLite database (WAL) per node, "
               "one transaction per drained batch, synchronous=NORMAL (survives a killed "
               "process); durable+fsync = synchronous=FULL (every commit synced, survives a "
               "machine crash). acks/wf = ack messages per workflow (delivery traffic); "
               "commits/wf, rows/wf = every node's store together; fsyncs/wf = xSync calls on "
               "the stores' files, counted by a VFS wrapping SQLite's (each at least one "
               "fsync/fdatasync); vs memory = wf/s against the same configuration in memory, "
               "same run; cpu us/wf = every node process's CPU time per workflow (--spawn)\n");
}

void print_recoveries(std::ostream& out, const std::vector<recovery_run>& runs) {
    fmt::print(
        out,
        "\nRecovery after a kill (durable nodes, synchronous=NORMAL; SIGKILL after the handled "
        "messages given, restart after the delay), median / max over the runs:\n"
        "{:<17} {:<16} {:>5} {:>6} | {:>18} {:>18} | {:>12} {:>9}\n",
        "pattern", "victim", "runs", "killed", "first end ms", "drained ms", "backlog p50",
        "not ended");
    for (std::size_t i = 0; i < runs.size();) {
        std::size_t j = i;
        std::vector<double> first, drained, backlog;
        std::size_t killed = 0, not_ended = 0;
        for (; j < runs.size() && runs[j].pattern == runs[i].pattern &&
               runs[j].victim == runs[i].victim && runs[j].workflow == runs[i].workflow &&
               runs[j].scenario == runs[i].scenario;
             ++j) {
            const auto& r = runs[j];
            not_ended += r.lost;
            if (!r.recovery) {
                continue;
            }
            ++killed;
            not_ended += r.recovery->backlog_never_ended;
            backlog.push_back(static_cast<double>(r.recovery->backlog));
            if (r.recovery->first_end_ms) {
                first.push_back(*r.recovery->first_end_ms);
            }
            if (r.recovery->drained_ms) {
                drained.push_back(*r.recovery->drained_ms);
            }
        }
        fmt::print(out, "{:<17} {:<16} {:>5} {:>6} | {:>18} {:>18} | {:>12.0f} {:>9}\n",
                   runs[i].pattern, runs[i].victim, j - i, killed, ms_text(first), ms_text(drained),
                   median_of(backlog), not_ended);
        i = j;
    }
    fmt::print(out, "first end = from the restart (the node serving again) to the first "
                    "workflow ending after it; drained = to the last workflow placed before the "
                    "restart ending; backlog = workflows placed before the restart and not ended "
                    "by then; not ended = workflows that never ended (0 expected: durable)\n");
}

nlohmann::json durability_to_json(const std::vector<run_result>& runs,
                                  const std::vector<recovery_run>& recoveries) {
    auto rows = to_json(runs);
    for (std::size_t i = 0; i < runs.size() && i < rows.size(); ++i) {
        rows[i]["storage"] = storage_label(runs[i].config);
        rows[i]["store_sync"] = runs[i].config.in_memory ? "none" : sync_name(runs[i].config.sync);
    }
    auto kills = nlohmann::json::array();
    for (const auto& r : recoveries) {
        nlohmann::json k{{"pattern", r.pattern},       {"workflow", r.workflow},
                         {"scenario", r.scenario},     {"victim", r.victim},
                         {"kill_after", r.kill_after}, {"killed", r.recovery.has_value()},
                         {"workflows_lost", r.lost}};
        if (r.recovery) {
            k["restart_at_s"] = r.recovery->restart_at_s;
            k["backlog"] = r.recovery->backlog;
            k["backlog_never_ended"] = r.recovery->backlog_never_ended;
            k["first_end_ms"] = r.recovery->first_end_ms ? nlohmann::json(*r.recovery->first_end_ms)
                                                         : nlohmann::json();
            k["drained_ms"] =
                r.recovery->drained_ms ? nlohmann::json(*r.recovery->drained_ms) : nlohmann::json();
        }
        kills.push_back(std::move(k));
    }
    return {{"runs", rows}, {"recoveries", kills}};
}

} // namespace choreo::bench

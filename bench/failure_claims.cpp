#include "bench/failure_claims.hpp"

#include <algorithm>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "demo/failure_claims.hpp"

namespace choreo::bench {
namespace {

/// Returns: the load averages of /proc/loadavg (1, 5 and 15 minutes), as uptime prints them.
std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return in ? fmt::format("{}, {}, {}", one, five, fifteen) : std::string("unknown");
}

/// Returns: "p50 / p90 / max" of `ns` in milliseconds, or "-" if empty.
std::string percentiles(std::vector<std::int64_t> ns) {
    if (ns.empty()) {
        return "-";
    }
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) {
        const auto i = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1) + 0.5);
        return static_cast<double>(ns[i]) / 1e6;
    };
    return fmt::format("{:.0f} / {:.0f} / {:.0f} ms", at(0.5), at(0.9),
                       static_cast<double>(ns.back()) / 1e6);
}

double ms(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e6;
}

} // namespace

int run_failure_claims(std::ostream& out, const std::vector<const pattern*>& patterns,
                       const workflow& wf, std::uint64_t seed) {
    demo::failure_claims_options o;
    o.node_binary = demo::sibling_binary("choreo-node");
    o.orders = 400;
    o.in_flight = 20;
    o.placed_during = 20;
    o.held = 20;
    o.step_deadline = std::chrono::milliseconds(300);
    o.retries = 1;
    o.stuck_poll = std::chrono::milliseconds(50);
    o.seed = seed;
    out << fmt::format("failure claims, {} workflow, choreo-node processes over tcp; load "
                       "average {} at the start\n",
                       wf.name, load_average());
    demo::failure_claims c;
    try {
        c = demo::measure_failure_claims(patterns, wf, o);
    } catch (const std::exception& e) {
        out << "choreo-bench: " << e.what() << "\n";
        return 1;
    }

    out << fmt::format("\nrecovery: {} mixed workflows, {} SIGKILLed after {} handled messages, "
                       "restarted after {} ms\n",
                       o.orders, demo::middle_service(wf), o.orders / 4, o.restart_after.count());
    out << fmt::format("  {:<17} {:<8} {:>6} {:>22} {:>22}\n", "pattern", "store", "lost",
                       "restart->first end", "restart->all ended");
    for (const auto& r : c.recovery) {
        out << fmt::format("  {:<17} {:<8} {:>6} {:>19.0f} ms {:>22}\n", r.pattern,
                           r.durable ? "durable" : "memory", r.lost, ms(r.restart_to_first_end),
                           r.lost == 0 ? fmt::format("{:.0f} ms", ms(r.restart_to_drained))
                                       : std::string("never (lost)"));
    }

    out << fmt::format("\nstatus queries during an outage (query timeout {} ms)\n",
                       o.query_timeout.count());
    out << fmt::format("  {:<17} {:<18} {:>10} {:<16} {:>10} {}\n", "pattern", "node down",
                       "outage", "workflow", "latency", "answer");
    for (const auto& r : c.outages) {
        for (const auto& s : r.statuses) {
            out << fmt::format("  {:<17} {:<18} {:>7.0f} ms {:<16} {:>7.1f} ms {}{}\n", r.pattern,
                               r.victim, ms(r.outage), s.of,
                               static_cast<double>(s.latency_ns) / 1e6, s.state,
                               s.silent.empty() ? "" : " (silent: " + s.silent.front() + ")");
        }
    }

    out << fmt::format("\nstuck workflows: {} held at a paused {}, step deadline {} ms, {} "
                       "re-drive(s), stuck query every {} ms for --older-than {} ms\n",
                       o.held, demo::middle_service(wf), o.step_deadline.count(), o.retries,
                       o.stuck_poll.count(), o.step_deadline.count());
    out << fmt::format("  {:<17} {:>9} {:>28} {:>28} {:>8} {:>10} {:>12}\n", "pattern", "detected",
                       "detection p50 / p90 / max", "failed p50 / p90 / max", "queries",
                       "msgs/query", "bytes/query");
    for (const auto& r : c.stuck) {
        const auto per = [&](std::uint64_t n) {
            return r.queries == 0 ? std::string("-") : fmt::format("{}", n / r.queries);
        };
        out << fmt::format("  {:<17} {:>6}/{:<2} {:>28} {:>28} {:>8} {:>10} {:>12}\n", r.pattern,
                           r.detected, r.held, percentiles(r.detection_ns),
                           percentiles(r.failed_ns), r.queries, per(r.query_messages),
                           per(r.query_bytes));
    }
    out << fmt::format("\nload average {} at the end\n", load_average());
    return 0;
}

} // namespace choreo::bench

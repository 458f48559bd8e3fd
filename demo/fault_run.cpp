#include "demo/fault_run.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "patterns/workflow_module.hpp"

namespace choreo::demo {
namespace {
using clock_type = std::chrono::steady_clock;
} // namespace

std::map<std::string, std::optional<std::uint64_t>> dropped_by_fault(deployment& d) {
    std::map<std::string, std::optional<std::uint64_t>> out;
    for (const auto& n : d.nodes()) {
        if (auto* local = dynamic_cast<local_deployment*>(&d)) {
            out[n] = local->counters(n).dropped_by_fault;
        } else {
            // A node in another process is asked, as remote_deployment asks it; one that does
            // not answer is down (killed and not restarted).
            const auto answer =
                d.client().ask(n, msg::inspect_request{0, 0}, std::chrono::milliseconds(2'000));
            const auto* r =
                answer ? msg::get_if<msg::inspect_reply>(&answer.value().payload) : nullptr;
            out[n] = r != nullptr ? std::optional(r->dropped_by_fault) : std::nullopt;
        }
    }
    return out;
}

fault_run run_with_faults(deployment& d, const tour_options& o, const fault_plan& plan,
                          const spawned_services* children) {
    fault_run r;
    r.pattern = d.used_pattern().name();
    r.workflow = d.flow().name;
    r.scenario = batch_scenario(d.flow(), o);
    for (const auto& f : plan.faults) {
        r.faults.push_back(f.text());
    }
    auto generator = module_of(d.flow()).make_workload(d.flow(), r.scenario, o.seed);
    if (!generator) {
        throw std::invalid_argument("no scenario " + r.scenario + " in " + d.flow().name);
    }
    const auto plans = generator.value()->take(o.orders);
    std::vector<std::string> ids;
    const auto start = clock_type::now();
    for (const auto& p : plans) {
        ids.push_back(d.client().place(p.details));
    }
    r.placed = ids.size();
    auto quiet = std::chrono::nanoseconds(std::chrono::seconds(3));
    for (const auto& f : plan.faults) {
        if (f.is_process_fault()) {
            quiet = std::max(quiet, std::chrono::nanoseconds(std::chrono::seconds(3)) + f.duration);
        }
    }
    const auto until = start + o.deadline;
    std::size_t ended = 0;
    auto last_progress = clock_type::now();
    while (!d.client().wait_for(ids, std::chrono::milliseconds(200))) {
        const auto now_ended = d.client().ended_count();
        const auto now = clock_type::now();
        if (now_ended != ended) {
            ended = now_ended;
            last_progress = now;
        }
        if (now >= until || now - last_progress >= quiet) {
            break;
        }
    }
    r.waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (const auto outcome = d.client().outcome(ids[i])) {
            ++r.ended;
            r.as_predicted += outcome->terminal == plans[i].expected_terminal ? 1 : 0;
        }
    }
    r.not_ended = r.placed - r.ended;
    r.dropped = dropped_by_fault(d);
    if (children != nullptr) {
        r.events = children->fault_events();
        r.tally = children->tally();
    }
    return r;
}

void print_fault_run(std::ostream& out, const fault_run& r) {
    out << fmt::format("\n== {}: {} {} {} workflows under --fault {} ==\n", r.pattern, r.placed,
                       r.scenario, r.workflow, fmt::join(r.faults, " --fault "));
    for (const auto& e : r.events) {
        out << fmt::format("  +{:7.3f} s  {} {}: {}\n", std::chrono::duration<double>(e.at).count(),
                           e.what, e.service, e.detail);
    }
    if (!r.events.empty() || r.tally != fault_tally{}) {
        out << fmt::format("  kills {}, restarts {}, pauses {}, continues {}\n", r.tally.kills,
                           r.tally.restarts, r.tally.pauses, r.tally.continues);
    }
    std::uint64_t dropped = 0;
    std::vector<std::string> per_node;
    for (const auto& [node, n] : r.dropped) {
        dropped += n.value_or(0);
        if (!n) {
            per_node.push_back(node + " (down: not counted)");
        } else if (*n > 0) {
            per_node.push_back(fmt::format("{} {}", node, *n));
        }
    }
    out << fmt::format("  inter-service sends dropped by a fault: {}{}\n", dropped,
                       per_node.empty() ? "" : fmt::format(" ({})", fmt::join(per_node, ", ")));
    out << fmt::format("  placed {}, ended {} ({} as predicted, {} otherwise), not ended {} "
                       "(waited {:.1f} s)\n",
                       r.placed, r.ended, r.as_predicted, r.ended - r.as_predicted, r.not_ended,
                       std::chrono::duration<double>(r.waited).count());
    if (r.not_ended > 0) {
        out << "  without acknowledgements and resends, a message lost with a killed node or to "
               "a drop ends its workflow's progress: those workflows are lost\n";
    }
}

} // namespace choreo::demo

#include "demo/faults.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "demo/cli.hpp"

namespace choreo::demo {
namespace {

using std::chrono::nanoseconds;

/// Returns: `d` in the largest unit that writes it whole, e.g. "1s", "250ms", "7ns".
std::string duration_text(nanoseconds d) {
    const auto n = d.count();
    if (n != 0 && n % 1'000'000'000 == 0) {
        return fmt::format("{}s", n / 1'000'000'000);
    }
    if (n != 0 && n % 1'000'000 == 0) {
        return fmt::format("{}ms", n / 1'000'000);
    }
    if (n != 0 && n % 1'000 == 0) {
        return fmt::format("{}us", n / 1'000);
    }
    return n == 0 ? "0" : fmt::format("{}ns", n);
}

std::optional<std::uint64_t> whole(std::string_view text) {
    std::uint64_t n = 0;
    const auto* end = text.data() + text.size();
    const auto [rest, ec] = std::from_chars(text.data(), end, n);
    if (text.empty() || ec != std::errc{} || rest != end) {
        return std::nullopt;
    }
    return n;
}

bool node_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

constexpr std::string_view duration_forms = "a duration such as 500ms or 1s, at most 10 s";

parsed_fault failed(std::string_view spec, std::string why) {
    return {std::nullopt, fmt::format("'{}': {}", spec, why)};
}

/// Reads "SERVICE@N" into `f`. Returns: what is wrong, or empty.
std::string read_target(std::string_view text, fault& f) {
    const auto at = text.find('@');
    if (at == std::string_view::npos) {
        return fmt::format("'{}' names no message count; valid: SERVICE@N", text);
    }
    const auto service = text.substr(0, at);
    if (!node_name(service)) {
        return fmt::format("'{}' is not a node name", service);
    }
    const auto n = whole(text.substr(at + 1));
    if (!n) {
        return fmt::format("'{}' is not a whole number of handled messages", text.substr(at + 1));
    }
    if (*n == 0) {
        return "N = 0: a node handles at least one message before a fault fires; valid: N >= 1";
    }
    f.service = std::string(service);
    f.after = *n;
    return {};
}

} // namespace

std::string_view to_string(fault_kind k) noexcept {
    switch (k) {
    case fault_kind::kill:
        return "kill";
    case fault_kind::pause:
        return "pause";
    case fault_kind::delay:
        return "delay";
    case fault_kind::drop:
        return "drop";
    }
    return "?";
}

std::string fault::text() const {
    switch (kind) {
    case fault_kind::kill:
        return fmt::format("kill:{}@{}{}", service, after,
                           restarts ? ":restart=" + duration_text(duration) : "");
    case fault_kind::pause:
        return fmt::format("pause:{}@{}:{}", service, after, duration_text(duration));
    case fault_kind::delay:
        return fmt::format("delay:{}:{}", service, duration_text(duration));
    case fault_kind::drop:
        return fmt::format("drop:{}{}", probability,
                           seed ? fmt::format(":seed={}", *seed) : std::string());
    }
    return {};
}

parsed_fault parse_fault(std::string_view spec) {
    const auto colon = spec.find(':');
    const auto kind = spec.substr(0, colon);
    const auto rest = colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1);
    fault f;
    if (kind == "kill") {
        f.kind = fault_kind::kill;
        const auto option = rest.find(':');
        if (auto why = read_target(rest.substr(0, option), f); !why.empty()) {
            return failed(spec, why);
        }
        if (option != std::string_view::npos) {
            const auto restart = rest.substr(option + 1);
            if (!restart.starts_with("restart=")) {
                return failed(spec, fmt::format("'{}' is not restart=DELAY", restart));
            }
            const auto d = cli::parse_duration(restart.substr(8));
            if (!d) {
                return failed(spec, fmt::format("restart delay '{}' is not {}", restart.substr(8),
                                                duration_forms));
            }
            f.restarts = true;
            f.duration = *d;
        }
    } else if (kind == "pause") {
        f.kind = fault_kind::pause;
        const auto option = rest.find(':');
        if (option == std::string_view::npos) {
            return failed(spec, "a pause needs a duration; valid: pause:SERVICE@N:DURATION");
        }
        if (auto why = read_target(rest.substr(0, option), f); !why.empty()) {
            return failed(spec, why);
        }
        const auto d = cli::parse_duration(rest.substr(option + 1));
        if (!d || d->count() == 0) {
            return failed(spec, fmt::format("pause '{}' is not {}, above 0",
                                            rest.substr(option + 1), duration_forms));
        }
        f.duration = *d;
    } else if (kind == "delay") {
        f.kind = fault_kind::delay;
        const auto option = rest.find(':');
        if (option == std::string_view::npos) {
            return failed(spec, "a delay needs a duration; valid: delay:SERVICE:DURATION");
        }
        if (!node_name(rest.substr(0, option))) {
            return failed(spec, fmt::format("'{}' is not a node name", rest.substr(0, option)));
        }
        const auto d = cli::parse_duration(rest.substr(option + 1));
        if (!d) {
            return failed(
                spec, fmt::format("delay '{}' is not {}", rest.substr(option + 1), duration_forms));
        }
        f.service = std::string(rest.substr(0, option));
        f.duration = *d;
    } else if (kind == "drop") {
        f.kind = fault_kind::drop;
        const auto option = rest.find(':');
        const auto p = rest.substr(0, option);
        double value = -1;
        const auto* end = p.data() + p.size();
        const auto [stop, ec] = std::from_chars(p.data(), end, value);
        if (p.empty() || ec != std::errc{} || stop != end || !std::isfinite(value) || value < 0 ||
            value >= 1) {
            return failed(spec, fmt::format("'{}' is not a probability; valid: 0 <= P < 1", p));
        }
        f.probability = value;
        if (option != std::string_view::npos) {
            const auto seed = rest.substr(option + 1);
            const auto n = seed.starts_with("seed=") ? whole(seed.substr(5)) : std::nullopt;
            if (!n) {
                return failed(spec, fmt::format("'{}' is not seed=S (a whole number)", seed));
            }
            f.seed = *n;
        }
    } else {
        return failed(spec, fmt::format("unknown fault '{}'; valid: {}", kind, fault_forms));
    }
    return {std::move(f), {}};
}

bool fault_plan::has_process_faults() const noexcept {
    return std::any_of(faults.begin(), faults.end(),
                       [](const fault& f) { return f.is_process_fault(); });
}

const fault* fault_plan::process_fault_of(std::string_view service) const noexcept {
    for (const auto& f : faults) {
        if (f.is_process_fault() && f.service == service) {
            return &f;
        }
    }
    return nullptr;
}

send_drop fault_plan::drop(std::uint64_t seed) const noexcept {
    for (const auto& f : faults) {
        if (f.kind == fault_kind::drop) {
            return {f.probability, f.seed.value_or(seed)};
        }
    }
    return {};
}

node_options fault_plan::options_for(std::string_view service, node_options base,
                                     std::uint64_t seed) const {
    for (const auto& f : faults) {
        if (f.kind == fault_kind::delay && f.service == service) {
            base.link_delay = f.duration;
        }
    }
    base.drop = drop(seed);
    return base;
}

deployment_options fault_plan::local_options(deployment_options base, std::uint64_t seed) const {
    for (const auto& f : faults) {
        if (f.kind == fault_kind::delay) {
            base.link_delays[f.service] = f.duration;
        }
    }
    base.node.drop = drop(seed);
    return base;
}

std::vector<std::string> fault_plan::node_args(std::uint64_t seed, bool process_faults) const {
    std::vector<std::string> args;
    for (auto f : faults) {
        if (f.is_process_fault() && !process_faults) {
            continue;
        }
        if (f.kind == fault_kind::drop) {
            f.seed = f.seed.value_or(seed);
        }
        args.push_back("--fault");
        args.push_back(f.text());
    }
    return args;
}

parsed_plan parse_faults(const std::vector<std::string>& specs) {
    parsed_plan out;
    for (const auto& s : specs) {
        auto f = parse_fault(s);
        if (!f.value) {
            out.error = std::move(f.error);
            return out;
        }
        out.plan.faults.push_back(std::move(*f.value));
    }
    return out;
}

std::optional<std::string> plan_error(const fault_plan& plan,
                                      const std::vector<std::string>& nodes) {
    std::set<std::pair<std::string, bool>> seen; // (service, process fault) once each
    bool dropping = false;
    for (const auto& f : plan.faults) {
        if (f.kind == fault_kind::drop) {
            if (dropping) {
                return fmt::format("'{}': one drop fault at most", f.text());
            }
            dropping = true;
            continue;
        }
        if (std::find(nodes.begin(), nodes.end(), f.service) == nodes.end()) {
            return fmt::format("'{}': '{}' is no node of this deployment; valid: {}", f.text(),
                               f.service, fmt::join(nodes, ", "));
        }
        if (!seen.insert({f.service, f.is_process_fault()}).second) {
            return fmt::format("'{}': {} has a {} already; one per node", f.text(), f.service,
                               f.is_process_fault() ? "kill or pause" : "delay");
        }
    }
    return std::nullopt;
}

CLI::Option* add_faults(CLI::App& app, std::vector<std::string>& specs, const std::string& more) {
    return app
        .add_option("--fault", specs,
                    fmt::format("inject a fault (repeatable): {}. kill: SIGKILL the node after "
                                "it has handled N workflow messages (status queries do not "
                                "count), restarted on its endpoint after DELAY, or never; "
                                "pause: SIGSTOP after N, SIGCONT after DURATION; delay: every "
                                "message the node sends waits DURATION; drop: every node drops "
                                "each inter-service workflow send with probability P, from a "
                                "stream seeded by S (default: --seed) and the node's name, "
                                "counted as dropped_by_fault. {}",
                                fault_forms, more))
        ->check(CLI::Validator(
            [](std::string& value) -> std::string { return parse_fault(value).error; }, ""))
        ->type_name("FAULT");
}

} // namespace choreo::demo

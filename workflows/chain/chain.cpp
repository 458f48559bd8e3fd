#include "workflows/chain/chain.hpp"

#include <charconv>
#include <random>

#include <fmt/format.h>

#include "patterns/errors.hpp"

namespace choreo::chain {
namespace {

constexpr std::string_view failed_terminal = "step_failed";

std::string step_name(std::size_t i) {
    return "step_" + std::to_string(i);
}

/// Reads "N" or "N:K" after "chain:". Returns: false if malformed or out of range.
bool parse(std::string_view text, std::size_t& n, std::size_t& k) {
    auto number = [](std::string_view digits, std::size_t& out) {
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
        // One spelling per workflow: no sign, no leading zero ("chain:08" is not "chain:8").
        return ec == std::errc{} && end == digits.data() + digits.size() && !digits.empty() &&
               (digits.size() == 1 || digits.front() != '0');
    };
    const auto colon = text.find(':');
    k = 0;
    if (!number(text.substr(0, colon), n)) {
        return false;
    }
    if (colon != std::string_view::npos && !number(text.substr(colon + 1), k)) {
        return false;
    }
    return n >= 1 && n <= max_length && (k == 0 || k + 2 <= n);
}

/// A step that passes every workflow on, unless the workflow is marked to fail there. Its
/// domain data is what it counted.
class pass_through final : public typed_domain_service<item> {
public:
    using typed_domain_service::typed_domain_service;

private:
    step_result decide(const workflow& wf, std::uint32_t index, const std::string&,
                       const item& it) override {
        if (it.fail_at == index + 1 && !wf.steps[index].failures.empty()) {
            ++failed_;
            return {"fault", "failed on purpose"};
        }
        ++passed_;
        return {"", "passed"};
    }

    std::string on_failure(const failure& f, const std::string&, const item&) override {
        ++told_;
        return "told of " + f.event;
    }

    void do_add_effects(domain_effects& out) const override {
        auto add = [&](const char* what, std::uint64_t n) {
            if (n > 0) {
                out[std::string(what) + ":" + name()] += static_cast<std::int64_t>(n);
            }
        };
        add("passed", passed_);
        add("failed", failed_);
        add("told", told_);
    }

    std::size_t on_domain_bytes() const override { return sizeof(*this) - sizeof(domain_service); }

    void on_save(snapshot::writer& w) const override { w << passed_ << failed_ << told_; }
    void on_load(snapshot::reader& r) override {
        std::uint64_t passed = 0, failed = 0, told = 0;
        r >> passed >> failed >> told;
        passed_ = passed;
        failed_ = failed;
        told_ = told;
    }

    std::uint64_t passed_ = 0, failed_ = 0, told_ = 0;
};

class generator final : public workload {
public:
    generator(std::uint64_t seed, std::string mix, std::size_t failing)
        : random_(seed), mix_(std::move(mix)), failing_(failing) {}

    planned_workflow next() override {
        const bool fail = mix_ == "failure" ||
                          (mix_ == "mixed" && std::uniform_int_distribution<int>(0, 1)(random_));
        if (!fail || failing_ == 0) {
            return {msg::value::of(item{0}), "completed", "happy"};
        }
        const auto at = std::uniform_int_distribution<std::size_t>(2, failing_ + 1)(random_);
        return {msg::value::of(item{static_cast<std::uint32_t>(at)}), std::string(failed_terminal),
                "failure"};
    }

private:
    std::mt19937_64 random_;
    std::string mix_;
    std::size_t failing_;
};

std::size_t failing_steps(const workflow& wf) {
    std::size_t k = 0;
    for (const auto& s : wf.steps) {
        k += s.failures.empty() ? 0 : 1;
    }
    return k;
}

class module final : public workflow_module {
public:
    std::string_view name() const noexcept override { return "chain"; }
    std::string usage() const override {
        return fmt::format("chain:N or chain:N:K (1 <= N <= {}, K <= N-2 steps that can fail)",
                           max_length);
    }

    result<workflow> model(std::string_view name) const override {
        constexpr std::string_view prefix = "chain:";
        std::size_t n = 0, k = 0;
        if (!name.starts_with(prefix) || !parse(name.substr(prefix.size()), n, k)) {
            return std::error_code(errc::unknown_workflow);
        }
        auto wf = chain::model(n, k);
        wf.name = std::string(name);
        wf.module = this;
        return wf;
    }

    result<std::unique_ptr<domain_service>> make_service(const workflow& wf,
                                                         std::string_view service) const override {
        for (const auto& s : wf.steps) {
            if (s.service == service) {
                return std::unique_ptr<domain_service>(
                    std::make_unique<pass_through>(std::string(service)));
            }
        }
        return std::error_code(errc::unknown_service);
    }

    std::vector<std::string> scenarios(const workflow& wf) const override {
        if (failing_steps(wf) == 0) {
            return {"happy"};
        }
        return {"happy", "failure", "mixed"};
    }

    std::vector<std::string> traced_scenarios(const workflow& wf) const override {
        if (failing_steps(wf) == 0) {
            return {"happy"};
        }
        return {"happy", "failure"};
    }

    result<std::unique_ptr<workload>> make_workload(const workflow& wf, std::string_view scenario,
                                                    std::uint64_t seed) const override {
        const auto names = scenarios(wf);
        if (std::find(names.begin(), names.end(), scenario) == names.end()) {
            return std::error_code(errc::unknown_workflow);
        }
        return std::unique_ptr<workload>(
            std::make_unique<generator>(seed, std::string(scenario), failing_steps(wf)));
    }

    domain_effects predict(const workflow& wf, const placed_workflows& placed) const override {
        domain_effects e;
        for (const auto& [id, p] : placed) {
            const auto it = decode_value<item>(p.details).value();
            const auto last = it.fail_at == 0 ? wf.steps.size() : it.fail_at - 1;
            for (std::size_t i = 1; i <= last; ++i) {
                ++e["passed:" + step_name(i)];
            }
            if (it.fail_at != 0) {
                ++e["failed:" + step_name(it.fail_at)];
                ++e["told:" + step_name(wf.steps.size())];
            }
        }
        return e;
    }

    std::string describe(const msg::value& details) const override {
        const auto it = decode_value<item>(details);
        if (!it) {
            return "(not a chain item)";
        }
        return it.value().fail_at == 0 ? "passes every step"
                                       : fmt::format("fails at step_{}", it.value().fail_at);
    }

    std::string describe(const domain_effects& e) const override {
        std::int64_t passed = 0, failed = 0, told = 0;
        for (const auto& [key, n] : e) {
            (key.starts_with("passed:") ? passed : key.starts_with("failed:") ? failed : told) += n;
        }
        return fmt::format("{} steps passed, {} failed, {} failure notices", passed, failed, told);
    }
};

} // namespace

workflow model(std::size_t n, std::size_t k) {
    workflow wf;
    wf.name = k == 0 ? fmt::format("chain:{}", n) : fmt::format("chain:{}:{}", n, k);
    for (std::size_t i = 1; i <= n; ++i) {
        step s{step_name(i), step_name(i) + "_done", {}};
        if (i >= 2 && i <= k + 1) {
            s.failures.push_back(
                {"fault", step_name(i) + "_failed", std::string(failed_terminal), {step_name(n)}});
        }
        wf.steps.push_back(std::move(s));
    }
    return wf;
}

std::unique_ptr<workflow_module> make_module() {
    return std::make_unique<module>();
}

} // namespace choreo::chain

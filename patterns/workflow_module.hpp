// What a workflow module gives the kit: its model, services, seeded generator and predictions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patterns/contracts.hpp"
#include "patterns/domain.hpp"
#include "patterns/result.hpp"
#include "patterns/workflow.hpp"

namespace choreo {

using domain_effects = msg::domain_effects;

/// A workflow to place and the terminal state it must reach, known before it is placed.
struct planned_workflow {
    msg::value details;            ///< the business payload placed with it
    std::string expected_terminal; ///< e.g. "completed", "payment_rejected"
    std::string scenario;          ///< the scenario that made it, e.g. "back_order"
    /// Events from outside the chain (step::awaits) whoever drives the workflow sends right
    /// after placing it: the outcome does not depend on whether they come before the step
    /// that awaits them is reached or after.
    std::vector<std::string> outside_events{};
    /// An interrupt's command (workflow::interrupts) the driver sends once the workflow waits
    /// at its first step that awaits an outside event (empty: none). Sent then, it ends the
    /// workflow at that step under every pattern.
    std::string interrupt{};
};

/// Workflows placed, each with the id it was given.
using placed_workflows = std::vector<std::pair<std::string, planned_workflow>>;

/// A seeded, reproducible source of planned workflows.
class workload {
public:
    virtual ~workload() = default;
    virtual planned_workflow next() = 0;
    std::vector<planned_workflow> take(std::size_t n) {
        std::vector<planned_workflow> out;
        out.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            out.push_back(next());
        }
        return out;
    }
};

/// One workflow (or a family of them, such as chain:N) with everything needed to run it.
/// Modules are registered by name in a workflow_registry; the kit's core and its patterns
/// never name one.
class workflow_module {
public:
    virtual ~workflow_module() = default;

    /// The family name, e.g. "order" or "chain".
    virtual std::string_view name() const noexcept = 0;
    /// How its workflows are named, for help texts, e.g. "chain:N (1 <= N <= 1024)".
    virtual std::string usage() const = 0;
    /// Returns: the model called `name` (with `module` set to this), or errc::unknown_workflow.
    virtual result<workflow> model(std::string_view name) const = 0;
    /// Returns: the domain service `service` of `wf` over the module's standard data, or
    /// errc::unknown_service.
    virtual result<std::unique_ptr<domain_service>>
    make_service(const workflow& wf, std::string_view service) const = 0;
    /// Returns: every scenario name, the mix of all of them ("mixed") last.
    virtual std::vector<std::string> scenarios(const workflow& wf) const = 0;
    /// Returns: the scenarios the demo traces one workflow of (each ends differently).
    virtual std::vector<std::string> traced_scenarios(const workflow& wf) const = 0;
    /// Returns: a seeded generator of scenario `scenario`, or errc::unknown_workflow if the
    /// module has no such scenario.
    virtual result<std::unique_ptr<workload>>
    make_workload(const workflow& wf, std::string_view scenario, std::uint64_t seed) const = 0;
    /// Returns: the domain effects `placed` must have on the standard data, once settled.
    virtual msg::domain_effects predict(const workflow& wf,
                                        const placed_workflows& placed) const = 0;
    /// Returns: whether `effects` have settled: no service holds work it will do later on its
    /// own (domain_service::later_work(), a survey to retry, say), whose effects are still to
    /// come. A module whose services do nothing later is always settled.
    virtual bool settled(const workflow& wf, const msg::domain_effects& effects) const {
        static_cast<void>(wf);
        static_cast<void>(effects);
        return true;
    }
    /// Returns: a one-line description of a business payload, for traces.
    virtual std::string describe(const msg::value& details) const = 0;
    /// Returns: a one-line summary of domain effects, for the demo.
    virtual std::string describe(const msg::domain_effects& effects) const = 0;
};

/// The workflow modules available by name.
class workflow_registry {
public:
    /// Throws: std::invalid_argument if a module of that name is registered already.
    void add(std::unique_ptr<workflow_module> m);
    /// Returns: the model called `name` from whichever module knows it, or
    /// errc::unknown_workflow.
    result<workflow> find(std::string_view name) const;
    /// Returns: the module called `name` (a family name, e.g. "chain"), or nullptr.
    const workflow_module* module(std::string_view name) const noexcept;
    /// Returns: every module's usage, for help texts and error messages.
    std::vector<std::string> usages() const;

private:
    std::vector<std::unique_ptr<workflow_module>> modules_;
};

/// Returns: the module of `wf`. Throws: std::invalid_argument if it has none (a hand-made model).
const workflow_module& module_of(const workflow& wf);

/// Returns: "key: got X, predicted Y" for every key on which `got` and `predicted` differ.
std::vector<std::string> effects_differences(const msg::domain_effects& got,
                                             const msg::domain_effects& predicted);

} // namespace choreo

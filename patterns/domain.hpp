// The domain services of the order workflow, their own data, and the seeded order generator.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "patterns/contracts.hpp"
#include "patterns/result.hpp"
#include "patterns/workflow.hpp"

namespace choreo {

/// The starting data of every domain service: customer accounts and the inventory.
struct domain_fixture {
    struct account {
        bool card_valid = true;
        std::uint64_t credit_limit_cents = 0;
    };
    struct product {
        std::uint64_t price_cents = 0;
        std::int64_t stock = 0;
    };
    std::map<std::string, account> accounts;
    std::map<std::string, product> catalog;

    /// The fixture the generator's predictions are made for.
    static domain_fixture standard();
};

/// Domain effects that every pattern must produce identically for the same orders.
using domain_effects = msg::domain_effects;

/// What a domain service decided for one step: empty `failure` means success.
struct step_result {
    std::string failure; ///< a failure outcome of the step, e.g. "card_declined"
    std::string detail;
};

/// A service of the workflow with its own domain data. Outcomes are decided from that data,
/// deterministically. It also keeps a journal of what it did per workflow: its own business
/// record (a payment line, a shipment, an email), which the stateless pattern reads as the
/// service's live snapshot.
class domain_service {
public:
    explicit domain_service(std::string name) : name_(std::move(name)) {}
    virtual ~domain_service() = default;
    domain_service(const domain_service&) = delete;
    domain_service& operator=(const domain_service&) = delete;

    const std::string& name() const noexcept { return name_; }

    /// Runs step `index` of `wf` for a workflow. Running the same step of the same workflow
    /// again returns the first record and changes nothing (at-least-once delivery is safe).
    /// Returns: the record, status "done" (outcome = step event) or "failed" (failure event).
    msg::step_record run(const workflow& wf, std::uint32_t index, const std::string& workflow_id,
                         const msg::order& order);

    /// Tells this service that step `index` failed with `f`. Idempotent like run().
    msg::step_record notify(const workflow& wf, std::uint32_t index, const failure& f,
                            const std::string& workflow_id, const msg::order& order);

    /// Returns: what this service did for the workflow, from its own data (empty if nothing).
    std::vector<msg::step_record> snapshot(const std::string& workflow_id) const;

    /// Adds this service's domain effects to `out`.
    virtual void add_effects(domain_effects& out) const = 0;

private:
    virtual step_result decide(const msg::order& order, const std::string& workflow_id) = 0;
    virtual std::string on_failure(const failure& f, const msg::order& order,
                                   const std::string& workflow_id);

    const msg::step_record* journaled(const std::string& workflow_id, std::uint32_t index,
                                      std::string_view status) const;

    std::string name_;
    std::unordered_map<std::string, std::vector<msg::step_record>> journal_;
};

/// Returns: the domain service `service` of `wf`, over a copy of `fixture`'s data;
/// errc::unknown_service if `wf` has no such service.
result<std::unique_ptr<domain_service>>
make_domain_service(const workflow& wf, std::string_view service, const domain_fixture& fixture);

/// Scenario mixes of the order generator.
enum class scenario { happy, payment_rejected, back_order, rejected, mixed };

std::string_view to_string(scenario s) noexcept;
/// Returns: the scenario called `name`, or nullopt.
std::optional<scenario> scenario_by_name(std::string_view name) noexcept;
/// Returns: every scenario name, for help texts.
std::vector<std::string> scenario_names();

/// An order and the terminal state it must reach, known before it is placed.
struct planned_order {
    msg::order order;
    std::string expected_terminal;
    scenario kind{};
};

/// A seeded, reproducible source of orders for domain_fixture::standard().
/// For chain:N workflows every order is expected to complete.
class order_generator {
public:
    order_generator(std::uint64_t seed, scenario mix, const workflow& wf);
    planned_order next();
    std::vector<planned_order> take(std::size_t n);

private:
    planned_order make(scenario s);
    std::mt19937_64 random_;
    scenario mix_;
    bool is_order_workflow_;
};

/// Returns: the domain effects `orders` must have on domain_fixture::standard(), given each
/// order's workflow id (the generator's prediction).
domain_effects predict_effects(const std::vector<std::pair<std::string, planned_order>>& orders);

/// Returns: the total price of an order in cents.
std::uint64_t order_total_cents(const msg::order& order);

} // namespace choreo

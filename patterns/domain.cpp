#include "patterns/domain.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "patterns/clock.hpp"
#include "patterns/errors.hpp"

namespace choreo {
namespace {

constexpr std::size_t max_quantity = 100;

std::string email_subject(std::string_view event) {
    if (event == "payment_declined") {
        return "payment declined";
    }
    if (event == "order_back_ordered") {
        return "order delayed: back order";
    }
    if (event == "order_fulfilled") {
        return "order confirmed";
    }
    return std::string(event);
}

// ---- order_placement: validates the order ---------------------------------------------------

class order_placement final : public domain_service {
public:
    explicit order_placement(const domain_fixture& f)
        : domain_service("order_placement"), catalog_(f.catalog) {}

    void add_effects(domain_effects& out) const override {
        out.orders_accepted += accepted_;
        out.orders_rejected += rejected_;
    }

private:
    step_result decide(const msg::order& order, const std::string&) override {
        std::string problem;
        if (order.customer.empty()) {
            problem = "no customer";
        } else if (order.items.empty()) {
            problem = "no items";
        }
        for (const auto& item : order.items) {
            if (!problem.empty()) {
                break;
            }
            if (!catalog_.contains(item.sku)) {
                problem = "unknown sku " + item.sku;
            } else if (item.quantity == 0 || item.quantity > max_quantity) {
                problem = fmt::format("quantity {} of {} out of range", item.quantity, item.sku);
            } else if (item.unit_price_cents != catalog_.at(item.sku).price_cents) {
                problem = fmt::format("price of {} is {} cents, not {}", item.sku,
                                      catalog_.at(item.sku).price_cents, item.unit_price_cents);
            }
        }
        if (!problem.empty()) {
            ++rejected_;
            return {"invalid_order", problem};
        }
        ++accepted_;
        return {"", fmt::format("accepted {} line(s)", order.items.size())};
    }

    std::map<std::string, domain_fixture::product> catalog_;
    std::size_t accepted_ = 0;
    std::size_t rejected_ = 0;
};

// ---- payment: charges the customer's account ------------------------------------------------

class payment final : public domain_service {
public:
    explicit payment(const domain_fixture& f) : domain_service("payment"), accounts_(f.accounts) {}

    void add_effects(domain_effects& out) const override {
        for (const auto& [customer, cents] : charged_) {
            out.charged_cents[customer] += cents;
        }
    }

private:
    step_result decide(const msg::order& order, const std::string&) override {
        const auto amount = order_total_cents(order);
        const auto it = accounts_.find(order.customer);
        if (it == accounts_.end() || !it->second.card_valid) {
            return {"card_declined", fmt::format("card of {} declined", order.customer)};
        }
        const auto before = charged_.contains(order.customer) ? charged_[order.customer] : 0;
        if (before + amount > it->second.credit_limit_cents) {
            return {"card_declined", fmt::format("credit limit of {} reached", order.customer)};
        }
        charged_[order.customer] = before + amount;
        return {"", fmt::format("charged {} cents", amount)};
    }

    std::map<std::string, domain_fixture::account> accounts_;
    std::map<std::string, std::uint64_t> charged_;
};

// ---- fulfillment: ships from inventory, or back-orders --------------------------------------

class fulfillment final : public domain_service {
public:
    explicit fulfillment(const domain_fixture& f) : domain_service("fulfillment") {
        for (const auto& [sku, p] : f.catalog) {
            stock_[sku] = p.stock;
        }
    }

    void add_effects(domain_effects& out) const override {
        for (const auto& [sku, n] : stock_) {
            out.stock[sku] = n;
        }
        out.back_orders += back_orders_;
    }

private:
    step_result decide(const msg::order& order, const std::string&) override {
        for (const auto& item : order.items) {
            const auto it = stock_.find(item.sku);
            if (it == stock_.end() || it->second < static_cast<std::int64_t>(item.quantity)) {
                ++back_orders_;
                return {"out_of_stock", fmt::format("{} short of {}", item.sku, item.quantity)};
            }
        }
        std::uint32_t units = 0;
        for (const auto& item : order.items) {
            stock_[item.sku] -= item.quantity;
            units += item.quantity;
        }
        return {"", fmt::format("shipped {} unit(s)", units)};
    }

    std::map<std::string, std::int64_t> stock_;
    std::size_t back_orders_ = 0;
};

// ---- email: the outbox ----------------------------------------------------------------------

class email final : public domain_service {
public:
    email() : domain_service("email") {}

    void add_effects(domain_effects& out) const override {
        for (const auto& [wf, subjects] : outbox_) {
            auto& box = out.outbox[wf];
            box.insert(box.end(), subjects.begin(), subjects.end());
        }
    }

private:
    step_result decide(const msg::order& order, const std::string& workflow_id) override {
        return {"", send(order, workflow_id, email_subject("order_fulfilled"))};
    }

    std::string on_failure(const failure& f, const msg::order& order,
                           const std::string& workflow_id) override {
        return send(order, workflow_id, email_subject(f.event));
    }

    std::string send(const msg::order& order, const std::string& workflow_id, std::string subject) {
        auto detail = fmt::format("sent '{}' to {}", subject, order.customer);
        outbox_[workflow_id].push_back(std::move(subject));
        return detail;
    }

    std::map<std::string, std::vector<std::string>> outbox_;
};

// ---- pass-through step of chain:N -----------------------------------------------------------

class pass_through final : public domain_service {
public:
    using domain_service::domain_service;
    void add_effects(domain_effects&) const override {}

private:
    step_result decide(const msg::order&, const std::string&) override { return {"", "passed"}; }
};

} // namespace

// ---- domain_service -------------------------------------------------------------------------

const msg::step_record* domain_service::journaled(const std::string& workflow_id,
                                                  std::uint32_t index,
                                                  std::string_view status) const {
    const auto it = journal_.find(workflow_id);
    if (it == journal_.end()) {
        return nullptr;
    }
    for (const auto& r : it->second) {
        if (r.step == index && (status.empty() || r.status == status)) {
            return &r;
        }
    }
    return nullptr;
}

msg::step_record domain_service::run(const workflow& wf, std::uint32_t index,
                                     const std::string& workflow_id, const msg::order& order) {
    for (auto status : {step_status::done, step_status::failed}) {
        if (const auto* r = journaled(workflow_id, index, status)) {
            return *r;
        }
    }
    const auto decided = decide(order, workflow_id);
    msg::step_record r{
        name_,          index,   std::string(step_status::done), wf.steps.at(index).event,
        decided.detail, now_ns()};
    if (!decided.failure.empty()) {
        r.status = std::string(step_status::failed);
        r.outcome = decided.failure;
        for (const auto& f : wf.steps[index].failures) {
            if (f.outcome == decided.failure) {
                r.outcome = f.event;
            }
        }
    }
    journal_[workflow_id].push_back(r);
    return r;
}

msg::step_record domain_service::notify(const workflow&, std::uint32_t index, const failure& f,
                                        const std::string& workflow_id, const msg::order& order) {
    if (const auto* r = journaled(workflow_id, index, step_status::notified)) {
        return *r;
    }
    msg::step_record r{name_,
                       index,
                       std::string(step_status::notified),
                       f.event,
                       on_failure(f, order, workflow_id),
                       now_ns()};
    journal_[workflow_id].push_back(r);
    return r;
}

std::string domain_service::on_failure(const failure& f, const msg::order&, const std::string&) {
    return "told of " + f.event;
}

std::vector<msg::step_record> domain_service::snapshot(const std::string& workflow_id) const {
    const auto it = journal_.find(workflow_id);
    return it == journal_.end() ? std::vector<msg::step_record>{} : it->second;
}

result<std::unique_ptr<domain_service>>
make_domain_service(const workflow& wf, std::string_view service, const domain_fixture& fixture) {
    const auto services = wf.services();
    if (std::find(services.begin(), services.end(), service) == services.end()) {
        return std::error_code(errc::unknown_service);
    }
    std::unique_ptr<domain_service> s;
    if (service == "order_placement") {
        s = std::make_unique<order_placement>(fixture);
    } else if (service == "payment") {
        s = std::make_unique<payment>(fixture);
    } else if (service == "fulfillment") {
        s = std::make_unique<fulfillment>(fixture);
    } else if (service == "email") {
        s = std::make_unique<email>();
    } else {
        s = std::make_unique<pass_through>(std::string(service));
    }
    return s;
}

// ---- fixture and generator ------------------------------------------------------------------

namespace {
constexpr int good_customers = 50;
constexpr int declined_customers = 10;
constexpr int stocked_skus = 20;
constexpr int missing_skus = 3;
constexpr std::int64_t plenty = 10'000'000;

std::string customer_name(char kind, int i) {
    return fmt::format("{}{:03}", kind, i);
}
std::string sku_name(std::string_view kind, int i) {
    return fmt::format("{}-{:03}", kind, i);
}
} // namespace

domain_fixture domain_fixture::standard() {
    domain_fixture f;
    for (int i = 1; i <= good_customers; ++i) {
        f.accounts[customer_name('c', i)] = {true, 1'000'000'000'000ULL};
    }
    for (int i = 1; i <= declined_customers; ++i) {
        f.accounts[customer_name('d', i)] = {false, 1'000'000'000'000ULL};
    }
    for (int i = 1; i <= stocked_skus; ++i) {
        f.catalog[sku_name("sku", i)] = {static_cast<std::uint64_t>(499 + 250 * i), plenty};
    }
    for (int i = 1; i <= missing_skus; ++i) {
        f.catalog[sku_name("rare", i)] = {99'999, 0};
    }
    return f;
}

std::string_view to_string(scenario s) noexcept {
    switch (s) {
    case scenario::happy:
        return "happy";
    case scenario::payment_rejected:
        return "payment_rejected";
    case scenario::back_order:
        return "back_order";
    case scenario::rejected:
        return "rejected";
    case scenario::mixed:
        return "mixed";
    }
    return "?";
}

std::vector<std::string> scenario_names() {
    return {"happy", "payment_rejected", "back_order", "rejected", "mixed"};
}

std::optional<scenario> scenario_by_name(std::string_view name) noexcept {
    for (auto s : {scenario::happy, scenario::payment_rejected, scenario::back_order,
                   scenario::rejected, scenario::mixed}) {
        if (to_string(s) == name) {
            return s;
        }
    }
    return std::nullopt;
}

order_generator::order_generator(std::uint64_t seed, scenario mix, const workflow& wf)
    : random_(seed), mix_(mix), is_order_workflow_(wf.name == "order") {}

planned_order order_generator::next() {
    if (mix_ != scenario::mixed) {
        return make(mix_);
    }
    // mixed: 55% happy, 20% payment rejected, 20% back order, 5% invalid
    const auto roll = std::uniform_int_distribution<int>(0, 99)(random_);
    return make(roll < 55   ? scenario::happy
                : roll < 75 ? scenario::payment_rejected
                : roll < 95 ? scenario::back_order
                            : scenario::rejected);
}

std::vector<planned_order> order_generator::take(std::size_t n) {
    std::vector<planned_order> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(next());
    }
    return out;
}

planned_order order_generator::make(scenario s) {
    static const auto fixture = domain_fixture::standard();
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); };
    auto item = [&](const std::string& sku) {
        return msg::line_item{sku, static_cast<std::uint32_t>(pick(1, 3)),
                              fixture.catalog.at(sku).price_cents};
    };
    planned_order p;
    p.kind = s;
    p.order.customer = customer_name(
        s == scenario::payment_rejected ? 'd' : 'c',
        pick(1, s == scenario::payment_rejected ? declined_customers : good_customers));
    const int lines = pick(1, 3);
    for (int i = 0; i < lines; ++i) {
        p.order.items.push_back(item(sku_name("sku", pick(1, stocked_skus))));
    }
    if (s == scenario::back_order) {
        const auto rare = sku_name("rare", pick(1, missing_skus));
        p.order.items.push_back(item(rare));
    }
    if (s == scenario::rejected) {
        p.order.items.front().quantity = 0;
    }
    if (!is_order_workflow_) { // pass-through steps: every order completes
        p.kind = scenario::happy;
        p.expected_terminal = std::string(workflow_state::completed);
        return p;
    }
    switch (s) {
    case scenario::happy:
        p.expected_terminal = "completed";
        break;
    case scenario::payment_rejected:
        p.expected_terminal = "payment_rejected";
        break;
    case scenario::back_order:
        p.expected_terminal = "back_ordered";
        break;
    case scenario::rejected:
        p.expected_terminal = "rejected";
        break;
    case scenario::mixed:
        break;
    }
    return p;
}

std::uint64_t order_total_cents(const msg::order& order) {
    std::uint64_t total = 0;
    for (const auto& i : order.items) {
        total += i.unit_price_cents * i.quantity;
    }
    return total;
}

domain_effects predict_effects(const std::vector<std::pair<std::string, planned_order>>& orders) {
    const auto fixture = domain_fixture::standard();
    domain_effects e;
    for (const auto& [sku, p] : fixture.catalog) {
        e.stock[sku] = p.stock;
    }
    for (const auto& [id, p] : orders) {
        const auto& t = p.expected_terminal;
        if (t == "rejected") {
            ++e.orders_rejected;
            continue;
        }
        ++e.orders_accepted;
        if (t == "payment_rejected") {
            e.outbox[id].push_back(email_subject("payment_declined"));
            continue;
        }
        e.charged_cents[p.order.customer] += order_total_cents(p.order);
        if (t == "back_ordered") {
            ++e.back_orders;
            e.outbox[id].push_back(email_subject("order_back_ordered"));
            continue;
        }
        for (const auto& i : p.order.items) {
            e.stock[i.sku] -= i.quantity;
        }
        e.outbox[id].push_back(email_subject("order_fulfilled"));
    }
    return e;
}

} // namespace choreo

#include "workflows/order/order.hpp"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "patterns/errors.hpp"
#include "patterns/retention.hpp"

namespace choreo::order {
namespace {

constexpr std::size_t max_quantity = 100;

/// Heap bytes of a string beyond the small-string buffer.
std::size_t heap(const std::string& s) {
    return s.capacity() > 15 ? s.capacity() + 1 : 0;
}
/// Bytes of one std::map node beside its key and value (links, colour, padding).
constexpr std::size_t map_node = 32;

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

/// Emails are counted per customer and subject: a bounded set of keys however many orders
/// are served, which still shows a missing, misdirected or duplicated email.
std::string email_key(const std::string& customer, const std::string& subject) {
    return "email:" + customer + ":" + subject;
}

// ---- order_placement: validates the order ---------------------------------------------------

class order_placement final : public typed_domain_service<order> {
public:
    explicit order_placement(const fixture& f)
        : typed_domain_service("order_placement"), catalog_(f.catalog) {}

private:
    step_result decide(const workflow&, std::uint32_t, const std::string&,
                       const order& o) override {
        // Idempotent without records of its own: domain_service::run answers a step asked
        // again from its record of it.
        std::string problem;
        if (o.customer.empty()) {
            problem = "no customer";
        } else if (o.items.empty()) {
            problem = "no items";
        }
        for (const auto& item : o.items) {
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
        step_result r = problem.empty()
                            ? step_result{"", fmt::format("accepted {} line(s)", o.items.size())}
                            : step_result{"invalid_order", problem};
        (problem.empty() ? accepted_ : rejected_) += 1;
        return r;
    }

    void do_add_effects(domain_effects& out) const override {
        out["orders_accepted"] += static_cast<std::int64_t>(accepted_);
        out["orders_rejected"] += static_cast<std::int64_t>(rejected_);
    }

    std::size_t on_domain_bytes() const override {
        return catalog_.size() * (map_node + sizeof(std::string) + sizeof(fixture::product));
    }

    // The catalog is the fixture's, never changed: a service built the same way has it.
    void on_save(snapshot::writer& w) const override { w << accepted_ << rejected_; }
    void on_load(snapshot::reader& r) override {
        std::size_t accepted = 0, rejected = 0;
        r >> accepted >> rejected;
        accepted_ = accepted;
        rejected_ = rejected;
    }

    std::map<std::string, fixture::product> catalog_;
    std::size_t accepted_ = 0;
    std::size_t rejected_ = 0;
};

// ---- payment: charges the customer's account ------------------------------------------------

class payment final : public typed_domain_service<order> {
public:
    explicit payment(const fixture& f) : typed_domain_service("payment"), accounts_(f.accounts) {}

private:
    step_result decide(const workflow&, std::uint32_t, const std::string&,
                       const order& o) override {
        const auto amount = total_cents(o);
        const auto it = accounts_.find(o.customer);
        step_result r;
        if (it == accounts_.end() || !it->second.card_valid) {
            r = {"card_declined", fmt::format("card of {} declined", o.customer)};
        } else if (charged_[o.customer] + amount > it->second.credit_limit_cents) {
            r = {"card_declined", fmt::format("credit limit of {} reached", o.customer)};
        } else {
            charged_[o.customer] += amount;
            r = {"", fmt::format("charged {} cents", amount)};
        }
        return r;
    }

    void do_add_effects(domain_effects& out) const override {
        for (const auto& [customer, cents] : charged_) {
            if (cents > 0) {
                out["charged_cents:" + customer] += static_cast<std::int64_t>(cents);
            }
        }
    }

    std::size_t on_domain_bytes() const override {
        std::size_t n =
            accounts_.size() * (map_node + sizeof(std::string) + sizeof(fixture::account));
        return n + charged_.size() * (map_node + sizeof(std::string) + sizeof(std::uint64_t));
    }

    // The accounts are the fixture's, never changed: a service built the same way has them.
    void on_save(snapshot::writer& w) const override { w << charged_; }
    void on_load(snapshot::reader& r) override {
        std::map<std::string, std::uint64_t> charged;
        r >> charged;
        charged_ = std::move(charged);
    }

    std::map<std::string, fixture::account> accounts_;
    /// What each customer was charged: never twice for one order, as domain_service::run
    /// answers a step asked again from its record of it (within the retention).
    std::map<std::string, std::uint64_t> charged_;
};

// ---- fulfillment: ships from inventory, or back-orders --------------------------------------

class fulfillment final : public typed_domain_service<order> {
public:
    explicit fulfillment(const fixture& f) : typed_domain_service("fulfillment") {
        for (const auto& [sku, p] : f.catalog) {
            stock_[sku] = p.stock;
        }
    }

private:
    step_result decide(const workflow&, std::uint32_t, const std::string&,
                       const order& o) override {
        step_result r;
        for (const auto& item : o.items) {
            const auto it = stock_.find(item.sku);
            if (it == stock_.end() || it->second < static_cast<std::int64_t>(item.quantity)) {
                ++back_orders_;
                r = {"out_of_stock", fmt::format("{} short of {}", item.sku, item.quantity)};
                return r;
            }
        }
        std::uint32_t units = 0;
        for (const auto& item : o.items) {
            stock_[item.sku] -= item.quantity;
            units += item.quantity;
        }
        r = {"", fmt::format("shipped {} unit(s)", units)};
        return r;
    }

    void do_add_effects(domain_effects& out) const override {
        for (const auto& [sku, n] : stock_) {
            out["stock:" + sku] += n;
        }
        out["back_orders"] += static_cast<std::int64_t>(back_orders_);
    }

    std::size_t on_domain_bytes() const override {
        return stock_.size() * (map_node + sizeof(std::string) + sizeof(std::int64_t));
    }

    void on_save(snapshot::writer& w) const override { w << stock_ << back_orders_; }
    void on_load(snapshot::reader& r) override {
        std::map<std::string, std::int64_t> stock;
        std::size_t back_orders = 0;
        r >> stock >> back_orders;
        stock_ = std::move(stock);
        back_orders_ = back_orders;
    }

    /// Units in stock: never decremented twice for one order, as domain_service::run answers
    /// a step asked again from its record of it (within the retention).
    std::map<std::string, std::int64_t> stock_;
    std::size_t back_orders_ = 0;
};

// ---- email: the outbox ----------------------------------------------------------------------

class email final : public typed_domain_service<order> {
public:
    email() : typed_domain_service("email") {}

private:
    step_result decide(const workflow& wf, std::uint32_t index, const std::string& workflow_id,
                       const order& o) override {
        const auto& previous = wf.steps.at(index == 0 ? 0 : index - 1).event;
        return {"", send(o, workflow_id, email_subject(previous))};
    }

    std::string on_failure(const failure& f, const std::string& workflow_id,
                           const order& o) override {
        return send(o, workflow_id, email_subject(f.event));
    }

    /// Sends an email once per order and subject: the outbox is the record of what was sent.
    std::string send(const order& o, const std::string& workflow_id, const std::string& subject) {
        auto& box = outbox_[workflow_id];
        if (std::find(box.begin(), box.end(), subject) == box.end()) {
            ++sent_[email_key(o.customer, subject)];
            box.push_back(subject);
        }
        outbox_.finish(workflow_id); // this service's part is done, as far as it can tell
        return fmt::format("sent '{}' to {}", subject, o.customer);
    }

    void do_add_effects(domain_effects& out) const override {
        for (const auto& [key, n] : sent_) {
            out[key] += static_cast<std::int64_t>(n);
        }
    }

    std::size_t on_domain_bytes() const override {
        std::size_t n = sent_.size() * (map_node + sizeof(std::string) + sizeof(std::uint64_t));
        n += outbox_.overhead_bytes();
        outbox_.for_each([&](const std::string& id, const std::vector<std::string>& subjects) {
            n += sizeof(id) + heap(id) + sizeof(subjects) +
                 subjects.capacity() * sizeof(std::string);
            for (const auto& s : subjects) {
                n += heap(s);
            }
        });
        return n;
    }

    void on_retain_finished(std::size_t n) override { outbox_.set_limits(n, 0); }

    void on_save(snapshot::writer& w) const override {
        snapshot::write(w, outbox_);
        w << sent_;
    }
    void on_load(snapshot::reader& r) override {
        auto outbox = snapshot::read_new(r, outbox_);
        std::map<std::string, std::uint64_t> sent;
        r >> sent;
        outbox_ = std::move(outbox);
        sent_ = std::move(sent);
    }

    /// Subjects sent, by order, for the last orders: one email per order and subject (within
    /// the retention); sent_ is the running aggregate the effects come from.
    retention_map<std::vector<std::string>> outbox_;
    std::map<std::string, std::uint64_t> sent_; ///< emails sent, by email_key
};

// ---- the seeded generator -------------------------------------------------------------------

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

const std::vector<std::string>& scenario_list() {
    static const std::vector<std::string> names{"happy", "payment_rejected", "back_order",
                                                "rejected", "mixed"};
    return names;
}

std::string terminal_of(std::string_view scenario) {
    if (scenario == "happy") {
        return "completed";
    }
    if (scenario == "back_order") {
        return "back_ordered";
    }
    return std::string(scenario); // payment_rejected, rejected
}

class generator final : public workload {
public:
    generator(std::uint64_t seed, std::string mix) : random_(seed), mix_(std::move(mix)) {}

    planned_workflow next() override {
        if (mix_ != "mixed") {
            return make(mix_);
        }
        // mixed: 55% happy, 20% payment rejected, 20% back order, 5% invalid
        const auto roll = pick(0, 99);
        return make(roll < 55   ? "happy"
                    : roll < 75 ? "payment_rejected"
                    : roll < 95 ? "back_order"
                                : "rejected");
    }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); }

    planned_workflow make(const std::string& s) {
        static const auto data = fixture::standard();
        auto item = [&](const std::string& sku) {
            return line_item{sku, static_cast<std::uint32_t>(pick(1, 3)),
                             data.catalog.at(sku).price_cents};
        };
        const bool declined = s == "payment_rejected";
        order o;
        o.customer = customer_name(declined ? 'd' : 'c',
                                   pick(1, declined ? declined_customers : good_customers));
        const int lines = pick(1, 3);
        for (int i = 0; i < lines; ++i) {
            o.items.push_back(item(sku_name("sku", pick(1, stocked_skus))));
        }
        if (s == "back_order") {
            o.items.push_back(item(sku_name("rare", pick(1, missing_skus))));
        }
        if (s == "rejected") {
            o.items.front().quantity = 0;
        }
        return {msg::value::of(o), terminal_of(s), s};
    }

    std::mt19937_64 random_;
    std::string mix_;
};

// ---- the module -----------------------------------------------------------------------------

class module final : public workflow_module {
public:
    std::string_view name() const noexcept override { return "order"; }
    std::string usage() const override { return "order"; }

    result<workflow> model(std::string_view name) const override {
        if (name != "order") {
            return std::error_code(errc::unknown_workflow);
        }
        auto wf = choreo::order::model();
        wf.module = this;
        return wf;
    }

    result<std::unique_ptr<domain_service>> make_service(const workflow&,
                                                         std::string_view service) const override {
        static const auto data = fixture::standard();
        if (service == "order_placement") {
            return std::unique_ptr<domain_service>(std::make_unique<order_placement>(data));
        }
        if (service == "payment") {
            return std::unique_ptr<domain_service>(std::make_unique<payment>(data));
        }
        if (service == "fulfillment") {
            return std::unique_ptr<domain_service>(std::make_unique<fulfillment>(data));
        }
        if (service == "email") {
            return std::unique_ptr<domain_service>(std::make_unique<email>());
        }
        return std::error_code(errc::unknown_service);
    }

    std::vector<std::string> scenarios(const workflow&) const override { return scenario_list(); }

    std::vector<std::string> traced_scenarios(const workflow&) const override {
        return {"happy", "payment_rejected", "back_order"};
    }

    result<std::unique_ptr<workload>> make_workload(const workflow&, std::string_view scenario,
                                                    std::uint64_t seed) const override {
        const auto& names = scenario_list();
        if (std::find(names.begin(), names.end(), scenario) == names.end()) {
            return std::error_code(errc::unknown_workflow);
        }
        return std::unique_ptr<workload>(std::make_unique<generator>(seed, std::string(scenario)));
    }

    domain_effects predict(const workflow&, const placed_workflows& placed) const override {
        const auto data = fixture::standard();
        domain_effects e{{"orders_accepted", 0}, {"orders_rejected", 0}, {"back_orders", 0}};
        for (const auto& [sku, p] : data.catalog) {
            e["stock:" + sku] = p.stock;
        }
        for (const auto& placed_one : placed) {
            const auto& p = placed_one.second;
            const auto& t = p.expected_terminal;
            const auto o = decode_value<order>(p.details).value();
            if (t == "rejected") {
                ++e["orders_rejected"];
                continue;
            }
            ++e["orders_accepted"];
            if (t == "payment_rejected") {
                ++e[email_key(o.customer, email_subject("payment_declined"))];
                continue;
            }
            e["charged_cents:" + o.customer] += static_cast<std::int64_t>(total_cents(o));
            if (t == "back_ordered") {
                ++e["back_orders"];
                ++e[email_key(o.customer, email_subject("order_back_ordered"))];
                continue;
            }
            for (const auto& i : o.items) {
                e["stock:" + i.sku] -= i.quantity;
            }
            ++e[email_key(o.customer, email_subject("order_fulfilled"))];
        }
        return e;
    }

    std::string describe(const msg::value& details) const override {
        const auto o = decode_value<order>(details);
        if (!o) {
            return "(not an order)";
        }
        std::vector<std::string> lines;
        for (const auto& i : o.value().items) {
            lines.push_back(fmt::format("{} x {}", i.quantity, i.sku));
        }
        return fmt::format("{}: {}", o.value().customer, fmt::join(lines, ", "));
    }

    std::string describe(const domain_effects& e) const override {
        std::int64_t charged = 0, customers = 0, emails = 0, shipped = 0;
        const auto data = fixture::standard();
        for (const auto& [key, n] : e) {
            if (key.starts_with("charged_cents:")) {
                charged += n;
                ++customers;
            } else if (key.starts_with("email:")) {
                emails += n;
            } else if (key.starts_with("stock:")) {
                const auto sku = key.substr(6);
                if (const auto it = data.catalog.find(sku); it != data.catalog.end()) {
                    shipped += it->second.stock - n;
                }
            }
        }
        auto at = [&](const char* key) { return e.contains(key) ? e.at(key) : 0; };
        return fmt::format("{} accepted, {} rejected; {} cents charged to {} customers; {} units "
                           "shipped, {} back orders; {} emails",
                           at("orders_accepted"), at("orders_rejected"), charged, customers,
                           shipped, at("back_orders"), emails);
    }
};

} // namespace

fixture fixture::standard() {
    fixture f;
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

std::uint64_t total_cents(const order& o) {
    std::uint64_t total = 0;
    for (const auto& i : o.items) {
        total += i.unit_price_cents * i.quantity;
    }
    return total;
}

workflow model() {
    workflow wf;
    wf.name = "order";
    wf.steps = {
        {"order_placement", "order_placed", {{"invalid_order", "order_rejected", "rejected", {}}}},
        {"payment",
         "payment_applied",
         {{"card_declined", "payment_declined", "payment_rejected", {"email"}}}},
        {"fulfillment",
         "order_fulfilled",
         {{"out_of_stock", "order_back_ordered", "back_ordered", {"email"}}}},
        {"email", "email_sent", {}},
    };
    return wf;
}

std::unique_ptr<workflow_module> make_module() {
    return std::make_unique<module>();
}

} // namespace choreo::order

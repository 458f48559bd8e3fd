// The chapter's order workflow: order placement -> payment -> fulfillment -> email.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "patterns/workflow_module.hpp"

namespace choreo::order {

/// One line of an order.
struct line_item {
    std::string sku;
    std::uint32_t quantity{};
    std::uint64_t unit_price_cents{};
    bool operator==(const line_item&) const = default;
    MSGPACK_DEFINE_MAP(sku, quantity, unit_price_cents)
};

/// What the customer ordered: the order workflow's business payload (`details` on the wire).
struct order {
    std::string customer;
    std::vector<line_item> items;
    bool operator==(const order&) const = default;
    MSGPACK_DEFINE_MAP(customer, items)
};

/// The starting data of the order services: customer accounts and the catalog with stock.
struct fixture {
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

    /// The data every order service starts from, and the generator predicts for.
    static fixture standard();
};

/// Returns: the total price of an order in cents.
std::uint64_t total_cents(const order& o);

/// The workflow model: four steps; payment and fulfillment failures notify email.
workflow model();

/// Returns: the order workflow's module, to register by name ("order").
std::unique_ptr<workflow_module> make_module();

} // namespace choreo::order

// One hand-written sample of every built-in contract, shared by the codec's tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "front_controller/contracts.hpp"
#include "orchestration/contracts.hpp"
#include "patterns/contracts.hpp"
#include "stamp_coupling/contracts.hpp"
#include "stateless/contracts.hpp"
#include "workflows/order/order.hpp"

namespace choreo::samples {

// ---- the contracts with a sample, as GoogleTest types ------------------------------------------

template <class... Ts> struct contract_list {
    using gtest_types = ::testing::Types<Ts...>;
    static constexpr std::size_t size = sizeof...(Ts);
    /// Returns: the type frame of every listed contract.
    static std::vector<std::string_view> type_names() { return {Ts::type_name...}; }
};

/// Every contract the codec tests have a sample of. A contract the core, a built-in pattern or a
/// built-in workflow registers without being listed here fails
/// codec_registered_contracts.every_built_in_contract_has_a_sample_here.
using sampled_contracts = contract_list<
    msg::place_order, msg::workflow_ended, msg::workflow_event, msg::status_request,
    msg::status_reply, msg::inspect_request, msg::inspect_reply, msg::hold_request,
    msg::error_reply, msg::stuck_request, msg::stuck_reply, msg::ack,
    front_controller::progress_report, stateless::snapshot_request, stateless::snapshot_reply,
    stamp_coupling::stamped_event, stamp_coupling::stamp_request, stamp_coupling::stamp_reply,
    orchestration::run_step, orchestration::tell_failure, orchestration::step_finished>;

// ---- samples: every field set to something other than its default ------------------------------

inline msg::envelope sample_envelope() {
    return {0xFEDC'BA98'7654'3210ULL,
            "wf-\xc3\xbc-42",
            "order_placement",
            -1'700'000'000'123'456'789LL,
            7,
            99};
}

inline order::order sample_order() {
    return {"c042", {{"sku-007", 3, 1'249}, {"rare-002", 100, 99'999}}};
}

inline msg::step_record sample_record(std::uint32_t step = 1) {
    return {"payment",
            step,
            "done",
            "payment_applied",
            "charged 2499 cents",
            1'700'000'000'000'000'001LL};
}

inline msg::workflow_status sample_status() {
    return {true,
            "payment_rejected",
            {sample_record(0),
             {"payment", 1, "failed", "payment_declined", "card of d003 declined", 5}},
            {{"email", 1, "notified", "payment_declined", "sent 'payment declined' to d003", 6}},
            "email",
            1,
            6,
            2,
            1'700'000'000'000'000'007LL,
            3};
}

inline msg::workflow_event sample_event() {
    return {"order", "payment_applied", 1, "client", msg::value::of(sample_order())};
}

inline stamp_coupling::stamp sample_stamp() {
    return {"wf-\xc3\xbc-42",
            "back_ordered",
            4,
            {{"order_placement", 0, "done", "order_placed", "accepted 2 line(s)", 11},
             {"fulfillment", 2, "failed", "order_back_ordered", "rare-002 short of 100", 12}},
            {{"email", 2, "notified", "order_back_ordered", "sent 'order delayed'", 13}}};
}

template <class T> T sample() {
    static_assert(sizeof(T) == 0, "every contract needs a sample<T>() in contract_samples.hpp");
    return T{};
}
template <> inline msg::place_order sample() {
    return {"chain:8", "client-7", msg::value::of(sample_order())};
}
template <> inline msg::workflow_ended sample() {
    return {"order", "back_ordered", "rare-002 short of 100"};
}
template <> inline msg::workflow_event sample() {
    return sample_event();
}
template <> inline msg::status_request sample() {
    return {"wf-status"};
}
template <> inline msg::status_reply sample() {
    return {"order_placement", sample_status()};
}
template <> inline msg::inspect_request sample() {
    return {17, 500};
}
template <> inline msg::inspect_reply sample() {
    return {"payment",
            {{1, 1'700'000'000'000'000'000LL, "payment", "fulfillment", "workflow_event",
              "payment_applied", 321, "wf-1", 0, false},
             {2, 1'700'000'000'000'000'001LL, "payment", "client", "snapshot_reply", "", 88, "wf-2",
              5, true}},
            true,
            1'234,
            56'789,
            3,
            2,
            4'096,
            17,
            8'192,
            {{"charged_cents:c001", 2'497},
             {"stock:sku-001", 9'999'998},
             {"stock:rare-001", 0},
             {"email:wf-1:order confirmed", 1},
             {"balance:overdrawn", -3}},
            6,
            5,
            1'024,
            49'152,
            130,
            7,
            2,
            100'000,
            12,
            345,
            67};
}
template <> inline msg::hold_request sample() {
    return {true};
}
template <> inline msg::error_reply sample() {
    return {"not_msgpack", "body is not MessagePack"};
}
template <> inline msg::stuck_request sample() {
    return {5'000'000'000LL, 100, {"wf-1", "wf-\xc3\xbc-2"}};
}
template <> inline msg::stuck_reply sample() {
    return {"payment",
            true,
            true,
            10'000,
            {{"wf-1", "stuck", sample_record(1), 1'700'000'000'000'000'009LL, 2},
             {"wf-2", "in_progress", sample_record(0), 0, 0}}};
}
template <> inline msg::ack sample() {
    return {{1, 0x7FFF'FFFF'FFFF'FFFFULL, 1'764'000'000'000'000'042ULL}};
}
template <> inline front_controller::progress_report sample() {
    return {sample_record(2), "completed"};
}
template <> inline stateless::snapshot_request sample() {
    return {"wf-snapshot"};
}
template <> inline stateless::snapshot_reply sample() {
    return {"fulfillment", {sample_record(0), sample_record(2)}};
}
template <> inline stamp_coupling::stamped_event sample() {
    return {sample_event(), sample_stamp()};
}
template <> inline stamp_coupling::stamp_request sample() {
    return {"wf-stamp"};
}
template <> inline stamp_coupling::stamp_reply sample() {
    return {"email", true, sample_stamp()};
}
template <> inline orchestration::run_step sample() {
    return {"order", 2, msg::value::of(sample_order())};
}
template <> inline orchestration::tell_failure sample() {
    return {"order", 1, "payment_declined", msg::value::of(sample_order())};
}
template <> inline orchestration::step_finished sample() {
    return {sample_record(3)};
}
} // namespace choreo::samples

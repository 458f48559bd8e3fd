// The codec: every contract survives a round trip, and every kind of bad input gets its error.
#include "patterns/codec.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include "patterns/errors.hpp"

namespace choreo {
namespace {

// ---- the list of contracts as GoogleTest types -------------------------------------------------

template <class Variant> struct gtest_types_of;
template <class... Ts> struct gtest_types_of<std::variant<Ts...>> {
    using type = ::testing::Types<Ts...>;
};

/// Every alternative of msg::payload: a new contract gets its round-trip test by itself.
using all_contracts = gtest_types_of<msg::payload>::type;

struct contract_names {
    template <class T> static std::string GetName(int) { return std::string(msg::type_name<T>()); }
};

// ---- samples: every field set to something other than its default ------------------------------

msg::envelope sample_envelope() {
    return {0xFEDC'BA98'7654'3210ULL,
            "wf-\xc3\xbc-42",
            "order_placement",
            -1'700'000'000'123'456'789LL,
            7,
            99};
}

msg::order sample_order() {
    return {"c042", {{"sku-007", 3, 1'249}, {"rare-002", 100, 99'999}}};
}

msg::step_record sample_record(std::uint32_t step = 1) {
    return {"payment",
            step,
            "done",
            "payment_applied",
            "charged 2499 cents",
            1'700'000'000'000'000'001LL};
}

msg::workflow_status sample_status() {
    return {true,
            "payment_rejected",
            {sample_record(0),
             {"payment", 1, "failed", "payment_declined", "card of d003 declined", 5}},
            {{"email", 1, "notified", "payment_declined", "sent 'payment declined' to d003", 6}}};
}

msg::workflow_event sample_event() {
    return {"order", "payment_applied", 1, "client", sample_order()};
}

msg::stamp sample_stamp() {
    return {"wf-\xc3\xbc-42",
            "back_ordered",
            4,
            {{"order_placement", 0, "done", "order_placed", "accepted 2 line(s)", 11},
             {"fulfillment", 2, "failed", "order_back_ordered", "rare-002 short of 100", 12}},
            {{"email", 2, "notified", "order_back_ordered", "sent 'order delayed'", 13}}};
}

template <class T> T sample() {
    static_assert(sizeof(T) == 0, "every contract needs a sample<T>() in codec_test.cpp");
    return T{};
}
template <> msg::place_order sample() {
    return {"chain:8", "client-7", sample_order()};
}
template <> msg::workflow_ended sample() {
    return {"order", "back_ordered", "rare-002 short of 100"};
}
template <> msg::workflow_event sample() {
    return sample_event();
}
template <> msg::progress_report sample() {
    return {sample_record(2), "completed"};
}
template <> msg::stamped_event sample() {
    return {sample_event(), sample_stamp()};
}
template <> msg::status_request sample() {
    return {"wf-status"};
}
template <> msg::status_reply sample() {
    return {"order_placement", sample_status()};
}
template <> msg::snapshot_request sample() {
    return {"wf-snapshot"};
}
template <> msg::snapshot_reply sample() {
    return {"fulfillment", {sample_record(0), sample_record(2)}};
}
template <> msg::stamp_request sample() {
    return {"wf-stamp"};
}
template <> msg::stamp_reply sample() {
    return {"email", true, sample_stamp()};
}
template <> msg::error_reply sample() {
    return {"not_msgpack", "body is not MessagePack"};
}
template <> msg::inspect_request sample() {
    return {17, 500};
}
template <> msg::inspect_reply sample() {
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
            {{{"c001", 2'497}},
             {{"sku-001", 9'999'998}, {"rare-001", 0}},
             {{"wf-1", {"order confirmed"}}, {"wf-2", {"payment declined"}}},
             1,
             2,
             3}};
}
template <> msg::hold_request sample() {
    return {true};
}

// ---- round trip --------------------------------------------------------------------------------

template <class T> class codec_round_trip : public ::testing::Test {};
TYPED_TEST_SUITE(codec_round_trip, all_contracts, contract_names);

TYPED_TEST(codec_round_trip, the_sample_sets_every_field_to_something_other_than_its_default) {
    EXPECT_NE(sample<TypeParam>(), TypeParam{});
    EXPECT_NE(sample_envelope(), msg::envelope{});
}

TYPED_TEST(codec_round_trip, decoding_an_encoded_message_gives_back_the_same_message) {
    const message sent{sample_envelope(), sample<TypeParam>()};
    const frames f = encode(sent);
    EXPECT_EQ(f.type, msg::type_name<TypeParam>());
    EXPECT_EQ(f.size(), f.type.size() + f.body.size());

    const auto got = decode(f.type, f.body);
    ASSERT_TRUE(got.ok()) << error_code_name(got.error());
    EXPECT_TRUE(std::holds_alternative<TypeParam>(got.value().payload));
    EXPECT_EQ(got.value(), sent);
}

TYPED_TEST(codec_round_trip, a_default_message_survives_the_round_trip_too) {
    const message sent{msg::envelope{}, TypeParam{}};
    const frames f = encode(sent);
    const auto got = decode(f.type, f.body);
    ASSERT_TRUE(got.ok()) << error_code_name(got.error());
    EXPECT_EQ(got.value(), sent);
}

TYPED_TEST(codec_round_trip, every_proper_prefix_of_the_body_is_not_msgpack) {
    const frames f = encode({sample_envelope(), sample<TypeParam>()});
    for (std::size_t n = 0; n < f.body.size(); ++n) {
        const auto got = decode(f.type, std::string_view(f.body).substr(0, n));
        EXPECT_EQ(got.error(), std::error_code(errc::not_msgpack)) << "prefix of " << n << " bytes";
    }
}

TYPED_TEST(codec_round_trip, a_body_exactly_at_the_size_limit_decodes_and_one_byte_less_does_not) {
    const frames f = encode({sample_envelope(), sample<TypeParam>()});
    codec_limits limits;
    limits.max_frame_bytes = f.body.size();
    EXPECT_TRUE(decode(f.type, f.body, limits).ok());
    limits.max_frame_bytes = f.body.size() - 1;
    EXPECT_EQ(decode(f.type, f.body, limits).error(), std::error_code(errc::oversized_frame));
}

TEST(codec_type_frames, every_contract_has_a_distinct_type_frame) {
    std::set<std::string_view> names;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (names.insert(msg::type_name<std::variant_alternative_t<I, msg::payload>>()), ...);
    }
    (std::make_index_sequence<std::variant_size_v<msg::payload>>{});
    EXPECT_EQ(names.size(), std::variant_size_v<msg::payload>);
}

TEST(codec_type_frames, type_name_of_names_the_alternative_a_payload_holds) {
    EXPECT_EQ(msg::type_name_of(msg::payload(msg::stamp_reply{})), "stamp_reply");
    EXPECT_EQ(msg::type_name_of(msg::payload(msg::place_order{})), "place_order");
}

// ---- building bodies by hand -------------------------------------------------------------------

using packer = msgpack::packer<msgpack::sbuffer>;
using writer = std::function<void(packer&)>;
struct field {
    std::string key;
    writer value;
};
using fields = std::vector<field>;

template <class T> writer value(T v) {
    return [v = std::move(v)](packer& pk) { pk.pack(v); };
}

writer map_of(fields fs) {
    return [fs = std::move(fs)](packer& pk) {
        pk.pack_map(static_cast<std::uint32_t>(fs.size()));
        for (const auto& f : fs) {
            pk.pack(f.key);
            f.value(pk);
        }
    };
}

writer array_of(std::vector<writer> ws) {
    return [ws = std::move(ws)](packer& pk) {
        pk.pack_array(static_cast<std::uint32_t>(ws.size()));
        for (const auto& w : ws) {
            w(pk);
        }
    };
}

std::string bytes_of(const writer& w) {
    msgpack::sbuffer buffer;
    packer pk(buffer);
    w(pk);
    return {buffer.data(), buffer.size()};
}

fields without(fields fs, std::string_view key) {
    std::erase_if(fs, [&](const field& f) { return f.key == key; });
    return fs;
}

fields with(fields fs, std::string_view key, writer w) {
    for (auto& f : fs) {
        if (f.key == key) {
            f.value = std::move(w);
        }
    }
    return fs;
}

fields envelope_fields() {
    const auto e = sample_envelope();
    return {{"message_id", value(e.message_id)},
            {"workflow_id", value(e.workflow_id)},
            {"sender", value(e.sender)},
            {"sent_at_ns", value(e.sent_at_ns)},
            {"hop", value(e.hop)},
            {"query_id", value(e.query_id)}};
}

fields line_item_fields() {
    return {{"sku", value(std::string("sku-001"))},
            {"quantity", value(std::uint32_t{2})},
            {"unit_price_cents", value(std::uint64_t{749})}};
}

fields order_fields(std::vector<writer> items = {map_of(line_item_fields())}) {
    return {{"customer", value(std::string("c001"))}, {"items", array_of(std::move(items))}};
}

fields event_fields(fields details = order_fields()) {
    return {{"workflow", value(std::string("order"))},
            {"event", value(std::string("order_placed"))},
            {"step", value(std::uint32_t{0})},
            {"reply_to", value(std::string("client"))},
            {"details", map_of(std::move(details))}};
}

std::string body(fields env, writer payload) {
    return bytes_of(map_of({{"env", map_of(std::move(env))}, {"payload", std::move(payload)}}));
}

std::string event_body(fields payload) {
    return body(envelope_fields(), map_of(std::move(payload)));
}

std::error_code decode_event(const std::string& b, const codec_limits& limits = {}) {
    return decode("workflow_event", b, limits).error();
}

const std::error_code ok{};
const std::error_code not_msgpack = errc::not_msgpack;
const std::error_code unknown_type = errc::unknown_type;
const std::error_code wrong_type = errc::wrong_type;
const std::error_code missing_field = errc::missing_field;
const std::error_code oversized_frame = errc::oversized_frame;

TEST(codec_hand_built_bodies, the_hand_built_event_is_a_valid_workflow_event) {
    const auto got = decode("workflow_event", event_body(event_fields()));
    ASSERT_TRUE(got.ok()) << error_code_name(got.error());
    const auto& e = std::get<msg::workflow_event>(got.value().payload);
    EXPECT_EQ(e, (msg::workflow_event{"order", "order_placed", 0, "client",
                                      msg::order{"c001", {{"sku-001", 2, 749}}}}));
    EXPECT_EQ(got.value().env, sample_envelope());
}

TEST(codec_hand_built_bodies, unknown_extra_keys_are_ignored_at_every_level) {
    auto env = envelope_fields();
    env.push_back({"trace_parent", value(std::string("00-abc"))});
    auto item = line_item_fields();
    item.push_back({"colour", value(std::string("red"))});
    auto details = order_fields({map_of(item)});
    details.push_back({"coupon", value(std::uint32_t{5})});
    auto payload = event_fields(details);
    payload.push_back({"priority", value(true)});
    const auto b = bytes_of(map_of({{"env", map_of(env)},
                                    {"payload", map_of(payload)},
                                    {"signature", value(std::string("xyz"))}}));
    EXPECT_EQ(decode_event(b), ok);
}

// ---- not_msgpack -------------------------------------------------------------------------------

TEST(codec_rejects_bodies_that_are_not_msgpack, an_empty_body_is_not_msgpack) {
    EXPECT_EQ(decode_event(""), not_msgpack);
}

TEST(codec_rejects_bodies_that_are_not_msgpack, a_never_used_byte_is_not_msgpack) {
    EXPECT_EQ(decode_event(std::string("\xc1\x00\xff\x13", 4)), not_msgpack);
}

TEST(codec_rejects_bodies_that_are_not_msgpack, plain_text_is_not_msgpack) {
    // 'h' is the positive fixint 104: one object, then trailing bytes.
    EXPECT_EQ(decode_event("hello, this is not msgpack"), not_msgpack);
}

TEST(codec_rejects_bodies_that_are_not_msgpack, a_truncated_body_is_not_msgpack) {
    const auto b = event_body(event_fields());
    EXPECT_EQ(decode_event(b.substr(0, b.size() / 2)), not_msgpack);
    EXPECT_EQ(decode_event(b.substr(0, b.size() - 1)), not_msgpack);
}

TEST(codec_rejects_bodies_that_are_not_msgpack, a_string_announcing_more_bytes_than_follow) {
    EXPECT_EQ(decode_event(std::string("\xdb\x00\x00\x10\x00"
                                       "abc",
                                       8)),
              not_msgpack);
}

TEST(codec_rejects_bodies_that_are_not_msgpack, trailing_bytes_after_a_valid_object) {
    const auto b = event_body(event_fields());
    EXPECT_EQ(decode_event(b + std::string(1, '\0')), not_msgpack);
    EXPECT_EQ(decode_event(b + b), not_msgpack);
}

TEST(codec_rejects_bodies_that_are_not_msgpack, random_bytes_are_always_refused_never_thrown) {
    std::mt19937_64 random(42);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(1, 300);
    std::size_t refused = 0;
    for (int i = 0; i < 2'000; ++i) {
        std::string b(length(random), '\0');
        for (auto& c : b) {
            c = static_cast<char>(byte(random));
        }
        const auto ec = decode_event(b);
        EXPECT_TRUE(ec == not_msgpack || ec == wrong_type || ec == missing_field ||
                    ec == oversized_frame)
            << ec.message();
        refused += ec ? 1 : 0;
    }
    EXPECT_EQ(refused, 2'000U);
}

// ---- unknown_type ------------------------------------------------------------------------------

TEST(codec_rejects_unknown_type_frames, a_type_no_contract_has_is_unknown_type) {
    const auto b = event_body(event_fields());
    EXPECT_EQ(decode("no_such_type", b).error(), unknown_type);
    EXPECT_EQ(decode("", b).error(), unknown_type);
    EXPECT_EQ(decode("Workflow_Event", b).error(), unknown_type);
    EXPECT_EQ(decode("workflow_event ", b).error(), unknown_type);
    EXPECT_EQ(decode(std::string_view("workflow_event\0", 15), b).error(), unknown_type);
}

TEST(codec_rejects_unknown_type_frames, the_type_is_checked_before_the_body) {
    EXPECT_EQ(decode("no_such_type", "not msgpack at all").error(), unknown_type);
}

// ---- wrong_type --------------------------------------------------------------------------------

TEST(codec_rejects_fields_of_the_wrong_type, a_body_that_is_not_a_map) {
    EXPECT_EQ(decode_event(bytes_of(value(std::uint32_t{5}))), wrong_type);
    EXPECT_EQ(decode_event(bytes_of(array_of({map_of(envelope_fields())}))), wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, an_envelope_that_is_not_a_map) {
    EXPECT_EQ(decode_event(bytes_of(
                  map_of({{"env", value(std::uint32_t{5})}, {"payload", map_of(event_fields())}}))),
              wrong_type);
    EXPECT_EQ(decode_event(bytes_of(map_of(
                  {{"env", value(std::string("envelope"))}, {"payload", map_of(event_fields())}}))),
              wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, a_payload_that_is_an_array) {
    EXPECT_EQ(decode_event(body(envelope_fields(), array_of({value(std::string("order"))}))),
              wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, a_string_where_an_unsigned_integer_belongs) {
    EXPECT_EQ(decode_event(body(with(envelope_fields(), "message_id", value(std::string("1"))),
                                map_of(event_fields()))),
              wrong_type);
    EXPECT_EQ(decode_event(event_body(with(event_fields(), "step", value(std::string("0"))))),
              wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, an_integer_where_a_string_belongs) {
    EXPECT_EQ(decode_event(event_body(with(event_fields(), "workflow", value(std::uint32_t{1})))),
              wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, a_negative_number_where_an_unsigned_one_belongs) {
    EXPECT_EQ(decode_event(body(with(envelope_fields(), "hop", value(std::int64_t{-1})),
                                map_of(event_fields()))),
              wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, a_number_too_large_for_its_field) {
    EXPECT_EQ(decode_event(body(with(envelope_fields(), "hop", value(std::uint64_t{1} << 32)),
                                map_of(event_fields()))),
              wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, a_map_where_a_list_belongs) {
    const auto details =
        with(order_fields(), "items", map_of({{"sku-001", value(std::uint32_t{1})}}));
    EXPECT_EQ(decode_event(event_body(event_fields(details))), wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, a_list_item_that_is_not_a_map) {
    EXPECT_EQ(decode_event(event_body(event_fields(order_fields({value(std::string("sku"))})))),
              wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, a_nested_struct_that_is_a_string) {
    EXPECT_EQ(decode_event(event_body(with(event_fields(), "details", value(std::string("c001"))))),
              wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, an_integer_where_a_bool_belongs) {
    const fields reply{{"service", value(std::string("email"))},
                       {"found", value(std::uint32_t{1})},
                       {"stamp", [](packer& pk) { pk.pack(sample_stamp()); }}};
    EXPECT_EQ(decode("stamp_reply", body(envelope_fields(), map_of(reply))).error(), wrong_type);
}

// ---- missing_field -----------------------------------------------------------------------------

TEST(codec_rejects_missing_fields, a_body_without_an_envelope_or_a_payload) {
    EXPECT_EQ(decode_event(bytes_of(map_of({{"payload", map_of(event_fields())}}))), missing_field);
    EXPECT_EQ(decode_event(bytes_of(map_of({{"env", map_of(envelope_fields())}}))), missing_field);
    EXPECT_EQ(decode_event(bytes_of(map_of({}))), missing_field);
}

TEST(codec_rejects_missing_fields, every_field_of_the_envelope_is_required) {
    for (const auto& f : envelope_fields()) {
        EXPECT_EQ(decode_event(body(without(envelope_fields(), f.key), map_of(event_fields()))),
                  missing_field)
            << "without env." << f.key;
    }
}

TEST(codec_rejects_missing_fields, every_field_of_the_payload_is_required) {
    for (const auto& f : event_fields()) {
        EXPECT_EQ(decode_event(event_body(without(event_fields(), f.key))), missing_field)
            << "without payload." << f.key;
    }
}

TEST(codec_rejects_missing_fields, a_nested_struct_without_its_items_is_missing_a_field) {
    EXPECT_EQ(decode_event(event_body(event_fields(without(order_fields(), "items")))),
              missing_field);
    EXPECT_EQ(decode_event(event_body(event_fields(without(order_fields(), "customer")))),
              missing_field);
}

TEST(codec_rejects_missing_fields, a_struct_nested_two_levels_deep_is_checked_too) {
    // stamped_event.event.details.customer
    const fields stamped{{"event", map_of(event_fields(without(order_fields(), "customer")))},
                         {"stamp", [](packer& pk) { pk.pack(sample_stamp()); }}};
    EXPECT_EQ(decode("stamped_event", body(envelope_fields(), map_of(stamped))).error(),
              missing_field);
}

TEST(codec_rejects_missing_fields, a_list_element_without_one_of_its_fields) {
    // Regression: a list's elements were once not checked (the expected shape was the packed
    // default contract, whose lists are empty), so msgpack's MSGPACK_DEFINE_MAP convert left an
    // absent field at its default: a line item without "unit_price_cents" cost nothing.
    for (const auto& f : line_item_fields()) {
        EXPECT_EQ(decode_event(event_body(
                      event_fields(order_fields({map_of(without(line_item_fields(), f.key))})))),
                  missing_field)
            << "without items[0]." << f.key;
    }
}

TEST(codec_rejects_missing_fields, a_later_list_element_without_one_of_its_fields) {
    const fields record{{"service", value(std::string("payment"))},
                        {"step", value(std::uint32_t{1})},
                        {"status", value(std::string("done"))},
                        {"outcome", value(std::string("payment_applied"))},
                        {"detail", value(std::string("charged"))},
                        {"at_ns", value(std::int64_t{5})}};
    const auto reply_with = [&](std::vector<writer> records) {
        return body(envelope_fields(), map_of({{"service", value(std::string("payment"))},
                                               {"records", array_of(std::move(records))}}));
    };
    EXPECT_EQ(decode("snapshot_reply", reply_with({map_of(record), map_of(record)})).error(), ok);
    EXPECT_EQ(
        decode("snapshot_reply", reply_with({map_of(record), map_of(without(record, "status"))}))
            .error(),
        missing_field);
}

// ---- oversized_frame ---------------------------------------------------------------------------

TEST(codec_rejects_oversized_frames, a_body_over_the_default_limit_is_refused_unread) {
    const codec_limits limits;
    const std::string huge(limits.max_frame_bytes + 1, '\xc1'); // not msgpack either
    EXPECT_EQ(decode_event(huge), oversized_frame);
}

TEST(codec_rejects_oversized_frames, a_valid_message_over_the_default_limit_is_refused) {
    const codec_limits limits;
    msg::workflow_ended big{"order", "completed", std::string(limits.max_frame_bytes, 'x')};
    const frames f = encode({sample_envelope(), big});
    ASSERT_GT(f.body.size(), limits.max_frame_bytes);
    EXPECT_EQ(decode(f.type, f.body).error(), oversized_frame);
}

TEST(codec_rejects_oversized_frames, a_type_frame_over_the_limit_is_oversized_not_unknown) {
    const codec_limits limits;
    const auto b = event_body(event_fields());
    EXPECT_EQ(decode(std::string(limits.max_frame_bytes + 1, 'x'), b).error(), oversized_frame);
}

TEST(codec_rejects_oversized_frames, a_small_custom_limit_applies_to_both_frames) {
    codec_limits limits;
    limits.max_frame_bytes = 16;
    EXPECT_EQ(decode_event(event_body(event_fields()), limits), oversized_frame);
    EXPECT_EQ(decode("workflow_event", std::string(17, '\0'), limits).error(), oversized_frame);
    EXPECT_EQ(decode(std::string(17, 'x'), "", limits).error(), oversized_frame);
    // At the limit itself the frames are read, and refused for what they are.
    EXPECT_EQ(decode("workflow_event", std::string(16, '\xc1'), limits).error(), not_msgpack);
    EXPECT_EQ(decode(std::string(16, 'x'), "", limits).error(), unknown_type);
}

TEST(codec_rejects_oversized_frames, a_list_longer_than_max_elements) {
    // max_elements applies to every array and map: the envelope's map has 6 entries.
    codec_limits limits;
    limits.max_elements = 6;
    std::vector<writer> items(7, map_of(line_item_fields()));
    EXPECT_EQ(decode_event(event_body(event_fields(order_fields(items))), limits), oversized_frame);
    items.pop_back();
    EXPECT_EQ(decode_event(event_body(event_fields(order_fields(items))), limits), ok);
    limits.max_elements = 5;
    EXPECT_EQ(decode_event(event_body(event_fields(order_fields({}))), limits), oversized_frame);
}

// ---- nesting depth -----------------------------------------------------------------------------

writer nested_arrays(std::size_t depth) {
    return [depth](packer& pk) {
        for (std::size_t i = 1; i < depth; ++i) {
            pk.pack_array(1);
        }
        pk.pack_array(0);
    };
}

TEST(codec_limits_nesting, nesting_deeper_than_max_depth_is_an_oversized_frame) {
    // The limit is on the whole body: the root map counts as one level.
    const codec_limits limits;
    const auto too_deep = event_body(with(event_fields(), "workflow", nested_arrays(64)));
    EXPECT_EQ(decode_event(too_deep), oversized_frame);
    const auto deep = bytes_of(nested_arrays(limits.max_depth + 1));
    EXPECT_EQ(decode_event(deep), oversized_frame);
}

TEST(codec_limits_nesting, nesting_up_to_max_depth_is_parsed) {
    // Within the limit the body is read, then refused for its shape, not its depth.
    const codec_limits limits;
    EXPECT_EQ(decode_event(bytes_of(nested_arrays(limits.max_depth))), wrong_type);
}

TEST(codec_limits_nesting, a_workflow_event_needs_five_levels) {
    // root map > payload map > details map > items array > line item map
    const auto b = event_body(event_fields());
    codec_limits limits;
    limits.max_depth = 5;
    EXPECT_EQ(decode_event(b, limits), ok);
    limits.max_depth = 4;
    EXPECT_EQ(decode_event(b, limits), oversized_frame);
}

// ---- the error codes themselves ----------------------------------------------------------------

TEST(codec_error_codes, compare_equal_to_their_enum_and_carry_stable_names) {
    EXPECT_EQ(not_msgpack, errc::not_msgpack);
    EXPECT_NE(not_msgpack, wrong_type);
    EXPECT_EQ(not_msgpack.category().name(), std::string("choreo"));
    EXPECT_EQ(error_code_name(not_msgpack), "not_msgpack");
    EXPECT_EQ(error_code_name(unknown_type), "unknown_type");
    EXPECT_EQ(error_code_name(wrong_type), "wrong_type");
    EXPECT_EQ(error_code_name(missing_field), "missing_field");
    EXPECT_EQ(error_code_name(oversized_frame), "oversized_frame");
}

} // namespace
} // namespace choreo

// The codec: every registered contract survives a round trip, every kind of bad input gets its
// error, business payloads travel as opaque values, and the set of contracts is open.
#include "patterns/codec.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include "front_controller/contracts.hpp"
#include "orchestration/contracts.hpp"
#include "patterns/domain.hpp"
#include "patterns/errors.hpp"
#include "registry/builtin.hpp"
#include "stamp_coupling/contracts.hpp"
#include "stateless/contracts.hpp"
#include "workflows/chain/chain.hpp"
#include "workflows/order/order.hpp"

#include "contract_samples.hpp"

namespace choreo {
namespace {

/// Registers the built-in patterns' contracts (a pattern registers its own on construction).
void register_pattern_contracts() {
    static_cast<void>(builtin_patterns());
}

using namespace samples;

// ---- the sampled contracts (tests/contract_samples.hpp), as GoogleTest types --------------------

struct contract_names {
    template <class T> static std::string GetName(int) { return std::string(T::type_name); }
};

/// The module that must have registered each contract.
template <class T> constexpr std::string_view owner = "core";
template <>
constexpr std::string_view owner<front_controller::progress_report> = "front_controller";
template <> constexpr std::string_view owner<stateless::snapshot_request> = "stateless";
template <> constexpr std::string_view owner<stateless::snapshot_reply> = "stateless";
template <> constexpr std::string_view owner<stamp_coupling::stamped_event> = "stamp_coupling";
template <> constexpr std::string_view owner<stamp_coupling::stamp_request> = "stamp_coupling";
template <> constexpr std::string_view owner<stamp_coupling::stamp_reply> = "stamp_coupling";
template <> constexpr std::string_view owner<orchestration::run_step> = "orchestration";
template <> constexpr std::string_view owner<orchestration::tell_failure> = "orchestration";
template <> constexpr std::string_view owner<orchestration::step_finished> = "orchestration";

// ---- round trip --------------------------------------------------------------------------------

template <class T> class codec_round_trip : public ::testing::Test {
protected:
    void SetUp() override { register_pattern_contracts(); }
};
TYPED_TEST_SUITE(codec_round_trip, sampled_contracts::gtest_types, contract_names);

TYPED_TEST(codec_round_trip, the_sample_sets_every_field_to_something_other_than_its_default) {
    EXPECT_NE(sample<TypeParam>(), TypeParam{});
    EXPECT_NE(sample_envelope(), msg::envelope{});
}

TYPED_TEST(codec_round_trip, is_registered_under_its_type_frame_by_the_module_that_owns_it) {
    const auto info = find_contract(TypeParam::type_name);
    ASSERT_TRUE(info.has_value()) << TypeParam::type_name << " is not registered";
    EXPECT_EQ(info->type_name, TypeParam::type_name);
    EXPECT_EQ(info->module, owner<TypeParam>);
}

TYPED_TEST(codec_round_trip, a_payload_holds_its_contract_and_names_it) {
    const msg::payload p = sample<TypeParam>();
    EXPECT_FALSE(p.empty());
    EXPECT_EQ(p.type_name(), TypeParam::type_name);
    ASSERT_NE(msg::get_if<TypeParam>(&p), nullptr);
    EXPECT_EQ(*msg::get_if<TypeParam>(&p), sample<TypeParam>());
    EXPECT_EQ(p, msg::payload(sample<TypeParam>()));
    EXPECT_NE(p, msg::payload(TypeParam{}));
    EXPECT_NE(p, msg::payload{});
    if constexpr (std::is_same_v<TypeParam, msg::hold_request>) {
        EXPECT_EQ(msg::get_if<msg::error_reply>(&p), nullptr);
    } else {
        EXPECT_EQ(msg::get_if<msg::hold_request>(&p), nullptr);
        EXPECT_NE(p, msg::payload(msg::hold_request{true}));
    }
    if constexpr (requires(const TypeParam& t) { t.label(); }) {
        EXPECT_EQ(p.label(), sample<TypeParam>().label());
    } else {
        EXPECT_EQ(p.label(), "");
    }
}

TYPED_TEST(codec_round_trip, decoding_an_encoded_message_gives_back_the_same_message) {
    const message sent{sample_envelope(), sample<TypeParam>()};
    const frames f = encode(sent);
    EXPECT_EQ(f.type, TypeParam::type_name);
    EXPECT_EQ(f.size(), f.type.size() + f.body.size());

    const auto got = decode(f.type, f.body);
    ASSERT_TRUE(got.ok()) << error_code_name(got.error());
    EXPECT_NE(msg::get_if<TypeParam>(&got.value().payload), nullptr);
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

// ---- the registered list -----------------------------------------------------------------------

/// Returns: whether `module` is one choreo ships (the core, a built-in pattern or workflow),
/// as opposed to one a test registers for itself.
bool is_built_in(std::string_view module) {
    return module == "core" || builtin_patterns().find(module) != nullptr ||
           builtin_workflows().module(module) != nullptr;
}

TEST(codec_registered_contracts, every_built_in_contract_has_a_sample_here) {
    register_pattern_contracts();
    const auto names = sampled_contracts::type_names();
    const std::set<std::string_view> sampled(names.begin(), names.end());
    std::size_t built_in = 0;
    for (const auto& c : registered_contracts()) {
        if (!is_built_in(c.module)) {
            continue; // registered by a test, for itself
        }
        ++built_in;
        EXPECT_TRUE(sampled.contains(c.type_name))
            << c.type_name << " (registered by " << c.module
            << ") has no sample<T>() in sampled_contracts of contract_samples.hpp";
    }
    // ... and every sample is of a contract that is registered by a built-in module.
    EXPECT_EQ(built_in, sampled_contracts::size);
}

TEST(codec_registered_contracts, the_core_registers_its_own_contracts_as_core) {
    // Core contracts need no pattern: looking one up is enough to register them all.
    for (const auto name :
         {"place_order", "workflow_ended", "workflow_event", "status_request", "status_reply",
          "inspect_request", "inspect_reply", "hold_request", "error_reply", "ack"}) {
        const auto info = find_contract(name);
        ASSERT_TRUE(info.has_value()) << name;
        EXPECT_EQ(info->module, "core") << name;
    }
}

TEST(codec_registered_contracts, are_listed_once_each_ordered_by_type_name) {
    register_pattern_contracts();
    const auto all = registered_contracts();
    ASSERT_FALSE(all.empty());
    for (std::size_t i = 1; i < all.size(); ++i) {
        EXPECT_LT(all[i - 1].type_name, all[i].type_name) << "at " << i;
    }
    for (const auto& c : all) {
        const auto found = find_contract(c.type_name);
        ASSERT_TRUE(found.has_value()) << c.type_name;
        EXPECT_EQ(found->module, c.module);
        EXPECT_TRUE(found->decode == c.decode) << c.type_name;
    }
}

TEST(codec_type_frames, every_sampled_contract_has_a_distinct_type_frame) {
    const auto names = sampled_contracts::type_names();
    EXPECT_EQ(std::set<std::string_view>(names.begin(), names.end()).size(), names.size());
}

TEST(codec_type_frames, a_payload_names_the_contract_it_holds) {
    EXPECT_EQ(msg::payload(stamp_coupling::stamp_reply{}).type_name(), "stamp_reply");
    EXPECT_EQ(msg::payload(msg::place_order{}).type_name(), "place_order");
    EXPECT_EQ(msg::payload(orchestration::run_step{}).type_name(), "run_step");
    EXPECT_TRUE(msg::payload{}.empty());
    EXPECT_EQ(msg::payload{}.type_name(), "");
    EXPECT_EQ(msg::payload{}.label(), "");
}

// ---- the open registry -------------------------------------------------------------------------

/// A contract only this test knows, registered under a name no module uses.
struct probe {
    static constexpr std::string_view type_name = "codec_test_probe";
    std::string text;
    std::uint32_t count{};
    bool operator==(const probe&) const = default;
    MSGPACK_DEFINE_MAP(text, count)
};

/// A contract never registered.
struct unregistered {
    static constexpr std::string_view type_name = "codec_test_unregistered";
    std::string text;
    bool operator==(const unregistered&) const = default;
    MSGPACK_DEFINE_MAP(text)
};

/// Other types under names that are taken: by the core, by a pattern, by the probe.
struct impostor_event {
    static constexpr std::string_view type_name = "workflow_event";
    std::string text;
    bool operator==(const impostor_event&) const = default;
    MSGPACK_DEFINE_MAP(text)
};
struct impostor_step {
    static constexpr std::string_view type_name = "run_step";
    std::string text;
    bool operator==(const impostor_step&) const = default;
    MSGPACK_DEFINE_MAP(text)
};
struct impostor_probe {
    static constexpr std::string_view type_name = "codec_test_probe";
    std::uint64_t other{};
    bool operator==(const impostor_probe&) const = default;
    MSGPACK_DEFINE_MAP(other)
};

constexpr std::string_view test_module = "codec_test";

std::size_t registered_as(std::string_view type_name) {
    const auto all = registered_contracts();
    return static_cast<std::size_t>(std::count_if(
        all.begin(), all.end(), [&](const contract_info& c) { return c.type_name == type_name; }));
}

TEST(codec_open_registry, a_contract_registered_under_a_fresh_name_decodes) {
    register_contract<probe>(test_module);
    const auto info = find_contract("codec_test_probe");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->module, test_module);
    EXPECT_EQ(registered_as("codec_test_probe"), 1U);

    const message sent{sample_envelope(), probe{"hello", 7}};
    const frames f = encode(sent);
    EXPECT_EQ(f.type, "codec_test_probe");
    const auto got = decode(f.type, f.body);
    ASSERT_TRUE(got.ok()) << error_code_name(got.error());
    ASSERT_NE(msg::get_if<probe>(&got.value().payload), nullptr);
    EXPECT_EQ(got.value(), sent);

    // Registering the same type again is harmless.
    EXPECT_NO_THROW(register_contract<probe>(test_module));
    EXPECT_EQ(registered_as("codec_test_probe"), 1U);
}

TEST(codec_open_registry, a_registered_contract_gets_the_same_checks_as_a_built_in_one) {
    register_contract<probe>(test_module);
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> pk(buffer);
    pk.pack_map(2);
    pk.pack(std::string("env"));
    pk.pack(sample_envelope());
    pk.pack(std::string("payload"));
    pk.pack_map(1);
    pk.pack(std::string("text"));
    pk.pack(std::string("no count"));
    const std::string body(buffer.data(), buffer.size());
    EXPECT_EQ(decode("codec_test_probe", body).error(), std::error_code(errc::missing_field));
    EXPECT_EQ(decode("codec_test_probe", "\xc1").error(), std::error_code(errc::not_msgpack));
}

TEST(codec_open_registry, another_type_under_a_taken_name_throws_a_logic_error) {
    register_pattern_contracts();
    register_contract<probe>(test_module);
    EXPECT_THROW(register_contract<impostor_event>(test_module), std::logic_error);
    EXPECT_THROW(register_contract<impostor_step>(test_module), std::logic_error);
    EXPECT_THROW(register_contract<impostor_probe>(test_module), std::logic_error);

    // The names keep their first contracts.
    EXPECT_EQ(find_contract("workflow_event")->module, "core");
    EXPECT_EQ(find_contract("run_step")->module, "orchestration");
    EXPECT_EQ(find_contract("codec_test_probe")->module, test_module);
    EXPECT_EQ(registered_as("workflow_event"), 1U);
    const frames f = encode({sample_envelope(), sample_event()});
    const auto got = decode(f.type, f.body);
    ASSERT_TRUE(got.ok()) << error_code_name(got.error());
    EXPECT_NE(msg::get_if<msg::workflow_event>(&got.value().payload), nullptr);
}

TEST(codec_open_registry, a_name_nobody_registered_is_still_an_unknown_type) {
    register_pattern_contracts();
    const frames f = encode({sample_envelope(), unregistered{"never registered"}});
    EXPECT_EQ(f.type, "codec_test_unregistered");
    EXPECT_FALSE(find_contract("codec_test_unregistered").has_value());
    EXPECT_EQ(decode(f.type, f.body).error(), std::error_code(errc::unknown_type));
    EXPECT_EQ(registered_as("codec_test_unregistered"), 0U);
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

// The order workflow's business payload, as a client in another language would write it.

fields line_item_fields() {
    return {{"sku", value(std::string("sku-001"))},
            {"quantity", value(std::uint32_t{2})},
            {"unit_price_cents", value(std::uint64_t{749})}};
}

// Overloads, not default arguments: GCC 12 gives two functions' default arguments of the form
// `std::vector<writer> x = {...}` the same initializer list.

fields order_fields(std::vector<writer> items) {
    return {{"customer", value(std::string("c001"))}, {"items", array_of(std::move(items))}};
}

fields order_fields() {
    return order_fields({map_of(line_item_fields())});
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

// A core contract with nested structs: status_reply > workflow_status > step_record[].

fields record_fields() {
    return {{"service", value(std::string("payment"))},
            {"step", value(std::uint32_t{1})},
            {"status", value(std::string("done"))},
            {"outcome", value(std::string("payment_applied"))},
            {"detail", value(std::string("charged"))},
            {"at_ns", value(std::int64_t{5})}};
}

fields status_fields(std::vector<writer> steps) {
    return {{"found", value(true)},
            {"state", value(std::string("in_progress"))},
            {"steps", array_of(std::move(steps))},
            {"notified", array_of({})},
            {"last_service", value(std::string("order_placement"))},
            {"last_step", value(std::uint32_t{0})},
            {"last_at_ns", value(std::int64_t{1'700'000'000'000'000'000})},
            {"stuck_step", value(std::uint32_t{0})},
            {"stuck_since_ns", value(std::int64_t{0})},
            {"redrives", value(std::uint32_t{0})}};
}

fields status_fields() {
    return status_fields({map_of(record_fields())});
}

fields status_reply_fields(fields status = status_fields()) {
    return {{"service", value(std::string("order_placement"))},
            {"status", map_of(std::move(status))}};
}

std::error_code decode_status_reply(fields payload) {
    return decode("status_reply", body(envelope_fields(), map_of(std::move(payload)))).error();
}

/// Decodes a hand-built event and then its business payload as an order, as the order
/// services do. Returns: the error of whichever step failed first.
std::error_code decode_order_in_event(fields details) {
    const auto got = decode("workflow_event", event_body(event_fields(std::move(details))));
    if (!got) {
        return got.error();
    }
    return decode_value<order::order>(
               msg::get_if<msg::workflow_event>(&got.value().payload)->details)
        .error();
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
    const auto* e = msg::get_if<msg::workflow_event>(&got.value().payload);
    ASSERT_NE(e, nullptr);
    const order::order placed{"c001", {{"sku-001", 2, 749}}};
    EXPECT_EQ(*e,
              (msg::workflow_event{"order", "order_placed", 0, "client", msg::value::of(placed)}));
    EXPECT_EQ(got.value().env, sample_envelope());
    const auto details = decode_value<order::order>(e->details);
    ASSERT_TRUE(details.ok()) << error_code_name(details.error());
    EXPECT_EQ(details.value(), placed);
}

TEST(codec_hand_built_bodies, the_hand_built_status_reply_is_a_valid_status_reply) {
    EXPECT_EQ(decode_status_reply(status_reply_fields()), ok);
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
    const auto got = decode("workflow_event", b);
    ASSERT_TRUE(got.ok()) << error_code_name(got.error());
    // The business payload is read under the same rule by the service that reads it.
    const auto o =
        decode_value<order::order>(msg::get_if<msg::workflow_event>(&got.value().payload)->details);
    ASSERT_TRUE(o.ok()) << error_code_name(o.error());
    EXPECT_EQ(o.value(), (order::order{"c001", {{"sku-001", 2, 749}}}));

    auto record = record_fields();
    record.push_back({"colour", value(std::string("red"))});
    auto status = status_fields({map_of(record)});
    status.push_back({"colour", value(std::string("red"))});
    EXPECT_EQ(decode_status_reply(status_reply_fields(status)), ok);
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
                    ec == oversized_frame || ec == errc::not_utf8)
            << ec.message();
        refused += ec ? 1 : 0;
    }
    EXPECT_EQ(refused, 2'000U);
}

// ---- not_utf8 ----------------------------------------------------------------------------------

/// Writes `bytes` as a MessagePack bin.
writer bin_of(std::string bytes) {
    return [bytes = std::move(bytes)](packer& pk) {
        pk.pack_bin(static_cast<std::uint32_t>(bytes.size()));
        pk.pack_bin_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
    };
}

// Whatever a node keeps as a string it may echo in a str, which must be UTF-8: a string that is
// not is refused wherever it is, in the envelope, a contract, a nested struct, a bin read into a
// string, a map key, and in a business payload when its domain service reads it.
TEST(codec_rejects_strings_that_are_not_utf8, wherever_they_are) {
    const std::error_code not_utf8 = errc::not_utf8;
    for (const auto* bad : {"wf-\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "ok\x80"}) {
        SCOPED_TRACE(bad);
        const std::string text(bad);
        EXPECT_EQ(decode_event(body(with(envelope_fields(), "workflow_id", value(text)),
                                    map_of(event_fields()))),
                  not_utf8);
        EXPECT_EQ(decode_event(body(with(envelope_fields(), "sender", bin_of(text)),
                                    map_of(event_fields()))),
                  not_utf8);
        EXPECT_EQ(decode_event(event_body(with(event_fields(), "event", value(text)))), not_utf8);
        EXPECT_EQ(decode_status_reply(status_reply_fields(
                      status_fields({map_of(with(record_fields(), "service", value(text)))}))),
                  not_utf8);
        EXPECT_EQ(decode_order_in_event(with(order_fields(), "customer", value(text))), not_utf8);
    }
    // A key of a map<str, int64> field (inspect_reply.effects, say) is a string too.
    msg::inspect_reply r;
    r.node = "payment";
    r.effects = {{"stock:\xff", 1}};
    const auto f = encode({sample_envelope(), r});
    EXPECT_EQ(decode(f.type, f.body).error(), not_utf8);
    // The envelope's problem is the one reported, as for wrong_type; then the payload's.
    EXPECT_EQ(decode_event(body(with(envelope_fields(), "hop", value(std::string("x"))),
                                map_of(with(event_fields(), "event", value(std::string("\xff")))))),
              wrong_type);
    // Valid UTF-8 of every length, and NUL, pass.
    const std::string fine = std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ") + '\0';
    EXPECT_EQ(decode_event(body(with(envelope_fields(), "workflow_id", value(fine)),
                                map_of(event_fields()))),
              ok);
}

// ---- unknown_type ------------------------------------------------------------------------------

TEST(codec_rejects_unknown_type_frames, a_type_no_contract_has_is_unknown_type) {
    register_pattern_contracts();
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
    // status_reply.status.steps
    const auto status =
        with(status_fields(), "steps", map_of({{"payment", map_of(record_fields())}}));
    EXPECT_EQ(decode_status_reply(status_reply_fields(status)), wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, a_list_item_that_is_not_a_map) {
    EXPECT_EQ(decode_status_reply(status_reply_fields(status_fields({value(std::string("done"))}))),
              wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, a_nested_struct_that_is_a_string) {
    EXPECT_EQ(
        decode_status_reply(with(status_reply_fields(), "status", value(std::string("done")))),
        wrong_type);
}

TEST(codec_rejects_fields_of_the_wrong_type, an_integer_where_a_bool_belongs) {
    register_pattern_contracts();
    const fields reply{{"service", value(std::string("email"))},
                       {"found", value(std::uint32_t{1})},
                       {"stamp", [](packer& pk) { pk.pack(sample_stamp()); }}};
    EXPECT_EQ(decode("stamp_reply", body(envelope_fields(), map_of(reply))).error(), wrong_type);
    EXPECT_EQ(decode_status_reply(
                  status_reply_fields(with(status_fields(), "found", value(std::uint32_t{1})))),
              wrong_type);
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
    // "details" too: the business payload is opaque, but it must be there.
    for (const auto& f : event_fields()) {
        EXPECT_EQ(decode_event(event_body(without(event_fields(), f.key))), missing_field)
            << "without payload." << f.key;
    }
}

TEST(codec_rejects_missing_fields, a_nested_struct_without_its_items_is_missing_a_field) {
    // status_reply.status without its steps, or without its state
    EXPECT_EQ(decode_status_reply(status_reply_fields(without(status_fields(), "steps"))),
              missing_field);
    EXPECT_EQ(decode_status_reply(status_reply_fields(without(status_fields(), "state"))),
              missing_field);
}

TEST(codec_rejects_missing_fields, a_struct_nested_two_levels_deep_is_checked_too) {
    register_pattern_contracts();
    // stamped_event.event.workflow
    const fields stamped{{"event", map_of(without(event_fields(), "workflow"))},
                         {"stamp", [](packer& pk) { pk.pack(sample_stamp()); }}};
    EXPECT_EQ(decode("stamped_event", body(envelope_fields(), map_of(stamped))).error(),
              missing_field);
    // status_reply.status.steps[0].outcome
    EXPECT_EQ(decode_status_reply(status_reply_fields(
                  status_fields({map_of(without(record_fields(), "outcome"))}))),
              missing_field);
}

TEST(codec_rejects_missing_fields, a_list_element_without_one_of_its_fields) {
    // Regression: a list's elements were once not checked (the expected shape was the packed
    // default contract, whose lists are empty), so msgpack's MSGPACK_DEFINE_MAP convert left an
    // absent field at its default: a step record without "status" read as "".
    for (const auto& f : record_fields()) {
        EXPECT_EQ(decode_status_reply(status_reply_fields(
                      status_fields({map_of(without(record_fields(), f.key))}))),
                  missing_field)
            << "without status.steps[0]." << f.key;
    }
}

TEST(codec_rejects_missing_fields, a_later_list_element_without_one_of_its_fields) {
    register_pattern_contracts();
    const auto reply_with = [&](std::vector<writer> records) {
        return body(envelope_fields(), map_of({{"service", value(std::string("payment"))},
                                               {"records", array_of(std::move(records))}}));
    };
    const auto record = record_fields();
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
    // max_elements applies to every array and map, inside the opaque business payload too: the
    // envelope's map has 6 entries.
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
    // An opaque business payload is no way around it.
    const auto deep_details = event_body(with(event_fields(), "details", nested_arrays(64)));
    EXPECT_EQ(decode_event(deep_details), oversized_frame);
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

// ---- msg::value: the business payload ----------------------------------------------------------

std::string packed(const order::order& o) {
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, o);
    return {buffer.data(), buffer.size()};
}

TEST(codec_value, packs_as_the_value_it_holds_not_as_a_blob) {
    const auto o = sample_order();
    const auto v = msg::value::of(o);
    EXPECT_EQ(v.bytes(), packed(o));

    const frames f =
        encode({sample_envelope(), msg::workflow_event{"order", "order_placed", 0, "client", v}});
    const auto handle = msgpack::unpack(f.body.data(), f.body.size());
    const msgpack::object* details = nullptr;
    for (const auto& kv : handle.get().via.map) {
        if (kv.key.as<std::string>() == "payload") {
            for (const auto& p : kv.val.via.map) {
                if (p.key.as<std::string>() == "details") {
                    details = &p.val;
                }
            }
        }
    }
    ASSERT_NE(details, nullptr);
    ASSERT_EQ(details->type, msgpack::type::MAP); // not BIN, not STR
    EXPECT_EQ(details->as<order::order>(), o);
    msgpack::sbuffer again;
    msgpack::pack(again, *details);
    EXPECT_EQ(std::string(again.data(), again.size()), packed(o));
}

TEST(codec_value, an_order_survives_the_round_trip_inside_every_contract_that_carries_one) {
    register_pattern_contracts();
    const auto o = sample_order();
    const auto v = msg::value::of(o);
    for (const msg::payload& p :
         {msg::payload(msg::place_order{"order", "client", v}),
          msg::payload(msg::workflow_event{"order", "order_placed", 0, "client", v}),
          msg::payload(orchestration::run_step{"order", 1, v}),
          msg::payload(orchestration::tell_failure{"order", 1, "payment_declined", v})}) {
        SCOPED_TRACE(std::string(p.type_name()));
        const frames f = encode({sample_envelope(), p});
        const auto got = decode(f.type, f.body);
        ASSERT_TRUE(got.ok()) << error_code_name(got.error());
        EXPECT_EQ(got.value().payload, p);
        const msg::value* details = nullptr;
        if (const auto* x = msg::get_if<msg::place_order>(&got.value().payload)) {
            details = &x->details;
        } else if (const auto* y = msg::get_if<msg::workflow_event>(&got.value().payload)) {
            details = &y->details;
        } else if (const auto* z = msg::get_if<orchestration::run_step>(&got.value().payload)) {
            details = &z->details;
        } else if (const auto* w = msg::get_if<orchestration::tell_failure>(&got.value().payload)) {
            details = &w->details;
        }
        ASSERT_NE(details, nullptr);
        const auto back = decode_value<order::order>(*details);
        ASSERT_TRUE(back.ok()) << error_code_name(back.error());
        EXPECT_EQ(back.value(), o);
    }
}

TEST(codec_value, an_empty_value_is_nil) {
    EXPECT_EQ(msg::value{}.bytes(), "\xc0");
    EXPECT_EQ(msg::value{}, msg::value::from_bytes("\xc0"));
    EXPECT_NE(msg::value{}, msg::value::of(sample_order()));
}

TEST(codec_value, any_one_msgpack_value_passes_the_codec_as_it_is) {
    for (const auto& details :
         {value(std::uint32_t{42}), value(std::string("c001")), array_of({value(true)}),
          writer([](packer& pk) { pk.pack_nil(); }), map_of({})}) {
        const auto b = event_body(with(event_fields(), "details", details));
        const auto got = decode("workflow_event", b);
        ASSERT_TRUE(got.ok()) << error_code_name(got.error());
        EXPECT_EQ(msg::get_if<msg::workflow_event>(&got.value().payload)->details.bytes(),
                  bytes_of(details));
    }
}

TEST(codec_decode_value, refuses_a_payload_of_another_shape) {
    const std::error_code not_an_order =
        decode_value<order::order>(msg::value::of(chain::item{3})).error();
    EXPECT_EQ(not_an_order, missing_field);
    EXPECT_EQ(decode_value<chain::item>(msg::value::of(sample_order())).error(), missing_field);
    EXPECT_EQ(decode_value<order::order>(msg::value::of(std::uint32_t{42})).error(), wrong_type);
    EXPECT_EQ(decode_value<order::order>(msg::value::of(std::string("c001"))).error(), wrong_type);
    EXPECT_EQ(decode_value<order::order>(msg::value{}).error(), wrong_type);
    EXPECT_EQ(decode_value<chain::item>(msg::value::of(chain::item{3})).value(), chain::item{3});
}

TEST(codec_decode_value, refuses_bytes_that_are_not_msgpack) {
    EXPECT_EQ(decode_value<order::order>(msg::value::from_bytes("\xc1")).error(), not_msgpack);
    const auto whole = packed(sample_order());
    EXPECT_EQ(decode_value<order::order>(msg::value::from_bytes(whole.substr(0, whole.size() - 1)))
                  .error(),
              not_msgpack);
}

// The order's own shape, as the order services read it: the rules the codec applies to a
// contract apply to the business payload when it is decoded.

TEST(codec_decode_value, an_order_whose_items_are_a_map_is_wrong_type) {
    EXPECT_EQ(decode_order_in_event(
                  with(order_fields(), "items", map_of({{"sku-001", value(std::uint32_t{1})}}))),
              wrong_type);
}

TEST(codec_decode_value, an_order_whose_item_is_not_a_map_is_wrong_type) {
    EXPECT_EQ(decode_order_in_event(order_fields({value(std::string("sku"))})), wrong_type);
}

TEST(codec_decode_value, an_order_that_is_a_string_is_wrong_type) {
    const auto got = decode(
        "workflow_event", event_body(with(event_fields(), "details", value(std::string("c001")))));
    ASSERT_TRUE(got.ok()) << error_code_name(got.error());
    EXPECT_EQ(
        decode_value<order::order>(msg::get_if<msg::workflow_event>(&got.value().payload)->details)
            .error(),
        wrong_type);
}

TEST(codec_decode_value, an_order_without_its_items_or_customer_is_missing_a_field) {
    EXPECT_EQ(decode_order_in_event(without(order_fields(), "items")), missing_field);
    EXPECT_EQ(decode_order_in_event(without(order_fields(), "customer")), missing_field);
}

TEST(codec_decode_value, a_line_item_without_one_of_its_fields_is_missing_a_field) {
    // A line item without "unit_price_cents" must not cost nothing.
    for (const auto& f : line_item_fields()) {
        EXPECT_EQ(decode_order_in_event(order_fields({map_of(without(line_item_fields(), f.key))})),
                  missing_field)
            << "without items[0]." << f.key;
        EXPECT_EQ(decode_order_in_event(order_fields(
                      {map_of(line_item_fields()), map_of(without(line_item_fields(), f.key))})),
                  missing_field)
            << "without items[1]." << f.key;
    }
}

TEST(codec_decode_value, a_valid_order_is_read_back) {
    EXPECT_EQ(decode_order_in_event(order_fields()), ok);
}

// ---- the error codes themselves ----------------------------------------------------------------

struct code_facts {
    errc code;
    std::string_view name;    ///< on the wire, in error_reply.code and rejected_by
    std::string_view message; ///< on the wire, in error_reply.reason
};

const std::vector<code_facts> every_code{
    {errc::malformed_frames, "malformed_frames", "malformed message: expected [type, body] frames"},
    {errc::not_msgpack, "not_msgpack", "body is not one complete MessagePack object"},
    {errc::unknown_type, "unknown_type", "unknown message type"},
    {errc::wrong_type, "wrong_type", "a field has the wrong type"},
    {errc::missing_field, "missing_field", "a required field is missing"},
    {errc::oversized_frame, "oversized_frame", "frame exceeds the size limit"},
    {errc::unknown_workflow, "unknown_workflow", "unknown workflow id"},
    {errc::unknown_service, "unknown_service", "unknown service"},
    {errc::unexpected_message, "unexpected_message", "message type not handled by this node"},
    {errc::timeout, "timeout", "timed out"},
    {errc::unauthenticated, "unauthenticated",
     "peer not authenticated with a key of the deployment"},
    {errc::impersonation, "impersonation", "envelope sender is not the authenticated peer"},
    {errc::not_permitted, "not_permitted", "sender may not send this message"},
    {errc::duplicate_workflow, "duplicate_workflow", "a workflow with this id was already placed"},
    {errc::not_utf8, "not_utf8", "a string is not valid UTF-8"},
};

TEST(codec_error_codes, compare_equal_to_their_enum_and_carry_stable_names) {
    for (const auto& facts : every_code) {
        SCOPED_TRACE(std::string(facts.name));
        // Built from the category and the number, not from the enum.
        const std::error_code ec(static_cast<int>(facts.code), choreo_category());
        EXPECT_TRUE(ec == facts.code);
        EXPECT_EQ(ec, make_error_code(facts.code));
        EXPECT_TRUE(static_cast<bool>(ec)) << "a choreo error must not read as success";
        EXPECT_EQ(&ec.category(), &choreo_category());
        EXPECT_EQ(std::string(ec.category().name()), "choreo");
        EXPECT_EQ(error_code_name(ec), facts.name);
        EXPECT_EQ(ec.message(), facts.message);
        for (const auto& other : every_code) {
            if (other.code != facts.code) {
                EXPECT_FALSE(ec == other.code) << "equals " << other.name;
            }
        }
        // The same number in another category is another error.
        const std::error_code generic(static_cast<int>(facts.code), std::generic_category());
        EXPECT_FALSE(generic == facts.code);
        EXPECT_EQ(error_code_name(generic), "generic:" + std::to_string(ec.value()));
    }
}

TEST(codec_error_codes, the_codec_returns_them_in_the_choreo_category) {
    const auto ec = decode_event("");
    EXPECT_EQ(&ec.category(), &choreo_category());
    EXPECT_EQ(error_code_name(ec), "not_msgpack");
    EXPECT_EQ(ec.message(), "body is not one complete MessagePack object");
    EXPECT_FALSE(ec == errc::wrong_type);
}

} // namespace
} // namespace choreo

// Encodes contracts as [type, body] frames and decodes untrusted frames back, without throwing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patterns/contracts.hpp"
#include "patterns/errors.hpp"
#include "patterns/result.hpp"

namespace choreo {

/// A decoded message: its envelope and one contract.
struct message {
    msg::envelope env;
    msg::payload payload;
    bool operator==(const message&) const = default;
};

/// The two frames of a message as they go on the wire.
struct frames {
    std::string type;
    std::string body; ///< MessagePack map {"env": envelope, "payload": contract}
    std::size_t size() const noexcept { return type.size() + body.size(); }
};

struct codec_limits {
    std::size_t max_frame_bytes = 256 * 1024; ///< larger frames are rejected unread
    std::size_t max_depth = 16;               ///< MessagePack nesting
    std::size_t max_elements = 10'000;        ///< per array or map
};

/// Returns: the wire frames of m.
frames encode(const message& m);

/// Decodes one message from its frames. Never throws on bad input.
/// Returns: the message, or errc::oversized_frame, not_msgpack, unknown_type, wrong_type or
/// missing_field. Unknown extra map keys are ignored, so contracts can grow compatibly.
result<message> decode(std::string_view type, std::string_view body,
                       const codec_limits& limits = {});

/// Reads just the envelope of a body that may be invalid elsewhere, so that an error reply can
/// name the workflow and query it answers. Returns: nullopt if there is no valid envelope.
std::optional<msg::envelope> peek_envelope(std::string_view body,
                                           const codec_limits& limits = {}) noexcept;

// ---- the open set of contracts -------------------------------------------------------------

/// What the codec knows of one registered contract type.
struct contract_info {
    std::string_view type_name;
    std::string_view module; ///< who registered it: "core", a pattern's or a workflow's name
    result<msg::payload> (*decode)(const msgpack::object&);
};

/// Registers contract T under its type frame, for `module`. Registering the same type again
/// is harmless; another type under a taken name throws std::logic_error.
template <msg::contract T> void register_contract(std::string_view module);

/// Returns: every registered contract, ordered by type name.
std::vector<contract_info> registered_contracts();
/// Returns: the contract registered under `type_name`, or nullopt.
std::optional<contract_info> find_contract(std::string_view type_name);

namespace detail {
void add_contract(const contract_info& info, const char* tag);
/// Every key of every map in `expected` (nested maps and maps inside arrays too) must be in
/// `got`, with a value of the same shape. Returns: errc::missing_field or wrong_type.
std::error_code check_fields(const msgpack::object& got, const msgpack::object& expected);

/// Converts a map to T; msgpack-c fills absent keys with defaults silently, so the value is
/// packed back and every key it has must have been in what arrived.
template <class T> result<T> convert_checked(const msgpack::object& o) {
    if (o.type != msgpack::type::MAP) {
        return std::error_code(errc::wrong_type);
    }
    T value;
    try {
        o.convert(value);
    } catch (const std::exception&) {
        return std::error_code(errc::wrong_type);
    }
    msgpack::zone zone;
    if (auto ec = check_fields(o, msgpack::object(value, zone))) {
        return ec;
    }
    return value;
}

template <msg::contract T> result<msg::payload> decode_contract(const msgpack::object& o) {
    auto r = convert_checked<T>(o);
    if (!r) {
        return r.error();
    }
    return msg::payload(std::move(r).value());
}

template <class T> inline constexpr char tag_of{};
} // namespace detail

template <msg::contract T> void register_contract(std::string_view module) {
    detail::add_contract({T::type_name, module, &detail::decode_contract<T>}, &detail::tag_of<T>);
}

} // namespace choreo

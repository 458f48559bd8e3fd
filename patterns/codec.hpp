// Encodes contracts as [type, body] frames and decodes untrusted frames back, without throwing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patterns/contracts.hpp"
#include "patterns/errors.hpp"
#include "patterns/msgpack_reader.hpp"
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
    /// Reads one contract map where `in` stands, straight into a payload.
    detail::read_status (*decode)(detail::msgpack_reader& in, msg::payload& out);
};

/// Registers contract T under its type frame, for `module`. Registering the same type again
/// is harmless; another type under a taken name throws std::logic_error, and so does a T whose
/// MSGPACK_DEFINE_MAP the decoder cannot follow (more than 64 fields, a name that is not a
/// string literal, a field that is not a member).
template <msg::contract T> void register_contract(std::string_view module);

/// Returns: every registered contract, ordered by type name.
std::vector<contract_info> registered_contracts();
/// Returns: the contract registered under `type_name`, or nullopt.
std::optional<contract_info> find_contract(std::string_view type_name);

namespace detail {
void add_contract(const contract_info& info, const char* tag);

/// Reads a T where `in` stands, in one pass (see msgpack_reader.hpp), into `out` if it is one.
template <msg::contract T> read_status read_contract(msgpack_reader& in, msg::payload& out) {
    T value;
    const auto status = read(in, value);
    if (status == read_status::ok) {
        out = msg::payload(std::move(value));
    }
    return status;
}

template <class T> inline constexpr char tag_of{};
} // namespace detail

template <msg::contract T> void register_contract(std::string_view module) {
    static_cast<void>(detail::fields_of<T>()); // a struct the decoder cannot follow throws here
    detail::add_contract({T::type_name, module, &detail::read_contract<T>}, &detail::tag_of<T>);
}

} // namespace choreo

// Encodes contracts as [type, body] frames and decodes untrusted frames back, without throwing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "patterns/contracts.hpp"
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

} // namespace choreo

// The domain failures of choreo as std::error_code values.
#pragma once

#include <string>
#include <system_error>

namespace choreo {

/// Expected failures: a message rejected at the boundary, a query that found nothing.
enum class errc {
    malformed_frames = 1, ///< not exactly [type, body]
    not_msgpack,          ///< the body is not one complete MessagePack object
    unknown_type,         ///< the type frame names no contract
    wrong_type,           ///< a field has the wrong MessagePack type
    missing_field,        ///< a field of the contract is absent
    oversized_frame,      ///< a frame is larger than the node accepts
    unknown_workflow,     ///< no service knows the workflow id
    unknown_service,      ///< a name that is not in the topology
    unexpected_message,   ///< a valid contract this node has no use for
    timeout,              ///< no answer in time
    unauthenticated,      ///< the peer has no key of the deployment (CURVE)
    impersonation,        ///< the envelope's sender is not the authenticated peer
    not_permitted,        ///< the sender may not send this (operator requests, workflow_ended)
    duplicate_workflow,   ///< a place_order for a workflow id this node has already started
    not_utf8,             ///< a string field holds bytes that are not valid UTF-8
};

const std::error_category& choreo_category() noexcept;

/// Returns: the stable name of a choreo error, e.g. "not_msgpack" (used on the wire).
std::string error_code_name(std::error_code ec);

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), choreo_category()};
}

} // namespace choreo

template <> struct std::is_error_code_enum<choreo::errc> : std::true_type {};

#include "patterns/errors.hpp"

namespace choreo {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "choreo"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::malformed_frames:
            return "malformed message: expected [type, body] frames";
        case errc::not_msgpack:
            return "body is not one complete MessagePack object";
        case errc::unknown_type:
            return "unknown message type";
        case errc::wrong_type:
            return "a field has the wrong type";
        case errc::missing_field:
            return "a required field is missing";
        case errc::oversized_frame:
            return "frame exceeds the size limit";
        case errc::unknown_workflow:
            return "unknown workflow id";
        case errc::unknown_service:
            return "unknown service";
        case errc::unexpected_message:
            return "message type not handled by this node";
        case errc::timeout:
            return "timed out";
        case errc::unauthenticated:
            return "peer not authenticated with a key of the deployment";
        case errc::impersonation:
            return "envelope sender is not the authenticated peer";
        case errc::not_permitted:
            return "sender may not send this message";
        case errc::duplicate_workflow:
            return "a workflow with this id was already placed";
        case errc::not_utf8:
            return "a string is not valid UTF-8";
        }
        return "unknown choreo error";
    }
};

} // namespace

std::string error_code_name(std::error_code ec) {
    if (ec.category() != choreo_category()) {
        return ec.category().name() + std::string(":") + std::to_string(ec.value());
    }
    switch (static_cast<errc>(ec.value())) {
    case errc::malformed_frames:
        return "malformed_frames";
    case errc::not_msgpack:
        return "not_msgpack";
    case errc::unknown_type:
        return "unknown_type";
    case errc::wrong_type:
        return "wrong_type";
    case errc::missing_field:
        return "missing_field";
    case errc::oversized_frame:
        return "oversized_frame";
    case errc::unknown_workflow:
        return "unknown_workflow";
    case errc::unknown_service:
        return "unknown_service";
    case errc::unexpected_message:
        return "unexpected_message";
    case errc::timeout:
        return "timeout";
    case errc::unauthenticated:
        return "unauthenticated";
    case errc::impersonation:
        return "impersonation";
    case errc::not_permitted:
        return "not_permitted";
    case errc::duplicate_workflow:
        return "duplicate_workflow";
    case errc::not_utf8:
        return "not_utf8";
    }
    return "choreo:" + std::to_string(ec.value());
}

const std::error_category& choreo_category() noexcept {
    static const category instance;
    return instance;
}

} // namespace choreo

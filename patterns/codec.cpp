#include "patterns/codec.hpp"

#include <algorithm>
#include <utility>

#include "patterns/errors.hpp"

namespace choreo {
namespace {

template <class T> msgpack::object_handle shape_of() {
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, T{});
    return msgpack::unpack(buffer.data(), buffer.size());
}

/// The packed form of a default T: its map keys are the fields a sender must provide.
template <class T> const msgpack::object& template_of() {
    static const msgpack::object_handle shape = shape_of<T>();
    return shape.get();
}

const msgpack::object* find_key(const msgpack::object& map, std::string_view key) {
    for (const auto& kv : map.via.map) {
        if (kv.key.type == msgpack::type::STR &&
            std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
            return &kv.val;
        }
    }
    return nullptr;
}

// Walks the expected shape: every field of a contract (and of nested contracts) must be present.
// Scalar and array types are checked by msgpack's convert, which throws type_error on mismatch.
std::error_code check_fields(const msgpack::object& got, const msgpack::object& expected) {
    if (expected.type != msgpack::type::MAP) {
        return {};
    }
    if (got.type != msgpack::type::MAP) {
        return errc::wrong_type;
    }
    for (const auto& kv : expected.via.map) {
        const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
        const msgpack::object* value = find_key(got, key);
        if (value == nullptr) {
            return errc::missing_field;
        }
        if (auto ec = check_fields(*value, kv.val)) {
            return ec;
        }
    }
    return {};
}

template <class T> result<T> convert_checked(const msgpack::object& o) {
    if (auto ec = check_fields(o, template_of<T>())) {
        return ec;
    }
    try {
        return o.as<T>();
    } catch (const std::exception&) {
        return std::error_code(errc::wrong_type);
    }
}

template <std::size_t I = 0>
result<msg::payload> decode_payload(std::string_view type, const msgpack::object& o) {
    if constexpr (I == std::variant_size_v<msg::payload>) {
        return std::error_code(errc::unknown_type);
    } else {
        using T = std::variant_alternative_t<I, msg::payload>;
        if (type != msg::type_name<T>()) {
            return decode_payload<I + 1>(type, o);
        }
        auto r = convert_checked<T>(o);
        if (!r) {
            return r.error();
        }
        return msg::payload(std::move(r).value());
    }
}

bool is_known_type(std::string_view type) {
    bool known = false;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((known = known || type == msg::type_name<std::variant_alternative_t<I, msg::payload>>()),
         ...);
    }
    (std::make_index_sequence<std::variant_size_v<msg::payload>>{});
    return known;
}

} // namespace

frames encode(const message& m) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(2);
    packer.pack(std::string_view("env"));
    packer.pack(m.env);
    packer.pack(std::string_view("payload"));
    std::visit([&](const auto& p) { packer.pack(p); }, m.payload);
    return {std::string(msg::type_name_of(m.payload)), std::string(buffer.data(), buffer.size())};
}

result<message> decode(std::string_view type, std::string_view body, const codec_limits& limits) {
    if (type.size() > limits.max_frame_bytes || body.size() > limits.max_frame_bytes) {
        return std::error_code(errc::oversized_frame);
    }
    if (!is_known_type(type)) {
        return std::error_code(errc::unknown_type);
    }
    msgpack::object_handle handle;
    try {
        std::size_t offset = 0;
        const msgpack::unpack_limit limit(limits.max_elements, limits.max_elements,
                                          limits.max_frame_bytes, limits.max_frame_bytes,
                                          limits.max_frame_bytes, limits.max_depth);
        handle = msgpack::unpack(body.data(), body.size(), offset, nullptr, nullptr, limit);
        if (offset != body.size()) {
            return std::error_code(errc::not_msgpack); // trailing bytes after the object
        }
    } catch (const msgpack::size_overflow&) {
        return std::error_code(errc::oversized_frame);
    } catch (const std::exception&) {
        return std::error_code(errc::not_msgpack);
    }
    const msgpack::object& root = handle.get();
    if (root.type != msgpack::type::MAP) {
        return std::error_code(errc::wrong_type);
    }
    const msgpack::object* env = find_key(root, "env");
    const msgpack::object* payload = find_key(root, "payload");
    if (env == nullptr || payload == nullptr) {
        return std::error_code(errc::missing_field);
    }
    auto e = convert_checked<msg::envelope>(*env);
    if (!e) {
        return e.error();
    }
    auto p = decode_payload(type, *payload);
    if (!p) {
        return p.error();
    }
    return message{std::move(e).value(), std::move(p).value()};
}

} // namespace choreo

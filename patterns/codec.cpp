#include "patterns/codec.hpp"

#include <algorithm>
#include <utility>

#include "patterns/errors.hpp"

namespace choreo {
namespace {

const msgpack::object* find_key(const msgpack::object& map, std::string_view key) {
    for (const auto& kv : map.via.map) {
        if (kv.key.type == msgpack::type::STR &&
            std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
            return &kv.val;
        }
    }
    return nullptr;
}

// msgpack-c fills a field whose key is absent with its default, silently. So after converting,
// the value is packed back into an object tree, and every key of every map in it (nested maps
// and maps inside arrays too) must have been in what arrived.
std::error_code check_fields(const msgpack::object& got, const msgpack::object& expected) {
    if (expected.type == msgpack::type::MAP) {
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
    } else if (expected.type == msgpack::type::ARRAY) {
        if (got.type != msgpack::type::ARRAY || got.via.array.size != expected.via.array.size) {
            return errc::wrong_type;
        }
        for (std::uint32_t i = 0; i < expected.via.array.size; ++i) {
            if (auto ec = check_fields(got.via.array.ptr[i], expected.via.array.ptr[i])) {
                return ec;
            }
        }
    }
    return {};
}

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

std::optional<msg::envelope> peek_envelope(std::string_view body,
                                           const codec_limits& limits) noexcept {
    try {
        if (body.size() > limits.max_frame_bytes) {
            return std::nullopt;
        }
        std::size_t offset = 0;
        const msgpack::unpack_limit limit(limits.max_elements, limits.max_elements,
                                          limits.max_frame_bytes, limits.max_frame_bytes,
                                          limits.max_frame_bytes, limits.max_depth);
        const auto handle =
            msgpack::unpack(body.data(), body.size(), offset, nullptr, nullptr, limit);
        if (handle.get().type != msgpack::type::MAP) {
            return std::nullopt;
        }
        if (const auto* env = find_key(handle.get(), "env")) {
            if (auto e = convert_checked<msg::envelope>(*env)) {
                return std::move(e).value();
            }
        }
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

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

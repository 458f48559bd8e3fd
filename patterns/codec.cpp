#include "patterns/codec.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <utility>

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

/// The contracts known to this process. Modules register theirs at start-up; decoding reads
/// the table from every node's thread, so it is guarded for the rare late registration.
class contract_table {
public:
    void add(const contract_info& info, const char* tag) {
        std::unique_lock lock(mutex_);
        const auto it = by_name_.find(info.type_name);
        if (it != by_name_.end()) {
            if (it->second.second != tag) {
                throw std::logic_error("two contracts registered as " +
                                       std::string(info.type_name));
            }
            return;
        }
        by_name_.emplace(info.type_name, std::pair{info, tag});
    }

    std::optional<contract_info> find(std::string_view type) const {
        std::shared_lock lock(mutex_);
        const auto it = by_name_.find(type);
        return it == by_name_.end() ? std::nullopt : std::optional(it->second.first);
    }

    std::vector<contract_info> all() const {
        std::shared_lock lock(mutex_);
        std::vector<contract_info> out;
        for (const auto& [name, entry] : by_name_) {
            out.push_back(entry.first);
        }
        return out;
    }

private:
    mutable std::shared_mutex mutex_;
    std::map<std::string_view, std::pair<contract_info, const char*>, std::less<>> by_name_;
};

/// The table while the core registers into it, on the thread that does (table() is still
/// being initialised then, and other threads wait for it).
thread_local contract_table* core_registering_into = nullptr;

/// The table of contracts, the core's registered in it before anything else can be, so that
/// no module can take a core contract's name.
contract_table& table() {
    static contract_table* const instance = [] {
        auto* t = new contract_table; // never destroyed: nodes may decode during exit
        core_registering_into = t;
        msg::register_core_contracts(); // comes back through add_contract()
        core_registering_into = nullptr;
        return t;
    }();
    return *instance;
}

msgpack::unpack_limit unpack_limit_of(const codec_limits& limits) {
    return {limits.max_elements,    limits.max_elements,    limits.max_frame_bytes,
            limits.max_frame_bytes, limits.max_frame_bytes, limits.max_depth};
}

} // namespace

namespace detail {

void add_contract(const contract_info& info, const char* tag) {
    (core_registering_into != nullptr ? *core_registering_into : table()).add(info, tag);
}

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

} // namespace detail

std::vector<contract_info> registered_contracts() {
    return table().all();
}

std::optional<contract_info> find_contract(std::string_view type_name) {
    return table().find(type_name);
}

std::optional<msg::envelope> peek_envelope(std::string_view body,
                                           const codec_limits& limits) noexcept {
    try {
        if (body.size() > limits.max_frame_bytes) {
            return std::nullopt;
        }
        std::size_t offset = 0;
        const auto handle = msgpack::unpack(body.data(), body.size(), offset, nullptr, nullptr,
                                            unpack_limit_of(limits));
        if (handle.get().type != msgpack::type::MAP) {
            return std::nullopt;
        }
        if (const auto* env = find_key(handle.get(), "env")) {
            if (auto e = detail::convert_checked<msg::envelope>(*env)) {
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
    m.payload.pack(packer);
    return {std::string(m.payload.type_name()), std::string(buffer.data(), buffer.size())};
}

result<message> decode(std::string_view type, std::string_view body, const codec_limits& limits) {
    if (type.size() > limits.max_frame_bytes || body.size() > limits.max_frame_bytes) {
        return std::error_code(errc::oversized_frame);
    }
    const auto contract = find_contract(type);
    if (!contract) {
        return std::error_code(errc::unknown_type);
    }
    msgpack::object_handle handle;
    try {
        std::size_t offset = 0;
        handle = msgpack::unpack(body.data(), body.size(), offset, nullptr, nullptr,
                                 unpack_limit_of(limits));
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
    auto e = detail::convert_checked<msg::envelope>(*env);
    if (!e) {
        return e.error();
    }
    if (payload->type != msgpack::type::MAP) {
        return std::error_code(errc::wrong_type);
    }
    auto p = contract->decode(*payload);
    if (!p) {
        return p.error();
    }
    return message{std::move(e).value(), std::move(p).value()};
}

} // namespace choreo

#include "patterns/codec.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <utility>

namespace choreo {
namespace {

/// The contracts known to this process. Modules register theirs at start-up; decoding reads
/// the table from every node's thread, so it is guarded for the rare late registration.
class contract_table {
public:
    void add(const contract_info& info, const char* tag) {
        std::unique_lock lock(mutex_);
        const auto it = by_name_.find(info.type_name);
        if (it != by_name_.end()) {
            if (it->second.tag != tag) {
                throw std::logic_error("two contracts registered as " +
                                       std::string(info.type_name));
            }
            return;
        }
        // The module's name is copied: the caller's string need not outlive the table.
        auto& slot = by_name_[info.type_name];
        slot.module = std::string(info.module);
        slot.info = info;
        slot.info.module = slot.module;
        slot.tag = tag;
    }

    std::optional<contract_info> find(std::string_view type) const {
        std::shared_lock lock(mutex_);
        const auto it = by_name_.find(type);
        return it == by_name_.end() ? std::nullopt : std::optional(it->second.info);
    }

    std::vector<contract_info> all() const {
        std::shared_lock lock(mutex_);
        std::vector<contract_info> out;
        for (const auto& [name, e] : by_name_) {
            out.push_back(e.info);
        }
        return out;
    }

private:
    struct entry {
        contract_info info; ///< its module names `module` below
        std::string module;
        const char* tag = nullptr;
    };
    mutable std::shared_mutex mutex_;
    std::map<std::string_view, entry, std::less<>> by_name_; ///< keys: T::type_name, static
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

using detail::header;
using detail::msgpack_reader;
using detail::read_status;

/// Reads the elements of the root map, the only map where a non-str key is ignored rather than
/// wrong: "env" into `env`, "payload" by `read_payload`; the first of repeated keys counts.
/// Returns: false if reading failed; else `env_status` and `payload_status` say what each key
/// held (nullopt: it is absent).
template <class ReadPayload>
bool read_root(msgpack_reader& in, const header& root, msg::envelope& env,
               std::optional<read_status>& env_status, std::optional<read_status>& payload_status,
               ReadPayload&& read_payload) {
    for (std::uint64_t k = 0; k < root.u; ++k) {
        header key;
        if (!in.next(key)) {
            return false;
        }
        if (key.kind == header::family::str) {
            const std::string_view name(key.data, static_cast<std::size_t>(key.u));
            if (name == "env" && !env_status) {
                env_status = detail::read(in, env);
                if (env_status == read_status::failed) {
                    return false;
                }
                continue;
            }
            if (name == "payload" && !payload_status) {
                payload_status = read_payload(env_status);
                if (payload_status == read_status::failed) {
                    return false;
                }
                continue;
            }
        } else if (!in.skip_rest(key)) {
            return false;
        }
        if (!in.skip()) {
            return false;
        }
    }
    in.leave();
    return true;
}

} // namespace

namespace detail {

void add_contract(const contract_info& info, const char* tag) {
    (core_registering_into != nullptr ? *core_registering_into : table()).add(info, tag);
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
    if (body.size() > limits.max_frame_bytes) {
        return std::nullopt;
    }
    try {
        // Like decode: the whole first object must be good MessagePack within the limits, but
        // the payload is only skipped, and trailing bytes do not matter.
        msgpack_reader in(body, limits.max_depth, limits.max_elements);
        header root;
        if (!in.next(root) || root.kind != header::family::map) {
            return std::nullopt;
        }
        msg::envelope env;
        std::optional<read_status> env_status;
        std::optional<read_status> payload_status;
        const auto skip_payload = [&](const std::optional<read_status>&) {
            return in.skip() ? read_status::ok : read_status::failed;
        };
        if (read_root(in, root, env, env_status, payload_status, skip_payload) &&
            env_status == read_status::ok) {
            return env;
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
    // One pass over the body. A bad byte or a broken limit anywhere wins over any field's
    // problem, so a field's problem is noted and the rest still read; then, as ever: the
    // root's shape, its two keys, the envelope, the payload.
    msgpack_reader in(body, limits.max_depth, limits.max_elements);
    message m;
    std::optional<read_status> env_status;
    std::optional<read_status> payload_status;
    const auto read_payload = [&](const std::optional<read_status>& env_so_far) {
        if (env_so_far && *env_so_far != read_status::ok) { // the envelope's error wins anyway
            return in.skip() ? read_status::ok : read_status::failed;
        }
        return contract->decode(in, m.payload);
    };
    header root;
    if (!in.next(root)) {
        return std::error_code(in.failure());
    }
    if (root.kind != header::family::map) {
        if (!in.skip_rest(root)) {
            return std::error_code(in.failure());
        }
        return std::error_code(in.at_end() ? errc::wrong_type : errc::not_msgpack);
    }
    if (!read_root(in, root, m.env, env_status, payload_status, read_payload)) {
        return std::error_code(in.failure());
    }
    if (!in.at_end()) {
        return std::error_code(errc::not_msgpack); // trailing bytes after the object
    }
    if (!env_status || !payload_status) {
        return std::error_code(errc::missing_field);
    }
    if (*env_status != read_status::ok) {
        return std::error_code(detail::error_of(*env_status, in));
    }
    if (*payload_status != read_status::ok) {
        return std::error_code(detail::error_of(*payload_status, in));
    }
    return m;
}

} // namespace choreo

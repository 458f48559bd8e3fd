// Reads MessagePack in one pass straight into a contract's fields: no object tree, no key map.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "patterns/contracts.hpp"
#include "patterns/errors.hpp"
#include "patterns/utf8.hpp"

namespace choreo::detail {

/// What reading one value into a typed field found. Within one struct any wrong_type wins over
/// any missing_field (the order msgpack-c's convert-then-check gave); `not_utf8` (a string that
/// is not valid UTF-8) is refused as a wrong type is; `failed` means the bytes themselves are
/// bad (msgpack_reader::failure() says how) and wins over everything.
enum class read_status : std::uint8_t { ok, missing_field, wrong_type, not_utf8, failed };

/// The header of one MessagePack value.
struct header {
    enum class family : std::uint8_t {
        nil,
        boolean,
        positive, ///< any integer >= 0, whatever format carried it (as msgpack-c reads it)
        negative, ///< an integer < 0
        float32,
        float64,
        str,
        bin,
        ext,
        array,
        map,
    };
    family kind{};
    std::uint64_t u{};  ///< the integer, the bool, the data length or the element count
    std::int64_t i{};   ///< the negative integer
    const char* data{}; ///< str, bin: the bytes, already known to be there
};

/// A cursor over bytes holding MessagePack, with msgpack-c's limits and failures: a header is
/// refused as soon as it is read, so the first problem in byte order is the one reported, as
/// msgpack::unpack reports it. Containers count towards the depth from their header on.
class msgpack_reader {
public:
    static constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

    msgpack_reader(std::string_view bytes, std::size_t max_depth, std::size_t max_elements) noexcept
        : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()),
          max_depth_(max_depth), max_elements_(max_elements) {}

    /// Returns: errc::not_msgpack (garbage, truncation) or oversized_frame (a container over
    /// the limits) once reading failed; a default errc before.
    errc failure() const noexcept { return failure_; }
    bool at_end() const noexcept { return p_ == end_; }
    const char* position() const noexcept { return reinterpret_cast<const char*>(p_); }
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }

    /// Reads the header of the next value. A scalar is then read whole, str/bin/ext with their
    /// bytes; an array or a map is entered: read its elements, then call leave().
    /// Returns: false once reading failed.
    bool next(header& h) noexcept {
        if (p_ == end_) {
            return fail(errc::not_msgpack);
        }
        const unsigned b = *p_++;
        using f = header::family;
        if ((b & 0xe0U) == 0xa0U) { // fixstr first: every key, most strings
            return bytes(h, f::str, b & 0x1fU);
        }
        if (b <= 0x7f) {
            return scalar(h, f::positive, b);
        }
        if (b >= 0xe0) {
            h.kind = f::negative;
            h.i = static_cast<std::int64_t>(b) - 0x100;
            return true;
        }
        if (b <= 0x8f) {
            return enter(h, f::map, b & 0x0fU);
        }
        if (b <= 0x9f) {
            return enter(h, f::array, b & 0x0fU);
        }
        return next_wide(b, h);
    }

    /// Leaves the array or map whose elements were just read.
    void leave() noexcept { --depth_; }

    /// Skips `count` whole values, checking them as strictly as the values it reads.
    /// Returns: false once reading failed.
    bool skip(std::uint64_t count = 1);

    /// Skips what is left of the value whose header `h` was just read: a container's elements.
    bool skip_rest(const header& h) {
        if (h.kind != header::family::array && h.kind != header::family::map) {
            return true;
        }
        if (!skip(h.kind == header::family::array ? h.u : 2 * h.u)) {
            return false;
        }
        leave();
        return true;
    }

private:
    /// next() for the headers after the first byte, 0xc0 to 0xdf.
    bool next_wide(unsigned b, header& h) noexcept;
    bool fail(errc e) noexcept {
        failure_ = e;
        p_ = end_; // nothing more is read once the bytes are known to be bad
        return false;
    }
    bool need(std::uint64_t n) noexcept { return n <= remaining() || fail(errc::not_msgpack); }
    /// Reads a big-endian unsigned integer of `width` bytes.
    bool load(std::uint64_t& n, unsigned width) noexcept {
        if (!need(width)) {
            return false;
        }
        n = 0;
        for (unsigned k = 0; k < width; ++k) {
            n = (n << 8) | p_[k];
        }
        p_ += width;
        return true;
    }
    static bool scalar(header& h, header::family kind, std::uint64_t u) noexcept {
        h.kind = kind;
        h.u = u;
        return true;
    }
    static bool signed_integer(header& h, std::uint64_t raw, unsigned bits) noexcept {
        const auto sign = std::uint64_t{1} << (bits - 1);
        if ((raw & sign) == 0) {
            return scalar(h, header::family::positive, raw); // msgpack-c reads int8 5 as 5U
        }
        h.kind = header::family::negative;
        h.i = bits == 64 ? static_cast<std::int64_t>(raw)
                         : static_cast<std::int64_t>(raw) - static_cast<std::int64_t>(sign << 1);
        return true;
    }
    bool bytes(header& h, header::family kind, std::uint64_t n) noexcept {
        if (!need(n)) {
            return false;
        }
        h.kind = kind;
        h.u = n;
        h.data = reinterpret_cast<const char*>(p_);
        p_ += n;
        return true;
    }
    bool enter(header& h, header::family kind, std::uint64_t n) noexcept {
        // msgpack-c's create_object_visitor: the count, then the depth (root = 1).
        if (n > max_elements_ || depth_ >= max_depth_) {
            return fail(errc::oversized_frame);
        }
        ++depth_;
        return scalar(h, kind, n);
    }

    const unsigned char* p_;
    const unsigned char* end_;
    std::size_t depth_ = 0; ///< containers entered and not left
    std::size_t max_depth_;
    std::size_t max_elements_;
    errc failure_{};
};

// ---- reading values into typed fields ------------------------------------------------------

/// Returns: whether every key of the map [first, last) written as bin is also written as str.
/// (msgpack-c converts a bin key into a std::map's std::string key, and the codec then looked
/// the key up among str keys only: a key sent only as bin was a missing field.)
bool bin_keys_also_str(const char* first, const char* last, std::uint64_t pairs);

template <class T> read_status read(msgpack_reader& in, T& out);

/// One field of a struct: its key, where it is in the struct, how to read it.
struct field_slot {
    std::string_view name;
    std::ptrdiff_t offset = 0;
    read_status (*read)(msgpack_reader&, void*) = nullptr;
};

/// The fields of one struct type, in declaration order.
class field_table {
public:
    static constexpr std::size_t capacity = 64; ///< one bit each in the mask of keys seen

    std::size_t size() const noexcept { return size_; }
    const field_slot& operator[](std::size_t k) const noexcept { return slots_[k]; }
    /// Returns: the mask with one bit set per field.
    std::uint64_t all() const noexcept {
        return size_ == capacity ? ~std::uint64_t{0} : (std::uint64_t{1} << size_) - 1;
    }
    /// Returns: the index of the field named `key`, trying `hint` first (encoders write the
    /// fields in order), or size() if there is none.
    std::size_t find(std::string_view key, std::size_t hint) const noexcept {
        if (hint < size_ && same(slots_[hint].name, key)) {
            return hint;
        }
        for (std::size_t k = 0; k < size_; ++k) {
            if (same(slots_[k].name, key)) {
                return k;
            }
        }
        return size_;
    }

private:
    friend class field_recorder;
    /// Field names are short: compared here rather than through a call to memcmp.
    static bool same(std::string_view a, std::string_view b) noexcept {
        if (a.size() != b.size()) {
            return false;
        }
        for (std::size_t k = 0; k < a.size(); ++k) {
            if (a[k] != b[k]) {
                return false;
            }
        }
        return true;
    }
    std::array<field_slot, capacity> slots_{};
    std::size_t size_ = 0;
};

/// Learns a struct's fields by letting its MSGPACK_DEFINE_MAP pack itself into this recorder:
/// the macro's own names and member references, in its order, so contracts declare nothing
/// more. Throws: std::logic_error for what the decoder cannot follow (a programmer error).
class field_recorder {
public:
    field_recorder(const void* object, std::size_t size) noexcept
        : object_(static_cast<const char*>(object)), size_(size) {}

    field_recorder& pack_map(std::size_t n) {
        if (n > field_table::capacity) {
            throw std::logic_error("a contract struct has more than 64 fields");
        }
        return *this;
    }
    template <class V> field_recorder& pack(const V& v) {
        if constexpr (std::is_array_v<V> &&
                      std::is_same_v<std::remove_cv_t<std::remove_extent_t<V>>, char>) {
            if (!name_next_) {
                throw std::logic_error("a contract field of type char[]");
            }
            // msgpack-c packs a name up to its first NUL.
            const std::string_view all(v, std::extent_v<V>);
            name_ = all.substr(0, all.find('\0'));
        } else {
            const auto offset = reinterpret_cast<const char*>(std::addressof(v)) - object_;
            if (name_next_ || offset < 0 || static_cast<std::size_t>(offset) + sizeof(V) > size_) {
                throw std::logic_error("a contract field that is not a named member");
            }
            table_.slots_[table_.size_++] = {name_, offset, &read_at<V>};
        }
        name_next_ = !name_next_;
        return *this;
    }

    field_table table() const noexcept { return table_; }

private:
    template <class V> static read_status read_at(msgpack_reader& in, void* at) {
        return read(in, *static_cast<V*>(at));
    }

    const char* object_;
    std::size_t size_;
    field_table table_;
    std::string_view name_;
    bool name_next_ = true;
};

/// A struct encoded as a map of its fields (MSGPACK_DEFINE_MAP).
template <class T>
concept map_struct = requires(const T& t, field_recorder& r) {
    t.msgpack_pack(r);
};

/// Returns: T's fields, learnt once per type from a default T.
template <map_struct T> const field_table& fields_of() {
    static const field_table table = [] {
        const T probe{};
        field_recorder recorder(std::addressof(probe), sizeof(T));
        probe.msgpack_pack(recorder);
        return recorder.table();
    }();
    return table;
}

template <class T> struct is_vector : std::false_type {};
template <class E, class A> struct is_vector<std::vector<E, A>> : std::true_type {};
template <class T> struct is_string_map : std::false_type {};
template <class V, class C, class A>
struct is_string_map<std::map<std::string, V, C, A>> : std::true_type {};

/// The value has the wrong type: skip what is left of it.
inline read_status refuse(msgpack_reader& in, const header& h) {
    return in.skip_rest(h) ? read_status::wrong_type : read_status::failed;
}

/// A container element had the wrong type or a string that is not UTF-8 (`s`): skip the `left`
/// values after it and leave.
inline read_status refuse_rest(msgpack_reader& in, read_status s, std::uint64_t left) {
    if (s == read_status::failed || !in.skip(left)) {
        return read_status::failed;
    }
    in.leave();
    return s;
}

template <map_struct T> read_status read_struct(msgpack_reader& in, T& out) {
    const field_table& fields = fields_of<T>();
    char* const base = reinterpret_cast<char*>(std::addressof(out));
    header h;
    if (!in.next(h)) {
        return read_status::failed;
    }
    if (h.kind != header::family::map) {
        return refuse(in, h);
    }
    std::uint64_t seen = 0;
    std::size_t hint = 0;
    auto status = read_status::ok;
    for (std::uint64_t k = 0; k < h.u; ++k) {
        header key;
        if (!in.next(key)) {
            return read_status::failed;
        }
        if (key.kind != header::family::str) { // in a struct even an extra key must be a str
            const bool skipped = in.skip_rest(key);
            return refuse_rest(in, skipped ? read_status::wrong_type : read_status::failed,
                               1 + 2 * (h.u - k - 1));
        }
        const std::size_t f = fields.find({key.data, static_cast<std::size_t>(key.u)}, hint);
        if (f == fields.size() || ((seen >> f) & 1U) != 0) { // unknown, or a repeat: ignored
            if (!in.skip()) {
                return read_status::failed;
            }
            continue;
        }
        seen |= std::uint64_t{1} << f;
        hint = f + 1;
        const auto s = fields[f].read(in, base + fields[f].offset);
        if (s >= read_status::wrong_type) {
            return refuse_rest(in, s, 2 * (h.u - k - 1));
        }
        status = std::max(status, s);
    }
    in.leave();
    return seen == fields.all() ? status : read_status::missing_field;
}

/// Reads one value into `out`, under the codec's rules (docs/PROTOCOL.md, "Body encoding
/// rules"): a struct is a map of str keys with every field present and extra str keys
/// ignored; str (or bin) into std::string; integers within the field's range; bool only from
/// bool; nil never; msg::value takes any one value and keeps its bytes as they are.
/// Whatever it finds, it consumes exactly one whole value unless reading fails.
template <class T> read_status read(msgpack_reader& in, T& out) {
    using f = header::family;
    if constexpr (std::is_same_v<T, msg::value>) {
        const char* first = in.position();
        if (!in.skip()) {
            return read_status::failed;
        }
        out = msg::value::from_bytes(std::string(first, in.position()));
        return read_status::ok;
    } else if constexpr (map_struct<T>) {
        return read_struct(in, out);
    } else {
        header h;
        if (!in.next(h)) {
            return read_status::failed;
        }
        if constexpr (std::is_same_v<T, bool>) {
            if (h.kind == f::boolean) {
                out = h.u != 0;
                return read_status::ok;
            }
        } else if constexpr (std::is_integral_v<T>) {
            if (h.kind == f::positive &&
                h.u <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
                out = static_cast<T>(h.u);
                return read_status::ok;
            }
            if constexpr (std::is_signed_v<T>) {
                if (h.kind == f::negative &&
                    h.i >= static_cast<std::int64_t>(std::numeric_limits<T>::min())) {
                    out = static_cast<T>(h.i);
                    return read_status::ok;
                }
            }
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (h.kind == f::str || h.kind == f::bin) {
                // Whatever a std::string holds is written out as a str, which must be UTF-8:
                // bytes that are not are refused here rather than echoed to a strict decoder.
                const std::string_view text(h.data, static_cast<std::size_t>(h.u));
                if (!is_utf8(text)) {
                    return read_status::not_utf8;
                }
                out.assign(text);
                return read_status::ok;
            }
        } else if constexpr (is_vector<T>::value) {
            static_assert(!std::is_same_v<typename T::value_type, bool>,
                          "std::vector<bool> is not a contract field type");
            if (h.kind == f::array) {
                out.clear();
                out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(h.u, in.remaining())));
                auto status = read_status::ok;
                for (std::uint64_t k = 0; k < h.u; ++k) {
                    const auto s = read(in, out.emplace_back());
                    if (s >= read_status::wrong_type) {
                        return refuse_rest(in, s, h.u - k - 1);
                    }
                    status = std::max(status, s);
                }
                in.leave();
                return status;
            }
        } else if constexpr (is_string_map<T>::value) {
            using value_type = typename T::mapped_type;
            static_assert(std::is_integral_v<value_type> || std::is_same_v<value_type, std::string>,
                          "a std::map field holds integers, bools or strings");
            if (h.kind == f::map) {
                out.clear();
                const char* first = in.position();
                bool bin_key = false;
                for (std::uint64_t k = 0; k < h.u; ++k) {
                    header key;
                    if (!in.next(key)) {
                        return read_status::failed;
                    }
                    if (key.kind != f::str && key.kind != f::bin) {
                        const bool skipped = in.skip_rest(key);
                        return refuse_rest(in,
                                           skipped ? read_status::wrong_type : read_status::failed,
                                           1 + 2 * (h.u - k - 1));
                    }
                    if (!is_utf8({key.data, static_cast<std::size_t>(key.u)})) {
                        return refuse_rest(in, read_status::not_utf8, 1 + 2 * (h.u - k - 1));
                    }
                    bin_key = bin_key || key.kind == f::bin;
                    value_type v{};
                    const auto s = read(in, v);
                    if (s != read_status::ok) {
                        return refuse_rest(in, s, 2 * (h.u - k - 1));
                    }
                    // The last of repeated keys wins, as in msgpack-c's std::map adaptor.
                    out.insert_or_assign(std::string(key.data, static_cast<std::size_t>(key.u)),
                                         std::move(v));
                }
                in.leave();
                if (bin_key && !bin_keys_also_str(first, in.position(), h.u)) {
                    return read_status::missing_field;
                }
                return read_status::ok;
            }
        } else {
            static_assert(sizeof(T) == 0, "not a contract field type");
        }
        return refuse(in, h);
    }
}

inline errc error_of(read_status s, const msgpack_reader& in) noexcept {
    switch (s) {
    case read_status::missing_field:
        return errc::missing_field;
    case read_status::wrong_type:
        return errc::wrong_type;
    case read_status::not_utf8:
        return errc::not_utf8;
    case read_status::failed:
        return in.failure();
    case read_status::ok:
        break;
    }
    return errc{};
}

} // namespace choreo::detail

// Properties of the codec over every registered contract: random valid messages round-trip, an
// equivalent encoding decodes to the same message, and damaged bodies get a typed error.
#include "patterns/codec.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "patterns/errors.hpp"
#include "registry/builtin.hpp"

#include "contract_samples.hpp"

namespace choreo {
namespace {

// ---- what a contract looks like on the wire, learnt from its C++ type -------------------------

/// The wire shape of one field type (docs/PROTOCOL.md, "Body encoding rules"), enough to write
/// random valid values of it and values of an incompatible type.
struct shape {
    enum class kind { str, integer, boolean, list, record, string_map, opaque };
    struct field {
        std::string name;
        std::shared_ptr<const shape> of;
    };
    kind k = kind::opaque;
    std::int64_t min = 0;                 ///< integer: the smallest value the field holds
    std::uint64_t max = 0;                ///< integer: the largest
    std::vector<field> fields;            ///< record: in MSGPACK_DEFINE_MAP order
    std::shared_ptr<const shape> element; ///< list: the element; string_map: the mapped value
    bool root = false;                    ///< the body's own map, where a non-str key is ignored

    bool has_field(std::string_view name) const {
        return std::any_of(fields.begin(), fields.end(),
                           [&](const field& f) { return f.name == name; });
    }
};

template <class T> std::shared_ptr<const shape> shape_of();

/// Learns a struct's fields the way msgpack-c packs it: MSGPACK_DEFINE_MAP hands over each
/// name and then its member.
class shape_recorder {
public:
    explicit shape_recorder(shape& out) noexcept : out_(out) {}
    shape_recorder& pack_map(std::size_t) { return *this; }
    template <class V> shape_recorder& pack(const V& v) {
        if constexpr (std::is_array_v<V>) {
            name_ = std::string(v);
        } else {
            out_.fields.push_back({name_, shape_of<V>()});
        }
        return *this;
    }

private:
    shape& out_;
    std::string name_;
};

template <class T> struct list_of : std::false_type {};
template <class E> struct list_of<std::vector<E>> : std::true_type { using element = E; };
template <class T> struct string_map_of : std::false_type {};
template <class V> struct string_map_of<std::map<std::string, V>> : std::true_type {
    using mapped = V;
};

template <class T> std::shared_ptr<const shape> shape_of() {
    auto s = std::make_shared<shape>();
    if constexpr (std::is_same_v<T, std::string>) {
        s->k = shape::kind::str;
    } else if constexpr (std::is_same_v<T, bool>) {
        s->k = shape::kind::boolean;
    } else if constexpr (std::is_integral_v<T>) {
        s->k = shape::kind::integer;
        s->min = static_cast<std::int64_t>(std::numeric_limits<T>::min());
        s->max = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    } else if constexpr (std::is_same_v<T, msg::value>) {
        s->k = shape::kind::opaque;
    } else if constexpr (list_of<T>::value) {
        s->k = shape::kind::list;
        s->element = shape_of<typename list_of<T>::element>();
    } else if constexpr (string_map_of<T>::value) {
        s->k = shape::kind::string_map;
        s->element = shape_of<typename string_map_of<T>::mapped>();
    } else {
        s->k = shape::kind::record;
        const T probe{};
        shape_recorder recorder(*s);
        probe.msgpack_pack(recorder);
    }
    return s;
}

/// What the property tests know of one contract: its sample and its shape.
struct contract_kit {
    msg::payload sample;
    shape body; ///< the root map: {"env": envelope, "payload": the contract}
};

template <class T> contract_kit kit_of() {
    contract_kit kit{samples::sample<T>(), {}};
    kit.body.k = shape::kind::record;
    kit.body.root = true;
    kit.body.fields = {{"env", shape_of<msg::envelope>()}, {"payload", shape_of<T>()}};
    return kit;
}

template <class... Ts>
std::map<std::string, contract_kit, std::less<>> kits_of(samples::contract_list<Ts...>) {
    return {{std::string(Ts::type_name), kit_of<Ts>()}...};
}

/// Returns: the kit of the contract registered as `type_name`, or nullptr if it has no sample.
const contract_kit* find_kit(std::string_view type_name) {
    static const auto kits = kits_of(samples::sampled_contracts{});
    const auto it = kits.find(type_name);
    return it == kits.end() ? nullptr : &it->second;
}

// ---- MessagePack values as trees, written in any of their encodings ---------------------------

/// One MessagePack value. `format` picks its header; 0 is the smallest, as msgpack-c writes.
struct tree {
    enum class kind { nil, boolean, uint, nint, f32, f64, str, bin, ext, array, map, raw };
    kind k = kind::nil;
    std::uint64_t u = 0; ///< boolean, uint; f32/f64: the bits
    std::int64_t i = 0;  ///< nint
    std::string bytes;   ///< str, bin, ext data; raw: one whole value, written as it is
    std::int8_t ext_type = 0;
    std::vector<tree> items; ///< array: the elements; map: key, value, key, value, ...
    std::uint8_t format = 0;
    const shape* s = nullptr; ///< what the contract says this is (null: not a typed field)

    std::size_t pairs() const noexcept { return items.size() / 2; }
};

void put_be(std::string& out, std::uint64_t v, unsigned width) {
    for (unsigned k = width; k > 0; --k) {
        out.push_back(static_cast<char>((v >> (8 * (k - 1))) & 0xffU));
    }
}

/// Writes a length header: `fix` if the length fits in it and no wider format is asked for.
void put_length(std::string& out, std::uint8_t format, std::size_t n, int fix_base,
                std::size_t fix_limit, std::uint8_t f8, std::uint8_t f16, std::uint8_t f32) {
    if (format == 0) {
        if (fix_base >= 0 && n < fix_limit) {
            format = static_cast<std::uint8_t>(fix_base);
        } else if (f8 != 0 && n < 0x100) {
            format = f8;
        } else if (n < 0x10000) {
            format = f16;
        } else {
            format = f32;
        }
    }
    if (fix_base >= 0 && format == static_cast<std::uint8_t>(fix_base)) {
        out.push_back(static_cast<char>(fix_base + static_cast<int>(n)));
        return;
    }
    out.push_back(static_cast<char>(format));
    put_be(out, n, format == f8 ? 1U : format == f16 ? 2U : 4U);
}

void write(const tree& t, std::string& out) {
    using k = tree::kind;
    switch (t.k) {
    case k::nil:
        out.push_back('\xc0');
        return;
    case k::boolean:
        out.push_back(t.u != 0 ? '\xc3' : '\xc2');
        return;
    case k::uint: {
        std::uint8_t f = t.format;
        if (f == 0) {
            if (t.u < 0x80) {
                out.push_back(static_cast<char>(t.u));
                return;
            }
            f = static_cast<std::uint8_t>(t.u < 0x100           ? 0xcc
                                          : t.u < 0x10000       ? 0xcd
                                          : t.u < 0x1'0000'0000 ? 0xce
                                                                : 0xcf);
        }
        out.push_back(static_cast<char>(f));
        put_be(out, t.u, 1U << (f >= 0xd0 ? f - 0xd0 : f - 0xcc));
        return;
    }
    case k::nint: {
        std::uint8_t f = t.format;
        if (f == 0) {
            if (t.i >= -32) {
                out.push_back(static_cast<char>(t.i));
                return;
            }
            f = static_cast<std::uint8_t>(t.i >= -0x80            ? 0xd0
                                          : t.i >= -0x8000        ? 0xd1
                                          : t.i >= -0x8000'0000LL ? 0xd2
                                                                  : 0xd3);
        }
        const unsigned width = 1U << (f - 0xd0);
        out.push_back(static_cast<char>(f));
        put_be(out, static_cast<std::uint64_t>(t.i), width);
        return;
    }
    case k::f32:
        out.push_back('\xca');
        put_be(out, t.u, 4);
        return;
    case k::f64:
        out.push_back('\xcb');
        put_be(out, t.u, 8);
        return;
    case k::str:
        put_length(out, t.format, t.bytes.size(), 0xa0, 32, 0xd9, 0xda, 0xdb);
        out += t.bytes;
        return;
    case k::bin:
        put_length(out, t.format, t.bytes.size(), -1, 0, 0xc4, 0xc5, 0xc6);
        out += t.bytes;
        return;
    case k::ext: {
        const auto n = t.bytes.size();
        const std::uint8_t fixext[] = {0, 0xd4, 0xd5, 0, 0xd6, 0, 0, 0, 0xd7};
        if (t.format == 0 && n == 16) {
            out.push_back('\xd8');
        } else if (t.format == 0 && n <= 8 && fixext[n] != 0) {
            out.push_back(static_cast<char>(fixext[n]));
        } else {
            put_length(out, t.format, n, -1, 0, 0xc7, 0xc8, 0xc9);
        }
        out.push_back(static_cast<char>(t.ext_type));
        out += t.bytes;
        return;
    }
    case k::array:
        put_length(out, t.format, t.items.size(), 0x90, 16, 0, 0xdc, 0xdd);
        break;
    case k::map:
        put_length(out, t.format, t.pairs(), 0x80, 16, 0, 0xde, 0xdf);
        break;
    case k::raw:
        out += t.bytes;
        return;
    }
    for (const auto& item : t.items) {
        write(item, out);
    }
}

std::string bytes_of(const tree& t) {
    std::string out;
    write(t, out);
    return out;
}

tree str(std::string s) {
    tree t;
    t.k = tree::kind::str;
    t.bytes = std::move(s);
    return t;
}

// ---- random values ------------------------------------------------------------------------------

constexpr std::size_t max_depth = codec_limits{}.max_depth;

/// Draws random values from one seeded engine.
class generator {
public:
    /// `budget`: bytes of strings longer than a fixstr that one message may hold.
    explicit generator(std::uint64_t seed, std::size_t budget = 180'000)
        : rng_(seed), budget_(budget) {}

    std::mt19937_64& rng() noexcept { return rng_; }
    std::size_t below(std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }
    bool one_in(std::size_t n) { return below(n) == 0; }

    /// Returns: an integer in [min, max], often one at a boundary of a MessagePack format.
    tree integer(std::int64_t min, std::uint64_t max) {
        static constexpr std::uint64_t edges[] = {0,
                                                  1,
                                                  0x7f,
                                                  0x80,
                                                  0xff,
                                                  0x100,
                                                  0xffff,
                                                  0x10000,
                                                  0x7fff'ffff,
                                                  0xffff'ffff,
                                                  0x1'0000'0000,
                                                  0x7fff'ffff'ffff'ffff,
                                                  0x8000'0000'0000'0000,
                                                  0xffff'ffff'ffff'ffff};
        static constexpr std::int64_t negative_edges[] = {
            -1,     -32,    -33,           -128,          -129,
            -32768, -32769, -2147483648LL, -2147483649LL, std::numeric_limits<std::int64_t>::min()};
        tree t;
        const bool negative = min < 0 && one_in(2);
        if (negative) {
            t.k = tree::kind::nint;
            switch (below(3)) {
            case 0:
                t.i = negative_edges[below(std::size(negative_edges))];
                break;
            case 1:
                t.i = -static_cast<std::int64_t>(below(300)) - 1;
                break;
            default:
                t.i = static_cast<std::int64_t>(rng_() >> below(64)) |
                      std::numeric_limits<std::int64_t>::min();
                t.i = t.i >> below(63); // an arithmetic shift keeps it negative
            }
            t.i = std::max(t.i, min);
            return t;
        }
        t.k = tree::kind::uint;
        switch (below(3)) {
        case 0:
            t.u = edges[below(std::size(edges))];
            break;
        case 1:
            t.u = below(300);
            break;
        default:
            t.u = rng_() >> below(64);
        }
        t.u = std::min(t.u, max);
        return t;
    }

    /// Returns: a str of random length (empty, short, long, rarely past 65535 bytes), of ASCII,
    /// other UTF-8 and now and then a NUL.
    tree string() {
        std::size_t n = 0;
        const auto pick = below(2000);
        if (pick < 300) {
            n = 0;
        } else if (pick < 1200) {
            n = 1 + below(31);
        } else if (pick < 1700) {
            n = 30 + below(240); // across the fixstr/str8 edge at 32
        } else if (pick < 1999) {
            n = 250 + below(1000); // across the str8/str16 edge at 256
        } else {
            n = 65'530 + below(12); // across the str16/str32 edge at 65536
        }
        if (n >= 32) {
            if (n > budget_) { // the body must stay within the frame limit
                n = below(32);
            } else {
                budget_ -= n;
            }
        }
        return str(text(n));
    }

    /// Returns: `n` bytes of UTF-8 text.
    std::string text(std::size_t n) {
        // Sixteen pieces, so that one draw picks sixteen of them.
        static constexpr std::string_view pieces[16] = {"a",
                                                        "Z",
                                                        "0",
                                                        "-",
                                                        " ",
                                                        "q",
                                                        "x",
                                                        "7",
                                                        "\xc3\xbc",
                                                        "\xc3\xa9",
                                                        "\xe2\x82\xac",
                                                        "\xe6\x97\xa5",
                                                        "\xf0\x9d\x84\x9e",
                                                        "\xf0\x9f\x98\x80",
                                                        std::string_view("\0", 1),
                                                        "\x7f"};
        std::string s;
        s.reserve(n);
        std::uint64_t bits = 0;
        for (unsigned left = 0; s.size() < n; --left) {
            if (left == 0) {
                bits = rng_();
                left = 16;
            }
            const auto piece = pieces[bits & 0xfU];
            bits >>= 4;
            if (s.size() + piece.size() <= n) {
                s += piece;
            } else {
                s.push_back('a');
            }
        }
        return s;
    }

    std::size_t length() {
        const auto pick = below(100);
        return pick < 20 ? 0 : pick < 70 ? 1 + below(3) : pick < 92 ? 4 + below(12) : 15 + below(4);
    }

    /// Returns: a valid value of shape `s`, at `depth` containers below the top.
    tree typed(const shape& s, std::size_t depth) {
        tree t;
        switch (s.k) {
        case shape::kind::str:
            t = string();
            break;
        case shape::kind::integer:
            t = integer(s.min, s.max);
            break;
        case shape::kind::boolean:
            t.k = tree::kind::boolean;
            t.u = below(2);
            break;
        case shape::kind::opaque:
            t.k = tree::kind::raw;
            t.bytes = bytes_of(any(max_depth - depth));
            break;
        case shape::kind::list: {
            t.k = tree::kind::array;
            const auto n = length();
            for (std::size_t k = 0; k < n; ++k) {
                t.items.push_back(typed(*s.element, depth + 1));
            }
            break;
        }
        case shape::kind::string_map: {
            t.k = tree::kind::map;
            std::set<std::string> keys; // sorted and distinct, as std::map packs them
            const auto n = length();
            for (std::size_t k = 0; k < n; ++k) {
                keys.insert(string().bytes);
            }
            for (const auto& key : keys) {
                t.items.push_back(str(key));
                t.items.push_back(typed(*s.element, depth + 1));
            }
            break;
        }
        case shape::kind::record:
            t.k = tree::kind::map;
            for (const auto& f : s.fields) {
                t.items.push_back(str(f.name));
                t.items.push_back(typed(*f.of, depth + 1));
            }
            break;
        }
        t.s = &s;
        return t;
    }

    /// Returns: any MessagePack value with at most `levels` nested containers, in any of its
    /// encodings (what a business payload may be).
    tree any(std::size_t levels) {
        tree t;
        nodes_ -= std::min<std::size_t>(nodes_, 1);
        const auto pick = below(levels > 0 && nodes_ > 0 ? 12 : 9);
        switch (pick) {
        case 0:
            break;
        case 1:
            t.k = tree::kind::boolean;
            t.u = below(2);
            break;
        case 2:
            t = integer(std::numeric_limits<std::int64_t>::min(),
                        std::numeric_limits<std::uint64_t>::max());
            break;
        case 3:
            t.k = tree::kind::f32;
            t.u = rng_() & 0xffff'ffffU;
            break;
        case 4:
            t.k = tree::kind::f64;
            t.u = rng_();
            break;
        case 5:
            t = string();
            break;
        case 6:
            t.k = tree::kind::bin;
            t.bytes = text(below(40));
            break;
        case 7:
            t.k = tree::kind::ext;
            t.ext_type = static_cast<std::int8_t>(rng_());
            t.bytes = text(one_in(2) ? std::size_t{1} << below(5) : below(20));
            break;
        case 8:
            t = integer(0, 0x7f);
            break;
        case 9:
            if (one_in(4)) { // a chain of containers to the depth limit
                t.k = tree::kind::array;
                t.items.push_back(any_deep(levels - 1));
                break;
            }
            [[fallthrough]];
        case 10: {
            t.k = tree::kind::array;
            const auto n = length();
            for (std::size_t k = 0; k < n; ++k) {
                t.items.push_back(any(levels - 1));
            }
            break;
        }
        default: {
            t.k = tree::kind::map;
            const auto n = length();
            for (std::size_t k = 0; k < 2 * n; ++k) {
                t.items.push_back(any(levels - 1));
            }
        }
        }
        return vary_format(t);
    }

    /// Returns: a value nested exactly `levels` containers deep.
    tree any_deep(std::size_t levels) {
        if (levels == 0) {
            return any(0);
        }
        tree t;
        t.k = one_in(2) ? tree::kind::array : tree::kind::map;
        t.items.push_back(any_deep(levels - 1));
        if (t.k == tree::kind::map) {
            t.items.push_back(any(0));
        }
        return t;
    }

    /// Returns: `t` with a random header among those that can hold it.
    tree vary_format(tree t) {
        if (one_in(2)) {
            return t;
        }
        using k = tree::kind;
        switch (t.k) {
        case k::uint: {
            std::vector<std::uint8_t> fits;
            for (unsigned w = 0; w < 4; ++w) {
                const unsigned bits = 8U << w;
                if (bits == 64 || t.u < (std::uint64_t{1} << bits)) {
                    fits.push_back(static_cast<std::uint8_t>(0xcc + w));
                }
                if (bits == 64 ? t.u <= 0x7fff'ffff'ffff'ffffU
                               : t.u < (std::uint64_t{1} << (bits - 1))) {
                    fits.push_back(static_cast<std::uint8_t>(0xd0 + w)); // a signed format
                }
            }
            t.format = fits[below(fits.size())];
            break;
        }
        case k::nint: {
            std::vector<std::uint8_t> fits;
            for (unsigned w = 0; w < 4; ++w) {
                const unsigned bits = 8U << w;
                if (bits == 64 || t.i >= -(std::int64_t{1} << (bits - 1))) {
                    fits.push_back(static_cast<std::uint8_t>(0xd0 + w));
                }
            }
            t.format = fits[below(fits.size())];
            break;
        }
        case k::str:
            t.format = wider(t.bytes.size(), 0xd9, true);
            break;
        case k::bin:
            t.format = wider(t.bytes.size(), 0xc4, true);
            break;
        case k::ext:
            t.format = wider(t.bytes.size(), 0xc7, true);
            break;
        case k::array:
            t.format = wider(t.items.size(), 0xdc, false);
            break;
        case k::map:
            t.format = wider(t.pairs(), 0xde, false);
            break;
        default:
            break;
        }
        return t;
    }

private:
    /// Returns: a length format (8-bit first if `has8`) that holds `n`.
    std::uint8_t wider(std::size_t n, std::uint8_t first, bool has8) {
        std::vector<std::uint8_t> fits;
        if (has8 && n < 0x100) {
            fits.push_back(first);
        }
        const auto f16 = static_cast<std::uint8_t>(has8 ? first + 1 : first);
        if (n < 0x10000) {
            fits.push_back(f16);
        }
        fits.push_back(static_cast<std::uint8_t>(f16 + 1));
        return fits[below(fits.size())];
    }

    std::mt19937_64 rng_;
    std::size_t budget_;
    std::size_t nodes_ = 200; ///< values left for the business payloads of one message
};

/// Returns: `t`, another encoding of the same message: every map's entries in another order,
/// headers wider than needed, a str as bin. Business payloads keep their bytes.
tree equivalent(tree t, generator& g) {
    if (t.k == tree::kind::raw || t.s == nullptr) {
        return t;
    }
    for (auto& item : t.items) {
        item = equivalent(std::move(item), g);
    }
    if (t.k == tree::kind::map) {
        std::vector<std::pair<tree, tree>> entries;
        for (std::size_t k = 0; k < t.pairs(); ++k) {
            entries.emplace_back(std::move(t.items[2 * k]), std::move(t.items[2 * k + 1]));
        }
        std::shuffle(entries.begin(), entries.end(), g.rng());
        t.items.clear();
        for (auto& [key, value] : entries) {
            t.items.push_back(g.vary_format(std::move(key)));
            t.items.push_back(std::move(value));
        }
    }
    if (t.k == tree::kind::str && g.one_in(4)) {
        t.k = tree::kind::bin; // a str field also takes bin
    }
    return g.vary_format(std::move(t));
}

// ---- the contracts under test -------------------------------------------------------------------

/// Returns: the type frame of every registered contract, the built-in patterns' included.
std::vector<std::string> registered_type_names() {
    static_cast<void>(builtin_patterns()); // a pattern registers its contracts when it is made
    std::vector<std::string> names;
    for (const auto& c : registered_contracts()) {
        names.emplace_back(c.type_name);
    }
    return names;
}

/// Fixed seeds: one per contract and case, so that a failure names the case that reproduces it.
std::uint64_t seed_of(std::string_view type_name, std::uint64_t test, std::uint64_t n) {
    std::uint64_t h = 0xcbf2'9ce4'8422'2325ULL; // FNV-1a of the type name
    for (const char c : type_name) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x100'0000'01b3ULL;
    }
    return h ^ (test << 48) ^ (n * 0x9e37'79b9'7f4a'7c15ULL);
}

std::string describe(std::uint64_t seed, std::size_t n) {
    std::ostringstream out;
    out << "case " << n << ", seed 0x" << std::hex << seed;
    return out.str();
}

std::string hex(std::string_view bytes) {
    std::ostringstream out;
    for (const char c : bytes.substr(0, 200)) {
        out << std::hex << std::setw(2) << std::setfill('0') << (static_cast<unsigned>(c) & 0xffU);
    }
    if (bytes.size() > 200) {
        out << "... (" << std::dec << bytes.size() << " bytes)";
    }
    return out.str();
}

const std::error_code ok{};
const std::error_code not_msgpack = errc::not_msgpack;
const std::error_code wrong_type = errc::wrong_type;
const std::error_code missing_field = errc::missing_field;
const std::error_code oversized_frame = errc::oversized_frame;

/// Decodes, turning an escaping exception into a failure.
result<message> decode_caught(std::string_view type, std::string_view body) {
    try {
        return decode(type, body);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "decode threw: " << e.what() << " on " << hex(body);
    } catch (...) {
        ADD_FAILURE() << "decode threw on " << hex(body);
    }
    return std::error_code(errc::timeout); // not a codec error: fails the caller's checks too
}

std::error_code error_of(std::string_view type, std::string_view body) {
    return decode_caught(type, body).error();
}

class codec_property : public ::testing::TestWithParam<std::string> {
protected:
    /// Cases per contract: random valid messages, damaged ones, and the structural mutations
    /// (fewer: each decodes a few bodies, and the suite also runs under sanitizers).
    static constexpr std::size_t valid_cases = 400;
    static constexpr std::size_t damaged_cases = 400;
    static constexpr std::size_t mutated_cases = 200;

    void SetUp() override {
        type_ = GetParam();
        kit_ = find_kit(type_);
        ASSERT_NE(kit_, nullptr) << type_ << " is registered but has no sample in "
                                 << "tests/contract_samples.hpp";
    }

    /// Returns: a random valid message of this test's contract, as a tree.
    tree random_message(generator& g) const { return g.typed(kit_->body, 0); }

    std::string type_;
    const contract_kit* kit_ = nullptr;
};

std::string name_of(const ::testing::TestParamInfo<std::string>& info) {
    return info.param;
}

INSTANTIATE_TEST_SUITE_P(codec, codec_property, ::testing::ValuesIn(registered_type_names()),
                         name_of);

// ---- valid messages -----------------------------------------------------------------------------

TEST_P(codec_property, the_sample_and_random_valid_messages_round_trip_to_equal_values) {
    // The hand-written sample first. Then random messages: that encode(decode(b)) gives back b
    // also shows that the shape they are drawn from is the one the encoder writes.
    const frames sampled = encode({samples::sample_envelope(), kit_->sample});
    ASSERT_EQ(sampled.type, type_);
    const auto sample_back = decode_caught(type_, sampled.body);
    ASSERT_TRUE(sample_back.ok()) << error_code_name(sample_back.error());
    EXPECT_EQ(sample_back.value().payload, kit_->sample);

    std::set<std::size_t> distinct; // hashes of the bodies
    for (std::size_t n = 0; n < valid_cases && !HasFailure(); ++n) {
        const auto seed = seed_of(type_, 1, n);
        SCOPED_TRACE(describe(seed, n));
        generator g(seed);
        const tree t = random_message(g);
        const std::string canonical = bytes_of(t);
        distinct.insert(std::hash<std::string>{}(canonical));

        const auto got = decode_caught(type_, canonical);
        ASSERT_TRUE(got.ok()) << error_code_name(got.error()) << " for " << hex(canonical);
        const message& x = got.value();
        EXPECT_EQ(x.payload.type_name(), type_);

        const frames again = encode(x);
        EXPECT_EQ(again.type, type_);
        EXPECT_TRUE(again.body == canonical)
            << "encode(decode(b)) is not b: " << hex(again.body) << " for " << hex(canonical);
        const auto twice = decode_caught(again.type, again.body);
        ASSERT_TRUE(twice.ok()) << error_code_name(twice.error());
        EXPECT_EQ(twice.value(), x) << "decode(encode(x)) is not x";

        const auto peeked = peek_envelope(canonical);
        ASSERT_TRUE(peeked.has_value());
        EXPECT_EQ(*peeked, x.env);

        // The same message in another encoding: keys in another order, wider headers, bin.
        const std::string other = bytes_of(equivalent(t, g));
        const auto same = decode_caught(type_, other);
        ASSERT_TRUE(same.ok()) << error_code_name(same.error()) << " for " << hex(other);
        EXPECT_EQ(same.value(), x) << "for " << hex(other);
        EXPECT_TRUE(encode(same.value()).body == canonical);
    }
    // The generator draws a new message every time.
    EXPECT_EQ(distinct.size(), valid_cases);
}

// ---- damaged bodies -----------------------------------------------------------------------------

TEST_P(codec_property, a_strict_prefix_of_a_valid_body_is_not_msgpack) {
    // MessagePack is prefix-free (every header says how much follows), so no strict prefix of
    // one whole object is one whole object: it is never valid, whatever it cuts.
    for (std::size_t n = 0; n < mutated_cases && !HasFailure(); ++n) {
        const auto seed = seed_of(type_, 2, n);
        SCOPED_TRACE(describe(seed, n));
        generator g(seed, n < 3 ? 2'000 : 180'000); // every prefix costs the square of the size
        const tree t = random_message(g);
        const std::string body = bytes_of(n % 2 == 0 ? t : equivalent(t, g));
        ASSERT_TRUE(decode_caught(type_, body).ok());
        if (n < 3) { // every prefix of a few, a random one of the rest
            for (std::size_t cut = 0; cut < body.size(); ++cut) {
                ASSERT_EQ(error_of(type_, std::string_view(body).substr(0, cut)), not_msgpack)
                    << "the first " << cut << " bytes of " << hex(body);
            }
        } else {
            const auto cut = g.below(body.size());
            EXPECT_EQ(error_of(type_, std::string_view(body).substr(0, cut)), not_msgpack)
                << "the first " << cut << " bytes of " << hex(body);
        }
    }
}

TEST_P(codec_property, damaged_bytes_give_a_typed_error_or_a_message_that_round_trips) {
    std::map<int, std::size_t> outcomes;
    for (std::size_t n = 0; n < damaged_cases && !HasFailure(); ++n) {
        const auto seed = seed_of(type_, 3, n);
        SCOPED_TRACE(describe(seed, n));
        generator g(seed);
        std::string body = bytes_of(random_message(g));
        for (std::size_t edits = 1 + g.below(3); edits > 0 && !body.empty(); --edits) {
            const auto at = g.below(body.size());
            switch (g.below(4)) {
            case 0:
                body[at] = static_cast<char>(body[at] ^ (1 << g.below(8)));
                break;
            case 1:
                body[at] = static_cast<char>(g.rng()());
                break;
            case 2:
                body.insert(at, 1, static_cast<char>(g.rng()()));
                break;
            default:
                body.erase(at, 1);
            }
        }
        const auto got = decode_caught(type_, body);
        const auto ec = got.error();
        ++outcomes[ec.value()];
        EXPECT_TRUE(ec == ok || ec == not_msgpack || ec == wrong_type || ec == missing_field ||
                    ec == oversized_frame || ec == errc::not_utf8)
            << ec.message() << " for " << hex(body);
        EXPECT_TRUE(!ec || &ec.category() == &choreo_category());
        const auto peeked = peek_envelope(body); // never throws: it is noexcept
        if (got.ok()) {
            const auto& x = got.value();
            const auto back = decode_caught(type_, encode(x).body);
            ASSERT_TRUE(back.ok()) << error_code_name(back.error());
            EXPECT_EQ(back.value(), x);
            ASSERT_TRUE(peeked.has_value());
            EXPECT_EQ(*peeked, x.env);
        }
    }
    // The damage is real: most of it is refused.
    EXPECT_GT(damaged_cases - outcomes[0], damaged_cases / 2);
}

/// A typed node of a message tree, and how deep it is.
struct site {
    tree* node;
    std::size_t depth; ///< containers around it
};

void collect(tree& t, std::size_t depth, std::vector<site>& out) {
    if (t.s == nullptr || t.k == tree::kind::raw) {
        return; // a key, or a business payload
    }
    out.push_back({&t, depth});
    for (auto& item : t.items) {
        collect(item, depth + 1, out);
    }
}

/// Returns: every typed node of `t`, in an order that is the same for a copy of `t`.
std::vector<site> all_sites(tree& t) {
    std::vector<site> all;
    collect(t, 0, all);
    return all;
}

/// Returns: every typed node of `t` for which `want` holds.
template <class Want> std::vector<site> sites_of(tree& t, Want want) {
    const auto all = all_sites(t);
    std::vector<site> out;
    std::copy_if(all.begin(), all.end(), std::back_inserter(out),
                 [&](const site& s) { return want(*s.node); });
    return out;
}

bool is_record(const tree& t) {
    return t.s->k == shape::kind::record;
}

/// Returns: a value that a field of shape `s` does not take, however it is encoded.
tree incompatible(const shape& s, generator& g) {
    std::vector<tree> options;
    tree t;
    t.k = tree::kind::nil;
    options.push_back(t); // nil is never accepted
    t.k = tree::kind::f64;
    t.u = g.rng()();
    options.push_back(t);
    t.k = tree::kind::f32;
    t.u = g.rng()() & 0xffff'ffffU;
    options.push_back(t);
    t.k = tree::kind::ext;
    t.bytes = "x";
    options.push_back(t);
    const tree number = g.integer(std::numeric_limits<std::int64_t>::min(),
                                  std::numeric_limits<std::uint64_t>::max());
    tree boolean;
    boolean.k = tree::kind::boolean;
    boolean.u = g.below(2);
    tree list;
    list.k = tree::kind::array;
    for (std::size_t k = g.below(3); k > 0; --k) {
        list.items.push_back(g.any(0));
    }
    tree map;
    map.k = tree::kind::map;
    for (std::size_t k = g.below(3); k > 0; --k) {
        map.items.push_back(str(g.text(g.below(8))));
        map.items.push_back(g.any(0));
    }
    switch (s.k) {
    case shape::kind::str:
        options.insert(options.end(), {number, boolean, list, map});
        break;
    case shape::kind::integer: {
        options.insert(options.end(), {g.string(), boolean, list, map});
        if (s.min == 0) { // a negative number in an unsigned field
            tree negative = g.integer(std::numeric_limits<std::int64_t>::min(), 0);
            if (negative.k != tree::kind::nint) {
                negative.k = tree::kind::nint;
                negative.i = -1;
            }
            options.push_back(negative);
        }
        if (s.max < std::numeric_limits<std::uint64_t>::max()) { // a number out of its range
            tree big;
            big.k = tree::kind::uint;
            big.u = s.max + 1 + (g.rng()() % (std::numeric_limits<std::uint64_t>::max() - s.max));
            options.push_back(big);
        }
        break;
    }
    case shape::kind::boolean:
        options.insert(options.end(), {number, g.string(), list, map});
        break;
    case shape::kind::list:
        options.insert(options.end(), {number, boolean, g.string(), map});
        break;
    case shape::kind::record:
    case shape::kind::string_map:
        options.insert(options.end(), {number, boolean, g.string(), list});
        break;
    case shape::kind::opaque:
        ADD_FAILURE() << "a business payload takes any value";
        break;
    }
    return g.vary_format(options[g.below(options.size())]);
}

TEST_P(codec_property, a_field_of_an_incompatible_type_is_wrong_type) {
    for (std::size_t n = 0; n < mutated_cases && !HasFailure(); ++n) {
        const auto seed = seed_of(type_, 4, n);
        SCOPED_TRACE(describe(seed, n));
        generator g(seed);
        tree t = random_message(g);
        const auto sites = sites_of(t, [](const tree& x) { return x.s->k != shape::kind::opaque; });
        const auto& at = sites[g.below(sites.size())];
        const shape& s = *at.node->s;
        *at.node = incompatible(s, g);
        const std::string body = bytes_of(t);
        EXPECT_EQ(error_of(type_, body), wrong_type) << hex(body);
    }
}

// A struct's non-str key is wrong_type, the root's is ignored, and a map<str, int64> field's is
// wrong_type unless it is a bin that is also there as a str (docs/PROTOCOL.md, body rules).
TEST_P(codec_property, a_key_that_is_not_a_str_follows_the_rule_of_the_map_it_is_in) {
    for (std::size_t n = 0; n < mutated_cases && !HasFailure(); ++n) {
        const auto seed = seed_of(type_, 5, n);
        SCOPED_TRACE(describe(seed, n));
        generator g(seed);
        tree t = random_message(g);
        const auto expected = decode_caught(type_, bytes_of(t));
        ASSERT_TRUE(expected.ok());
        auto maps = sites_of(t, [](const tree& x) { return x.k == tree::kind::map; });
        auto& at = maps[g.below(maps.size())];
        tree& m = *at.node;
        tree key = g.any(0);
        if (key.k == tree::kind::str || g.one_in(3)) {
            key.k = tree::kind::bin; // a bin spelling, of a real name or not
            key.format = 0;
            key.bytes = m.pairs() > 0 && g.one_in(2) ? m.items[2 * g.below(m.pairs())].bytes
                                                     : g.text(g.below(10));
        }
        const bool replace = m.pairs() > 0 && g.one_in(2);
        const auto pair = replace ? g.below(m.pairs()) : g.below(m.pairs() + 1);
        const std::string name = replace ? m.items[2 * pair].bytes : std::string();
        if (replace) {
            m.items[2 * pair] = key;
        } else {
            const bool in_map_field = m.s->k == shape::kind::string_map;
            m.items.insert(m.items.begin() + static_cast<std::ptrdiff_t>(2 * pair),
                           {key, in_map_field ? g.typed(*m.s->element, at.depth + 1)
                                              : g.any(max_depth - at.depth - 1)});
        }
        const std::string body = bytes_of(t);
        const auto got = decode_caught(type_, body);
        const auto kind = m.s->k;
        if (kind == shape::kind::record && !m.s->root) {
            EXPECT_EQ(got.error(), wrong_type) << hex(body);
        } else if (kind == shape::kind::string_map) {
            bool also_str = false;
            for (std::size_t k = 0; k < m.pairs(); ++k) {
                also_str = also_str || (m.items[2 * k].k == tree::kind::str &&
                                        m.items[2 * k].bytes == key.bytes);
            }
            if (key.k != tree::kind::bin) {
                EXPECT_EQ(got.error(), wrong_type) << hex(body);
            } else if (!also_str) {
                EXPECT_EQ(got.error(), missing_field) << hex(body);
            } else {
                // Today both spellings are one key, and the last value read counts, as in
                // msgpack-c's std::map adaptor.
                ASSERT_TRUE(got.ok()) << error_code_name(got.error()) << " for " << hex(body);
                std::map<std::string, tree> last;
                for (std::size_t k = 0; k < m.pairs(); ++k) {
                    last.insert_or_assign(m.items[2 * k].bytes, m.items[2 * k + 1]);
                }
                m.items.clear();
                for (auto& [name_k, value] : last) {
                    m.items.push_back(str(name_k));
                    m.items.push_back(std::move(value));
                }
                const auto want = decode_caught(type_, bytes_of(t));
                ASSERT_TRUE(want.ok());
                EXPECT_EQ(got.value(), want.value()) << hex(body);
            }
        } else if (replace) { // the root: the key is ignored, so its field is missing
            EXPECT_EQ(got.error(), missing_field) << "without " << name << ": " << hex(body);
        } else {
            ASSERT_TRUE(got.ok()) << error_code_name(got.error()) << " for " << hex(body);
            EXPECT_EQ(got.value(), expected.value());
        }
    }
}

TEST_P(codec_property, a_struct_without_one_of_its_keys_is_missing_a_field) {
    for (std::size_t n = 0; n < mutated_cases && !HasFailure(); ++n) {
        const auto seed = seed_of(type_, 6, n);
        SCOPED_TRACE(describe(seed, n));
        generator g(seed);
        tree t = random_message(g);
        const auto records = sites_of(t, [](const tree& x) {
            return is_record(x) && x.k == tree::kind::map && x.pairs() > 0;
        });
        tree& m = *records[g.below(records.size())].node;
        const auto pair = g.below(m.pairs());
        const std::string name = m.items[2 * pair].bytes;
        m.items.erase(m.items.begin() + static_cast<std::ptrdiff_t>(2 * pair),
                      m.items.begin() + static_cast<std::ptrdiff_t>(2 * pair + 2));
        const std::string body = bytes_of(equivalent(t, g));
        EXPECT_EQ(error_of(type_, body), missing_field) << "without " << name << ": " << hex(body);
    }
}

TEST_P(codec_property, unknown_str_keys_are_ignored_at_every_level) {
    for (std::size_t n = 0; n < mutated_cases && !HasFailure(); ++n) {
        const auto seed = seed_of(type_, 7, n);
        SCOPED_TRACE(describe(seed, n));
        generator g(seed);
        tree t = random_message(g);
        const auto expected = decode_caught(type_, bytes_of(t));
        ASSERT_TRUE(expected.ok());
        for (std::size_t extras = 1 + g.below(3); extras > 0; --extras) {
            const auto records = sites_of(t, [](const tree& x) { return is_record(x); });
            const auto& at = records[g.below(records.size())];
            tree& m = *at.node;
            std::string name = g.text(g.below(12));
            if (m.s->has_field(name)) {
                continue;
            }
            const auto pair = g.below(m.pairs() + 1);
            m.items.insert(m.items.begin() + static_cast<std::ptrdiff_t>(2 * pair),
                           {g.vary_format(str(name)), g.any(max_depth - at.depth - 1)});
        }
        const std::string body = bytes_of(t);
        const auto got = decode_caught(type_, body);
        ASSERT_TRUE(got.ok()) << error_code_name(got.error()) << " for " << hex(body);
        EXPECT_EQ(got.value(), expected.value());
    }
}

TEST_P(codec_property, in_a_struct_the_first_of_repeated_keys_counts_in_a_map_field_the_last) {
    // What the codec does today, as msgpack-c did before it: a struct (MSGPACK_DEFINE_MAP) keeps
    // the first value of a key and skips the others unread, a std::map field takes the last.
    std::size_t struct_cases = 0;
    for (std::size_t n = 0; n < mutated_cases && !HasFailure(); ++n) {
        const auto seed = seed_of(type_, 8, n);
        SCOPED_TRACE(describe(seed, n));
        generator g(seed);
        tree t = random_message(g);
        const auto original = decode_caught(type_, bytes_of(t));
        ASSERT_TRUE(original.ok());
        const auto sites = all_sites(t);
        std::vector<std::size_t> maps; // indices of the maps with a key to repeat
        for (std::size_t k = 0; k < sites.size(); ++k) {
            const tree& x = *sites[k].node;
            if (x.k == tree::kind::map && x.pairs() > 0 &&
                (is_record(x) || x.s->k == shape::kind::string_map)) {
                maps.push_back(k);
            }
        }
        const auto index = maps[g.below(maps.size())];
        const auto& at = sites[index];
        tree& m = *at.node;
        const auto pair = g.below(m.pairs());
        const tree key = m.items[2 * pair];
        // A struct's keys are still in field order here.
        const shape& field =
            m.s->k == shape::kind::string_map ? *m.s->element : *m.s->fields[pair].of;
        // Another valid value for the key, and the message that has it instead.
        const tree other = g.typed(field, at.depth + 1);
        tree replaced = t;
        all_sites(replaced)[index].node->items[2 * pair + 1] = other;
        const auto with_other = decode_caught(type_, bytes_of(replaced));
        ASSERT_TRUE(with_other.ok());

        const bool before = g.one_in(2);
        const bool valid = g.one_in(2) || field.k == shape::kind::opaque;
        const tree value = valid ? other : incompatible(field, g);
        const auto where = static_cast<std::ptrdiff_t>(2 * pair + (before ? 0 : 2));
        m.items.insert(m.items.begin() + where, {key, value});
        const std::string body = bytes_of(t);
        const auto got = decode_caught(type_, body);
        if (m.s->k == shape::kind::string_map) {
            // Every value is read; the last one stays.
            if (!valid) {
                EXPECT_EQ(got.error(), wrong_type) << hex(body);
            } else {
                ASSERT_TRUE(got.ok()) << error_code_name(got.error()) << " for " << hex(body);
                EXPECT_EQ(got.value(), before ? original.value() : with_other.value());
            }
        } else if (before) { // the repeat comes first: it counts
            ++struct_cases;
            if (!valid) {
                EXPECT_EQ(got.error(), wrong_type) << hex(body);
            } else {
                ASSERT_TRUE(got.ok()) << error_code_name(got.error()) << " for " << hex(body);
                EXPECT_EQ(got.value(), with_other.value());
            }
        } else { // the repeat comes later: skipped, whatever it holds
            ++struct_cases;
            ASSERT_TRUE(got.ok()) << error_code_name(got.error()) << " for " << hex(body);
            EXPECT_EQ(got.value(), original.value());
        }
    }
    EXPECT_GT(struct_cases, 0U);
}

} // namespace
} // namespace choreo

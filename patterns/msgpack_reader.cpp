#include "patterns/msgpack_reader.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

namespace choreo::detail {
namespace {

/// What is left to skip in each container a skip has entered, innermost last. Held inline up
/// to the codec's own depth limit and beyond; only a deeper limit and deeper bytes allocate.
class levels {
public:
    bool empty() const noexcept { return size_ == 0; }
    void push(std::uint64_t left) {
        if (size_ < inline_.size()) {
            inline_[size_] = left;
        } else {
            spilled_.push_back(left);
        }
        ++size_;
    }
    std::uint64_t pop() noexcept {
        --size_;
        if (size_ < inline_.size()) {
            return inline_[size_];
        }
        const auto left = spilled_.back();
        spilled_.pop_back();
        return left;
    }

private:
    std::array<std::uint64_t, 32> inline_;
    std::vector<std::uint64_t> spilled_;
    std::size_t size_ = 0;
};

} // namespace

bool msgpack_reader::next_wide(unsigned b, header& h) noexcept {
    using f = header::family;
    std::uint64_t n = 0;
    switch (b) {
    case 0xc0:
        return scalar(h, f::nil, 0);
    case 0xc2:
    case 0xc3:
        return scalar(h, f::boolean, b - 0xc2);
    case 0xc4:
    case 0xc5:
    case 0xc6:
        return load(n, 1U << (b - 0xc4)) && bytes(h, f::bin, n);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        return load(n, 1U << (b - 0xc7)) && bytes(h, f::ext, n + 1); // + the ext type
    case 0xca:
        return load(n, 4) && scalar(h, f::float32, n);
    case 0xcb:
        return load(n, 8) && scalar(h, f::float64, n);
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        return load(n, 1U << (b - 0xcc)) && scalar(h, f::positive, n);
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        return load(n, 1U << (b - 0xd0)) && signed_integer(h, n, 8U << (b - 0xd0));
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return bytes(h, f::ext, (1U << (b - 0xd4)) + 1);
    case 0xd9:
    case 0xda:
    case 0xdb:
        return load(n, 1U << (b - 0xd9)) && bytes(h, f::str, n);
    case 0xdc:
    case 0xdd:
        return load(n, 2U << (b - 0xdc)) && enter(h, f::array, n);
    case 0xde:
    case 0xdf:
        return load(n, 2U << (b - 0xde)) && enter(h, f::map, n);
    default: // 0xc1: never used
        return fail(errc::not_msgpack);
    }
}

bool msgpack_reader::skip(std::uint64_t count) {
    levels outer;
    std::uint64_t left = count; // values still to skip in the innermost container entered
    for (;;) {
        if (left == 0) {
            if (outer.empty()) {
                return true;
            }
            leave();
            left = outer.pop();
            continue;
        }
        --left;
        header h;
        if (!next(h)) {
            return false;
        }
        if (h.kind == header::family::array || h.kind == header::family::map) {
            outer.push(left);
            left = h.kind == header::family::array ? h.u : 2 * h.u;
        }
    }
}

bool bin_keys_also_str(const char* first, const char* last, std::uint64_t pairs) {
    // Already read once, so nothing here can fail: the rare path of a std::map with bin keys.
    const std::string_view bytes(first, static_cast<std::size_t>(last - first));
    const auto keys_of = [&](header::family kind) {
        std::vector<std::string_view> keys;
        msgpack_reader in(bytes, msgpack_reader::no_limit, msgpack_reader::no_limit);
        for (std::uint64_t k = 0; k < pairs; ++k) {
            header key;
            in.next(key);
            if (key.kind == kind) {
                keys.emplace_back(key.data, static_cast<std::size_t>(key.u));
            }
            in.skip_rest(key);
            in.skip();
        }
        return keys;
    };
    auto str_keys = keys_of(header::family::str);
    std::sort(str_keys.begin(), str_keys.end());
    const auto bin_keys = keys_of(header::family::bin);
    return std::all_of(bin_keys.begin(), bin_keys.end(), [&](std::string_view key) {
        return std::binary_search(str_keys.begin(), str_keys.end(), key);
    });
}

} // namespace choreo::detail

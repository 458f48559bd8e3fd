// A durable node's snapshot of its state: MessagePack images of the structures that hold it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "patterns/retention.hpp"

namespace choreo::snapshot {

/// A snapshot under construction: MessagePack in a buffer.
class writer {
public:
    msgpack::packer<msgpack::sbuffer>& out() noexcept { return packer_; }
    template <class T> writer& operator<<(const T& v) {
        packer_.pack(v);
        return *this;
    }
    std::string bytes() const { return {buffer_.data(), buffer_.size()}; }

private:
    msgpack::sbuffer buffer_;
    msgpack::packer<msgpack::sbuffer> packer_{buffer_};
};

/// A snapshot being read (a copy of its bytes): its MessagePack objects, one after the other.
/// Throws (from next() and the reads): msgpack::type_error or msgpack::unpack_error if the
/// bytes are not the snapshot they are read as.
class reader {
public:
    explicit reader(std::string bytes) : bytes_(std::move(bytes)) {}
    template <class T> reader& operator>>(T& v) {
        next().convert(v);
        return *this;
    }
    /// Returns: the next object (valid until the next call).
    msgpack::object next() {
        handle_ = msgpack::unpack(bytes_.data(), bytes_.size(), offset_);
        return handle_.get();
    }
    /// Returns: the next object, left to be read (valid until the next call): a part a later
    /// version added is told from what follows it by its type.
    msgpack::object peek() {
        auto offset = offset_;
        handle_ = msgpack::unpack(bytes_.data(), bytes_.size(), offset);
        return handle_.get();
    }
    bool done() const noexcept { return offset_ == bytes_.size(); }

private:
    std::string bytes_;
    std::size_t offset_ = 0;
    msgpack::object_handle handle_;
};

/// A snapshot that is not what it is read as (another service's, a progress of another
/// workflow): a msgpack::type_error, as bytes of the wrong shape are, with a message that says
/// what it is.
class invalid : public msgpack::type_error {
public:
    explicit invalid(std::string what) : what_(std::move(what)) {}
    const char* what() const noexcept override { return what_.c_str(); }

private:
    std::string what_;
};

/// Writes what kind of state follows ("front_controller:payment", "domain_service:email"):
/// read_kind() refuses the snapshot of anything else.
inline void write_kind(writer& w, std::string_view kind) {
    w << kind;
}

/// Reads what write_kind() wrote. Throws: invalid if the snapshot is of another kind, or
/// msgpack::type_error / unpack_error if it starts with no kind at all.
inline void read_kind(reader& r, std::string_view kind) {
    std::string got;
    r >> got;
    if (got != kind) {
        constexpr std::size_t shown = 64;
        throw invalid("a snapshot of '" + got.substr(0, shown) + "', not of '" + std::string(kind) +
                      "'");
    }
}

/// Writes `m`: its entries in progress (by id), its finished ones in the order they finished, and
/// the ids it retired (see retention_map::for_each_in_order). V must be MessagePack-adaptable.
template <class V> void write(writer& w, const retention_map<V>& m) {
    std::vector<std::pair<std::string, V>> in_progress;
    std::vector<std::tuple<std::string, V, std::string>> finished;
    m.for_each_in_order([&](const std::string& id, const V& v) { in_progress.emplace_back(id, v); },
                        [&](const std::string& id, const V& v, std::string_view label) {
                            finished.emplace_back(id, v, std::string(label));
                        });
    // In order of id: the map's own order depends on how it grew, and one state has one image.
    std::sort(in_progress.begin(), in_progress.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::pair<std::uint64_t, std::string>> retired;
    m.retired_ids_kept().for_each([&](std::uint64_t hash, std::string_view label) {
        retired.emplace_back(hash, std::string(label));
    });
    w << in_progress << finished << retired;
}

/// Reads what write() wrote into `m`, which keeps its limits: `m` is as it was written (with
/// limits as large).
template <class V> void read(reader& r, retention_map<V>& m) {
    std::vector<std::pair<std::string, V>> in_progress;
    std::vector<std::tuple<std::string, V, std::string>> finished;
    std::vector<std::pair<std::uint64_t, std::string>> retired;
    r >> in_progress >> finished >> retired;
    m.clear();
    for (auto& [hash, label] : retired) {
        m.retired_ids_kept().remember(hash, label);
    }
    for (auto& [id, v] : in_progress) {
        m.try_emplace(id, std::move(v));
    }
    for (auto& [id, v, label] : finished) {
        m.try_emplace(id, std::move(v));
        m.finish(id, label);
    }
}

/// Returns: what write() wrote, in a map with the limits of `like` (which is left alone): a
/// service reads every part of its snapshot aside and takes them in once all are read.
template <class V> retention_map<V> read_new(reader& r, const retention_map<V>& like) {
    retention_map<V> m(like.keep_finished(), like.retired_ids_kept().capacity());
    read(r, m);
    return m;
}

} // namespace choreo::snapshot

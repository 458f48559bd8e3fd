// Retention of finished workflows: per-workflow state that keeps what is in progress and the
// last N finished, and a compact memory of the ids it let go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace choreo {

/// Finished workflows each node keeps by default (`--retain-finished`).
inline constexpr std::size_t default_retain_finished = 10'000;
/// Events from outside the chain that came early, not yet consumed, each node keeps by default
/// (see pending_map).
inline constexpr std::size_t default_retain_early = 10'000;
/// Retired ids a structure that answers status queries remembers, per finished one kept.
inline constexpr std::size_t retired_ids_per_kept = 10;

/// Ids of retired workflows, each kept as a 64-bit hash and a 1-byte code of a label (the
/// terminal state it ended in, say): at most `capacity` of them, the oldest forgotten first.
/// Two ids with the same hash are taken for one: with 64-bit hashes and a capacity of 10^5 the
/// odds that an id never seen looks retired are about 10^5 / 2^64, 5 in 10^15, per lookup.
class retired_ids {
public:
    explicit retired_ids(std::size_t capacity = 0) : capacity_(capacity) {}

    void set_capacity(std::size_t capacity) {
        capacity_ = capacity;
        trim();
    }
    std::size_t capacity() const noexcept { return capacity_; }

    /// Returns: the code of `label` (at most 256 labels are told apart; beyond that, code 0,
    /// the label "", stands for any other).
    std::uint8_t code_of(std::string_view label) {
        for (std::size_t c = 0; c < labels_.size(); ++c) {
            if (labels_[c] == label) {
                return static_cast<std::uint8_t>(c);
            }
        }
        if (labels_.size() == 256) {
            return 0;
        }
        labels_.emplace_back(label);
        return static_cast<std::uint8_t>(labels_.size() - 1);
    }
    std::string_view label_of(std::uint8_t code) const {
        return code < labels_.size() ? std::string_view(labels_[code]) : std::string_view();
    }

    /// Remembers `id` as retired with the label of `code`.
    void add(std::string_view id, std::uint8_t code) {
        if (capacity_ == 0) {
            return;
        }
        const auto h = hash(id);
        if (auto it = codes_.find(h); it != codes_.end()) {
            it->second = code; // keeps its place in the order of forgetting
            return;
        }
        codes_.emplace(h, code);
        order_.push_back(h);
        trim();
    }
    /// Returns: the label `id` was retired with, or nullopt if it is not remembered.
    std::optional<std::string_view> find(std::string_view id) const {
        if (const auto it = codes_.find(hash(id)); it != codes_.end()) {
            return label_of(it->second);
        }
        return std::nullopt;
    }
    std::size_t size() const noexcept { return codes_.size(); }
    /// Calls `f(hash, label)` for every id remembered, the oldest first (a durable node's
    /// snapshot; see remember()).
    template <class F> void for_each(F&& f) const {
        for (const auto h : order_) {
            f(h, label_of(codes_.at(h)));
        }
    }
    /// Remembers the id whose hash for_each() gave, with `label`: restores a snapshot.
    void remember(std::uint64_t hash_of_id, std::string_view label) {
        if (capacity_ == 0) {
            return;
        }
        const auto code = code_of(label);
        if (auto it = codes_.find(hash_of_id); it != codes_.end()) {
            it->second = code;
            return;
        }
        codes_.emplace(hash_of_id, code);
        order_.push_back(hash_of_id);
        trim();
    }
    /// Returns: bytes held (hash nodes, buckets, the order of forgetting, labels), roughly.
    std::size_t heap_bytes() const noexcept {
        return codes_.size() * (sizeof(void*) + 2 * sizeof(std::uint64_t)) +
               codes_.bucket_count() * sizeof(void*) + order_.size() * sizeof(std::uint64_t) +
               labels_.capacity() * sizeof(std::string);
    }

private:
    static std::uint64_t hash(std::string_view id) noexcept {
        return static_cast<std::uint64_t>(std::hash<std::string_view>{}(id));
    }
    void trim() {
        while (order_.size() > capacity_) {
            codes_.erase(order_.front());
            order_.pop_front();
        }
    }

    std::size_t capacity_;
    std::unordered_map<std::uint64_t, std::uint8_t> codes_;
    std::deque<std::uint64_t> order_;                ///< oldest first
    std::vector<std::string> labels_{std::string()}; ///< code -> label; code 0 is ""
};

/// Per-workflow state of type V, by workflow id: every entry in progress, and the last
/// `keep_finished` entries marked finished; when one more finishes, the one finished longest ago
/// is erased (amortized O(1)) and its id remembered in retired() with the label given to
/// finish(). What "finished" means is the owner's call: a node that cannot know when a workflow
/// ended (a middle service in choreography, a domain service) finishes an entry once its own
/// part is done.
template <class V> class retention_map {
    struct id_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    struct slot {
        V value;
        std::uint64_t finished_at = 0; ///< 0: in progress; else its place among the finished
        std::uint8_t code = 0;         ///< label to retire it with
    };
    using map_type = std::unordered_map<std::string, slot, id_hash, std::equal_to<>>;

public:
    /// `remember_retired`: how many retired ids retired() knows (0: none).
    explicit retention_map(std::size_t keep_finished = default_retain_finished,
                           std::size_t remember_retired = 0)
        : keep_(keep_finished), retired_(remember_retired) {}

    /// Sets the limits; entries beyond the new limit are retired at once.
    void set_limits(std::size_t keep_finished, std::size_t remember_retired) {
        keep_ = keep_finished;
        retired_.set_capacity(remember_retired);
        evict();
    }
    std::size_t keep_finished() const noexcept { return keep_; }

    V* find(std::string_view id) {
        const auto it = map_.find(id);
        return it == map_.end() ? nullptr : &it->second.value;
    }
    const V* find(std::string_view id) const {
        const auto it = map_.find(id);
        return it == map_.end() ? nullptr : &it->second.value;
    }
    bool contains(std::string_view id) const { return map_.find(id) != map_.end(); }

    /// Returns: the entry of `id`, made from `args` (in progress) if there was none, and
    /// whether it is new. An entry kept as finished stays finished.
    template <class... Args> std::pair<V*, bool> try_emplace(std::string_view id, Args&&... args) {
        auto it = map_.find(id);
        if (it != map_.end()) {
            return {&it->second.value, false};
        }
        it = map_.emplace(std::string(id), slot{V(std::forward<Args>(args)...), 0, 0}).first;
        return {&it->second.value, true};
    }
    /// Returns: the entry of `id`, value-initialized if there was none.
    V& operator[](std::string_view id) { return *try_emplace(id).first; }

    /// Marks `id` finished, the most recently finished (again, if it was), to be retired with
    /// `label` in its turn. Retires the entries finished longest ago beyond the limit. An id
    /// not held is ignored.
    void finish(std::string_view id, std::string_view label = {}) {
        const auto it = map_.find(id);
        if (it == map_.end()) {
            return;
        }
        auto& s = it->second;
        s.code = retired_.code_of(label);
        if (s.finished_at != 0 && s.finished_at == clock_) {
            return; // the newest already: nothing moves
        }
        if (s.finished_at == 0) {
            ++finished_;
        }
        s.finished_at = ++clock_;
        order_.push_back({&*it, s.finished_at});
        if (order_.size() > 2 * finished_ + 64) {
            compact(); // entries finished again and again leave stale places behind
        }
        evict();
    }
    bool finished(std::string_view id) const {
        const auto it = map_.find(id);
        return it != map_.end() && it->second.finished_at != 0;
    }
    /// Returns: the label a recently retired `id` was retired with (nullopt: not remembered, or
    /// still held).
    std::optional<std::string_view> retired(std::string_view id) const {
        return contains(id) ? std::nullopt : retired_.find(id);
    }

    std::size_t size() const noexcept { return map_.size(); }
    std::size_t finished_count() const noexcept { return finished_; }
    /// Calls `f(id, value)` for every entry held.
    template <class F> void for_each(F&& f) const {
        for (const auto& [id, s] : map_) {
            f(id, s.value);
        }
    }
    /// A durable node's snapshot: calls `in_progress(id, value)` for every entry in progress,
    /// then `finished(id, value, label)` for every finished one, finished longest ago first.
    /// Restoring them in that order (try_emplace, then finish() for the finished) and the
    /// retired ids (retired_ids().for_each, remember) gives this map back, order of retiring
    /// included.
    template <class P, class F> void for_each_in_order(P&& in_progress, F&& finished) const {
        for (const auto& [id, s] : map_) {
            if (s.finished_at == 0) {
                in_progress(id, s.value);
            }
        }
        for (const auto& f : order_) {
            if (f.entry->second.finished_at == f.at) {
                finished(f.entry->first, f.entry->second.value,
                         retired_.label_of(f.entry->second.code));
            }
        }
    }
    const retired_ids& retired_ids_kept() const noexcept { return retired_; }
    retired_ids& retired_ids_kept() noexcept { return retired_; }
    /// Forgets every entry and retired id (the limits stay): before restoring a snapshot.
    void clear() {
        map_.clear();
        order_.clear();
        finished_ = 0;
        retired_ = retired_ids(retired_.capacity());
    }

    /// Returns: bytes of bookkeeping beside the entries' ids and values: hash nodes and buckets,
    /// the order of finishing, the retired ids.
    std::size_t overhead_bytes() const noexcept {
        return map_.size() * (2 * sizeof(void*) + sizeof(std::uint64_t) + sizeof(std::uint64_t)) +
               map_.bucket_count() * sizeof(void*) + order_.size() * sizeof(finished_entry) +
               retired_.heap_bytes();
    }

private:
    struct finished_entry {
        typename map_type::value_type* entry; ///< node addresses survive rehashing
        std::uint64_t at;                     ///< stale if the entry finished again since
    };
    void evict() {
        while (finished_ > keep_ && !order_.empty()) {
            const auto f = order_.front();
            order_.pop_front();
            if (f.entry->second.finished_at != f.at) {
                continue; // finished again later: a newer entry in order_ stands for it
            }
            retired_.add(f.entry->first, f.entry->second.code);
            map_.erase(map_.find(std::string_view(f.entry->first)));
            --finished_;
        }
    }

    void compact() {
        std::erase_if(order_,
                      [](const finished_entry& f) { return f.entry->second.finished_at != f.at; });
    }

    std::size_t keep_;
    map_type map_;
    std::deque<finished_entry> order_; ///< oldest first; may hold stale entries
    std::size_t finished_ = 0;
    std::uint64_t clock_ = 0;
    retired_ids retired_;
};

/// Per-workflow state of type V that waits to be used, by workflow id (events from outside the
/// chain that came before the step they concern): apart from the finished workflows a
/// retention_map retires, so however many finish meanwhile none of it is lost, and bounded on its
/// own: at most `capacity` entries, the oldest evicted when one more comes to a full map, and
/// counted in evicted(). An owner erases an entry once it is used.
template <class V> class pending_map {
    using list_type = std::list<std::pair<std::string, V>>;

public:
    explicit pending_map(std::size_t capacity = default_retain_early)
        : capacity_(capacity == 0 ? 1 : capacity) {}
    // The index holds iterators into the list: a move keeps them valid, a copy would not.
    pending_map(const pending_map&) = delete;
    pending_map& operator=(const pending_map&) = delete;
    pending_map(pending_map&&) noexcept = default;
    pending_map& operator=(pending_map&&) noexcept = default;

    /// Sets the capacity (at least 1); entries beyond it are evicted at once, oldest first.
    /// Returns: the ids evicted.
    std::vector<std::string> set_capacity(std::size_t capacity) {
        capacity_ = capacity == 0 ? 1 : capacity;
        std::vector<std::string> out;
        while (entries_.size() > capacity_) {
            out.push_back(evict_oldest());
        }
        return out;
    }
    std::size_t capacity() const noexcept { return capacity_; }

    V* find(std::string_view id) {
        const auto it = index_.find(std::string(id));
        return it == index_.end() ? nullptr : &it->second->second;
    }
    const V* find(std::string_view id) const {
        const auto it = index_.find(std::string(id));
        return it == index_.end() ? nullptr : &it->second->second;
    }

    /// Returns: the entry of `id`, value-initialized (the newest) if there was none, and the id
    /// evicted to make room for it, if one was.
    std::pair<V*, std::optional<std::string>> emplace(std::string_view id) {
        if (auto* v = find(id)) {
            return {v, std::nullopt};
        }
        std::optional<std::string> evicted;
        if (entries_.size() >= capacity_) {
            evicted = evict_oldest();
        }
        entries_.emplace_back(std::string(id), V{});
        index_.emplace(entries_.back().first, std::prev(entries_.end()));
        return {&entries_.back().second, std::move(evicted)};
    }
    /// Forgets `id` (used); an id not held is ignored.
    void erase(std::string_view id) {
        const auto it = index_.find(std::string(id));
        if (it != index_.end()) {
            entries_.erase(it->second);
            index_.erase(it);
        }
    }

    std::size_t size() const noexcept { return entries_.size(); }
    /// Returns: entries evicted unused since this map was made (or restored).
    std::uint64_t evicted() const noexcept { return evicted_; }
    void set_evicted(std::uint64_t n) noexcept { evicted_ = n; }
    /// Calls `f(id, value)` for every entry, the oldest first (the order of eviction: a snapshot
    /// restored by emplace() in that order gives this map back).
    template <class F> void for_each(F&& f) const {
        for (const auto& [id, v] : entries_) {
            f(id, v);
        }
    }
    void clear() {
        entries_.clear();
        index_.clear();
        evicted_ = 0;
    }
    /// Returns: bytes of bookkeeping beside the entries' ids and values (list and hash nodes,
    /// buckets, the index's copy of each id).
    std::size_t overhead_bytes() const noexcept {
        std::size_t n = entries_.size() * (2 * sizeof(void*)) +
                        index_.size() * (2 * sizeof(void*) + sizeof(std::string) +
                                         sizeof(typename list_type::iterator)) +
                        index_.bucket_count() * sizeof(void*);
        for (const auto& [id, it] : index_) {
            n += id.capacity() > 15 ? id.capacity() + 1 : 0;
        }
        return n;
    }

private:
    std::string evict_oldest() {
        auto id = std::move(entries_.front().first);
        index_.erase(id);
        entries_.pop_front();
        ++evicted_;
        return id;
    }

    std::size_t capacity_;
    list_type entries_; ///< oldest first
    std::unordered_map<std::string, typename list_type::iterator> index_;
    std::uint64_t evicted_ = 0;
};

} // namespace choreo

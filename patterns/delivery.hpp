// At-least-once delivery: the outbox of unacknowledged messages and the applied message ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace choreo {

/// What a durable store wrote: transactions committed, rows inserted, replaced or deleted, and
/// syncs of its files to the disk.
struct delivery_writes {
    std::uint64_t commits{};
    std::uint64_t rows_written{};
    std::uint64_t syncs{};
};

/// A workflow message sent and not yet acknowledged, as it went on the wire.
struct unacked {
    std::uint64_t id{};     ///< the envelope's message_id, unique per sending node
    std::string to;         ///< the peer's node name (the envelope sender of its ack)
    std::string routing_id; ///< a reply on the inbox: the connection it went to; else empty
    std::string type;       ///< type frame
    std::string body;       ///< body frame, envelope included: a resend is the same message
    /// A reply on the inbox whose connection is gone (a restarted node's): resent on the
    /// connection its peer sends on next.
    bool reply = false;
};

/// Where a node keeps the workflow messages its peers have not acknowledged. The node keeps
/// when to send each again; the store keeps what. A durable store commits what it was given at
/// the node's end of batch (applied_ids::commit), with the ids applied in that batch.
class outbox {
public:
    virtual ~outbox() = default;
    /// Keeps `m` until remove(m.id). Returns: false, keeping nothing, if the outbox is full.
    virtual bool keep(unacked m) = 0;
    /// Returns: the message kept under `id`, or nullptr.
    virtual const unacked* find(std::uint64_t id) const = 0;
    /// Returns: whether a message was kept under `id` (it is not any more).
    virtual bool remove(std::uint64_t id) = 0;
    virtual std::size_t size() const = 0;
    virtual std::size_t capacity() const = 0;
    /// Returns: the ids of every message kept, in no particular order.
    virtual std::vector<std::uint64_t> ids() const = 0;
};

/// The message ids a node has applied, by sender, to drop a message that arrives again.
class applied_ids {
public:
    virtual ~applied_ids() = default;
    /// Notes (sender, id) as applied. Returns: false if it already was (a duplicate).
    virtual bool apply(std::string_view sender, std::uint64_t id) = 0;
    /// End of a drained batch: what was applied since the last commit sticks (a durable store
    /// commits its transaction here, once per batch). Acks for the batch go out after it.
    virtual void commit() = 0;
    virtual std::size_t size() const = 0;
    /// Whether the node must hold its workflow sends until commit(): a durable store's messages
    /// must not leave the node before the transaction holding their outbox rows commits.
    virtual bool holds_sends() const { return false; }
    /// Whether anything was written since the last commit() (an open transaction).
    virtual bool pending() const { return false; }
    virtual delivery_writes written() const { return {}; }
};

/// An outbox in memory, of at most `capacity` messages.
class memory_outbox final : public outbox {
public:
    explicit memory_outbox(std::size_t capacity) : capacity_(capacity) {}
    bool keep(unacked m) override {
        if (kept_.size() >= capacity_) {
            return false;
        }
        const auto id = m.id;
        return kept_.try_emplace(id, std::move(m)).second;
    }
    const unacked* find(std::uint64_t id) const override {
        const auto it = kept_.find(id);
        return it == kept_.end() ? nullptr : &it->second;
    }
    bool remove(std::uint64_t id) override { return kept_.erase(id) > 0; }
    std::size_t size() const override { return kept_.size(); }
    std::size_t capacity() const override { return capacity_; }
    std::vector<std::uint64_t> ids() const override {
        std::vector<std::uint64_t> out;
        out.reserve(kept_.size());
        for (const auto& [id, m] : kept_) {
            out.push_back(id);
        }
        return out;
    }

private:
    std::size_t capacity_;
    std::unordered_map<std::uint64_t, unacked> kept_;
};

/// Applied ids in memory: the most recent `retention` of them, the oldest forgotten first.
/// A message that arrives again after `retention` newer ones were applied is applied again:
/// senders resend within seconds (node_options::resend_max), so retention must cover the
/// messages a node receives in that time (the default covers 100 000).
class memory_applied_ids final : public applied_ids {
public:
    explicit memory_applied_ids(std::size_t retention) : retention_(retention) {}
    bool apply(std::string_view sender, std::uint64_t id) override {
        if (retention_ == 0) {
            return true;
        }
        auto s = by_sender_.find(sender);
        if (s == by_sender_.end()) {
            s = by_sender_.emplace(std::string(sender), std::unordered_set<std::uint64_t>{}).first;
        }
        if (!s->second.insert(id).second) {
            return false;
        }
        order_.emplace_back(&s->first, id);
        ++size_;
        while (size_ > retention_) {
            const auto [who, old] = order_.front();
            order_.pop_front();
            const auto f = by_sender_.find(*who);
            f->second.erase(old);
            --size_;
            if (f->second.empty()) {
                by_sender_.erase(f); // `who` pointed into it: no later entry of the order does
            }
        }
        return true;
    }
    void commit() override {}
    std::size_t size() const override { return size_; }

private:
    struct name_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::size_t retention_;
    std::size_t size_ = 0;
    /// Keys are stable: the order of forgetting points at them.
    std::unordered_map<std::string, std::unordered_set<std::uint64_t>, name_hash, std::equal_to<>>
        by_sender_;
    std::deque<std::pair<const std::string*, std::uint64_t>> order_;
};

} // namespace choreo

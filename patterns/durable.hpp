// A durable node's delivery state and journal over its store: one transaction per batch.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "patterns/delivery.hpp"
#include "patterns/store.hpp"

namespace choreo {

/// One node's store and the transaction of the batch being handled: begun at the first write of
/// a batch, committed at the node's end of batch (store_applied_ids::commit), after the
/// before-commit hook (a snapshot, the message ids reserved) has written into it. Use from the
/// node's io thread; written() may be read anywhere.
class durable_store {
public:
    /// Throws: store_refused naming the path and the reason (see store).
    durable_store(const std::filesystem::path& dir, const store_identity& who,
                  store_sync sync = store_sync::process_crash);

    store& db() noexcept { return db_; }
    /// Begins the batch's transaction unless one is open.
    void write();
    /// Whether anything was written since the last commit.
    bool pending() const noexcept { return db_.in_transaction(); }
    /// Called inside the transaction just before it commits (and only if one is open).
    void before_commit(std::function<void()> f) { before_commit_ = std::move(f); }
    /// Commits the open transaction, if any, after the before-commit hook.
    /// Throws: whatever the hook or store::commit throws; the transaction is rolled back.
    void commit();
    /// Fault injection for tests: the `nth` commit from now is refused (rolled back, and
    /// std::runtime_error thrown), as a full disk would refuse it. 0: none.
    void refuse_commit(std::uint64_t nth) noexcept {
        refuse_at_ = nth;
        attempts_ = 0;
    }
    /// Transactions committed, rows written and files synced so far.
    delivery_writes written() const noexcept {
        return {commits_.load(std::memory_order_relaxed), rows_.load(std::memory_order_relaxed),
                syncs_.load(std::memory_order_relaxed)};
    }

    // ---- journal: the workflow messages applied since the last snapshot --------------------
    /// Appends a message as it was received (type and body frames).
    void journal(std::string_view type, std::string_view body);
    /// Journal rows written since the last snapshot.
    std::uint64_t journal_rows() const noexcept { return journal_rows_; }
    /// Calls `f(type, body)` for every message journaled since the last snapshot, in order.
    void for_each_journaled(const std::function<void(std::string_view, std::string_view)>& f);
    /// Writes `bytes` as the snapshot and deletes the journal rows it covers (all of them), in
    /// the open transaction.
    void snapshot(std::string_view bytes);
    /// Returns: the last snapshot written, if any.
    std::optional<std::string> last_snapshot() const;

    // ---- message ids ---------------------------------------------------------------------
    /// Returns: an id above every message id used before this start (0 for a new store).
    std::uint64_t message_ids_from() const noexcept { return ids_below_; }
    /// Makes sure ids up to `last_used` + `headroom` are never used again after a restart,
    /// writing a new bound (last_used + 2 headroom) in the open transaction when it is near.
    void reserve_message_ids(std::uint64_t last_used, std::uint64_t headroom);

private:
    store db_;
    std::function<void()> before_commit_;
    std::atomic<std::uint64_t> commits_{0}, rows_{0}, syncs_{0};
    std::uint64_t journal_next_ = 1;
    std::uint64_t journal_rows_ = 0;
    std::uint64_t ids_below_ = 0;
    std::uint64_t refuse_at_ = 0;
    std::uint64_t attempts_ = 0;
};

/// The outbox over a durable store: each message a row, written in the batch's transaction;
/// the messages are kept in memory too, for find() without a read of the disk.
class store_outbox final : public outbox {
public:
    /// Reads the messages the store's outbox holds (those a restarted node sends again). A
    /// reply comes back without its inbox connection (routing_id), marked `reply`.
    store_outbox(std::shared_ptr<durable_store> s, std::size_t capacity);
    bool keep(unacked m) override;
    const unacked* find(std::uint64_t id) const override;
    bool remove(std::uint64_t id) override;
    std::size_t size() const override { return kept_.size(); }
    std::size_t capacity() const override { return capacity_; }
    std::vector<std::uint64_t> ids() const override;

private:
    std::shared_ptr<durable_store> store_;
    std::size_t capacity_;
    std::unordered_map<std::uint64_t, unacked> kept_;
};

/// The applied ids over a durable store's inbox: a duplicate is found by its row (the store is
/// the truth, across restarts), the newest `retention` are kept. commit() commits the batch's
/// transaction: what it applied, the outbox rows of what it sent, its journal.
class store_applied_ids final : public applied_ids {
public:
    store_applied_ids(std::shared_ptr<durable_store> s, std::size_t retention);
    bool apply(std::string_view sender, std::uint64_t id) override;
    void commit() override;
    std::size_t size() const override { return size_; }
    bool holds_sends() const override { return true; }
    bool pending() const override { return store_->pending(); }
    delivery_writes written() const override { return store_->written(); }

private:
    std::shared_ptr<durable_store> store_;
    std::size_t retention_;
    std::size_t size_ = 0;
};

} // namespace choreo

#include "patterns/durable.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "patterns/snapshot.hpp"

namespace choreo {
namespace {

// State rows of the durable node (store kinds): the journal and the snapshot that replace the
// domain's and the pattern's state in memory, and the bound of the message ids used.
constexpr std::string_view journal_kind = "journal";
constexpr std::string_view snapshot_kind = "snapshot";
constexpr std::string_view snapshot_key = "latest";
constexpr std::string_view meta_kind = "node";
constexpr std::string_view ids_key = "message_ids_below";
constexpr std::string_view journal_next_key = "journal_next";

/// A journal key: the sequence number, zero-padded so that key order is journal order.
std::string journal_key(std::uint64_t seq) {
    return fmt::format("{:020}", seq);
}

std::uint64_t number_of(const std::optional<std::string>& text) {
    return text ? std::stoull(*text) : 0;
}

} // namespace

durable_store::durable_store(const std::filesystem::path& dir, const store_identity& who,
                             store_sync sync)
    : db_(dir, who, sync) {
    try {
        ids_below_ = number_of(db_.get(meta_kind, ids_key));
        journal_next_ = std::max<std::uint64_t>(1, number_of(db_.get(meta_kind, journal_next_key)));
    } catch (const std::exception& e) {
        throw store_refused(db_.path().string() + ": a node row cannot be read: " + e.what());
    }
    db_.for_each(journal_kind, [&](std::string_view key, std::string_view) {
        journal_next_ = std::max<std::uint64_t>(journal_next_, std::stoull(std::string(key)) + 1);
        ++journal_rows_;
    });
    commits_ = db_.commits();
    rows_ = db_.rows_written();
    syncs_ = db_.syncs();
}

void durable_store::write() {
    if (!db_.in_transaction()) {
        db_.begin();
    }
}

void durable_store::commit() {
    if (!db_.in_transaction()) {
        return;
    }
    try {
        if (before_commit_) {
            before_commit_();
        }
        if (refuse_at_ != 0 && ++attempts_ == refuse_at_) {
            throw std::runtime_error(db_.path().string() + ": commit refused (fault injection)");
        }
        db_.commit(); // rolls back itself if it throws
    } catch (...) {
        db_.rollback();
        throw;
    }
    commits_.store(db_.commits(), std::memory_order_relaxed);
    rows_.store(db_.rows_written(), std::memory_order_relaxed);
    syncs_.store(db_.syncs(), std::memory_order_relaxed);
}

void durable_store::journal(std::string_view type, std::string_view body) {
    write();
    snapshot::writer w;
    w << type << body;
    db_.put(journal_kind, journal_key(journal_next_), w.bytes());
    ++journal_next_;
    ++journal_rows_;
}

void durable_store::for_each_journaled(
    const std::function<void(std::string_view, std::string_view)>& f) {
    // Read whole first: `f` may write (a replayed message's effects), which the read would see.
    std::vector<std::string> rows;
    db_.for_each(journal_kind,
                 [&](std::string_view, std::string_view value) { rows.emplace_back(value); });
    for (auto& row : rows) {
        snapshot::reader r(std::move(row));
        std::string type, body;
        r >> type >> body;
        f(type, body);
    }
}

void durable_store::snapshot(std::string_view bytes) {
    write();
    db_.put(snapshot_kind, snapshot_key, bytes);
    std::vector<std::string> keys;
    db_.for_each(journal_kind,
                 [&](std::string_view key, std::string_view) { keys.emplace_back(key); });
    for (const auto& key : keys) {
        db_.erase(journal_kind, key);
    }
    db_.put(meta_kind, journal_next_key, std::to_string(journal_next_));
    journal_rows_ = 0;
}

std::optional<std::string> durable_store::last_snapshot() const {
    return db_.get(snapshot_kind, snapshot_key);
}

void durable_store::reserve_message_ids(std::uint64_t last_used, std::uint64_t headroom) {
    if (last_used + headroom < ids_below_) {
        return;
    }
    write();
    ids_below_ = last_used + 2 * headroom;
    db_.put(meta_kind, ids_key, std::to_string(ids_below_));
}

store_outbox::store_outbox(std::shared_ptr<durable_store> s, std::size_t capacity)
    : store_(std::move(s)), capacity_(capacity) {
    store_->db().for_each_outbox_row([&](const store::outbox_row& r) {
        kept_.try_emplace(r.message_id, unacked{r.message_id,
                                                std::string(r.peer),
                                                {},
                                                std::string(r.type),
                                                std::string(r.body),
                                                r.reply});
    });
}

bool store_outbox::keep(unacked m) {
    if (kept_.size() >= capacity_ || kept_.contains(m.id)) {
        return false;
    }
    store_->write();
    store_->db().outbox_put(m.id, m.to, m.type, m.body, m.reply || !m.routing_id.empty());
    const auto id = m.id;
    kept_.emplace(id, std::move(m));
    return true;
}

const unacked* store_outbox::find(std::uint64_t id) const {
    const auto it = kept_.find(id);
    return it == kept_.end() ? nullptr : &it->second;
}

bool store_outbox::remove(std::uint64_t id) {
    if (kept_.erase(id) == 0) {
        return false;
    }
    store_->write();
    store_->db().outbox_erase(id);
    return true;
}

std::vector<std::uint64_t> store_outbox::ids() const {
    std::vector<std::uint64_t> out;
    out.reserve(kept_.size());
    for (const auto& [id, m] : kept_) {
        out.push_back(id);
    }
    return out;
}

store_applied_ids::store_applied_ids(std::shared_ptr<durable_store> s, std::size_t retention)
    : store_(std::move(s)), retention_(retention),
      size_(static_cast<std::size_t>(store_->db().counters().applied_ids)) {}

bool store_applied_ids::apply(std::string_view sender, std::uint64_t id) {
    if (retention_ == 0) {
        return true;
    }
    store_->write();
    if (!store_->db().mark_applied(sender, id)) {
        return false;
    }
    ++size_;
    return true;
}

void store_applied_ids::commit() {
    if (!store_->pending()) {
        return;
    }
    if (size_ > retention_) {
        store_->db().retain_applied(retention_);
        size_ = retention_;
    }
    store_->commit();
}

} // namespace choreo

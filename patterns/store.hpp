// A node's durable store: one SQLite database (WAL) per node in its data directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "patterns/store_vfs.hpp"

namespace SQLite {
class Database;
class Statement;
} // namespace SQLite

namespace choreo {

/// Whom a database is for: a node refuses a database made for another pattern, workflow or
/// service, rather than carry on with state that is not its own.
struct store_identity {
    std::string pattern;
    std::string workflow;
    std::string service;
};

/// How much a commit survives.
enum class store_sync {
    /// SQLite's synchronous=NORMAL in WAL mode: a commit survives the process being killed
    /// (SIGKILL), not a crash of the machine; the WAL is synced at checkpoints only.
    process_crash,
    /// synchronous=FULL: every commit is synced to the disk (one fsync per commit).
    machine_crash,
};

/// A data directory that cannot be used: the message names the path and the reason.
class store_refused : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

struct store_counters {
    std::uint64_t commits{};       ///< transactions committed that changed a row
    std::uint64_t rows_written{};  ///< rows inserted, replaced or deleted
    std::uint64_t outbox{};        ///< messages in the outbox now
    std::uint64_t applied_ids{};   ///< message ids in the inbox now
    std::uint64_t state_entries{}; ///< rows of domain and pattern state now
};

/// One node's database, DIR/SERVICE.db, in WAL mode: the service's domain data and the
/// pattern's workflow state (rows of bytes by kind and key), an outbox of messages to send
/// until their receiver acknowledges them, and an inbox of the message ids already applied.
///
/// A data directory is checked before anything is written: it must exist and be a readable,
/// writable directory; a database already there must be choreo's, of this schema version, made
/// for the same pattern, workflow and service, and used by no other process. Otherwise the
/// constructor throws store_refused and the directory is left as it was, byte for byte.
///
/// Changes are made inside begin() ... commit(): one transaction per batch of applied
/// messages (group commit). Use from one thread.
class store {
public:
    static constexpr int schema_version = 1;
    /// The file name of the database of `service` in a data directory.
    static std::string file_name(std::string_view service) { return std::string(service) + ".db"; }

    /// Opens (or creates) the database of `who.service` in `dir`.
    /// Throws: store_refused naming the path and the reason (see the class comment).
    store(const std::filesystem::path& dir, const store_identity& who,
          store_sync sync = store_sync::process_crash);
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }

    /// Starts a transaction. Requires: none is open.
    void begin();
    /// Commits the open transaction. Throws: SQLite::Exception if the disk refuses it (the
    /// transaction is rolled back: nothing of it is applied).
    void commit();
    /// Rolls the open transaction back, if one is open.
    void rollback() noexcept;
    bool in_transaction() const noexcept { return open_; }

    // ---- state: rows of bytes by (kind, key) -----------------------------------------------
    void put(std::string_view kind, std::string_view key, std::string_view value);
    void erase(std::string_view kind, std::string_view key);
    std::optional<std::string> get(std::string_view kind, std::string_view key) const;
    /// Calls `f(key, value)` for every row of `kind`, in key order.
    void for_each(std::string_view kind,
                  const std::function<void(std::string_view, std::string_view)>& f) const;

    // ---- inbox: message ids applied -------------------------------------------------------
    /// Records that `sender`'s message `id` was applied.
    /// Returns: false if it had been already (a duplicate: nothing is recorded).
    bool mark_applied(std::string_view sender, std::uint64_t id);
    bool applied(std::string_view sender, std::uint64_t id) const;
    /// Keeps the newest `keep` ids, forgetting older ones: the inbox's retention.
    void retain_applied(std::uint64_t keep);

    // ---- outbox: messages sent and not yet acknowledged ----------------------------------
    /// `reply`: it went as a reply on an inbox connection (a restarted node resends it on the
    /// peer's next connection).
    void outbox_put(std::uint64_t message_id, std::string_view peer, std::string_view type,
                    std::string_view body, bool reply = false);
    void outbox_erase(std::uint64_t message_id);
    /// Calls `f(message_id, peer, type, body)` for every message in the outbox, oldest first.
    void for_each_outbox(const std::function<void(std::uint64_t, std::string_view, std::string_view,
                                                  std::string_view)>& f) const;
    struct outbox_row {
        std::uint64_t message_id;
        std::string_view peer, type, body;
        bool reply;
    };
    /// Calls `f` for every message in the outbox, oldest first.
    void for_each_outbox_row(const std::function<void(const outbox_row&)>& f) const;

    /// Counts the rows of each table: a scan, for an operator's look, not for every batch.
    store_counters counters() const;
    /// Transactions committed that changed a row (one that changed none writes, and syncs,
    /// nothing: a duplicate's inbox insert ignored, say) and rows written so far (no read of the
    /// database).
    std::uint64_t commits() const noexcept { return commits_; }
    std::uint64_t rows_written() const noexcept { return rows_written_; }
    /// The database's files synced to the disk so far (xSync calls, counted by
    /// store_file_counts): one per commit with store_sync::machine_crash, besides checkpoints.
    std::uint64_t syncs() const noexcept { return files_ ? files_->syncs() : 0; }

private:
    void check_existing(const store_identity& who) const;
    void create(const store_identity& who);
    void prepare();

    std::filesystem::path path_;
    int lock_fd_ = -1;
    std::unique_ptr<store_file_counts> files_; ///< before db_: counts the files db_ opens
    std::unique_ptr<SQLite::Database> db_;
    struct statements;
    std::unique_ptr<statements> st_;
    bool open_ = false;
    int changes_at_begin_ = 0; ///< the connection's total changes when the transaction began
    std::uint64_t commits_ = 0;
    std::uint64_t rows_written_ = 0;
    std::uint64_t applied_seq_ = 0;
};

} // namespace choreo

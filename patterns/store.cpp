#include "patterns/store.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

namespace choreo {
namespace {

constexpr std::string_view format_name = "choreo-node";

[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& why) {
    throw store_refused(path.string() + ": " + why);
}

/// Returns: an SQLite URI that opens `path` read-only and immutable (no lock, no WAL, no shm).
std::string immutable_uri(const std::filesystem::path& path) {
    std::string uri = "file:";
    for (const char c : path.string()) {
        if (c == '%' || c == '?' || c == '#') {
            uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        } else {
            uri += c;
        }
    }
    return uri + "?immutable=1";
}

std::string errno_text() {
    return std::strerror(errno);
}

/// Takes `fd`'s lock for this process, or closes `fd` (setting it to -1) and refuses `database`.
void lock_or_refuse(int& fd, const std::filesystem::path& database) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        return;
    }
    const auto why = errno == EWOULDBLOCK ? std::string("is in use by another process")
                                          : "cannot be locked: " + errno_text();
    ::close(fd);
    fd = -1;
    refuse(database, why);
}

/// Every table of schema version 1. The inbox's seq orders ids for the retention.
constexpr std::string_view schema_v1 = R"(
CREATE TABLE choreo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE state (kind TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                    PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE inbox (sender TEXT NOT NULL, message_id INTEGER NOT NULL, seq INTEGER NOT NULL,
                    PRIMARY KEY (sender, message_id)) WITHOUT ROWID;
CREATE INDEX inbox_by_seq ON inbox (seq);
CREATE TABLE outbox (message_id INTEGER PRIMARY KEY, peer TEXT NOT NULL, type TEXT NOT NULL,
                     body BLOB NOT NULL, reply INTEGER NOT NULL DEFAULT 0);
)";

} // namespace

struct store::statements {
    SQLite::Statement begin, commit, rollback;
    SQLite::Statement put, erase, get, each;
    SQLite::Statement mark, applied, retain;
    SQLite::Statement outbox_put, outbox_erase, outbox_each;

    explicit statements(SQLite::Database& db)
        : begin(db, "BEGIN"), commit(db, "COMMIT"), rollback(db, "ROLLBACK"),
          put(db, "INSERT OR REPLACE INTO state (kind, key, value) VALUES (?, ?, ?)"),
          erase(db, "DELETE FROM state WHERE kind = ? AND key = ?"),
          get(db, "SELECT value FROM state WHERE kind = ? AND key = ?"),
          each(db, "SELECT key, value FROM state WHERE kind = ? ORDER BY key"),
          mark(db, "INSERT OR IGNORE INTO inbox (sender, message_id, seq) VALUES (?, ?, ?)"),
          applied(db, "SELECT 1 FROM inbox WHERE sender = ? AND message_id = ?"),
          retain(db, "DELETE FROM inbox WHERE seq <= ?"),
          outbox_put(db, "INSERT OR REPLACE INTO outbox (message_id, peer, type, body, reply) "
                         "VALUES (?, ?, ?, ?, ?)"),
          outbox_erase(db, "DELETE FROM outbox WHERE message_id = ?"),
          outbox_each(db, "SELECT message_id, peer, type, body, reply FROM outbox "
                          "ORDER BY message_id") {}
};

namespace {

/// Runs a prepared statement that returns no rows. Returns: the rows it changed.
int run(SQLite::Statement& s) {
    const int changed = s.exec();
    s.reset();
    s.clearBindings();
    return changed;
}

void bind_text(SQLite::Statement& s, int index, std::string_view text) {
    s.bindNoCopy(index, text.data(), static_cast<int>(text.size()));
}

void bind_blob(SQLite::Statement& s, int index, std::string_view bytes) {
    s.bindNoCopy(index, static_cast<const void*>(bytes.data()), static_cast<int>(bytes.size()));
}

std::string_view blob_of(const SQLite::Column& c) {
    return {static_cast<const char*>(c.getBlob()), static_cast<std::size_t>(c.getBytes())};
}

} // namespace

store::store(const std::filesystem::path& dir, const store_identity& who, store_sync sync)
    : path_(dir / file_name(who.service)) {
    std::error_code ec;
    const auto kind = std::filesystem::status(dir, ec);
    if (!std::filesystem::exists(kind)) {
        refuse(dir, "does not exist (create the data directory first)");
    }
    if (!std::filesystem::is_directory(kind)) {
        refuse(dir, "is not a directory");
    }
    if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
        refuse(dir, "cannot be read and written: " + errno_text());
    }
    const bool existed = std::filesystem::exists(std::filesystem::symlink_status(path_, ec));
    // One process per database: a second node on the same data would corrupt both.
    const auto lock = path_.string() + ".lock";
    if (existed) {
        // A database in use is refused before it is read: even a read-only reader writes to the
        // WAL index of a database in use. Its lock file exists then (every user creates it).
        lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
        if (lock_fd_ >= 0) {
            lock_or_refuse(lock_fd_, path_);
        }
        try {
            check_existing(who);
        } catch (...) {
            if (lock_fd_ >= 0) {
                ::close(lock_fd_);
                lock_fd_ = -1;
            }
            throw;
        }
    }
    if (lock_fd_ < 0) {
        lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock_fd_ < 0) {
            refuse(lock, "cannot be opened: " + errno_text());
        }
        lock_or_refuse(lock_fd_, path_);
    }
    try {
        files_ = std::make_unique<store_file_counts>(path_);
        db_ = std::make_unique<SQLite::Database>(path_.string(),
                                                 SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 0,
                                                 store_file_counts::vfs_name());
        db_->exec("PRAGMA journal_mode = WAL");
        db_->exec(sync == store_sync::machine_crash ? "PRAGMA synchronous = FULL"
                                                    : "PRAGMA synchronous = NORMAL");
        if (!existed) {
            create(who);
        }
        prepare();
    } catch (const SQLite::Exception& e) {
        ::close(lock_fd_);
        lock_fd_ = -1;
        refuse(path_, std::string("cannot be opened: ") + e.what());
    }
}

store::~store() {
    rollback();
    st_.reset();
    db_.reset();
    if (lock_fd_ >= 0) {
        ::close(lock_fd_); // releases the lock
    }
}

void store::check_existing(const store_identity& who) const {
    if (!std::filesystem::is_regular_file(path_)) {
        refuse(path_, "is not a regular file");
    }
    if (::access(path_.c_str(), R_OK | W_OK) != 0) {
        refuse(path_, "cannot be read and written: " + errno_text());
    }
    // Look at the header before SQLite does: it would take any file for an empty database.
    std::array<char, 16> header{};
    {
        std::ifstream in(path_, std::ios::binary);
        in.read(header.data(), header.size());
        if (in.gcount() == 0) {
            refuse(path_, "is empty, not a choreo database (remove it to start afresh)");
        }
        if (in.gcount() != static_cast<std::streamsize>(header.size()) ||
            std::memcmp(header.data(), "SQLite format 3", header.size()) != 0) {
            refuse(path_, "is not an SQLite database");
        }
    }
    try {
        // Opened read-only, SQLite would still create NAME.db-wal and NAME.db-shm beside a WAL
        // database. Without a WAL left by a crash nothing is missed by opening it immutable,
        // which creates nothing: the directory stays as it was, byte for byte. (With one, the
        // WAL holds commits to be read: it is opened as usual.)
        const bool wal = std::filesystem::exists(path_.string() + "-wal");
        SQLite::Database db(wal ? path_.string() : immutable_uri(path_),
                            SQLite::OPEN_READONLY | (wal ? 0 : SQLite::OPEN_URI));
        if (!db.tableExists("choreo_meta")) {
            refuse(path_, "is an SQLite database but not choreo's (no choreo_meta table)");
        }
        const auto meta = [&](const char* key) -> std::string {
            SQLite::Statement q(db, "SELECT value FROM choreo_meta WHERE key = ?");
            q.bind(1, key);
            return q.executeStep() ? q.getColumn(0).getString() : std::string();
        };
        if (meta("format") != format_name) {
            refuse(path_, "is not a choreo node's database (format '" + meta("format") + "')");
        }
        if (meta("schema") != std::to_string(schema_version)) {
            refuse(path_, "has schema version " + meta("schema") + "; this choreo reads version " +
                              std::to_string(schema_version));
        }
        const auto pattern = meta("pattern");
        const auto workflow = meta("workflow");
        const auto service = meta("service");
        if (pattern != who.pattern || workflow != who.workflow || service != who.service) {
            refuse(path_, "was made for " + service + " of " + workflow + " under " + pattern +
                              ", not " + who.service + " of " + who.workflow + " under " +
                              who.pattern);
        }
    } catch (const SQLite::Exception& e) {
        refuse(path_, std::string("cannot be read as a database: ") + e.what());
    }
}

void store::create(const store_identity& who) {
    SQLite::Transaction t(*db_);
    db_->exec(std::string(schema_v1));
    SQLite::Statement add(*db_, "INSERT INTO choreo_meta (key, value) VALUES (?, ?)");
    for (const auto& [key, value] :
         {std::pair<const char*, std::string>{"format", std::string(format_name)},
          {"schema", std::to_string(schema_version)},
          {"pattern", who.pattern},
          {"workflow", who.workflow},
          {"service", who.service}}) {
        add.bind(1, key);
        add.bind(2, value);
        add.exec();
        add.reset();
    }
    t.commit();
}

void store::prepare() {
    st_ = std::make_unique<statements>(*db_);
    SQLite::Statement last(*db_, "SELECT coalesce(max(seq), 0) FROM inbox");
    if (last.executeStep()) {
        applied_seq_ = static_cast<std::uint64_t>(last.getColumn(0).getInt64());
    }
}

void store::begin() {
    if (open_) {
        throw std::logic_error("store::begin: a transaction is open already");
    }
    run(st_->begin);
    open_ = true;
    changes_at_begin_ = db_->getTotalChanges();
}

void store::commit() {
    if (!open_) {
        throw std::logic_error("store::commit: no transaction is open");
    }
    try {
        run(st_->commit);
    } catch (const SQLite::Exception&) {
        rollback();
        throw;
    }
    open_ = false;
    if (db_->getTotalChanges() != changes_at_begin_) {
        ++commits_; // an empty transaction wrote nothing: not counted, as it is not synced
    }
}

void store::rollback() noexcept {
    if (!open_ || !st_) {
        return;
    }
    try {
        st_->commit.reset();
        run(st_->rollback);
    } catch (const SQLite::Exception&) {
        // SQLite rolls back by itself after some errors; nothing is left to undo.
    }
    open_ = false;
}

void store::put(std::string_view kind, std::string_view key, std::string_view value) {
    bind_text(st_->put, 1, kind);
    bind_text(st_->put, 2, key);
    bind_blob(st_->put, 3, value);
    rows_written_ += static_cast<std::uint64_t>(run(st_->put));
}

void store::erase(std::string_view kind, std::string_view key) {
    bind_text(st_->erase, 1, kind);
    bind_text(st_->erase, 2, key);
    rows_written_ += static_cast<std::uint64_t>(run(st_->erase));
}

std::optional<std::string> store::get(std::string_view kind, std::string_view key) const {
    auto& q = st_->get;
    bind_text(q, 1, kind);
    bind_text(q, 2, key);
    std::optional<std::string> out;
    if (q.executeStep()) {
        out = std::string(blob_of(q.getColumn(0)));
    }
    q.reset();
    q.clearBindings();
    return out;
}

void store::for_each(std::string_view kind,
                     const std::function<void(std::string_view, std::string_view)>& f) const {
    auto& q = st_->each;
    bind_text(q, 1, kind);
    while (q.executeStep()) {
        f(blob_of(q.getColumn(0)), blob_of(q.getColumn(1)));
    }
    q.reset();
    q.clearBindings();
}

bool store::mark_applied(std::string_view sender, std::uint64_t id) {
    bind_text(st_->mark, 1, sender);
    st_->mark.bind(2, static_cast<std::int64_t>(id));
    st_->mark.bind(3, static_cast<std::int64_t>(applied_seq_ + 1));
    if (run(st_->mark) == 0) {
        return false;
    }
    ++applied_seq_;
    ++rows_written_;
    return true;
}

bool store::applied(std::string_view sender, std::uint64_t id) const {
    auto& q = st_->applied;
    bind_text(q, 1, sender);
    q.bind(2, static_cast<std::int64_t>(id));
    const bool found = q.executeStep();
    q.reset();
    q.clearBindings();
    return found;
}

void store::retain_applied(std::uint64_t keep) {
    if (applied_seq_ <= keep) {
        return;
    }
    st_->retain.bind(1, static_cast<std::int64_t>(applied_seq_ - keep));
    rows_written_ += static_cast<std::uint64_t>(run(st_->retain));
}

void store::outbox_put(std::uint64_t message_id, std::string_view peer, std::string_view type,
                       std::string_view body, bool reply) {
    auto& s = st_->outbox_put;
    s.bind(1, static_cast<std::int64_t>(message_id));
    bind_text(s, 2, peer);
    bind_text(s, 3, type);
    bind_blob(s, 4, body);
    s.bind(5, reply ? 1 : 0);
    rows_written_ += static_cast<std::uint64_t>(run(s));
}

void store::outbox_erase(std::uint64_t message_id) {
    st_->outbox_erase.bind(1, static_cast<std::int64_t>(message_id));
    rows_written_ += static_cast<std::uint64_t>(run(st_->outbox_erase));
}

void store::for_each_outbox(
    const std::function<void(std::uint64_t, std::string_view, std::string_view, std::string_view)>&
        f) const {
    for_each_outbox_row([&](const outbox_row& r) { f(r.message_id, r.peer, r.type, r.body); });
}

void store::for_each_outbox_row(const std::function<void(const outbox_row&)>& f) const {
    auto& q = st_->outbox_each;
    while (q.executeStep()) {
        f({static_cast<std::uint64_t>(q.getColumn(0).getInt64()), blob_of(q.getColumn(1)),
           blob_of(q.getColumn(2)), blob_of(q.getColumn(3)), q.getColumn(4).getInt() != 0});
    }
    q.reset();
}

store_counters store::counters() const {
    const auto count = [&](const char* table) {
        SQLite::Statement q(*db_, std::string("SELECT count(*) FROM ") + table);
        return q.executeStep() ? static_cast<std::uint64_t>(q.getColumn(0).getInt64()) : 0U;
    };
    return {commits_, rows_written_, count("outbox"), count("inbox"), count("state")};
}

} // namespace choreo

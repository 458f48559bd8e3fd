// A counting SQLite VFS over the default one: how often the files of a database were synced.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace choreo {

/// Counts what SQLite asks of the files of one database (the database, its WAL and its
/// journal): xSync calls, each at least one fsync(2) or fdatasync(2) of the file (the first
/// sync of a new WAL or journal also syncs its directory), and xWrite calls. SQLite keeps no
/// such count itself, so the database is opened through a thin VFS, "choreo-counting", that
/// wraps the default VFS and counts those calls on the way through; it is registered once per
/// process, not as the default.
///
/// Construct it before the database is opened (with vfs_name()), for the path the database is
/// opened with; the counts start at zero. One database is counted by one object at a time: a
/// second object for the same path takes the counting over. Thread-safe.
class store_file_counts {
public:
    /// Throws: std::runtime_error if SQLite has no default VFS or the VFS cannot be registered.
    explicit store_file_counts(const std::filesystem::path& database);
    ~store_file_counts();
    store_file_counts(const store_file_counts&) = delete;
    store_file_counts& operator=(const store_file_counts&) = delete;

    /// The name of the counting VFS, to open the database with.
    static const char* vfs_name() noexcept;

    /// xSync calls on the database's files so far.
    std::uint64_t syncs() const noexcept;
    /// xWrite calls on the database's files so far.
    std::uint64_t writes() const noexcept;

    struct counts {
        std::atomic<std::uint64_t> syncs{0};
        std::atomic<std::uint64_t> writes{0};
    };

private:
    std::string key_; ///< the database's full path, as SQLite names it to the VFS
    std::shared_ptr<counts> counts_;
};

} // namespace choreo

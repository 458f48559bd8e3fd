#include "patterns/store_vfs.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

#include <sqlite3.h>

namespace choreo {
namespace {

constexpr const char* counting_vfs_name = "choreo-counting";

/// The databases counted now: full path -> their counts. An entry goes with its counter.
struct registry {
    std::mutex m;
    std::map<std::string, std::weak_ptr<store_file_counts::counts>> by_path;
};

registry& counted() {
    static registry r;
    return r;
}

/// The VFS wrapped: SQLite's default when the counting VFS was registered.
sqlite3_vfs* root = nullptr;

/// A file opened through the counting VFS: its counts (none for files of no counted database,
/// such as temporary files), then the default VFS's own file, which does the work.
struct counted_file {
    sqlite3_file base;
    std::shared_ptr<store_file_counts::counts> counts;
    sqlite3_file* real;
};

sqlite3_file* real_of(sqlite3_file* f) {
    return reinterpret_cast<counted_file*>(f)->real;
}

int file_close(sqlite3_file* f) {
    auto* c = reinterpret_cast<counted_file*>(f);
    const int rc = c->real->pMethods != nullptr ? c->real->pMethods->xClose(c->real) : SQLITE_OK;
    c->counts.~shared_ptr();
    return rc;
}

int file_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
    auto* r = real_of(f);
    return r->pMethods->xRead(r, buf, amount, offset);
}

int file_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
    auto* c = reinterpret_cast<counted_file*>(f);
    if (c->counts) {
        c->counts->writes.fetch_add(1, std::memory_order_relaxed);
    }
    return c->real->pMethods->xWrite(c->real, buf, amount, offset);
}

int file_truncate(sqlite3_file* f, sqlite3_int64 size) {
    auto* r = real_of(f);
    return r->pMethods->xTruncate(r, size);
}

int file_sync(sqlite3_file* f, int flags) {
    auto* c = reinterpret_cast<counted_file*>(f);
    if (c->counts) {
        c->counts->syncs.fetch_add(1, std::memory_order_relaxed);
    }
    return c->real->pMethods->xSync(c->real, flags);
}

int file_size(sqlite3_file* f, sqlite3_int64* size) {
    auto* r = real_of(f);
    return r->pMethods->xFileSize(r, size);
}

int file_lock(sqlite3_file* f, int level) {
    auto* r = real_of(f);
    return r->pMethods->xLock(r, level);
}

int file_unlock(sqlite3_file* f, int level) {
    auto* r = real_of(f);
    return r->pMethods->xUnlock(r, level);
}

int file_check_reserved_lock(sqlite3_file* f, int* out) {
    auto* r = real_of(f);
    return r->pMethods->xCheckReservedLock(r, out);
}

int file_control(sqlite3_file* f, int op, void* arg) {
    auto* r = real_of(f);
    return r->pMethods->xFileControl(r, op, arg);
}

int file_sector_size(sqlite3_file* f) {
    auto* r = real_of(f);
    return r->pMethods->xSectorSize(r);
}

int file_device_characteristics(sqlite3_file* f) {
    auto* r = real_of(f);
    return r->pMethods->xDeviceCharacteristics(r);
}

int file_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    auto* r = real_of(f);
    return r->pMethods->xShmMap(r, region, size, extend, out);
}

int file_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    auto* r = real_of(f);
    return r->pMethods->xShmLock(r, offset, n, flags);
}

void file_shm_barrier(sqlite3_file* f) {
    auto* r = real_of(f);
    r->pMethods->xShmBarrier(r);
}

int file_shm_unmap(sqlite3_file* f, int delete_flag) {
    auto* r = real_of(f);
    return r->pMethods->xShmUnmap(r, delete_flag);
}

int file_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
    auto* r = real_of(f);
    return r->pMethods->xFetch(r, offset, amount, out);
}

int file_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
    auto* r = real_of(f);
    return r->pMethods->xUnfetch(r, offset, page);
}

/// The methods of a counted file, one table per version of the real file's methods: SQLite
/// calls the shared-memory (version 2) and memory-mapping (version 3) methods only if offered.
sqlite3_io_methods methods_of_version(int version) {
    return {version,
            file_close,
            file_read,
            file_write,
            file_truncate,
            file_sync,
            file_size,
            file_lock,
            file_unlock,
            file_check_reserved_lock,
            file_control,
            file_sector_size,
            file_device_characteristics,
            version >= 2 ? file_shm_map : nullptr,
            version >= 2 ? file_shm_lock : nullptr,
            version >= 2 ? file_shm_barrier : nullptr,
            version >= 2 ? file_shm_unmap : nullptr,
            version >= 3 ? file_fetch : nullptr,
            version >= 3 ? file_unfetch : nullptr};
}

const sqlite3_io_methods* methods_like(const sqlite3_io_methods* real) {
    static const sqlite3_io_methods tables[3] = {methods_of_version(1), methods_of_version(2),
                                                 methods_of_version(3)};
    const int version = real->iVersion < 1 ? 1 : (real->iVersion > 3 ? 3 : real->iVersion);
    return &tables[version - 1];
}

/// Returns: the counts of the database `name` (a file SQLite opens) belongs to, or null.
std::shared_ptr<store_file_counts::counts> counts_of(const char* name, int flags) {
    constexpr int database_files = SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL;
    if (name == nullptr || (flags & database_files) == 0) {
        return nullptr;
    }
    const char* database = sqlite3_filename_database(name);
    auto& r = counted();
    std::lock_guard lock(r.m);
    const auto it = r.by_path.find(database);
    return it == r.by_path.end() ? nullptr : it->second.lock();
}

int vfs_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
    auto* c = reinterpret_cast<counted_file*>(f);
    c->base.pMethods = nullptr;
    c->real = reinterpret_cast<sqlite3_file*>(c + 1);
    const int rc = root->xOpen(root, name, c->real, flags, out_flags);
    if (c->real->pMethods == nullptr) {
        return rc; // nothing opened: SQLite calls no method of this file, xClose included
    }
    new (&c->counts) std::shared_ptr<store_file_counts::counts>(counts_of(name, flags));
    c->base.pMethods = methods_like(c->real->pMethods);
    return rc;
}

// Everything but opening a file is the default VFS's, called with its own object.
int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
    return root->xDelete(root, name, sync_dir);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return root->xAccess(root, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
    return root->xFullPathname(root, name, size, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) {
    return root->xDlOpen(root, name);
}
void vfs_dl_error(sqlite3_vfs*, int size, char* out) {
    root->xDlError(root, size, out);
}
void (*vfs_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
    return root->xDlSym(root, handle, symbol);
}
void vfs_dl_close(sqlite3_vfs*, void* handle) {
    root->xDlClose(root, handle);
}
int vfs_randomness(sqlite3_vfs*, int size, char* out) {
    return root->xRandomness(root, size, out);
}
int vfs_sleep(sqlite3_vfs*, int us) {
    return root->xSleep(root, us);
}
int vfs_current_time(sqlite3_vfs*, double* out) {
    return root->xCurrentTime(root, out);
}
int vfs_get_last_error(sqlite3_vfs*, int size, char* out) {
    return root->xGetLastError != nullptr ? root->xGetLastError(root, size, out) : 0;
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
    return root->xCurrentTimeInt64(root, out);
}

/// Registers the counting VFS once. Throws: std::runtime_error if it cannot.
void register_counting_vfs() {
    static std::once_flag once;
    static int rc = SQLITE_OK;
    std::call_once(once, [] {
        root = sqlite3_vfs_find(nullptr);
        if (root == nullptr || root->iVersion < 2) {
            rc = SQLITE_ERROR;
            return;
        }
        static sqlite3_vfs vfs{};
        vfs.iVersion = 2;
        vfs.szOsFile = static_cast<int>(sizeof(counted_file)) + root->szOsFile;
        vfs.mxPathname = root->mxPathname;
        vfs.zName = counting_vfs_name;
        vfs.xOpen = vfs_open;
        vfs.xDelete = vfs_delete;
        vfs.xAccess = vfs_access;
        vfs.xFullPathname = vfs_full_pathname;
        vfs.xDlOpen = vfs_dl_open;
        vfs.xDlError = vfs_dl_error;
        vfs.xDlSym = vfs_dl_sym;
        vfs.xDlClose = vfs_dl_close;
        vfs.xRandomness = vfs_randomness;
        vfs.xSleep = vfs_sleep;
        vfs.xCurrentTime = vfs_current_time;
        vfs.xGetLastError = vfs_get_last_error;
        vfs.xCurrentTimeInt64 = vfs_current_time_int64;
        rc = sqlite3_vfs_register(&vfs, 0);
    });
    if (rc != SQLITE_OK) {
        throw std::runtime_error("the counting SQLite VFS cannot be registered");
    }
}

} // namespace

store_file_counts::store_file_counts(const std::filesystem::path& database)
    : counts_(std::make_shared<counts>()) {
    register_counting_vfs();
    // The key is the name SQLite gives the VFS: the full path as the default VFS makes it.
    std::vector<char> full(static_cast<std::size_t>(root->mxPathname) + 1);
    if (root->xFullPathname(root, database.c_str(), static_cast<int>(full.size()), full.data()) !=
        SQLITE_OK) {
        key_ = database.string(); // the database cannot be opened either: SQLite says why
    } else {
        key_ = full.data();
    }
    auto& r = counted();
    std::lock_guard lock(r.m);
    r.by_path[key_] = counts_;
}

store_file_counts::~store_file_counts() {
    auto& r = counted();
    std::lock_guard lock(r.m);
    const auto it = r.by_path.find(key_);
    if (it != r.by_path.end() && (it->second.expired() || it->second.lock() == counts_)) {
        r.by_path.erase(it);
    }
}

const char* store_file_counts::vfs_name() noexcept {
    return counting_vfs_name;
}

std::uint64_t store_file_counts::syncs() const noexcept {
    return counts_->syncs.load(std::memory_order_relaxed);
}

std::uint64_t store_file_counts::writes() const noexcept {
    return counts_->writes.load(std::memory_order_relaxed);
}

} // namespace choreo

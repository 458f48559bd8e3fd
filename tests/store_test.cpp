// A node's durable store: what it keeps across a reopen and a SIGKILL, and every data
// directory it refuses, byte for byte unchanged.
#include "patterns/store.hpp"

#include <csignal>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

namespace choreo {
namespace {

class store_dir : public ::testing::Test {
protected:
    std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                                 ("choreo-store-" + std::to_string(::getpid()) + "-" +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_identity payment_{"front_controller", "order", "payment"};

    void SetUp() override {
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path db() const { return dir_ / store::file_name("payment"); }
    static std::string bytes_of(const std::filesystem::path& p) {
        std::ifstream in(p, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), {}};
    }
    /// Expects opening `dir` as `who` to be refused with a message naming `path` and `reason`.
    static void expect_refused(const std::filesystem::path& dir, const store_identity& who,
                               const std::filesystem::path& path, std::string_view reason) {
        try {
            store s(dir, who);
            ADD_FAILURE() << "opened despite: " << reason;
        } catch (const store_refused& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(path.string()), std::string::npos) << what;
            EXPECT_NE(what.find(reason), std::string::npos) << what;
        }
    }
};

TEST_F(store_dir, keeps_state_outbox_and_applied_ids_across_a_reopen) {
    {
        store s(dir_, payment_);
        s.begin();
        s.put("account", "alice", std::string("\x00\x01", 2));
        s.put("account", "bob", "2");
        s.put("stock", "sku-1", "7");
        EXPECT_TRUE(s.mark_applied("order_placement", 41));
        EXPECT_FALSE(s.mark_applied("order_placement", 41)); // a duplicate
        EXPECT_TRUE(s.mark_applied("client", 41));           // another sender's id
        s.outbox_put(9, "fulfillment", "payment_applied", "body-9");
        s.outbox_put(10, "email", "payment_applied", "body-10");
        s.commit();
        s.begin();
        s.outbox_erase(9); // acknowledged
        s.erase("account", "bob");
        s.commit();
        EXPECT_EQ(s.counters().commits, 2U);
    }
    store s(dir_, payment_);
    EXPECT_EQ(s.get("account", "alice"), std::string("\x00\x01", 2));
    EXPECT_EQ(s.get("account", "bob"), std::nullopt);
    std::vector<std::string> keys;
    s.for_each("account", [&](std::string_view k, std::string_view) { keys.emplace_back(k); });
    EXPECT_EQ(keys, std::vector<std::string>{"alice"});
    EXPECT_TRUE(s.applied("order_placement", 41));
    EXPECT_TRUE(s.applied("client", 41));
    EXPECT_FALSE(s.applied("order_placement", 42));
    s.begin();
    EXPECT_FALSE(s.mark_applied("order_placement", 41)); // still a duplicate after the reopen
    s.commit();
    std::vector<std::uint64_t> outbox;
    s.for_each_outbox(
        [&](std::uint64_t id, std::string_view peer, std::string_view type, std::string_view body) {
            outbox.push_back(id);
            EXPECT_EQ(peer, "email");
            EXPECT_EQ(type, "payment_applied");
            EXPECT_EQ(body, "body-10");
        });
    EXPECT_EQ(outbox, std::vector<std::uint64_t>{10});
    const auto c = s.counters();
    EXPECT_EQ(c.outbox, 1U);
    EXPECT_EQ(c.applied_ids, 2U);
    EXPECT_EQ(c.state_entries, 2U);
}

TEST_F(store_dir, a_transaction_not_committed_leaves_nothing) {
    {
        store s(dir_, payment_);
        s.begin();
        s.put("account", "alice", "1");
        s.commit();
        s.begin();
        s.put("account", "alice", "2");
        EXPECT_TRUE(s.mark_applied("client", 1));
        s.rollback();
        s.begin();
        s.put("account", "carol", "3"); // open when the store is destroyed
    }
    store s(dir_, payment_);
    EXPECT_EQ(s.get("account", "alice"), "1");
    EXPECT_EQ(s.get("account", "carol"), std::nullopt);
    EXPECT_FALSE(s.applied("client", 1));
}

// A child process commits batches, then is killed with SIGKILL in the middle of the next:
// every committed batch is there, nothing of the one it was in.
TEST_F(store_dir, committed_batches_survive_sigkill_and_the_open_one_does_not) {
    constexpr int batches = 50;
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(ready[0]);
        store s(dir_, payment_);
        for (int b = 0; b < batches; ++b) {
            s.begin();
            for (int i = 0; i < 20; ++i) {
                s.put("account", std::to_string(b * 20 + i), std::to_string(b));
                s.mark_applied("client", static_cast<std::uint64_t>(b * 20 + i));
            }
            s.outbox_put(static_cast<std::uint64_t>(b), "email", "order_fulfilled", "x");
            s.commit();
        }
        s.begin();
        s.put("account", "uncommitted", "1");
        s.mark_applied("client", 1'000'000);
        const char go = 'k';
        (void)::write(ready[1], &go, 1);
        for (;;) {
            ::pause(); // killed here, the transaction open
        }
    }
    ::close(ready[1]);
    char got = 0;
    ASSERT_EQ(::read(ready[0], &got, 1), 1);
    ::close(ready[0]);
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    store s(dir_, payment_); // the lock died with the child
    const auto c = s.counters();
    EXPECT_EQ(c.state_entries, static_cast<std::uint64_t>(batches * 20));
    EXPECT_EQ(c.applied_ids, static_cast<std::uint64_t>(batches * 20));
    EXPECT_EQ(c.outbox, static_cast<std::uint64_t>(batches));
    EXPECT_EQ(s.get("account", "999"), std::to_string(batches - 1));
    EXPECT_EQ(s.get("account", "uncommitted"), std::nullopt);
    EXPECT_FALSE(s.applied("client", 1'000'000));
}

TEST_F(store_dir, the_inbox_keeps_the_newest_ids_it_is_told_to) {
    store s(dir_, payment_);
    s.begin();
    for (std::uint64_t id = 1; id <= 100; ++id) {
        s.mark_applied("client", id);
    }
    s.retain_applied(30);
    s.commit();
    EXPECT_EQ(s.counters().applied_ids, 30U);
    EXPECT_FALSE(s.applied("client", 70));
    EXPECT_TRUE(s.applied("client", 71));
    EXPECT_TRUE(s.applied("client", 100));
}

/// Commits `n` transactions of one row each. Returns: the store's syncs they added.
std::uint64_t syncs_of_commits(store& s, int n) {
    const auto before = s.syncs();
    for (int i = 0; i < n; ++i) {
        s.begin();
        s.put("account", "alice", std::to_string(i));
        s.commit();
    }
    return s.syncs() - before;
}

// The first commit into a fresh WAL also syncs the WAL's header; after it, each commit under
// machine_crash syncs the WAL once (no checkpoint comes before 1,000 pages of WAL).
TEST_F(store_dir, every_commit_is_synced_once_when_it_must_survive_a_machine_crash) {
    store s(dir_, payment_, store_sync::machine_crash);
    EXPECT_GE(syncs_of_commits(s, 1), 1U);
    EXPECT_EQ(syncs_of_commits(s, 20), 20U);
    EXPECT_EQ(s.commits(), 21U);
}

// A transaction that changes no row (a duplicate's inbox insert, ignored) writes nothing and
// syncs nothing: it is not counted as a commit either, so that synced commits and syncs agree.
TEST_F(store_dir, a_transaction_that_changes_nothing_is_neither_synced_nor_counted) {
    store s(dir_, payment_, store_sync::machine_crash);
    s.begin();
    EXPECT_TRUE(s.mark_applied("client", 7));
    s.commit();
    EXPECT_EQ(s.commits(), 1U);
    const auto syncs = s.syncs();
    s.begin();
    EXPECT_FALSE(s.mark_applied("client", 7)); // applied already
    s.commit();
    EXPECT_EQ(s.commits(), 1U);
    EXPECT_EQ(s.syncs(), syncs);
    EXPECT_EQ(syncs_of_commits(s, 3), 3U);
    EXPECT_EQ(s.commits(), 4U);
}

// synchronous=NORMAL in WAL mode: a commit writes the WAL and syncs nothing; only a checkpoint
// would (none comes before 1,000 pages of WAL).
TEST_F(store_dir, no_commit_is_synced_when_it_must_survive_only_a_process_crash) {
    store s(dir_, payment_, store_sync::process_crash);
    syncs_of_commits(s, 1);
    EXPECT_EQ(syncs_of_commits(s, 20), 0U);
    EXPECT_EQ(s.commits(), 21U);
}

// The counting VFS counts per database: two stores of one process count their own syncs, and a
// store opened after another was closed on the same path starts from zero.
TEST_F(store_dir, each_store_counts_the_syncs_of_its_own_files) {
    const auto other_dir = dir_ / "other";
    std::filesystem::create_directory(other_dir);
    {
        store synced(dir_, payment_, store_sync::machine_crash);
        store unsynced(other_dir, payment_, store_sync::process_crash);
        syncs_of_commits(synced, 1);
        syncs_of_commits(unsynced, 1);
        const auto quiet = unsynced.syncs();
        EXPECT_EQ(syncs_of_commits(synced, 5), 5U);
        EXPECT_EQ(unsynced.syncs(), quiet);
    }
    store reopened(dir_, payment_, store_sync::machine_crash);
    const auto at_open = reopened.syncs();
    syncs_of_commits(reopened, 1);
    EXPECT_EQ(syncs_of_commits(reopened, 3), 3U);
    EXPECT_LE(at_open, 2U); // the opening's own, if any: not the first store's
}

TEST_F(store_dir, a_second_process_on_the_same_data_is_refused) {
    store first(dir_, payment_);
    expect_refused(dir_, payment_, db(), "in use by another process");
}

TEST_F(store_dir, refuses_a_missing_directory_or_a_file_in_its_place) {
    expect_refused(dir_ / "none", payment_, dir_ / "none", "does not exist");
    EXPECT_FALSE(std::filesystem::exists(dir_ / "none"));
    std::ofstream(dir_ / "plain") << "a file\n";
    expect_refused(dir_ / "plain", payment_, dir_ / "plain", "is not a directory");
    EXPECT_EQ(bytes_of(dir_ / "plain"), "a file\n");
}

TEST_F(store_dir, refuses_a_directory_it_cannot_write) {
    std::filesystem::permissions(
        dir_,
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
            std::filesystem::perms::others_read | std::filesystem::perms::others_exec,
        std::filesystem::perm_options::replace);
    if (::geteuid() != 0) {
        expect_refused(dir_, payment_, dir_, "cannot be read and written");
    } else {
        // Root writes every directory: the node runs as nobody in a child process.
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
                ::_exit(3);
            }
            try {
                store s(dir_, payment_);
                ::_exit(1); // opened
            } catch (const store_refused& e) {
                ::_exit(std::string(e.what()).find("cannot be read and written") !=
                                std::string::npos
                            ? 0
                            : 2);
            }
        }
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0) << "1: opened, 2: another reason, 3: setuid failed";
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir_));
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
}

TEST_F(store_dir, refuses_files_that_are_not_its_database_without_changing_a_byte) {
    const auto refused_unchanged = [&](const std::string& content, std::string_view reason) {
        {
            std::ofstream out(db(), std::ios::binary | std::ios::trunc);
            out << content;
        }
        expect_refused(dir_, payment_, db(), reason);
        EXPECT_EQ(bytes_of(db()), content) << reason;
        EXPECT_FALSE(std::filesystem::exists(db().string() + "-wal")) << reason;
    };
    refused_unchanged("", "is empty");
    refused_unchanged("payment's notes\n", "is not an SQLite database");
    refused_unchanged(std::string(4096, '\0'), "is not an SQLite database");

    std::filesystem::remove(db());
    {
        SQLite::Database other(db().string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        other.exec("CREATE TABLE accounts (name TEXT)");
    }
    const auto foreign = bytes_of(db());
    expect_refused(dir_, payment_, db(), "not choreo's");
    EXPECT_EQ(bytes_of(db()), foreign);
}

TEST_F(store_dir, refuses_a_database_of_another_pattern_service_or_schema_unchanged) {
    {
        store s(dir_, payment_);
        s.begin();
        s.put("account", "alice", "1");
        s.commit();
    }
    const auto made = bytes_of(db());
    expect_refused(dir_, {"stateless", "order", "payment"}, db(),
                   "was made for payment of order under front_controller, not payment of order "
                   "under stateless");
    expect_refused(dir_, {"front_controller", "chain:4", "payment"}, db(), "was made for");
    EXPECT_EQ(bytes_of(db()), made);

    {
        SQLite::Database raw(db().string(), SQLite::OPEN_READWRITE);
        raw.exec("UPDATE choreo_meta SET value = '2' WHERE key = 'schema'");
        raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    const auto newer = bytes_of(db());
    expect_refused(dir_, payment_, db(), "has schema version 2; this choreo reads version 1");
    EXPECT_EQ(bytes_of(db()), newer);
}

} // namespace
} // namespace choreo

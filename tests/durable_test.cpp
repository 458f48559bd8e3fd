// Durable nodes: a node killed and restarted on its data directory carries on; a batch's sends
// leave only once it commits; a data directory that is not the node's is refused; a node whose
// data directory goes read-only stops, and restarted on a writable copy carries on.
#include "patterns/durable.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo/spawn.hpp"
#include "harness.hpp"
#include "outside_events.hpp"
#include "patterns/deployment.hpp"
#include "patterns/remote_deployment.hpp"
#include "scratch.hpp"
#include "traffic_model.hpp"

namespace choreo {
namespace {

const std::string bin_dir = CHOREO_BIN_DIR;

using testing::scratch;

/// Every file under `dir` (relative path -> its bytes and permissions): to see that nothing
/// in it changed, byte for byte.
std::map<std::string, std::string> contents_of(const std::filesystem::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        const auto rel = std::filesystem::relative(e.path(), dir).string();
        const auto perms = std::to_string(static_cast<unsigned>(e.status().permissions()));
        if (e.is_regular_file()) {
            std::ifstream in(e.path(), std::ios::binary);
            const std::string bytes(std::istreambuf_iterator<char>(in), {});
            // Size and hash, not the bytes: a failure prints what differs, readably.
            out[rel] = perms + ":" + std::to_string(bytes.size()) + " B, hash " +
                       std::to_string(std::hash<std::string>{}(bytes));
        } else {
            out[rel] = perms + ":(directory)";
        }
    }
    return out;
}

// ---- read-only filesystems, mounted for the test --------------------------------------------

/// Gives this process's thread a mount namespace of its own, its mounts private: what a test
/// mounts is seen by it and the children it starts, by no other process, and goes when the
/// process ends, even if it crashes. Needs CAP_SYS_ADMIN (the tests run as root); call it from
/// the thread that starts the children (a namespace is per thread until it forks).
/// Returns: why it cannot, or nullopt once it has.
std::optional<std::string> mounts_of_our_own() {
    static const auto why = []() -> std::optional<std::string> {
        if (::unshare(CLONE_NEWNS) != 0) {
            return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
        }
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            return std::string("mount --make-rprivate /: ") + std::strerror(errno);
        }
        return std::nullopt;
    }();
    return why;
}

/// A filesystem mounted on a directory, unmounted with this object.
class mounted {
public:
    explicit mounted(std::filesystem::path at) : at_(std::move(at)) {}
    ~mounted() { ::umount2(at_.c_str(), MNT_DETACH); }
    mounted(const mounted&) = delete;
    mounted& operator=(const mounted&) = delete;

private:
    std::filesystem::path at_;
};

/// Mounts a tmpfs on `at`. Returns: why it could not, or nullopt.
std::optional<std::string> mount_tmpfs(const std::filesystem::path& at) {
    if (const auto why = mounts_of_our_own()) {
        return why;
    }
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, "size=16m,mode=0700") != 0) {
        return "mount -t tmpfs " + at.string() + ": " + std::strerror(errno);
    }
    return std::nullopt;
}

/// Makes the filesystem mounted on `at` read-only (nothing may be open on it for writing).
void remount_read_only(const std::filesystem::path& at) {
    if (::mount(nullptr, at.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
        throw std::system_error(errno, std::generic_category(), "remount,ro " + at.string());
    }
}

/// Makes a 32 MiB ext4 filesystem in `image` and mounts it on `at` through a loop device, with
/// errors=remount-ro: the first error the filesystem meets makes it read-only, as a disk that
/// fails under a running node does. Returns: why it could not mount, or nullopt.
/// Throws: std::runtime_error if mkfs.ext4 (e2fsprogs, which scripts/install-deps installs) fails.
std::optional<std::string> mount_ext4_image(const std::filesystem::path& image,
                                            const std::filesystem::path& at) {
    if (const auto why = mounts_of_our_own()) {
        return why;
    }
    std::ofstream(image).close();
    std::filesystem::resize_file(image, 32U << 20U);
    const auto [made, made_says] = testing::run_command(
        "PATH=$PATH:/usr/sbin:/sbin mkfs.ext4 -q -F " + image.string() + " 2>&1");
    if (made != 0) {
        throw std::runtime_error("mkfs.ext4 failed: " + made_says);
    }
    const auto [code, says] =
        testing::run_command("PATH=$PATH:/usr/sbin:/sbin mount -o loop,errors=remount-ro " +
                             image.string() + " " + at.string() + " 2>&1");
    if (code != 0) {
        return "mount -o loop " + image.string() + ": " + says;
    }
    return std::nullopt;
}

/// Raises an error in the ext4 filesystem mounted on `at` (/sys/fs/ext4/DEV/trigger_fs_error),
/// which errors=remount-ro answers by making it read-only at once, files open or not: every
/// later write to it fails.
void fail_ext4_filesystem(const std::filesystem::path& at) {
    struct stat st {};
    if (::stat(at.c_str(), &st) != 0) {
        throw std::system_error(errno, std::generic_category(), "stat " + at.string());
    }
    const auto block =
        std::filesystem::read_symlink("/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" +
                                      std::to_string(minor(st.st_dev)));
    const auto trigger = "/sys/fs/ext4/" + block.filename().string() + "/trigger_fs_error";
    std::ofstream out(trigger);
    out << "1\n";
    out.flush();
    if (!out) {
        throw std::runtime_error("cannot write " + trigger);
    }
}

/// Sends what this process and its children write to stderr into a file while it lives, then
/// copies it to the real stderr: the test reads what a child printed, and nothing is lost.
class stderr_captured {
public:
    explicit stderr_captured(std::filesystem::path file) : file_(std::move(file)) {
        std::fflush(stderr);
        saved_ = ::dup(STDERR_FILENO);
        const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (saved_ < 0 || fd < 0 || ::dup2(fd, STDERR_FILENO) < 0) {
            throw std::system_error(errno, std::generic_category(), "redirecting stderr");
        }
        ::close(fd);
    }
    ~stderr_captured() {
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        std::cerr << text() << std::flush;
    }
    stderr_captured(const stderr_captured&) = delete;
    stderr_captured& operator=(const stderr_captured&) = delete;

    /// Returns: what was written so far.
    std::string text() const {
        std::ifstream in(file_, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), {}};
    }

private:
    std::filesystem::path file_;
    int saved_ = -1;
};

// ---- (a) a node's process killed and restarted on its data directory -----------------------

class durable_restart : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow wf_ = testing::workflow_named("order");

    /// Kills payment's process after `after` handled messages while a batch is in flight,
    /// restarts it on its data directory, and checks that every workflow ends as predicted
    /// with every domain effect once.
    void kill_mid_batch(std::vector<std::string> node_args) {
        constexpr std::size_t workflows = 40;
        const std::string victim = "payment";
        const std::size_t after = 25; // mid-batch: payment handles more than 40 messages
        demo::spawned_services children(
            bin_dir + "/choreo-node", pattern_, wf_, transport::tcp, {"client"}, {},
            default_retain_finished, std::move(node_args),
            demo::parse_faults({"kill:" + victim + "@" + std::to_string(after) + ":restart=100ms"})
                .plan,
            1);
        ASSERT_FALSE(children.data_dir().empty()); // durable unless told otherwise
        remote_deployment d(pattern_, wf_, children.where(), testing::remote());
        children.share(d.where());
        ASSERT_TRUE(d.wait_ready(testing::deadline).empty());

        const auto b = testing::place(d, "mixed", workflows, 31);
        ASSERT_TRUE(children.await_fault_events(2, testing::deadline));
        const auto events = children.fault_events();
        ASSERT_EQ(events.size(), 2U);
        EXPECT_EQ(events[0].what, "killed");
        EXPECT_EQ(events[1].what, "restarted") << events[1].detail;
        EXPECT_EQ(children.tally(), (demo::fault_tally{1, 1, 0, 0}));

        ASSERT_TRUE(testing::ended_as_planned(d, b));
        // Nothing lost (the journal and snapshot rebuilt the state, the outbox resent what was
        // not acknowledged), nothing doubled (the inbox dropped what was applied already).
        EXPECT_TRUE(testing::effects_as_predicted(d, b));
        // The restarted node remembers every workflow: nothing it is sent again is refused.
        EXPECT_EQ(d.rejected(), 0U);
        for (const auto& seen : d.inspect_all()) {
            EXPECT_GT(seen.store_commits, 0U) << seen.node;
            EXPECT_GT(seen.store_rows_written, seen.store_commits) << seen.node;
        }
    }
};

TEST_P(durable_restart, a_killed_node_restarted_on_its_data_dir_replays_its_journal) {
    kill_mid_batch({}); // no snapshot in so short a run: the journal holds everything
}

TEST_P(durable_restart, a_killed_node_restarted_on_its_data_dir_loads_its_snapshot) {
    // A snapshot at every commit: the restarted node's state comes from it (save() and load()
    // of its domain service and its pattern), the journal holds at most the last batch.
    kill_mid_batch({"--snapshot-every", "1"});
}

INSTANTIATE_TEST_SUITE_P(every_pattern, durable_restart,
                         ::testing::ValuesIn(testing::modelled_patterns()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// ---- (a') a domain service's later work across a kill and a restart -------------------------

// The survey service retries surveys it could not send, on its own, after their tickets closed
// (docs/PROTOCOL.md, "Later work"). Killed while it holds some, its restart finds them in its
// store, with every round it had run (journaled among its messages): it runs the rest, and every
// retry counts once.
TEST(durable_later_work, a_survey_service_killed_while_it_retries_carries_on_after_its_restart) {
    const auto& p = testing::pattern_named("front_controller");
    const auto wf = testing::workflow_named("ticket");
    demo::spawned_services children(bin_dir + "/choreo-node", p, wf, transport::tcp, {"client"}, {},
                                    default_retain_finished, {});
    ASSERT_FALSE(children.data_dir().empty());
    remote_deployment d(p, wf, children.where(), testing::remote());
    children.share(d.where());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());

    const auto b = testing::place_and_drive(d, "survey_down", 20, 5);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    // Killed between two rounds: some retries made, some surveys still held.
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    domain_effects seen;
    for (;;) {
        seen = d.effects_now();
        if (seen["surveys_retried"] > 0 && seen["surveys_to_retry"] > 0) {
            break;
        }
        ASSERT_LT(std::chrono::steady_clock::now(), until) << "no round of retries was seen";
        ASSERT_NE(seen["surveys_to_retry"], 0) << "every retry was made before the kill";
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    children.kill("survey", SIGKILL);
    children.restart("survey");
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    // As predicted: the held surveys were retried after the restart, none lost, none twice.
    EXPECT_TRUE(testing::effects_as_predicted(d, b));
    EXPECT_EQ(d.rejected(), 0U);
}

// The same in one process, where the restarted node can be asked what it replayed: stopped
// between two rounds, the survey node restarted on its data directory replays the rounds it ran
// (they are not run again) and runs the rest.
TEST(durable_later_work, a_survey_node_restarted_on_its_data_dir_replays_the_rounds_it_ran) {
    const auto& p = testing::pattern_named("stamp_coupling");
    const auto wf = testing::workflow_named("ticket");
    scratch dir("later");
    auto o = testing::options(transport::inproc);
    o.node.data_dir = dir.path();
    testing::batch b;
    {
        local_deployment d(p, wf, o);
        b = testing::place_and_drive(d, "survey_down", 20, 5);
        ASSERT_TRUE(testing::ended_as_planned(d, b));
        const auto until = std::chrono::steady_clock::now() + testing::deadline;
        while (d.effects_now()["surveys_retried"] == 0) {
            ASSERT_LT(std::chrono::steady_clock::now(), until) << "no round of retries was seen";
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ASSERT_GT(d.effects_now()["surveys_to_retry"], 0) << "every retry was made already";
    } // every node stopped: what each committed stays
    local_deployment d(p, wf, o);
    const auto rounds =
        d.on_service("survey", [](service_node& s) { return s.recovered().later_rounds; });
    EXPECT_GT(rounds, 0U);
    EXPECT_TRUE(testing::effects_as_predicted(d, b));
}

// ---- (b) sends held until their batch commits ----------------------------------------------

class held_sends : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow wf_ = testing::workflow_named("order");
};

// The entry node's first commit is refused: the node stops with the batch rolled back. What
// the handler of the client's place_order sent never reached the wire (no other node received
// anything), nothing was acknowledged (the client resends it), and the store holds nothing of
// the batch: no applied id, no outbox row, no journal row.
TEST_P(held_sends, a_batch_whose_commit_fails_sends_nothing_and_acks_nothing) {
    scratch dir{"durable"};
    const auto entry = pattern_.entry(wf_);
    auto o = testing::options(transport::tcp);
    o.node.data_dir = dir.path();
    o.node.commit_fault_node = entry;
    o.node.commit_fault_at = 1;
    {
        local_deployment d(pattern_, wf_, o);
        auto gen = module_of(wf_).make_workload(wf_, "happy", 5);
        d.client().place(gen.value()->take(1).front().details);
        // The client resends what was never acknowledged (resend_initial later): by then what
        // the entry's handler sent had every chance to arrive, had it been sent.
        const auto until = std::chrono::steady_clock::now() + testing::deadline;
        while (d.counters(d.client().name()).resent < 1 &&
               std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        const auto client = d.counters(d.client().name());
        ASSERT_GE(client.resent, 1U);
        EXPECT_EQ(client.acks_received, 0U);
        EXPECT_EQ(client.unacked, 1U);
        const auto stopped = d.counters(entry);
        EXPECT_EQ(stopped.received, 1U);
        EXPECT_EQ(stopped.sent, 0U); // held, then dropped with the rolled-back batch
        EXPECT_EQ(stopped.acks_sent, 0U);
        EXPECT_EQ(stopped.store_commits, 0U);
        for (const auto& n : d.nodes()) {
            if (n != entry) {
                EXPECT_EQ(d.counters(n).received, 0U) << n;
            }
        }
    }
    store s(dir.path(), {std::string(pattern_.name()), wf_.name, entry});
    const auto c = s.counters();
    EXPECT_EQ(c.applied_ids, 0U);
    EXPECT_EQ(c.outbox, 0U);
    EXPECT_EQ(c.state_entries, 0U);
}

// Without a fault the same deployment, durable, ends every workflow as predicted, one commit
// per batch: never more commits than the batches it read, and what it applied is in its inbox.
TEST_P(held_sends, a_durable_deployment_ends_every_workflow_as_predicted) {
    scratch dir{"durable"};
    auto o = testing::options(transport::tcp);
    o.node.data_dir = dir.path();
    local_deployment d(pattern_, wf_, o);
    const auto b = testing::place(d, "mixed", 30, 7);
    ASSERT_TRUE(testing::ended_as_planned(d, b));
    EXPECT_TRUE(testing::effects_as_predicted(d, b));
    std::uint64_t commits = 0, rows = 0, received = 0;
    for (const auto& n : d.nodes()) {
        const auto c = d.counters(n);
        EXPECT_GT(c.store_commits, 0U) << n;
        EXPECT_LE(c.store_commits, c.received + c.acks_received) << n;
        EXPECT_EQ(c.held, 0U) << n;
        commits += c.store_commits;
        rows += c.store_rows_written;
        received += c.received;
    }
    // What a durable run costs, for the record (not asserted: batching follows the timing).
    std::cout << pattern_.name() << ": " << b.ids.size() << " workflows, " << received
              << " messages handled, " << commits << " commits, " << rows << " rows written\n";
}

INSTANTIATE_TEST_SUITE_P(every_pattern, held_sends,
                         ::testing::ValuesIn(testing::modelled_patterns()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// ---- (b2) one workflow per id, across a restart of the entry -----------------------------

/// The client places workflow id X, hears it end, the entry's process is killed and started
/// again, and the client places X again: a new place_order, a new message id, so that the
/// applied ids cannot tell it from a new order; only the workflow ids the entry remembers can.
class placed_again : public ::testing::TestWithParam<std::string> {
protected:
    const pattern& pattern_ = testing::pattern_named(GetParam());
    const workflow wf_ = testing::workflow_named("order");
    const std::string entry_ = pattern_.entry(wf_);
    const std::string id_ = "placed-twice-1";

    /// What the entry and the client saw of the second place_order.
    struct second_place {
        std::uint64_t refused_by_entry{}; ///< since its restart
        std::uint64_t ends_heard{};       ///< distinct workflow_ended messages the client read
        bool effects_once{};              ///< domain effects as predicted for one workflow
    };

    static msg::inspect_reply inspect_of(remote_deployment& d, const std::string& node) {
        for (auto& r : d.inspect_all()) {
            if (r.node == node) {
                return r;
            }
        }
        throw std::runtime_error("no inspect reply from " + node);
    }
    /// Workflow_ended messages the client read, each once: it acks every one, a duplicate too.
    static std::uint64_t ends_heard(remote_deployment& d) {
        const auto delivery = d.client_ledger().delivery();
        return delivery.acked_ids - delivery.duplicates.messages;
    }
    /// Polls `done` every 20 ms until it holds or the deadline passes. Returns: whether it held.
    static bool await(const std::function<bool()>& done) {
        const auto until = std::chrono::steady_clock::now() + testing::deadline;
        while (!done()) {
            if (std::chrono::steady_clock::now() > until) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return true;
    }

    /// Places X, restarts the entry, places X again. `second_done`: when the second place_order
    /// has had its effect, whatever it is.
    second_place place_twice(std::vector<std::string> node_args,
                             const std::function<bool(remote_deployment&)>& second_done) {
        demo::spawned_services children(bin_dir + "/choreo-node", pattern_, wf_, transport::tcp,
                                        {"client"}, {}, default_retain_finished,
                                        std::move(node_args));
        remote_deployment d(pattern_, wf_, children.where(), testing::remote());
        children.share(d.where());
        EXPECT_TRUE(d.wait_ready(testing::deadline).empty());
        auto gen = module_of(wf_).make_workload(wf_, "happy", 3);
        testing::batch b;
        b.plans = gen.value()->take(1);
        b.ids = {id_};
        d.client().place(id_, b.plans.front().details);
        EXPECT_TRUE(testing::ended_as_planned(d, b));
        // Nothing left to resend before the kill: the client's place_order acked, every node's
        // outbox empty. Otherwise a resend of the first place_order would come into play.
        EXPECT_TRUE(await([&] {
            if (d.client_ledger().delivery().acks_received.messages == 0) {
                return false;
            }
            const auto all = d.inspect_all();
            return std::all_of(all.begin(), all.end(),
                               [](const msg::inspect_reply& r) { return r.unacked == 0; });
        })) << "delivery did not settle";
        EXPECT_EQ(ends_heard(d), 1U);

        children.kill(entry_, SIGKILL);
        children.restart(entry_);
        EXPECT_TRUE(d.wait_ready(testing::deadline).empty());
        d.client().place(id_, b.plans.front().details);
        EXPECT_TRUE(await([&] { return second_done(d); }))
            << "the second place_order had no effect";
        return {inspect_of(d, entry_).rejected, ends_heard(d),
                static_cast<bool>(testing::effects_as_predicted(d, b))};
    }
};

// A durable entry remembers the workflow ids placed with it: from its journal when it replays
// it, and from its snapshot once a snapshot has replaced the journal. The second place_order is
// refused duplicate_workflow (docs/PROTOCOL.md) and starts nothing: the client hears one end.
TEST_P(placed_again, a_durable_entry_refuses_a_workflow_id_placed_before_its_restart) {
    const auto refused = [&](remote_deployment& d) { return inspect_of(d, entry_).rejected > 0; };
    const auto got = place_twice({}, refused);
    EXPECT_EQ(got.refused_by_entry, 1U);
    EXPECT_EQ(got.ends_heard, 1U);
    EXPECT_TRUE(got.effects_once);
}

TEST_P(placed_again, a_durable_entry_remembers_the_ids_placed_in_its_snapshot) {
    // A snapshot at every commit that journaled anything: at the kill the journal is empty, the
    // ids placed are in the snapshot only.
    scratch dir{"durable"};
    const auto refused = [&](remote_deployment& d) { return inspect_of(d, entry_).rejected > 0; };
    const auto got =
        place_twice({"--snapshot-every", "1", "--data-dir", dir.path().string()}, refused);
    EXPECT_EQ(got.refused_by_entry, 1U);
    EXPECT_EQ(got.ends_heard, 1U);
    EXPECT_TRUE(got.effects_once);
    // The entry (stopped now) restarted from a snapshot with nothing after it to replay: what
    // refused the second place_order came from the snapshot.
    durable_store left(dir.path(), {std::string(pattern_.name()), wf_.name, entry_});
    EXPECT_TRUE(left.last_snapshot().has_value());
    EXPECT_EQ(left.journal_rows(), 0U);
}

// In memory, the restarted entry has forgotten everything: the second place_order starts the
// workflow again and the client hears it end a second time (its client logs "ended twice").
// The other services still hold their records of X: they answer from them, and no domain effect
// happens twice.
TEST_P(placed_again, an_entry_in_memory_forgets_the_ids_placed_before_its_restart) {
    const auto ended_again = [](remote_deployment& d) { return ends_heard(d) >= 2; };
    const auto got = place_twice({"--in-memory"}, ended_again);
    EXPECT_EQ(got.refused_by_entry, 0U);
    EXPECT_EQ(got.ends_heard, 2U);
    EXPECT_TRUE(got.effects_once);
}

INSTANTIATE_TEST_SUITE_P(every_pattern, placed_again,
                         ::testing::ValuesIn(testing::modelled_patterns()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// ---- (c) data directories that are not the node's --------------------------------------------

class bad_data_dir : public ::testing::Test {
protected:
    void SetUp() override {
        topology_ = files_.path() / "topology";
        std::ofstream t(topology_);
        for (const auto& n : testing::pattern_named("stateless").nodes(wf_)) {
            t << n << " ipc://" << (files_.path() / n).string() << ".sock\n";
        }
        t << "client ipc://" << (files_.path() / "client.sock").string() << " client\n";
    }
    /// Runs payment under stateless on `data`. Returns: its exit status and what it printed.
    std::pair<int, std::string> run_on(const std::filesystem::path& data) {
        return testing::run_command(bin_dir +
                                    "/choreo-node --pattern stateless --service payment "
                                    "--topology " +
                                    topology_.string() + " --data-dir " + data.string() + " 2>&1");
    }
    /// Expects payment refused on `data` with status 2, naming `path` and `why`, and `data`
    /// left as it was, byte for byte.
    void expect_refused(const std::filesystem::path& data, const std::filesystem::path& path,
                        const std::string& why) {
        const bool listable =
            std::filesystem::is_directory(data) && ::access(data.c_str(), R_OK) == 0;
        const auto before = listable ? contents_of(data) : std::map<std::string, std::string>{};
        const auto [code, out] = run_on(data);
        EXPECT_EQ(code, 2) << out;
        EXPECT_NE(out.find("data directory refused: " + path.string() + ": "), std::string::npos)
            << out;
        EXPECT_NE(out.find(why), std::string::npos) << out;
        if (listable) {
            EXPECT_EQ(contents_of(data), before) << data;
        }
    }

    const workflow wf_ = testing::workflow_named("order");
    scratch files_{"durable"}; ///< the topology
    scratch data_{"durable"};
    std::filesystem::path topology_;
};

TEST_F(bad_data_dir, a_missing_directory) {
    const auto missing = data_.path() / "missing";
    expect_refused(missing, missing, "does not exist");
    EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(bad_data_dir, a_file_instead_of_a_directory) {
    const auto file = data_.path() / "file";
    std::ofstream(file) << "not a directory";
    expect_refused(file, file, "is not a directory");
}

// A directory the node cannot read and write is refused by the store itself; the tests run as
// root, which reads and writes any directory, so store_dir.refuses_a_directory_it_cannot_write
// checks it as nobody, in a child process.

TEST_F(bad_data_dir, a_file_that_is_not_a_database) {
    std::ofstream(data_.path() / "payment.db") << "payment's notes, not a database at all";
    expect_refused(data_.path(), data_.path() / "payment.db", "is not an SQLite database");
}

TEST_F(bad_data_dir, an_empty_file) {
    std::ofstream(data_.path() / "payment.db").flush();
    expect_refused(data_.path(), data_.path() / "payment.db", "is empty");
}

TEST_F(bad_data_dir, an_sqlite_database_that_is_not_choreo_s) {
    {
        SQLite::Database db((data_.path() / "payment.db").string(),
                            SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("CREATE TABLE accounts (id TEXT PRIMARY KEY, cents INTEGER)");
    }
    expect_refused(data_.path(), data_.path() / "payment.db", "not choreo's");
}

TEST_F(bad_data_dir, another_schema_version) {
    { store made(data_.path(), {"stateless", "order", "payment"}); }
    {
        SQLite::Database db((data_.path() / "payment.db").string(), SQLite::OPEN_READWRITE);
        db.exec("UPDATE choreo_meta SET value = '99' WHERE key = 'schema'");
    }
    expect_refused(data_.path(), data_.path() / "payment.db", "has schema version 99");
}

TEST_F(bad_data_dir, a_database_of_another_pattern) {
    { store made(data_.path(), {"orchestration", "order", "payment"}); }
    expect_refused(data_.path(), data_.path() / "payment.db",
                   "was made for payment of order under orchestration, not payment of order "
                   "under stateless");
}

TEST_F(bad_data_dir, a_database_in_use_by_another_node) {
    store running(data_.path(), {"stateless", "order", "payment"});
    expect_refused(data_.path(), data_.path() / "payment.db", "is in use by another process");
}

// A read-only filesystem refuses what the node would write to it: its store, which it would
// carry on from, is refused before it is opened (status 2, naming the directory and why), and
// the directory is left as it was. The tests run as root, which writes any directory a
// permission check guards, but no read-only filesystem.
TEST_F(bad_data_dir, a_directory_on_a_read_only_filesystem) {
    const auto ro = data_.path() / "read-only";
    std::filesystem::create_directory(ro);
    if (const auto why = mount_tmpfs(ro)) {
        GTEST_SKIP() << "NOT TESTED: a data directory on a read-only filesystem needs a mount of "
                        "the test's own, which this machine does not permit: "
                     << *why;
    }
    mounted fs(ro);
    { store made(ro, {"stateless", "order", "payment"}); } // payment's, from an earlier run
    remount_read_only(ro);
    expect_refused(ro, ro, "cannot be read and written: Read-only file system");
    EXPECT_TRUE(std::filesystem::exists(ro / "payment.db"));
}

TEST_F(bad_data_dir, choreo_demo_and_choreo_bench_refuse_a_missing_directory_with_status_2) {
    const auto missing = (data_.path() / "missing").string();
    for (const auto* program : {"choreo-demo", "choreo-bench"}) {
        const auto [code, out] =
            testing::run_command(bin_dir + "/" + program + " --data-dir " + missing + " 2>&1");
        EXPECT_EQ(code, 2) << program << ": " << out;
        EXPECT_NE(out.find(missing), std::string::npos) << program << ": " << out;
    }
    EXPECT_FALSE(std::filesystem::exists(missing));
}

// ---- (d) a data directory that goes read-only under a running node --------------------------

/// Waits until `pid`, a child of this process, has exited, without reaping it (spawned_services
/// reaps it). Returns: true if it exited before the deadline.
bool exited_within_deadline(pid_t pid) {
    const auto until = std::chrono::steady_clock::now() + testing::deadline;
    while (std::chrono::steady_clock::now() < until) {
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

// Payment's database lives on an ext4 filesystem that goes read-only mid-run (an error, as a
// failing disk raises, with errors=remount-ro). Its next commit fails: the node stops loudly,
// with status 1, rather than carry on with what it cannot keep. Restarted on a writable copy of
// its database, it carries on: the workflows in flight when it stopped end as predicted (what
// the failed batch held was never acknowledged, so its senders resend it), and so do the next
// 200 mixed orders, each domain effect once.
TEST(read_only_filesystem, a_node_whose_store_goes_read_only_stops_and_carries_on_from_a_copy) {
    const pattern& p = testing::pattern_named("stateless");
    const workflow wf = testing::workflow_named("order");
    const std::string victim = "payment";
    scratch dir{"durable"};
    const auto disk = dir.path() / "disk";
    const auto data = dir.path() / "data";
    std::filesystem::create_directory(disk);
    std::filesystem::create_directory(data);
    if (const auto why = mount_ext4_image(dir.path() / "disk.img", disk)) {
        GTEST_SKIP() << "NOT TESTED: a data directory going read-only needs a filesystem "
                        "mounted by the test, which this machine does not permit: "
                     << *why;
    }
    mounted fs(disk);
    // The node's database on that filesystem, its lock file and the other nodes' stores in the
    // data directory: only payment's store goes read-only.
    const auto database = disk / (victim + ".db");
    { store made(disk, {std::string(p.name()), wf.name, victim}); }
    std::filesystem::create_symlink(database, data / (victim + ".db"));

    stderr_captured printed(dir.path() / "stderr");
    demo::spawned_services children(bin_dir + "/choreo-node", p, wf, transport::tcp, {"client"}, {},
                                    default_retain_finished, {"--data-dir", data.string()});
    remote_deployment d(p, wf, children.where(), testing::remote());
    children.share(d.where());
    ASSERT_TRUE(d.wait_ready(testing::deadline).empty());
    const auto before = testing::place(d, "mixed", 20, 61);
    ASSERT_TRUE(testing::ended_as_planned(d, before));
    EXPECT_GT(std::filesystem::file_size(database), 0U);

    const pid_t pid = children.pid_of(victim);
    fail_ext4_filesystem(disk);
    const auto during = testing::place(d, "mixed", 20, 62);
    ASSERT_TRUE(exited_within_deadline(pid)) << victim << " still runs on a read-only store";
    const int status = children.kill(victim, SIGKILL); // it has exited: this reaps it
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 1);
    EXPECT_NE(
        printed.text().find("choreo-node: " + victim + ": stopped: the store refused a commit: "),
        std::string::npos)
        << printed.text();

    // The operator's remedy: a writable copy of what the read-only filesystem still reads
    // (the database and the WAL of its committed batches), in the node's data directory.
    std::filesystem::remove(data / (victim + ".db"));
    for (const auto* suffix : {"", "-wal"}) {
        const auto from = database.string() + suffix;
        if (std::filesystem::exists(from)) {
            std::filesystem::copy_file(from, data.string() + "/" + victim + ".db" + suffix);
        }
    }
    children.restart(victim);
    ASSERT_TRUE(testing::ended_as_planned(d, during));

    const auto after = testing::place(d, "mixed", 200, 63);
    ASSERT_TRUE(testing::ended_as_planned(d, after));
    testing::batch all;
    for (const auto* b : {&before, &during, &after}) {
        all.ids.insert(all.ids.end(), b->ids.begin(), b->ids.end());
        all.plans.insert(all.plans.end(), b->plans.begin(), b->plans.end());
    }
    EXPECT_TRUE(testing::effects_as_predicted(d, all)); // nothing lost, nothing twice
    EXPECT_EQ(d.rejected(), 0U); // the restarted node remembers every workflow
}

} // namespace
} // namespace choreo

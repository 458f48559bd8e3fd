// A durable node's snapshot: a retention map written and read back is the same map, down to
// the order in which it will retire its entries.
#include "patterns/snapshot.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace choreo {
namespace {

/// What can be seen of a map: per id, held (in progress or finished) or retired with a label.
std::vector<std::string> seen(const retention_map<std::string>& m, int ids) {
    std::vector<std::string> out;
    for (int i = 0; i < ids; ++i) {
        const auto id = "wf-" + std::to_string(i);
        if (const auto* v = m.find(id)) {
            out.push_back(id + (m.finished(id) ? " finished " : " open ") + *v);
        } else if (const auto label = m.retired(id)) {
            out.push_back(id + " retired " + std::string(*label));
        } else {
            out.push_back(id + " unknown");
        }
    }
    return out;
}

TEST(snapshot, a_retention_map_reads_back_as_it_was_written_and_retires_in_the_same_order) {
    retention_map<std::string> before(3, 4);
    for (int i = 0; i < 10; ++i) {
        before.try_emplace("wf-" + std::to_string(i), "value " + std::to_string(i));
    }
    for (const int i : {4, 1, 7, 2, 8, 0}) { // 4, 1 and 7 retired (kept: 2, 8, 0)
        before.finish("wf-" + std::to_string(i), i % 2 == 0 ? "completed" : "payment_rejected");
    }
    before.finish("wf-2", "back_ordered"); // finished again: now the newest
    snapshot::writer w;
    snapshot::write(w, before);
    w << std::string("after"); // what follows the map is read in its turn

    retention_map<std::string> after(3, 4);
    after.try_emplace("stale", "dropped by the read");
    snapshot::reader r(w.bytes());
    snapshot::read(r, after);
    std::string tail;
    r >> tail;
    EXPECT_EQ(tail, "after");
    EXPECT_TRUE(r.done());
    EXPECT_FALSE(after.contains("stale"));
    EXPECT_EQ(seen(after, 10), seen(before, 10));
    EXPECT_EQ(after.size(), before.size());
    EXPECT_EQ(after.finished_count(), 3U);

    // The same next steps retire the same entries: the order of finishing came back too.
    for (auto* m : {&before, &after}) {
        m->finish("wf-3", "completed");
        m->finish("wf-5", "completed");
    }
    EXPECT_EQ(seen(after, 10), seen(before, 10));
    EXPECT_FALSE(after.contains("wf-8"));
    EXPECT_FALSE(after.contains("wf-0"));
    EXPECT_TRUE(after.contains("wf-2"));
}

TEST(snapshot, bytes_that_are_not_a_map_are_refused_with_an_exception) {
    retention_map<std::string> m(3, 4);
    snapshot::writer w;
    w << 42;
    snapshot::reader r(w.bytes());
    EXPECT_THROW(snapshot::read(r, m), msgpack::type_error);
    snapshot::reader truncated(std::string("\x93\x01", 2));
    EXPECT_THROW(snapshot::read(truncated, m), msgpack::unpack_error);
}

} // namespace
} // namespace choreo

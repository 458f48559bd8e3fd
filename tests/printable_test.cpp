// Names from the wire are escaped before they reach a log line or a MessagePack str: a newline
// cannot forge a log line, and bytes that are not UTF-8 cannot break a strict decoder.
#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "harness.hpp"
#include "patterns/codec.hpp"
#include "patterns/deployment.hpp"
#include "patterns/log.hpp"

namespace choreo::testing {
namespace {

TEST(printable, keeps_printable_ascii_and_valid_utf8) {
    EXPECT_EQ(printable("order_placement"), "order_placement");
    EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    EXPECT_EQ(printable(""), "");
}

TEST(printable, escapes_control_bytes_backslash_and_bytes_that_are_not_utf8) {
    EXPECT_EQ(printable("a\nb"), "a\\x0ab");
    EXPECT_EQ(printable("a\rb\x7f"), "a\\x0db\\x7f");
    EXPECT_EQ(printable(std::string_view("a\0b", 3)), "a\\x00b");
    EXPECT_EQ(printable("back\\slash"), "back\\x5cslash"); // an escape cannot be forged either
    EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
    EXPECT_EQ(printable("\xc3"), "\\xc3");                            // cut short
    EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                   // overlong
    EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");          // a surrogate
    EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80"); // past U+10FFFF
}

// A peer whose name (the envelope's sender, and its routing id) holds a newline and a byte that
// is not UTF-8 asks for a status: the reply goes back to it, and the trace the node keeps (what
// inspect returns as str) names it in printable UTF-8.
TEST(printable, a_sender_name_from_the_wire_is_recorded_escaped) {
    local_deployment d(pattern_named("front_controller"), workflow_named("order"),
                       options(transport::ipc));
    zmq::context_t ctx;
    zmq::socket_t peer(ctx, zmq::socket_type::dealer);
    const std::string rid = "evil\nline\xff";
    peer.set(zmq::sockopt::routing_id, rid);
    peer.set(zmq::sockopt::linger, 0);
    peer.connect(*d.where().endpoint_of("order_placement"));
    msg::envelope env{1, "wf-x", rid, 0, 0, 7};
    const auto f = encode(message{env, msg::status_request{"wf-x"}});
    peer.send(zmq::buffer(f.type), zmq::send_flags::sndmore);
    peer.send(zmq::buffer(f.body), zmq::send_flags::none);
    std::vector<zmq::message_t> reply;
    peer.set(zmq::sockopt::rcvtimeo, static_cast<int>(deadline.count()));
    ASSERT_TRUE(zmq::recv_multipart(peer, std::back_inserter(reply)));
    ASSERT_EQ(reply.size(), 2U);
    EXPECT_EQ(reply[0].to_string(), "status_reply");
    bool seen = false;
    for (const auto& r : d.traffic().trace()) {
        if (r.query_id == 7) {
            EXPECT_EQ(r.to, "evil\\x0aline\\xff");
            seen = true;
        }
    }
    EXPECT_TRUE(seen);
}

} // namespace
} // namespace choreo::testing

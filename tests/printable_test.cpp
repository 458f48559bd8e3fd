// Names from the wire are escaped before they reach a log line or a MessagePack str: a newline
// cannot forge a log line, and bytes that are not UTF-8 cannot break a strict decoder. A string
// field that is not UTF-8 does not get that far: the decoder refuses it (errc::not_utf8).
#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "harness.hpp"
#include "patterns/codec.hpp"
#include "patterns/deployment.hpp"
#include "patterns/log.hpp"
#include "patterns/utf8.hpp"

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

// A peer whose routing id holds a newline and a byte that is not UTF-8, and whose envelope's
// sender holds the newline (a str must be UTF-8: one that is not is refused, see below), asks for
// a status: the reply goes back to it, and the trace the node keeps (what inspect returns as
// str) names it, escaped, in printable UTF-8.
TEST(printable, a_sender_name_from_the_wire_is_recorded_escaped) {
    local_deployment d(pattern_named("front_controller"), workflow_named("order"),
                       options(transport::ipc));
    zmq::context_t ctx;
    zmq::socket_t peer(ctx, zmq::socket_type::dealer);
    const std::string rid = "evil\nline\xff";
    peer.set(zmq::sockopt::routing_id, rid);
    peer.set(zmq::sockopt::linger, 0);
    peer.connect(*d.where().endpoint_of("order_placement"));
    msg::envelope env{1, "wf-x", "evil\nline", 0, 0, 7};
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
            EXPECT_EQ(r.to, "evil\\x0aline");
            seen = true;
        }
    }
    EXPECT_TRUE(seen);
}

TEST(utf8, keeps_every_valid_sequence_and_refuses_the_rest) {
    EXPECT_TRUE(is_utf8(""));
    EXPECT_TRUE(is_utf8(std::string_view("a\0b", 3)));
    EXPECT_TRUE(is_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
    EXPECT_FALSE(is_utf8("\xff"));
    EXPECT_FALSE(is_utf8("wf-\xc3"));          // cut short
    EXPECT_FALSE(is_utf8("\xc0\xaf"));         // overlong
    EXPECT_FALSE(is_utf8("\xe0\x80\xaf"));     // overlong
    EXPECT_FALSE(is_utf8("\xed\xa0\x80"));     // a surrogate
    EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80")); // past U+10FFFF
    EXPECT_FALSE(is_utf8("ok\x80"));           // a continuation byte alone
}

// A client places an order whose workflow id holds 0xff, over a real socket: the entry node
// refuses it at its boundary (not_utf8, counted once, answered with an error reply that does not
// echo the id), starts no workflow, and nothing any node keeps, the trace that inspect returns
// included, holds a string that is not UTF-8. Then the deployment runs orders as predicted.
TEST(utf8, a_workflow_id_that_is_not_utf8_is_refused_at_the_boundary) {
    local_deployment d(pattern_named("front_controller"), workflow_named("order"),
                       options(transport::tcp));
    const auto entry = d.used_pattern().entry(d.flow());
    zmq::context_t ctx;
    zmq::socket_t peer(ctx, zmq::socket_type::dealer);
    peer.set(zmq::sockopt::routing_id, "stranger");
    peer.set(zmq::sockopt::linger, 0);
    peer.set(zmq::sockopt::rcvtimeo, static_cast<int>(deadline.count()));
    peer.connect(*d.where().endpoint_of(entry));
    const std::string bad_id = "wf-\xff-1";
    auto gen = module_of(d.flow()).make_workload(d.flow(), "happy", 3);
    const msg::place_order order{d.flow().name, "stranger", gen.value()->take(1).front().details};
    const auto f = encode(message{{1, bad_id, "stranger", 0, 0, 0}, order});
    peer.send(zmq::buffer(f.type), zmq::send_flags::sndmore);
    peer.send(zmq::buffer(f.body), zmq::send_flags::none);

    std::vector<zmq::message_t> reply;
    ASSERT_TRUE(zmq::recv_multipart(peer, std::back_inserter(reply)));
    ASSERT_EQ(reply.size(), 2U);
    const auto answer = decode(reply[0].to_string(), reply[1].to_string());
    ASSERT_TRUE(answer.ok());
    const auto* error = msg::get_if<msg::error_reply>(&answer.value().payload);
    ASSERT_NE(error, nullptr) << answer.value().payload.type_name();
    EXPECT_EQ(error->code, "not_utf8");
    EXPECT_EQ(answer.value().env.workflow_id, ""); // the id is not echoed

    const auto c = d.counters(entry);
    EXPECT_EQ(c.rejected, 1U);
    EXPECT_EQ(c.rejected_by, (std::map<std::string, std::uint64_t>{{"not_utf8", 1}}));
    EXPECT_EQ(c.received, 0U);
    for (const auto& r : d.traffic().trace()) {
        EXPECT_TRUE(is_utf8(r.workflow_id)) << printable(r.workflow_id);
        EXPECT_TRUE(is_utf8(r.from) && is_utf8(r.to)) << printable(r.from + " " + r.to);
        EXPECT_NE(r.type, "place_order"); // no workflow started
    }

    const auto b = place(d, "mixed", 20, 9);
    EXPECT_TRUE(ended_as_planned(d, b));
    EXPECT_TRUE(effects_as_predicted(d, b));
}

} // namespace
} // namespace choreo::testing

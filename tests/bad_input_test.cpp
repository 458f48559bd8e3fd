// A live node under garbage: every bad message is counted, answered and dropped, and the
// deployment goes on running workflows as if nothing had happened.
#include "patterns/deployment.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "harness.hpp"
#include "patterns/codec.hpp"
#include "patterns/errors.hpp"
#include "registry/builtin.hpp"
#include "stateless/contracts.hpp"
#include "workflows/order/order.hpp"

namespace choreo {
namespace {

/// How long the intruder waits for an answer before the test fails.
const auto answer_deadline = testing::scaled(std::chrono::seconds(5));

/// The service the garbage goes to: a middle step, so it is neither first nor last.
const std::string target = "payment";

// ---- the garbage -------------------------------------------------------------------------------

/// The envelope on the intruder's garbage, where there is one.
const msg::envelope garbage_envelope{1, "intruder-wf", "intruder", 0, 1, 7};

std::string valid_event_body() {
    return encode(
               {garbage_envelope,
                msg::workflow_event{"order", "order_placed", 0, "intruder",
                                    msg::value::of(order::order{"c001", {{"sku-001", 1, 749}}})}})
        .body;
}

/// A workflow_event without its business payload ("details"). What is inside the payload is
/// opaque to the codec and refused by the domain service that reads it, not at the boundary.
std::string event_body_missing_details() {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> pk(buffer);
    pk.pack_map(2);
    pk.pack(std::string("env"));
    pk.pack(garbage_envelope);
    pk.pack(std::string("payload"));
    pk.pack_map(4);
    pk.pack(std::string("workflow"));
    pk.pack(std::string("order"));
    pk.pack(std::string("event"));
    pk.pack(std::string("order_placed"));
    pk.pack(std::string("step"));
    pk.pack(std::uint32_t{0});
    pk.pack(std::string("reply_to"));
    pk.pack(std::string("intruder"));
    return {buffer.data(), buffer.size()};
}

/// An envelope that is a string instead of a map.
std::string body_with_envelope_not_a_map() {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> pk(buffer);
    pk.pack_map(2);
    pk.pack(std::string("env"));
    pk.pack(std::string("envelope"));
    pk.pack(std::string("payload"));
    pk.pack(msg::workflow_event{});
    return {buffer.data(), buffer.size()};
}

struct garbage {
    std::string name;
    std::function<std::vector<std::string>()> frames; ///< what the intruder sends
    errc expected;
    bool decodes = false;      ///< a valid contract: the node decodes it, then refuses it
    bool has_envelope = false; ///< [type, body] with a valid envelope in the body
};

std::vector<garbage> every_kind_of_garbage() {
    return {
        {"one_frame", [] { return std::vector<std::string>{"workflow_event"}; },
         errc::malformed_frames},
        {"three_frames",
         [] {
             return std::vector<std::string>{"workflow_event", valid_event_body(), "extra"};
         },
         errc::malformed_frames},
        {"body_not_msgpack",
         [] {
             return std::vector<std::string>{"workflow_event",
                                             std::string("\xc1 this is not msgpack")};
         },
         errc::not_msgpack},
        {"unknown_type",
         [] {
             return std::vector<std::string>{"launch_rockets", valid_event_body()};
         },
         errc::unknown_type, false, true},
        {"envelope_not_a_map",
         [] {
             return std::vector<std::string>{"workflow_event", body_with_envelope_not_a_map()};
         },
         errc::wrong_type},
        {"missing_field",
         [] {
             return std::vector<std::string>{"workflow_event", event_body_missing_details()};
         },
         errc::missing_field, false, true},
        {"oversized_frame",
         [] {
             return std::vector<std::string>{"workflow_event",
                                             std::string(codec_limits{}.max_frame_bytes + 1, 'x')};
         },
         errc::oversized_frame},
        {"workflow_id_not_utf8",
         [] {
             // A workflow id the node would otherwise keep and echo in MessagePack str fields
             // (status_reply, inspect's trace, stuck_reply): refused, and not named in the
             // error reply either.
             auto env = garbage_envelope;
             env.workflow_id = "wf-\xff\xfe";
             const auto f = encode({env, stateless::snapshot_request{env.workflow_id}});
             return std::vector<std::string>{f.type, f.body};
         },
         errc::not_utf8},
        {"payload_string_not_utf8",
         [] {
             const auto f =
                 encode({garbage_envelope, stateless::snapshot_request{"wf-\xc3(cut-short"}});
             return std::vector<std::string>{f.type, f.body};
         },
         errc::not_utf8, false, true},
        {"unexpected_message",
         [] {
             // Under stateless choreography no node owns the workflow state, so a status
             // request (for an owner of state: a front controller, an orchestrator) has no
             // taker.
             const auto f = encode({garbage_envelope, msg::status_request{"x"}});
             return std::vector<std::string>{f.type, f.body};
         },
         errc::unexpected_message, true, true},
    };
}

// ---- the intruder: a raw DEALER outside the deployment -----------------------------------------

class intruder {
public:
    explicit intruder(const std::string& endpoint) : socket_(context_, zmq::socket_type::dealer) {
        socket_.set(zmq::sockopt::routing_id, "intruder");
        socket_.set(zmq::sockopt::linger, 0);
        socket_.connect(endpoint);
    }

    void send(const std::vector<std::string>& frames) {
        for (std::size_t i = 0; i < frames.size(); ++i) {
            const auto more =
                i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
            ASSERT_TRUE(socket_.send(zmq::buffer(frames[i]), more));
        }
    }

    /// Returns: the next message's frames, or nullopt if none came before the deadline.
    std::optional<std::vector<std::string>> receive() {
        zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
        if (zmq::poll(items, 1, answer_deadline) == 0) {
            return std::nullopt;
        }
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(socket_, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
            return std::nullopt;
        }
        std::vector<std::string> out;
        for (auto& p : parts) {
            taken_over(p); // TSan: see patterns/handover.hpp
            out.push_back(p.to_string());
        }
        return out;
    }

    /// Receives one message and decodes it (fails the test if there is none or it is bad).
    std::optional<message> receive_message() {
        const auto frames = receive();
        EXPECT_TRUE(frames.has_value()) << "no answer within the deadline";
        if (!frames) {
            return std::nullopt;
        }
        EXPECT_EQ(frames->size(), 2U);
        if (frames->size() != 2) {
            return std::nullopt;
        }
        auto decoded = decode((*frames)[0], (*frames)[1]);
        EXPECT_TRUE(decoded.ok()) << error_code_name(decoded.error());
        if (!decoded) {
            return std::nullopt;
        }
        return std::move(decoded).value();
    }

private:
    zmq::context_t context_;
    zmq::socket_t socket_;
};

/// Returns: `before` with one more rejection for `why`.
node_counters one_more_rejection(node_counters before, errc why) {
    ++before.rejected;
    ++before.rejected_by[error_code_name(why)];
    return before;
}

// ---- one kind of garbage, over one transport ---------------------------------------------------

class bad_input : public ::testing::TestWithParam<std::tuple<transport, garbage>> {
protected:
    transport via() const { return std::get<0>(GetParam()); }
    const garbage& junk() const { return std::get<1>(GetParam()); }

    void SetUp() override {
        d_ = std::make_unique<local_deployment>(testing::pattern_named("stateless"),
                                                testing::workflow_named("order"),
                                                testing::options(via()));
        const auto endpoint = d_->where().endpoint_of(target);
        ASSERT_TRUE(endpoint.has_value());
        intruder_ = std::make_unique<intruder>(*endpoint);
    }

    void TearDown() override {
        intruder_.reset();
        d_.reset();
    }

    /// Asks the target for a snapshot of a workflow nobody placed: the next thing the intruder
    /// receives must be this answer, so nothing else was sent to it before.
    void expect_snapshot_answer_next() {
        const auto f = encode({{2, "never-placed", "intruder", 0, 0, 4242},
                               stateless::snapshot_request{"never-placed"}});
        intruder_->send({f.type, f.body});
        const auto answer = intruder_->receive_message();
        ASSERT_TRUE(answer.has_value());
        EXPECT_EQ(answer->env.query_id, 4242U);
        EXPECT_EQ(answer->env.workflow_id, "never-placed");
        EXPECT_EQ(answer->payload, msg::payload(stateless::snapshot_reply{target, {}}));
    }

    std::unique_ptr<local_deployment> d_;
    std::unique_ptr<intruder> intruder_;
};

std::string name_of(const ::testing::TestParamInfo<bad_input::ParamType>& info) {
    return std::string(to_string(std::get<0>(info.param))) + "_" + std::get<1>(info.param).name;
}

INSTANTIATE_TEST_SUITE_P(over_tcp_and_ipc, bad_input,
                         ::testing::Combine(::testing::Values(transport::tcp, transport::ipc),
                                            ::testing::ValuesIn(every_kind_of_garbage())),
                         name_of);

TEST_P(bad_input, is_counted_once_under_its_reason) {
    const auto before = d_->counters(target);
    ASSERT_EQ(before.rejected, 0U);
    ASSERT_TRUE(before.rejected_by.empty());

    intruder_->send(junk().frames());
    const auto reply = intruder_->receive_message();
    ASSERT_TRUE(reply.has_value());

    const auto after = d_->counters(target);
    const auto expected = one_more_rejection(before, junk().expected);
    EXPECT_EQ(after.rejected, expected.rejected);
    EXPECT_EQ(after.rejected_by, expected.rejected_by);
    EXPECT_EQ(after.rejected_by.at(error_code_name(junk().expected)), 1U);
    // Only a decoded message counts as received; the one message sent is the error reply.
    EXPECT_EQ(after.received, before.received + (junk().decodes ? 1U : 0U));
    EXPECT_EQ(after.sent, before.sent + 1);
    EXPECT_EQ(after.handler_errors, 0U);
}

TEST_P(bad_input, is_answered_with_one_error_reply_naming_the_reason) {
    intruder_->send(junk().frames());
    const auto reply = intruder_->receive_message();
    ASSERT_TRUE(reply.has_value());
    const auto* error = msg::get_if<msg::error_reply>(&reply->payload);
    ASSERT_NE(error, nullptr) << reply->payload.type_name();
    const auto& e = *error;
    EXPECT_EQ(e.code, error_code_name(junk().expected));
    EXPECT_EQ(e.reason, std::error_code(junk().expected).message());
    EXPECT_EQ(reply->env.sender, target);
    // The refused message's workflow and query are named whenever its envelope can be read.
    EXPECT_EQ(reply->env.workflow_id, junk().has_envelope ? garbage_envelope.workflow_id : "");
    EXPECT_EQ(reply->env.query_id, junk().has_envelope ? garbage_envelope.query_id : 0U);
    expect_snapshot_answer_next();
}

TEST_P(bad_input, leaves_the_deployment_running_workflows_with_unchanged_effects) {
    intruder_->send(junk().frames());
    ASSERT_TRUE(intruder_->receive_message().has_value());

    const auto batch = testing::place(*d_, "mixed", 40);
    EXPECT_TRUE(testing::ended_as_planned(*d_, batch));
    EXPECT_EQ(d_->effects(), testing::predicted(*d_, batch));
    for (const auto& service : d_->nodes()) {
        const auto c = d_->counters(service);
        EXPECT_EQ(c.rejected, service == target ? 1U : 0U) << service;
        EXPECT_EQ(c.handler_errors, 0U) << service;
    }
    EXPECT_EQ(d_->counters(d_->client().name()).rejected, 0U);
}

// ---- every kind of garbage in a row ------------------------------------------------------------

class garbage_burst : public ::testing::TestWithParam<transport> {};

std::string transport_name(const ::testing::TestParamInfo<transport>& param) {
    return std::string(to_string(param.param));
}

INSTANTIATE_TEST_SUITE_P(over_tcp_and_ipc, garbage_burst,
                         ::testing::Values(transport::tcp, transport::ipc), transport_name);

TEST_P(garbage_burst, every_kind_of_garbage_is_counted_under_its_own_reason) {
    local_deployment d(testing::pattern_named("stateless"), testing::workflow_named("order"),
                       testing::options(GetParam()));
    intruder in(*d.where().endpoint_of(target));
    const auto all = every_kind_of_garbage();
    for (const auto& g : all) {
        in.send(g.frames());
    }
    std::map<std::string, std::uint64_t> codes;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto reply = in.receive_message();
        ASSERT_TRUE(reply.has_value()) << "reply " << i;
        const auto* e = msg::get_if<msg::error_reply>(&reply->payload);
        ASSERT_NE(e, nullptr) << "reply " << i;
        // Replies come back in the order the garbage went in.
        EXPECT_EQ(e->code, error_code_name(all[i].expected)) << all[i].name;
        ++codes[e->code];
    }
    const std::map<std::string, std::uint64_t> expected{
        {"malformed_frames", 2},   {"not_msgpack", 1},   {"unknown_type", 1},
        {"wrong_type", 1},         {"missing_field", 1}, {"oversized_frame", 1},
        {"unexpected_message", 1}, {"not_utf8", 2}};
    EXPECT_EQ(codes, expected);
    const auto c = d.counters(target);
    EXPECT_EQ(c.rejected, all.size());
    EXPECT_EQ(c.rejected_by, expected);

    const auto batch = testing::place(d, "mixed", 40);
    EXPECT_TRUE(testing::ended_as_planned(d, batch));
    EXPECT_EQ(d.effects(), testing::predicted(d, batch));
    EXPECT_EQ(d.counters(target).rejected, all.size());
}

// ---- status of a workflow nobody placed --------------------------------------------------------

TEST(status_of_an_unknown_workflow,
     is_not_found_and_costs_what_a_known_one_costs_in_every_pattern) {
    for (const auto& p : builtin_patterns().all()) {
        SCOPED_TRACE(std::string(p->name()));
        local_deployment d(*p, testing::workflow_named("order"),
                           testing::options(transport::inproc));
        const auto batch = testing::place(d, "mixed", 20);
        ASSERT_TRUE(testing::ended_as_planned(d, batch));

        const auto known = d.client().status(batch.ids.front());
        const auto unknown = d.client().status("no-such-workflow");

        EXPECT_TRUE(known.status.found);
        EXPECT_EQ(known.status.state, batch.plans.front().expected_terminal);
        EXPECT_FALSE(unknown.status.found);
        EXPECT_EQ(unknown.status.state, "unknown");
        EXPECT_TRUE(unknown.status.notified.empty());

        EXPECT_EQ(unknown.asked, known.asked);
        EXPECT_EQ(unknown.answered.size(), unknown.asked.size());
        EXPECT_TRUE(unknown.errors.empty()) << unknown.errors.front();
        EXPECT_EQ(unknown.cost.messages, known.cost.messages);
        EXPECT_EQ(unknown.cost.messages, 2 * unknown.asked.size());

        for (const auto& node : d.nodes()) {
            EXPECT_EQ(d.counters(node).rejected, 0U) << node;
        }
    }
}

} // namespace
} // namespace choreo

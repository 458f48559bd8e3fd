#include "patterns/service_node.hpp"

#include <algorithm>
#include <stdexcept>

#include "patterns/log.hpp"

namespace choreo {

result<std::unique_ptr<domain_service>> domain_for(const pattern& p, const workflow& wf,
                                                   std::string_view name) {
    const auto services = wf.services();
    if (std::find(services.begin(), services.end(), name) != services.end()) {
        return module_of(wf).make_service(wf, name);
    }
    const auto extra = p.extra_nodes(wf);
    if (std::find(extra.begin(), extra.end(), name) != extra.end()) {
        return std::unique_ptr<domain_service>();
    }
    return std::error_code(errc::unknown_service);
}

service_node::service_node(zmq::context_t& context, asio::io_context& io, const pattern& p,
                           const workflow& wf, std::string name,
                           std::unique_ptr<domain_service> domain, ledger& book,
                           node_options options)
    : node_(context, io, std::move(name), book, options), domain_(std::move(domain)),
      context_(wf, domain_.get(), node_, book, options.retain_finished),
      behaviour_(p.make_service(context_)) {
    if (options.retain_finished == 0) {
        throw std::invalid_argument("retain_finished must be at least 1");
    }
    if (domain_) {
        domain_->retain_finished(options.retain_finished);
    }
    node_.on_message([this](node&, const incoming& in) { receive(in); });
    node_.on_send_failed([this](const failed_send& f) { behaviour_->send_failed(f); });
}

service_node::~service_node() {
    if (!waiting_.empty()) {
        log().error("{}: stopped while holding {} message(s), never handled", node_.name(),
                    waiting_.size());
    }
}

namespace {
// An entry packs to about 200 bytes: 500 keep an inspect_reply near 100 KiB, well under the
// 256 KiB frame limit of the receiving node.
constexpr std::size_t max_entries_per_reply = 500;
} // namespace

msg::inspect_reply service_node::inspect(std::uint64_t since, std::size_t limit) const {
    msg::inspect_reply r;
    r.node = node_.name();
    const auto n = std::min(limit, max_entries_per_reply);
    for (auto& t : node_.book().trace_since(since, n + 1)) {
        r.sent.push_back({t.seq, t.at_ns, t.from, t.to, t.type, t.label, t.bytes, t.workflow_id,
                          t.query_id, t.client});
    }
    r.more = r.sent.size() > n;
    if (r.more) {
        r.sent.pop_back();
    }
    const auto received = node_.book().received();
    r.received_messages = received.messages;
    r.received_bytes = received.bytes;
    const auto c = node_.counters();
    r.rejected = c.rejected;
    r.backlog = c.backlog;
    r.dropped_by_fault = c.dropped_by_fault;
    r.duplicates = c.duplicates;
    r.acks_sent = c.acks_sent;
    const auto delivery = node_.book().delivery();
    r.acks_bytes = delivery.acks_sent.bytes;
    r.acked_ids = delivery.acked_ids;
    r.resent = c.resent;
    r.unacked = c.unacked;
    r.applied_ids = c.applied_ids;
    r.state_bytes = behaviour_->state_bytes();
    r.state_workflows = behaviour_->state_workflows();
    if (domain_) {
        domain_->add_effects(r.effects);
        r.domain_bytes = domain_->domain_bytes();
    }
    return r;
}

void service_node::receive(const incoming& in) {
    // Inspection is answered even while workflow traffic is held.
    if (const auto* ask = msg::get_if<msg::inspect_request>(&in.msg.payload)) {
        // Operator traffic: an answer that cannot go out leaves the asker to time out.
        static_cast<void>(
            node_.reply(in, {"", 0, in.msg.env.query_id, inspect(ask->since_seq, ask->limit)}));
        return;
    }
    if (const auto* h = msg::get_if<msg::hold_request>(&in.msg.payload)) {
        h->hold ? hold() : release();
        static_cast<void>(node_.reply(in, {"", 0, in.msg.env.query_id, inspect(0, 0)}));
        return;
    }
    if (held_ && in.msg.env.query_id == 0) {
        waiting_.push_back(in);
        return;
    }
    if (const auto ec = behaviour_->receive(in)) {
        node_.refuse(in, ec);
        // The error_reply counts in the traffic of the workflow the refused message named: the
        // node is done with it, so that a stream of made-up workflow ids cannot grow the ledger
        // (a workflow still under way here is finished again, as the newest, when it ends).
        if (in.msg.env.query_id == 0 && !in.msg.env.workflow_id.empty()) {
            node_.book().finish(in.msg.env.workflow_id);
        }
    }
    if (handled_hook_ && in.msg.env.query_id == 0) {
        handled_hook_(in); // acted on, refused or not
    }
}

void service_node::release() {
    held_ = false;
    while (!waiting_.empty() && !held_) {
        auto in = std::move(waiting_.front());
        waiting_.pop_front();
        receive(in);
    }
}

} // namespace choreo

#include "patterns/service_node.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

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
      context_(wf, domain_.get(), node_, book, options.retain_finished, options.retain_early),
      behaviour_(p.make_service(context_)), later_timer_(io) {
    if (options.retain_finished == 0) {
        throw std::invalid_argument("retain_finished must be at least 1");
    }
    if (options.retain_early == 0) {
        throw std::invalid_argument("retain_early must be at least 1");
    }
    if (domain_) {
        domain_->retain_finished(options.retain_finished);
        domain_->retain_early(options.retain_early);
    }
    node_.on_message([this](node&, const incoming& in) { receive(in); });
    node_.on_send_failed([this](const failed_send& f) { behaviour_->send_failed(f); });
    if (!options.data_dir.empty()) {
        open_store(p, wf, options);
    }
    arm_later(); // what a restart found held for later
}

namespace {
/// The journal's entry for a round of the domain service's later work (no message type has
/// this name: types are snake_case words).
constexpr std::string_view later_round_entry = "(later round)";
} // namespace

void service_node::arm_later() {
    if (later_armed_ || !domain_ || domain_->later_work() == 0 || node_.stopped()) {
        return;
    }
    later_armed_ = true;
    later_timer_.expires_after(domain_->later_period());
    later_timer_.async_wait([this](const boost::system::error_code& ec) {
        later_armed_ = false;
        if (!ec && !node_.stopped()) {
            later_round();
        }
    });
}

void service_node::later_round() {
    if (durable_) {
        durable_->journal(later_round_entry, {});
    }
    domain_->run_later();
    node_.commit_soon();
    arm_later();
}

namespace {
// Message ids reserved beyond the last one used at each commit: more than the acks and error
// replies a node can send before its next commit (at most a batch's worth).
constexpr std::uint64_t message_id_headroom = 1U << 20;
} // namespace

void service_node::open_store(const pattern& p, const workflow& wf, const node_options& options) {
    limits_ = options.limits;
    snapshot_every_batches_ = std::max<std::uint64_t>(1, options.snapshot_every_batches);
    snapshot_every_messages_ = std::max<std::uint64_t>(1, options.snapshot_every_messages);
    durable_ = std::make_shared<durable_store>(
        options.data_dir, store_identity{std::string(p.name()), wf.name, node_.name()},
        options.sync);
    const auto where = durable_->db().path().string();
    try {
        if (const auto bytes = durable_->last_snapshot()) {
            snapshot::reader r(*bytes);
            if (domain_) {
                domain_->load(r);
            }
            behaviour_->load(r);
            // The workflow ids placed here, for duplicate_workflow (none in a snapshot written
            // before the node kept them).
            if (!r.done()) {
                std::vector<std::uint64_t> placed;
                r >> placed;
                for (const auto hash : placed) {
                    node_.note_placed_hash(hash);
                }
            }
            recovered_.snapshot = true;
        }
    } catch (const std::exception& e) {
        throw store_refused(where + ": its snapshot cannot be read: " + e.what());
    }
    // The journal's messages were applied after the snapshot: applied again, in order, they
    // rebuild the state. What they sent then is in the outbox already: nothing is sent now.
    node_.suppress_sends(true);
    try {
        durable_->for_each_journaled([&](std::string_view type, std::string_view body) {
            if (type == later_round_entry) {
                if (domain_) {
                    domain_->run_later();
                }
                ++recovered_.later_rounds;
                return;
            }
            auto m = decode(type, body, limits_);
            if (!m) {
                throw store_refused(where + ": a journaled " + std::string(type) +
                                    " cannot be decoded: " + m.error().message());
            }
            incoming in{std::move(m).value(), {}, false, body.size(), {}};
            in.peer = in.msg.env.sender;
            // Placed after the snapshot: a place_order is journaled only if the node took it
            // (a second one for its workflow id was refused before it got here).
            if (in.msg.payload.holds<msg::place_order>() && !in.msg.env.workflow_id.empty()) {
                node_.note_placed(in.msg.env.workflow_id);
            }
            static_cast<void>(behaviour_->receive(in)); // refused then too: answered then
            ++recovered_.replayed;
        });
    } catch (const msgpack::type_error& e) {
        node_.suppress_sends(false);
        throw store_refused(where + ": its journal cannot be read: " + e.what());
    } catch (...) {
        node_.suppress_sends(false);
        throw;
    }
    node_.suppress_sends(false);
    node_.continue_message_ids_from(durable_->message_ids_from());
    auto out = std::make_unique<store_outbox>(durable_, options.outbox_capacity);
    recovered_.unacked = out->size();
    node_.set_delivery_stores(std::move(out), std::make_unique<store_applied_ids>(
                                                  durable_, options.applied_ids_retained));
    if (!options.commit_fault_node.empty() && options.commit_fault_node == node_.name()) {
        durable_->refuse_commit(options.commit_fault_at);
    }
    durable_->before_commit([this] { before_commit(); });
    if (recovered_.snapshot || recovered_.replayed > 0 || recovered_.later_rounds > 0 ||
        recovered_.unacked > 0) {
        log().info("{}: restarted from {}: snapshot {}, {} journaled message(s) and {} round(s) "
                   "of later work replayed, {} unacknowledged message(s) to send again",
                   node_.name(), where, recovered_.snapshot ? "loaded" : "none",
                   recovered_.replayed, recovered_.later_rounds, recovered_.unacked);
    }
}

void service_node::before_commit() {
    ++batches_since_snapshot_;
    // Held messages are journaled but not applied yet: a snapshot now would miss them.
    if (waiting_.empty() && durable_->journal_rows() > 0 &&
        (durable_->journal_rows() >= snapshot_every_messages_ ||
         batches_since_snapshot_ >= snapshot_every_batches_)) {
        snapshot::writer w;
        if (domain_) {
            domain_->save(w);
        }
        behaviour_->save(w);
        // The journal's place_orders go with it: the ids they placed are kept here instead.
        std::vector<std::uint64_t> placed;
        placed.reserve(node_.placed().size());
        node_.placed().for_each(
            [&](std::uint64_t hash, std::string_view) { placed.push_back(hash); });
        w << placed;
        durable_->snapshot(w.bytes());
        batches_since_snapshot_ = 0;
        ++snapshots_;
    }
    durable_->reserve_message_ids(node_.last_message_id(), message_id_headroom);
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
    r.store_commits = c.store_commits;
    r.store_rows_written = c.store_rows_written;
    r.store_syncs = c.store_syncs;
    r.early_evicted = early_evicted();
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
    if (durable_ && node::carries_effects(in.msg.payload, in.msg.env.query_id) &&
        !in.body.empty()) {
        // In the batch's transaction, with its applied id: replayed after a restart.
        durable_->journal(in.msg.payload.type_name(), in.body);
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
    arm_later();
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

#include "patterns/ledger.hpp"

#include <algorithm>
#include <iterator>

#include "patterns/clock.hpp"

namespace choreo {

std::string label_of(const msg::payload& p) {
    return p.label();
}

void ledger::add_sent(std::string_view workflow_id, std::uint64_t query_id, bool client,
                      std::size_t bytes) {
    sent_.add(bytes);
    if (!by_workflow_ || query_id != 0 || workflow_id.empty()) {
        return;
    }
    // One lookup for a workflow already held (every send but its first); a retired one is not
    // taken up again.
    auto* w = workflows_.find(workflow_id);
    if (w == nullptr && !workflows_.retired(workflow_id)) {
        w = &workflows_[workflow_id];
    }
    if (w != nullptr) {
        (client ? w->client : w->inter_service).add(bytes);
    }
}

void ledger::finish(std::string_view workflow_id) {
    std::lock_guard lock(mutex_);
    workflows_.finish(workflow_id);
}

std::uint64_t ledger::trace_dropped() const {
    std::uint64_t n = 0;
    {
        std::lock_guard lock(mutex_);
        n = dropped_;
    }
    for (const auto* p : parts_) {
        n += p->trace_dropped();
    }
    return n;
}

std::size_t ledger::workflows_held() const {
    std::lock_guard lock(mutex_);
    return workflows_.size();
}

void ledger::record_sent(traffic_record r) {
    std::lock_guard lock(mutex_);
    r.seq = ++seq_;
    add_sent(r.workflow_id, r.query_id, r.client, r.bytes);
    if (keep_trace_) {
        trace_order_.push_back(steady_ns());
        trace_.push_back(std::move(r));
        if (trace_cap_ != 0 && trace_.size() > trace_cap_) {
            trace_.pop_front();
            trace_order_.pop_front();
            ++dropped_;
        }
    }
}

void ledger::count_sent(std::string_view workflow_id, std::uint64_t query_id, bool client,
                        std::size_t bytes) {
    std::lock_guard lock(mutex_);
    add_sent(workflow_id, query_id, client, bytes);
}

void ledger::record_received(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    received_.add(bytes);
}

void ledger::count_ack_sent(std::size_t ids, std::size_t bytes) {
    std::lock_guard lock(mutex_);
    delivery_.acks_sent.add(bytes);
    delivery_.acked_ids += ids;
}

void ledger::count_ack_received(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    delivery_.acks_received.add(bytes);
}

void ledger::count_acked(std::string_view workflow_id) {
    std::lock_guard lock(mutex_);
    if (!by_workflow_ || workflow_id.empty()) {
        return;
    }
    // Only a workflow held here: the handler that applied the message has sent for it by now
    // if it ever will, and a refused made-up id, finished at once, must not come back.
    if (auto* w = workflows_.find(workflow_id)) {
        ++w->acked;
    }
}

void ledger::count_resent(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    delivery_.resent.add(bytes);
}

void ledger::count_duplicate(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    if (received_.messages > 0 && received_.bytes >= bytes) {
        --received_.messages;
        received_.bytes -= bytes;
    }
    delivery_.duplicates.add(bytes);
}

void ledger::add_delivery(delivery_totals& sum) const {
    {
        std::lock_guard lock(mutex_);
        sum.add(delivery_);
    }
    for (const auto* p : parts_) {
        p->add_delivery(sum);
    }
}

delivery_totals ledger::delivery() const {
    delivery_totals sum;
    add_delivery(sum);
    return sum;
}

void ledger::record_received_total(std::uint64_t messages, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    received_.add(traffic_totals{messages, bytes});
}

void ledger::add_totals(traffic_totals& sent, traffic_totals& received) const {
    {
        std::lock_guard lock(mutex_);
        sent.add(sent_);
        received.add(received_);
    }
    for (const auto* p : parts_) {
        p->add_totals(sent, received);
    }
}

traffic_totals ledger::sent() const {
    traffic_totals sent, received;
    add_totals(sent, received);
    return sent;
}

traffic_totals ledger::received() const {
    traffic_totals sent, received;
    add_totals(sent, received);
    return received;
}

bool ledger::add_workflow(std::string_view workflow_id, workflow_traffic& sum) const {
    bool seen = false;
    {
        std::lock_guard lock(mutex_);
        if (const auto* w = workflows_.find(workflow_id)) {
            sum.add(*w);
            seen = true;
        }
    }
    for (const auto* p : parts_) {
        seen = p->add_workflow(workflow_id, sum) || seen;
    }
    return seen;
}

std::optional<workflow_traffic> ledger::of_workflow(const std::string& workflow_id) const {
    workflow_traffic sum;
    if (!add_workflow(workflow_id, sum)) {
        return std::nullopt;
    }
    return sum;
}

workflow_traffic ledger::of_workflows(const std::vector<std::string>& workflow_ids) const {
    workflow_traffic sum;
    for (const auto& id : workflow_ids) {
        add_workflow(id, sum);
    }
    return sum;
}

void ledger::collect(std::vector<keyed>& out) const {
    {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < trace_.size(); ++i) {
            out.push_back({trace_order_[i], trace_[i]});
        }
    }
    for (const auto* p : parts_) {
        p->collect(out);
    }
}

std::vector<traffic_record> ledger::merged_trace() const {
    if (parts_.empty()) {
        std::lock_guard lock(mutex_);
        return {trace_.begin(), trace_.end()}; // already in order, numbered
    }
    std::vector<keyed> all;
    collect(all);
    // Each ledger's records are in order already; a stable sort keeps a tie in one ledger's
    // order. Records of one process are ordered by the steady clock, which every thread shares.
    std::stable_sort(all.begin(), all.end(),
                     [](const keyed& a, const keyed& b) { return a.order < b.order; });
    std::vector<traffic_record> out;
    out.reserve(all.size());
    for (auto& k : all) {
        k.record.seq = out.size() + 1;
        out.push_back(std::move(k.record));
    }
    return out;
}

std::vector<traffic_record> ledger::trace() const {
    return merged_trace();
}

std::vector<traffic_record> ledger::trace_of(const std::string& workflow_id) const {
    auto all = merged_trace();
    std::vector<traffic_record> out;
    std::copy_if(std::make_move_iterator(all.begin()), std::make_move_iterator(all.end()),
                 std::back_inserter(out),
                 [&](const traffic_record& r) { return r.workflow_id == workflow_id; });
    return out;
}

std::vector<traffic_record> ledger::trace_since(std::uint64_t since, std::size_t limit) const {
    // seq is dense and starts at 1; the first `dropped` records are gone: index = seq - 1 - dropped
    auto slice = [&](const auto& all, std::uint64_t dropped) {
        const auto first = static_cast<std::size_t>(
            std::min<std::uint64_t>(since - std::min(since, dropped), all.size()));
        const auto last = first + std::min(limit, all.size() - first);
        return std::vector<traffic_record>(all.begin() + static_cast<std::ptrdiff_t>(first),
                                           all.begin() + static_cast<std::ptrdiff_t>(last));
    };
    if (parts_.empty()) {
        std::lock_guard lock(mutex_);
        return slice(trace_, dropped_);
    }
    return slice(merged_trace(), 0);
}

} // namespace choreo

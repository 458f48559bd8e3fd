#include "patterns/ledger.hpp"

#include <algorithm>

namespace choreo {

std::string label_of(const msg::payload& p) {
    return p.label();
}

void ledger::record_sent(traffic_record r) {
    std::lock_guard lock(mutex_);
    r.seq = ++seq_;
    sent_.add(r.bytes);
    if (r.query_id == 0 && !r.workflow_id.empty()) {
        auto& w = workflows_[r.workflow_id];
        (r.client ? w.client : w.inter_service).add(r.bytes);
    }
    if (keep_trace_) {
        trace_.push_back(std::move(r));
    }
}

void ledger::record_received(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    received_.add(bytes);
}

void ledger::record_received_total(std::uint64_t messages, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    received_.messages += messages;
    received_.bytes += bytes;
}

traffic_totals ledger::sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
}

traffic_totals ledger::received() const {
    std::lock_guard lock(mutex_);
    return received_;
}

std::optional<workflow_traffic> ledger::of_workflow(const std::string& workflow_id) const {
    std::lock_guard lock(mutex_);
    const auto it = workflows_.find(workflow_id);
    if (it == workflows_.end()) {
        return std::nullopt;
    }
    return it->second;
}

workflow_traffic ledger::of_workflows(const std::vector<std::string>& workflow_ids) const {
    std::lock_guard lock(mutex_);
    workflow_traffic sum;
    for (const auto& id : workflow_ids) {
        if (const auto it = workflows_.find(id); it != workflows_.end()) {
            sum.inter_service.messages += it->second.inter_service.messages;
            sum.inter_service.bytes += it->second.inter_service.bytes;
            sum.client.messages += it->second.client.messages;
            sum.client.bytes += it->second.client.bytes;
        }
    }
    return sum;
}

std::vector<traffic_record> ledger::trace() const {
    std::lock_guard lock(mutex_);
    return trace_;
}

std::vector<traffic_record> ledger::trace_of(const std::string& workflow_id) const {
    std::lock_guard lock(mutex_);
    std::vector<traffic_record> out;
    std::copy_if(trace_.begin(), trace_.end(), std::back_inserter(out),
                 [&](const traffic_record& r) { return r.workflow_id == workflow_id; });
    return out;
}

std::vector<traffic_record> ledger::trace_since(std::uint64_t since, std::size_t limit) const {
    std::lock_guard lock(mutex_);
    // seq is dense and starts at 1, and every record is kept: index = seq - 1
    const auto first = std::min<std::size_t>(since, trace_.size());
    const auto last = std::min(trace_.size(), first + limit);
    return {trace_.begin() + static_cast<std::ptrdiff_t>(first),
            trace_.begin() + static_cast<std::ptrdiff_t>(last)};
}

} // namespace choreo

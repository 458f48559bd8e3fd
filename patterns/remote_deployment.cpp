#include "patterns/remote_deployment.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <unistd.h>

#include "patterns/last_resort.hpp"

namespace choreo {

namespace {
constexpr std::uint64_t page = 500; // see max_entries_per_reply in service_node.cpp
} // namespace

remote_deployment::remote_deployment(const pattern& p, workflow wf, topology where,
                                     remote_options options)
    : pattern_(p), workflow_(std::move(wf)), topology_(std::move(where)),
      options_(std::move(options)), own_(options_.keep_history, options_.node.retain_finished,
                                         workflow_.sends_per_workflow_bound()) {
    own_.count_by_workflow(options_.keep_history);
    auto needed = pattern_.nodes(workflow_);
    needed.push_back(options_.client_name);
    topology_.require(needed);
    auto node_opts = options_.node;
    node_opts.role = node_role::client;
    node_ = std::make_unique<node>(context_, io_, options_.client_name, own_, node_opts);
    is_operator_ = std::any_of(
        topology_.entries().begin(), topology_.entries().end(),
        [&](const topology_entry& e) { return e.name == options_.client_name && e.is_operator; });
    topology_.set(options_.client_name, node_->bind(*topology_.endpoint_of(options_.client_name)),
                  node_role::client, is_operator_);
    node_->set_topology(topology_);
    client_ = std::make_unique<choreo::client>(*node_, pattern_, workflow_, options_.query_timeout);
    client_->keep_outcomes(options_.keep_history);
    client_->set_id_prefix(
        !options_.id_prefix.empty()
            ? options_.id_prefix
            : options_.client_name + "-" + std::to_string(::getpid()) + "-" +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count() %
                                 1'000'000));
    // Used by programs and tests alike: an escaped exception stops the client's node (every
    // later send fails at once, nothing waits for its deadline) rather than the process.
    thread_ = std::thread([this] {
        node_->start();
        auto guard = boost::asio::make_work_guard(io_);
        run_guarded(io_, node_->name(), [this](std::string_view) { node_->stop(); });
    });
}

remote_deployment::~remote_deployment() {
    boost::asio::post(io_, [this] {
        node_->stop();
        io_.stop();
    });
    thread_.join();
    client_.reset();
    node_.reset();
}

msg::inspect_reply remote_deployment::inspect(const std::string& service, std::uint64_t since,
                                              std::uint64_t limit) {
    auto reply =
        client_->ask(service, msg::inspect_request{since, limit}, options_.inspect_timeout);
    if (!reply) {
        throw std::runtime_error(service +
                                 " did not answer an inspect_request: " + reply.error().message());
    }
    const auto* r = msg::get_if<msg::inspect_reply>(&reply.value().payload);
    if (r == nullptr) {
        throw std::runtime_error(service + " answered an inspect_request with " +
                                 std::string(reply.value().payload.type_name()));
    }
    return *r;
}

std::vector<std::string> remote_deployment::wait_ready(std::chrono::milliseconds timeout) {
    // With keys, inspection is an operator's: asked by another client, every node would refuse
    // it (a refusal is an answer too, but each is logged and counted as a rejected message).
    // A status query any client may ask; of no workflow, it finds none and changes nothing.
    const bool inspects = !options_.node.keys || is_operator_;
    auto plan = pattern_.plan_status_query(workflow_, "");
    const msg::payload request =
        inspects ? msg::payload(msg::inspect_request{0, 0}) : std::move(plan.request);
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::vector<std::string> waiting = inspects ? nodes() : std::move(plan.ask);
    while (!waiting.empty() && std::chrono::steady_clock::now() < until) {
        std::erase_if(waiting, [&](const std::string& s) {
            return static_cast<bool>(client_->ask(s, request, std::chrono::milliseconds(200)));
        });
    }
    return waiting;
}

std::vector<msg::inspect_reply> remote_deployment::inspect_all() {
    std::vector<msg::inspect_reply> out;
    for (const auto& s : nodes()) {
        out.push_back(inspect(s, 0, 0));
    }
    return out;
}

const ledger& remote_deployment::traffic() {
    std::vector<traffic_record> all = own_.trace();
    std::uint64_t received = own_.received().messages, received_bytes = own_.received().bytes;
    for (const auto& s : nodes()) {
        for (std::uint64_t since = 0;;) {
            const auto r = inspect(s, since, page);
            for (const auto& e : r.sent) {
                all.push_back({e.seq, e.at_ns, e.from, e.to, e.type, e.label,
                               static_cast<std::size_t>(e.bytes), e.workflow_id, e.query_id,
                               e.client});
                since = e.seq;
            }
            if (!r.more) {
                received += r.received_messages;
                received_bytes += r.received_bytes;
                break;
            }
        }
    }
    std::stable_sort(all.begin(), all.end(), [](const traffic_record& a, const traffic_record& b) {
        return a.at_ns < b.at_ns;
    });
    // Every gathered record is kept (the nodes' traces are bounded already).
    gathered_ = std::make_unique<ledger>(
        true, std::max<std::size_t>(default_retain_finished,
                                    all.size() / ledger::trace_records_per_workflow + 1));
    for (auto& r : all) {
        gathered_->record_sent(std::move(r));
    }
    gathered_->record_received_total(received, received_bytes);
    return *gathered_;
}

domain_effects remote_deployment::effects_now() {
    domain_effects out;
    for (const auto& r : inspect_all()) {
        for (const auto& [key, n] : r.effects) {
            out[key] += n;
        }
    }
    return out;
}

void remote_deployment::hold(const std::string& service) {
    if (!client_->ask(service, msg::hold_request{true}, options_.inspect_timeout)) {
        throw std::runtime_error(service + " did not answer a hold_request");
    }
}

void remote_deployment::release(const std::string& service) {
    if (!client_->ask(service, msg::hold_request{false}, options_.inspect_timeout)) {
        throw std::runtime_error(service + " did not answer a hold_request");
    }
}

std::uint64_t remote_deployment::rejected() {
    std::uint64_t n = 0;
    for (const auto& r : inspect_all()) {
        n += r.rejected;
    }
    return n;
}

std::size_t remote_deployment::workflow_state_bytes() {
    std::size_t n = 0;
    for (const auto& r : inspect_all()) {
        n += r.state_bytes;
    }
    return n;
}

std::size_t remote_deployment::domain_bytes() {
    std::size_t n = 0;
    for (const auto& r : inspect_all()) {
        n += r.domain_bytes;
    }
    return n;
}

std::size_t remote_deployment::workflows_with_state() {
    std::size_t most = 0;
    for (const auto& r : inspect_all()) {
        most = std::max(most, static_cast<std::size_t>(r.state_workflows));
    }
    return most;
}

} // namespace choreo

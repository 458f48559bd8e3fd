#include "patterns/deployment.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <stdexcept>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "patterns/last_resort.hpp"
#include "patterns/log.hpp"

namespace choreo {

namespace {
std::string unique_tag() {
    static std::atomic<int> counter{0};
    return std::to_string(::getpid()) + "-" + std::to_string(++counter);
}
} // namespace

local_deployment::local_deployment(const pattern& p, workflow wf, deployment_options options)
    : pattern_(p), workflow_(std::move(wf)), options_(std::move(options)) {
    const auto tag = unique_tag();
    if (options_.curve && options_.via == transport::inproc) {
        throw std::invalid_argument("CURVE needs tcp or ipc: inproc has no handshake");
    }
    if (options_.curve) {
        topology names; // endpoints play no part in keys
        for (const auto& name : pattern_.nodes(workflow_)) {
            names.set(name, "inproc://" + name);
        }
        names.set(options_.client_name, "inproc://" + options_.client_name, node_role::client,
                  true);
        for (auto& [name, c] : keys_dir::generate_in_memory(names)) {
            keys_.emplace(name, std::make_shared<const credentials>(std::move(c)));
        }
    }
    auto options_of = [&](const std::string& name, node_options o) {
        if (options_.curve) {
            o.keys = keys_.at(name);
        }
        if (const auto d = options_.link_delays.find(name); d != options_.link_delays.end()) {
            o.link_delay = d->second;
        }
        return o;
    };
    for (const auto& name : pattern_.nodes(workflow_)) {
        auto domain = domain_for(pattern_, workflow_, name);
        if (!domain) {
            throw std::invalid_argument("no node called " + name + " in " + workflow_.name + ": " +
                                        domain.error().message());
        }
        auto u = std::make_unique<unit>(options_.keep_trace, options_.node.retain_finished,
                                        workflow_.sends_per_workflow_bound());
        u->service = std::make_unique<service_node>(context_, u->io, pattern_, workflow_, name,
                                                    std::move(domain).value(), u->book,
                                                    options_of(name, options_.node));
        topology_.set(name, u->net().bind(topology::local_endpoint(options_.via, tag, name)));
        units_.push_back(std::move(u));
    }
    auto c = std::make_unique<unit>(options_.keep_trace, options_.node.retain_finished,
                                    workflow_.sends_per_workflow_bound());
    auto client_options = options_of(options_.client_name, options_.node);
    client_options.role = node_role::client;
    c->plain =
        std::make_unique<node>(context_, c->io, options_.client_name, c->book, client_options);
    topology_.set(options_.client_name,
                  c->net().bind(topology::local_endpoint(options_.via, tag, options_.client_name)),
                  node_role::client, options_.curve);
    client_ =
        std::make_unique<choreo::client>(*c->plain, pattern_, workflow_, options_.query_timeout);
    units_.push_back(std::move(c));
    std::vector<const ledger*> books;
    for (const auto& u : units_) {
        books.push_back(&u->book);
    }
    ledger_ = std::make_unique<ledger>(std::move(books), options_.keep_trace);

    topology given;
    for (const auto& e : topology_.entries()) {
        if (std::find(options_.unlisted.begin(), options_.unlisted.end(), e.name) ==
            options_.unlisted.end()) {
            given.set(e.name, e.endpoint, e.role);
        }
    }
    for (auto& u : units_) {
        u->net().set_topology(given);
        // In a library used by tests, an escaped exception must not end the process: it is
        // recorded, and the deployment stops so that the test sees it at once.
        u->thread = std::thread([this, &io = u->io, &n = u->net()] {
            n.start();
            auto guard = boost::asio::make_work_guard(io);
            run_guarded(io, n.name(), [&](std::string_view what) { escaped(n.name(), what); });
        });
    }
}

void local_deployment::escaped(const std::string& node_name, std::string_view what) {
    {
        std::lock_guard lock(failure_mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
    }
    log().error("{}: stopping every node of the deployment", node_name);
    // failure() tells once every node has stopped: whatever the caller does next fails at once.
    auto left = std::make_shared<std::atomic<std::size_t>>(units_.size());
    auto text = std::make_shared<const std::string>(node_name + ": " + std::string(what));
    for (auto& u : units_) {
        boost::asio::post(u->io, [this, left, text, &n = u->net()] {
            n.stop();
            if (left->fetch_sub(1) == 1) {
                std::lock_guard lock(failure_mutex_);
                failure_ = *text;
            }
        });
    }
}

std::optional<std::string> local_deployment::failure() const {
    std::lock_guard lock(failure_mutex_);
    return failure_;
}

local_deployment::~local_deployment() {
    for (auto& u : units_) {
        boost::asio::post(u->io, [&u] {
            u->net().stop();
            u->io.stop();
        });
    }
    for (auto& u : units_) {
        if (u->thread.joinable()) {
            u->thread.join();
        }
    }
    // Nodes go before their io_contexts; pending handlers are destroyed, never run.
    client_.reset();
    for (auto& u : units_) {
        u->service.reset();
        u->plain.reset();
    }
    if (options_.via == transport::ipc) {
        for (const auto& e : topology_.entries()) {
            std::remove(e.endpoint.substr(std::string_view("ipc://").size()).c_str());
        }
    }
}

local_deployment::unit& local_deployment::unit_of(const std::string& name) {
    for (auto& u : units_) {
        if (u->net().name() == name) {
            return *u;
        }
    }
    throw std::out_of_range("no node called " + name);
}

domain_effects deployment::effects(std::chrono::milliseconds settle_within) {
    const auto until = std::chrono::steady_clock::now() + settle_within;
    const auto& module = module_of(flow());
    for (;;) {
        auto out = effects_now();
        if (module.settled(flow(), out) || std::chrono::steady_clock::now() >= until) {
            return out;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

domain_effects local_deployment::effects_now() {
    domain_effects out;
    for (const auto& name : workflow_.services()) {
        on_service(name, [&](service_node& s) {
            s.domain()->add_effects(out);
            return 0;
        });
    }
    return out;
}

node_counters local_deployment::counters(const std::string& node_name) {
    return unit_of(node_name).net().counters();
}

std::map<std::string, std::chrono::nanoseconds> local_deployment::cpu_used() {
    std::map<std::string, std::chrono::nanoseconds> out;
    for (const auto& name : nodes()) {
        auto& u = unit_of(name);
        clockid_t clock{};
        timespec used{};
        if (pthread_getcpuclockid(u.thread.native_handle(), &clock) == 0 &&
            clock_gettime(clock, &used) == 0) {
            out[name] = std::chrono::seconds(used.tv_sec) + std::chrono::nanoseconds(used.tv_nsec);
        }
    }
    return out;
}

std::vector<incident> local_deployment::incidents(const std::string& node_name) {
    return unit_of(node_name).net().incidents();
}

std::size_t local_deployment::workflow_state_bytes() {
    std::size_t total = 0;
    for (const auto& name : nodes()) {
        total += on_service(name, [](service_node& s) { return s.behaviour().state_bytes(); });
    }
    return total;
}

std::size_t local_deployment::domain_bytes() {
    std::size_t total = 0;
    for (const auto& name : services()) {
        total += on_service(name, [](service_node& s) { return s.domain()->domain_bytes(); });
    }
    return total;
}

std::size_t local_deployment::workflows_with_state() {
    std::size_t most = 0;
    for (const auto& name : nodes()) {
        most = std::max(most, on_service(name, [](service_node& s) {
                            return s.behaviour().state_workflows();
                        }));
    }
    return most;
}

std::uint64_t local_deployment::rejected() {
    std::uint64_t n = 0;
    for (const auto& s : nodes()) {
        n += counters(s).rejected;
    }
    return n;
}

void local_deployment::hold(const std::string& service) {
    on_service(service, [](service_node& s) {
        s.hold();
        return 0;
    });
}

void local_deployment::release(const std::string& service) {
    on_service(service, [](service_node& s) {
        s.release();
        return 0;
    });
}

} // namespace choreo

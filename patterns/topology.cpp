#include "patterns/topology.hpp"

#include <algorithm>

namespace choreo {

std::string_view to_string(transport t) noexcept {
    switch (t) {
    case transport::inproc:
        return "inproc";
    case transport::ipc:
        return "ipc";
    case transport::tcp:
        return "tcp";
    }
    return "?";
}

std::optional<transport> transport_by_name(std::string_view name) noexcept {
    for (auto t : {transport::inproc, transport::ipc, transport::tcp}) {
        if (to_string(t) == name) {
            return t;
        }
    }
    return std::nullopt;
}

void topology::set(std::string name, std::string endpoint, node_role role) {
    const auto it = std::find_if(entries_.begin(), entries_.end(),
                                 [&](const topology_entry& e) { return e.name == name; });
    if (it != entries_.end()) {
        it->endpoint = std::move(endpoint);
        it->role = role;
    } else {
        entries_.push_back({std::move(name), std::move(endpoint), role});
    }
}

std::optional<std::string> topology::endpoint_of(std::string_view name) const {
    for (const auto& e : entries_) {
        if (e.name == name) {
            return e.endpoint;
        }
    }
    return std::nullopt;
}

bool topology::is_client(std::string_view name) const {
    return std::any_of(entries_.begin(), entries_.end(), [&](const topology_entry& e) {
        return e.name == name && e.role == node_role::client;
    });
}

std::string topology::local_endpoint(transport t, std::string_view tag, std::string_view name) {
    switch (t) {
    case transport::inproc:
        return "inproc://choreo-" + std::string(tag) + "-" + std::string(name);
    case transport::ipc:
        return "ipc:///tmp/choreo-" + std::string(tag) + "-" + std::string(name) + ".sock";
    case transport::tcp:
        return "tcp://127.0.0.1:*";
    }
    return {};
}

} // namespace choreo

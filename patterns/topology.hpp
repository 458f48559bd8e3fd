// Where each node's inbox lives: node name -> endpoint, over inproc, ipc or tcp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "patterns/result.hpp"

namespace choreo {

enum class transport { inproc, ipc, tcp };

std::string_view to_string(transport t) noexcept;
std::optional<transport> transport_by_name(std::string_view name) noexcept;

enum class node_role { service, client };

struct topology_entry {
    std::string name;
    std::string endpoint;
    node_role role = node_role::service;
};

class topology {
public:
    /// Adds or replaces the entry for `name`.
    void set(std::string name, std::string endpoint, node_role role = node_role::service);
    /// Returns: the endpoint of `name`, or nullopt if it is not in the topology.
    std::optional<std::string> endpoint_of(std::string_view name) const;
    bool is_client(std::string_view name) const;
    const std::vector<topology_entry>& entries() const noexcept { return entries_; }

    /// Endpoints for nodes of one process on loopback: inproc names and ipc paths unique to
    /// `tag`, or "tcp://127.0.0.1:*" (the port is read back after binding).
    static std::string local_endpoint(transport t, std::string_view tag, std::string_view name);

private:
    std::vector<topology_entry> entries_;
};

} // namespace choreo

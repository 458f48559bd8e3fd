// Where each node's inbox lives: node name -> endpoint, over inproc, ipc or tcp.
#pragma once

#include <cstddef>
#include <istream>
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
    /// A client that may send operator requests (inspect, hold) when the deployment has keys:
    /// role `operator` in the file.
    bool is_operator = false;
};

class topology {
public:
    /// Adds or replaces the entry for `name`.
    void set(std::string name, std::string endpoint, node_role role = node_role::service,
             bool is_operator = false);
    /// Returns: the endpoint of `name`, or nullopt if it is not in the topology.
    std::optional<std::string> endpoint_of(std::string_view name) const;
    bool is_client(std::string_view name) const;
    const std::vector<topology_entry>& entries() const noexcept { return entries_; }

    /// The longest line a topology file may have, in bytes (newline excluded).
    static constexpr std::size_t longest_line = 4096;

    /// Reads a topology file: one node per line, `NAME ENDPOINT [service|client|operator]`
    /// (an operator is a client that may send inspect and hold requests); `#` starts a
    /// comment. Endpoints are tcp://HOST:PORT or ipc://PATH (inproc cannot cross processes).
    /// Throws: std::invalid_argument naming the line and the reason for anything malformed,
    /// a line longer than longest_line included.
    static topology parse(std::istream& in);
    /// Reads a topology file. Throws: std::invalid_argument if it cannot be read or parsed.
    static topology load(const std::string& path);
    /// Throws: std::invalid_argument naming every node of `needed` that has no entry.
    void require(const std::vector<std::string>& needed) const;
    /// Returns: the text of this topology in the file format.
    std::string to_text() const;

    /// Endpoints for nodes of one process on loopback: inproc names and ipc paths unique to
    /// `tag`, or "tcp://127.0.0.1:*" (the port is read back after binding).
    static std::string local_endpoint(transport t, std::string_view tag, std::string_view name);

private:
    std::vector<topology_entry> entries_;
};

} // namespace choreo

#include "patterns/topology.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

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

void topology::set(std::string name, std::string endpoint, node_role role, bool is_operator) {
    const auto it = std::find_if(entries_.begin(), entries_.end(),
                                 [&](const topology_entry& e) { return e.name == name; });
    if (it != entries_.end()) {
        it->endpoint = std::move(endpoint);
        it->role = role;
        it->is_operator = is_operator;
    } else {
        entries_.push_back({std::move(name), std::move(endpoint), role, is_operator});
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

namespace {

[[noreturn]] void bad_line(std::size_t line, const std::string& reason) {
    throw std::invalid_argument("topology line " + std::to_string(line) + ": " + reason);
}

/// Returns: an empty string if `endpoint` can be bound and connected across processes.
std::string endpoint_problem(std::string_view endpoint) {
    if (endpoint.starts_with("ipc://")) {
        return endpoint.size() > 6 ? "" : "ipc endpoint without a path";
    }
    if (!endpoint.starts_with("tcp://")) {
        return "endpoint '" + std::string(endpoint) +
               "' must be tcp://HOST:PORT or ipc://PATH (inproc stays inside one process)";
    }
    const auto colon = endpoint.rfind(':');
    const auto port = endpoint.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (colon < 6 || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
        return "endpoint '" + std::string(endpoint) + "' needs a port between 1 and 65535";
    }
    if (colon == 6) {
        return "endpoint '" + std::string(endpoint) + "' has no host";
    }
    return "";
}

} // namespace

topology topology::parse(std::istream& in) {
    topology t;
    std::set<std::string, std::less<>> names;
    std::set<std::string, std::less<>> endpoints;
    std::size_t number = 0;
    // A line is read into a buffer of fixed size: a file without newlines (or /dev/zero) is
    // refused at its first line rather than read whole into memory.
    std::array<char, longest_line + 1> buffer; // and the terminating NUL
    while (in.getline(buffer.data(), static_cast<std::streamsize>(buffer.size()))) {
        ++number;
        // gcount() counts the newline when there was one; the last line may have none.
        const auto read = static_cast<std::size_t>(in.gcount()) - (in.eof() ? 0 : 1);
        std::string line(buffer.data(), read);
        line = line.substr(0, line.find('#'));
        std::istringstream words(line);
        std::string name, endpoint, role, extra;
        if (!(words >> name)) {
            continue; // blank or comment
        }
        if (!(words >> endpoint)) {
            bad_line(number, "node '" + name + "' has no endpoint");
        }
        words >> role;
        if (words >> extra) {
            bad_line(number, "unexpected '" + extra + "' after the role");
        }
        if (!role.empty() && role != "service" && role != "client" && role != "operator") {
            bad_line(number, "role '" + role + "' is not service, client or operator");
        }
        if (const auto problem = endpoint_problem(endpoint); !problem.empty()) {
            bad_line(number, problem);
        }
        // Looked up in sets, not with endpoint_of(): a file of many nodes is read in
        // O(n log n), not O(n^2).
        if (!names.insert(name).second) {
            bad_line(number, "node '" + name + "' is listed twice");
        }
        if (!endpoints.insert(endpoint).second) {
            bad_line(number, "endpoint " + endpoint + " is given to two nodes");
        }
        t.entries_.push_back(
            {std::move(name), std::move(endpoint),
             role.empty() || role == "service" ? node_role::service : node_role::client,
             role == "operator"});
    }
    if (in.bad()) {
        throw std::invalid_argument("topology: read error");
    }
    if (!in.eof()) { // getline stopped on a full buffer: the line is longer than that
        bad_line(number + 1, "longer than " + std::to_string(longest_line) + " bytes");
    }
    return t;
}

topology topology::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::invalid_argument("topology file " + path + " cannot be read");
    }
    try {
        return parse(in);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(path + ": " + e.what());
    }
}

void topology::require(const std::vector<std::string>& needed) const {
    std::vector<std::string> missing;
    for (const auto& n : needed) {
        if (!endpoint_of(n)) {
            missing.push_back(n);
        }
    }
    if (!missing.empty()) {
        std::string list;
        for (const auto& m : missing) {
            list += (list.empty() ? "" : ", ") + m;
        }
        throw std::invalid_argument("topology is incomplete: no endpoint for " + list);
    }
}

std::string topology::to_text() const {
    std::string out = "# choreo topology: NAME ENDPOINT [service|client|operator]\n";
    for (const auto& e : entries_) {
        const char* role = e.is_operator                 ? " operator"
                           : e.role == node_role::client ? " client"
                                                         : "";
        out += e.name + " " + e.endpoint + role + "\n";
    }
    return out;
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

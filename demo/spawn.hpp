// Every node of a pattern as a choreo-node child process, on loopback tcp or ipc.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "patterns/pattern.hpp"
#include "patterns/topology.hpp"
#include "patterns/workflow.hpp"

namespace choreo::demo {

/// Starts one choreo-node per node of `p.nodes(wf)` (the workflow's services and the pattern's
/// own nodes, such as an orchestrator) and gives them the topology they share; stops them all
/// on destruction: SIGTERM, then SIGKILL after a grace period. Children also get SIGTERM if this
/// process dies (PR_SET_PDEATHSIG), so none is left behind.
///
/// No port is picked in advance: over tcp each child binds `tcp://127.0.0.1:*`, the OS chooses
/// a free port, and the child reports what it bound (choreo-node --bind). A client binds its own
/// inbox the same way. Only when every endpoint is known does each child get the full topology,
/// so a port is never free between being chosen and being bound:
///
///     demo::spawned_services children(binary, p, wf, transport::tcp);   // nodes bound
///     remote_deployment d(p, wf, children.where());                     // client bound
///     children.share(d.where());                                        // nodes start
///
/// Over ipc the endpoints are socket files in a directory of the deployment's own.
class spawned_services {
public:
    /// Starts the children and waits until each has reported the endpoint it bound.
    /// `clients` get an entry in where(): over ipc a socket file, over tcp `tcp://127.0.0.1:*`,
    /// for the client to bind and to give back, resolved, to share(). `node_args` are added to
    /// every choreo-node's command line (e.g. --no-trace), restarts included.
    /// Throws: std::invalid_argument for inproc or a missing binary; std::runtime_error if a
    /// child cannot be started or does not report its endpoint.
    spawned_services(std::filesystem::path node_binary, const pattern& p, const workflow& wf,
                     transport via, const std::vector<std::string>& clients = {"client"},
                     std::chrono::nanoseconds link_delay = {},
                     std::size_t retain_finished = default_retain_finished,
                     std::vector<std::string> node_args = {});
    ~spawned_services();
    spawned_services(const spawned_services&) = delete;
    spawned_services& operator=(const spawned_services&) = delete;

    /// Returns: every node at the endpoint it bound, and the clients; after share(), the
    /// topology shared.
    const topology& where() const noexcept { return topology_; }
    /// Returns: the file share() writes the topology to (for choreo-ctl, or a node started by
    /// hand); it exists once share() has run.
    const std::filesystem::path& topology_file() const noexcept { return file_; }

    /// Gives every child the full topology, `full`: where() with each client's endpoint as the
    /// client bound it. The children start serving on it; the file is written (atomically).
    /// Throws: std::invalid_argument if `full` moves a node from the endpoint it bound, lacks
    /// one, or leaves an endpoint unresolved (`*`); std::runtime_error if a child is gone.
    void share(const topology& full);

    /// Returns: every running child as (node name, pid), in the order of `p.nodes(wf)`.
    std::vector<std::pair<std::string, pid_t>> processes() const;
    /// Returns: the pid of a node's running process, or -1 if it has none.
    pid_t pid_of(const std::string& node_name) const;
    /// Returns: the CPU time (user + system) a node's process has used so far, read from
    /// /proc/PID/stat (clock-tick resolution), or nullopt if it has no running process.
    std::optional<std::chrono::nanoseconds> cpu_time(const std::string& node_name) const;

    /// Sends `signal` to a node's process and waits for it to exit.
    /// Returns: its wait status (as waitpid gives it).
    int kill(const std::string& service, int signal);
    /// Starts a node's process again (after kill()), on the endpoint it had, and gives it the
    /// topology if share() has run.
    /// Throws: std::runtime_error if it cannot bind that endpoint again (a tcp port another
    /// program took meanwhile) or does not report it.
    void restart(const std::string& service);
    /// Stops every child now (SIGTERM, then SIGKILL after a grace period) and removes the files.
    void stop_all() noexcept;

private:
    /// Forks `service`'s choreo-node, bound to `endpoint`; its report is read by await_report.
    void start(const std::string& service, const std::string& endpoint);
    /// Returns: the endpoint `service` reports having bound.
    std::string await_report(const std::string& service);
    /// Writes the shared topology to `service`'s channel and closes it.
    void give_topology(const std::string& service);
    void close_channel(const std::string& service) noexcept;

    std::filesystem::path binary_;
    std::chrono::nanoseconds link_delay_;
    std::size_t retain_finished_;
    std::vector<std::string> node_args_;
    std::string pattern_;
    std::string workflow_;
    std::filesystem::path dir_;
    std::filesystem::path file_;
    topology topology_;
    bool shared_ = false;
    std::vector<std::string> nodes_; ///< every node started, in the pattern's order
    /// This end of each child's stdin and stdout (a socket pair), until it has the topology.
    /// Only the owner's thread touches these.
    std::map<std::string, int> channels_;
    /// Guards children_: the signal thread of stop_children_on_interrupt() may stop every
    /// child while another thread starts, kills or restarts one.
    mutable std::mutex children_mutex_;
    std::map<std::string, pid_t> children_;
};

/// Makes SIGINT, SIGTERM and SIGHUP stop every spawned_services of this process (children
/// terminated, files removed) before the process exits with 128 + the signal. Call once from
/// the main thread before any other thread starts.
void stop_children_on_interrupt();

/// Returns: the choreo-node beside the running executable.
std::filesystem::path sibling_binary(const std::string& name);

} // namespace choreo::demo

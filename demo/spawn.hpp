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
/// own nodes, such as an orchestrator) and writes the topology they share, with an entry per
/// client; stops them all on destruction: SIGTERM, then SIGKILL after a grace period. Children
/// also get SIGTERM if this process dies (PR_SET_PDEATHSIG), so none is left behind.
class spawned_services {
public:
    /// `node_args` are added to every choreo-node's command line (e.g. --no-trace), restarts
    /// included.
    /// Throws: std::invalid_argument for inproc or a missing binary; std::runtime_error if a
    /// child cannot be started.
    spawned_services(std::filesystem::path node_binary, const pattern& p, const workflow& wf,
                     transport via, const std::vector<std::string>& clients = {"client"},
                     std::chrono::nanoseconds link_delay = {},
                     std::size_t retain_finished = default_retain_finished,
                     std::vector<std::string> node_args = {});
    ~spawned_services();
    spawned_services(const spawned_services&) = delete;
    spawned_services& operator=(const spawned_services&) = delete;

    const topology& where() const noexcept { return topology_; }
    const std::filesystem::path& topology_file() const noexcept { return file_; }

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
    /// Starts a node's process again (after kill()).
    void restart(const std::string& service);
    /// Stops every child now (SIGTERM, then SIGKILL after a grace period) and removes the files.
    void stop_all() noexcept;

private:
    void start(const std::string& service);

    std::filesystem::path binary_;
    std::chrono::nanoseconds link_delay_;
    std::size_t retain_finished_;
    std::vector<std::string> node_args_;
    std::string pattern_;
    std::string workflow_;
    std::filesystem::path dir_;
    std::filesystem::path file_;
    topology topology_;
    std::vector<std::string> nodes_; ///< every node started, in the pattern's order
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

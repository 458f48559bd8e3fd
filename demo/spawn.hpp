// Every node of a pattern as a choreo-node child process, on loopback tcp or ipc.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "demo/faults.hpp"
#include "patterns/pattern.hpp"
#include "patterns/topology.hpp"
#include "patterns/workflow.hpp"

namespace choreo::demo {

/// What a process fault did to a child, as the parent saw it.
struct fault_event {
    std::chrono::steady_clock::duration at; ///< since the children were started
    std::string service;
    std::string what;   ///< killed, restarted, paused, continued, exited, not restarted
    std::string detail; ///< e.g. "SIGKILL after 412 handled messages"
};

/// How often the process faults acted.
struct fault_tally {
    std::size_t kills{};     ///< children seen dead of SIGKILL by a kill fault
    std::size_t restarts{};  ///< of those, started again and given the topology
    std::size_t pauses{};    ///< children seen stopped by a pause fault
    std::size_t continues{}; ///< of those, sent SIGCONT
    bool operator==(const fault_tally&) const = default;
};

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
///
/// The children are durable (choreo-node --data-dir): unless `node_args` hold --data-dir DIR or
/// --in-memory, they keep their stores in a fresh directory of the deployment's own, so that a
/// restarted child carries on from its store; data_dir() says where.
///
/// With `faults`, every child gets them (`choreo-node --fault ...`, a drop's seed resolved to
/// `fault_seed`): a child with a kill or pause raises SIGKILL or SIGSTOP on itself right after
/// its N-th handled workflow message. A thread of this object watches those children (waitpid
/// with WUNTRACED), restarts a killed one after its delay on the same endpoint, with the
/// topology and without its kill, and sends a paused one SIGCONT after its duration; each step
/// is logged and kept in fault_events().
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
                     std::vector<std::string> node_args = {}, fault_plan faults = {},
                     std::uint64_t fault_seed = 0);
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

    /// Returns: where the children keep their stores (choreo-node --data-dir): the one given in
    /// `node_args`, else a fresh directory of this run's own, removed with it; empty with
    /// --in-memory in `node_args`.
    const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
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

    /// Returns: when the children were started: fault_event::at counts from here.
    std::chrono::steady_clock::time_point started_at() const noexcept { return started_; }
    /// Returns: what the process faults did so far, in order.
    std::vector<fault_event> fault_events() const;
    /// Returns: how often the process faults acted so far.
    fault_tally tally() const;
    /// Waits until at least `count` fault events have happened or `limit` has passed.
    /// Returns: true if they have.
    bool await_fault_events(std::size_t count, std::chrono::steady_clock::duration limit) const;

private:
    /// Forks `service`'s choreo-node, bound to `endpoint`; its report is read by await_report.
    /// A restarted node gets no kill or pause (`first` false): a fault fires once.
    void start(const std::string& service, const std::string& endpoint, bool first = true);
    /// The fault watcher's thread: see the class comment.
    void supervise();
    void record(const std::string& service, std::string what, std::string detail);
    /// Returns: the endpoint `service` reports having bound.
    std::string await_report(const std::string& service);
    /// Writes the shared topology to `service`'s channel and closes it.
    void give_topology(const std::string& service);
    void close_channel(const std::string& service) noexcept;

    std::filesystem::path binary_;
    fault_plan faults_;
    std::uint64_t fault_seed_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::chrono::nanoseconds link_delay_;
    std::size_t retain_finished_;
    std::vector<std::string> node_args_;
    std::string pattern_;
    std::string workflow_;
    std::filesystem::path dir_;
    std::filesystem::path file_;
    std::filesystem::path data_dir_;
    topology topology_;
    bool shared_ = false;
    std::vector<std::string> nodes_; ///< every node started, in the pattern's order
    /// This end of each child's stdin and stdout (a socket pair), until it has the topology.
    /// Touched under ops_mutex_ once the fault watcher runs.
    std::map<std::string, int> channels_;
    /// Guards children_: the signal thread of stop_children_on_interrupt() may stop every
    /// child while another thread starts, kills or restarts one.
    mutable std::mutex children_mutex_;
    std::map<std::string, pid_t> children_;
    /// Serializes what touches channels_, topology_ and shared_: the owner's share(), kill()
    /// and restart(), and the fault watcher's restarts.
    std::recursive_mutex ops_mutex_;
    mutable std::mutex events_mutex_;
    mutable std::condition_variable events_changed_;
    std::vector<fault_event> events_;
    fault_tally tally_;
    bool stopping_ = false;                ///< under events_mutex_: the watcher ends
    std::atomic<bool> all_stopped_{false}; ///< stop_all() ran: the watcher restarts nothing
    std::thread watcher_;
};

/// Makes SIGINT, SIGTERM and SIGHUP stop every spawned_services of this process (children
/// terminated, files removed) before the process exits with 128 + the signal. Call once from
/// the main thread before any other thread starts.
void stop_children_on_interrupt();

/// Returns: the choreo-node beside the running executable.
std::filesystem::path sibling_binary(const std::string& name);

} // namespace choreo::demo

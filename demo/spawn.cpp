#include "demo/spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "patterns/log.hpp"

namespace choreo::demo {
namespace {

constexpr auto grace = std::chrono::seconds(5);
/// How long a child may take to bind and report its endpoint (a sanitized build starts slowly).
constexpr auto report_limit = std::chrono::seconds(60);

bool wait_exit(pid_t pid, std::chrono::steady_clock::duration limit, int* status = nullptr) {
    const auto until = std::chrono::steady_clock::now() + limit;
    int st = 0;
    while (std::chrono::steady_clock::now() < until) {
        const pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) {
            if (status != nullptr) {
                *status = st;
            }
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

/// Reads one line from `fd` within `limit`. Returns: the line without its newline, or nullopt
/// if the other end closed first or the time ran out.
std::optional<std::string> read_line(int fd, std::chrono::steady_clock::duration limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    std::string line;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return std::nullopt;
        }
        char c = 0;
        const auto n = ::read(fd, &c, 1); // one byte at a time: nothing after the line is taken
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return std::nullopt;
        }
        if (c == '\n') {
            return line;
        }
        if (line.size() > 4'096) {
            return std::nullopt; // not a report
        }
        line += c;
    }
}

/// Returns: true if every byte of `text` went to `fd` (a socket: no SIGPIPE if the peer is gone).
bool send_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const auto n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

/// Returns: true if `endpoint` still waits for a port (`tcp://HOST:*`).
bool unresolved(const std::string& endpoint) {
    return endpoint.ends_with(":*");
}

std::mutex live_mutex;
std::set<spawned_services*> live;

} // namespace

void stop_children_on_interrupt() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr); // inherited by every thread started later
    std::thread([set] {
        int signal = 0;
        sigwait(&set, &signal);
        std::lock_guard lock(live_mutex);
        for (auto* group : live) {
            group->stop_all();
        }
        std::_Exit(128 + signal);
    }).detach();
}

std::filesystem::path sibling_binary(const std::string& name) {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path() / name;
}

spawned_services::spawned_services(std::filesystem::path node_binary, const pattern& p,
                                   const workflow& wf, transport via,
                                   const std::vector<std::string>& clients,
                                   std::chrono::nanoseconds link_delay, std::size_t retain_finished,
                                   std::vector<std::string> node_args, fault_plan faults,
                                   std::uint64_t fault_seed)
    : binary_(std::move(node_binary)), faults_(std::move(faults)), fault_seed_(fault_seed),
      link_delay_(link_delay), retain_finished_(retain_finished), node_args_(std::move(node_args)),
      pattern_(p.name()), workflow_(wf.name) {
    if (via == transport::inproc) {
        throw std::invalid_argument("separate processes need tcp or ipc, not inproc");
    }
    if (!std::filesystem::exists(binary_)) {
        throw std::invalid_argument("no choreo-node at " + binary_.string());
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("choreo-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir_);
    // Durable unless told otherwise: each child keeps its store in the run's own data
    // directory (removed with the run), where a restarted child finds it again.
    const auto given = std::find(node_args_.begin(), node_args_.end(), "--data-dir");
    if (given != node_args_.end() && given + 1 != node_args_.end()) {
        data_dir_ = *(given + 1);
    } else if (std::find(node_args_.begin(), node_args_.end(), "--in-memory") == node_args_.end()) {
        data_dir_ = dir_ / "data";
        std::filesystem::create_directories(data_dir_);
        node_args_.insert(node_args_.end(), {"--data-dir", data_dir_.string()});
    }
    nodes_ = p.nodes(wf);
    file_ = dir_ / "topology.txt";
    for (const auto& c : clients) {
        topology_.set(c,
                      via == transport::tcp ? "tcp://127.0.0.1:*"
                                            : "ipc://" + (dir_ / (c + ".sock")).string(),
                      node_role::client, true); // an operator: figures are gathered by inspect
    }
    {
        std::lock_guard lock(live_mutex);
        live.insert(this);
    }
    try {
        // All started first, then heard from: they bind side by side.
        for (const auto& n : nodes_) {
            start(n, via == transport::tcp ? "tcp://127.0.0.1:*"
                                           : "ipc://" + (dir_ / (n + ".sock")).string());
        }
        std::vector<topology_entry> services;
        for (const auto& n : nodes_) {
            services.push_back({n, await_report(n), node_role::service});
        }
        // The nodes first, in the pattern's order, then the clients.
        topology whole;
        for (auto& e : services) {
            whole.set(std::move(e.name), std::move(e.endpoint), e.role);
        }
        for (const auto& e : topology_.entries()) {
            whole.set(e.name, e.endpoint, e.role, e.is_operator);
        }
        topology_ = std::move(whole);
        if (faults_.has_process_faults()) {
            watcher_ = std::thread([this] { supervise(); });
        }
    } catch (...) {
        {
            std::lock_guard lock(live_mutex); // no destructor runs to take it out
            live.erase(this);
        }
        stop_all();
        for (const auto& n : nodes_) {
            close_channel(n);
        }
        throw;
    }
}

void spawned_services::start(const std::string& service, const std::string& endpoint, bool first) {
    std::vector<std::string> args{
        binary_.string(),
        "--pattern",
        pattern_,
        "--service",
        service,
        "--bind",
        endpoint,
        "--workflow",
        workflow_,
        "--link-delay-us",
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(link_delay_).count()),
        "--retain-finished",
        std::to_string(retain_finished_)};
    args.insert(args.end(), node_args_.begin(), node_args_.end());
    const auto fault_args = faults_.node_args(fault_seed_, first);
    args.insert(args.end(), fault_args.begin(), fault_args.end());
    // Built before fork(): the child of a multi-threaded parent may only call async-signal-safe
    // functions, and allocating is not one of them.
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    // The child's stdin and stdout: it reports on it what it bound, and reads the topology
    // from it. A socket rather than pipes, so that writing to a child that died is an error
    // (MSG_NOSIGNAL), not a SIGPIPE for this process.
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        throw std::runtime_error(std::string("socketpair failed: ") + std::strerror(errno));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int error = errno;
        ::close(pair[0]);
        ::close(pair[1]);
        throw std::runtime_error(std::string("fork failed: ") + std::strerror(error));
    }
    if (pid == 0) {
        // dup2 leaves the copies open across exec; the originals are close-on-exec.
        if (::dup2(pair[1], STDIN_FILENO) < 0 || ::dup2(pair[1], STDOUT_FILENO) < 0) {
            ::_exit(127);
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr); // the node handles SIGINT/SIGTERM itself
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) {
            ::_exit(1); // the parent died before prctl took effect
        }
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(pair[1]);
    channels_[service] = pair[0];
    std::lock_guard lock(children_mutex_);
    children_[service] = pid;
}

std::string spawned_services::await_report(const std::string& service) {
    const auto line = read_line(channels_.at(service), report_limit);
    const std::string head = "bound " + service + " ";
    if (!line || !line->starts_with(head) || line->size() == head.size()) {
        close_channel(service);
        std::string how = "stopped";
        if (pid_of(service) >= 0) {
            const int status = kill(service, SIGKILL); // a no-op if it has exited already
            // Exited by itself, or killed here: after a wrong line or report_limit's silence.
            how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                    : "ended by signal " + std::to_string(WTERMSIG(status));
        }
        throw std::runtime_error(service + " did not report the endpoint it bound (" + how +
                                 (line ? ", said '" + *line + "'" : std::string()) +
                                 "); its stderr says why");
    }
    return line->substr(head.size());
}

void spawned_services::give_topology(const std::string& service) {
    const auto it = channels_.find(service);
    if (it == channels_.end()) {
        return;
    }
    const bool sent = send_all(it->second, topology_.to_text());
    close_channel(service); // the end of the file: the child's topology is complete
    if (!sent) {
        throw std::runtime_error(service + " is gone: it did not take the topology");
    }
}

void spawned_services::close_channel(const std::string& service) noexcept {
    if (const auto it = channels_.find(service); it != channels_.end()) {
        ::close(it->second);
        channels_.erase(it);
    }
}

void spawned_services::share(const topology& full) {
    std::lock_guard ops(ops_mutex_);
    for (const auto& n : nodes_) {
        if (full.endpoint_of(n) != topology_.endpoint_of(n)) {
            throw std::invalid_argument(n + " bound " + *topology_.endpoint_of(n) +
                                        "; the topology to share has " +
                                        full.endpoint_of(n).value_or("no entry"));
        }
    }
    for (const auto& e : full.entries()) {
        if (unresolved(e.endpoint)) {
            throw std::invalid_argument(e.name + " has no port yet (" + e.endpoint +
                                        "): share the endpoint it bound");
        }
    }
    topology_ = full;
    shared_ = true;
    // Written whole, then renamed: a reader sees no file or all of it.
    const auto partial = dir_ / "topology.txt.partial";
    {
        std::ofstream out(partial);
        out << topology_.to_text();
        if (!out.flush()) {
            throw std::runtime_error("cannot write " + partial.string());
        }
    }
    std::filesystem::rename(partial, file_);
    for (const auto& n : nodes_) {
        give_topology(n);
    }
}

std::vector<std::pair<std::string, pid_t>> spawned_services::processes() const {
    std::vector<std::pair<std::string, pid_t>> out;
    std::lock_guard lock(children_mutex_);
    for (const auto& n : nodes_) {
        if (const auto it = children_.find(n); it != children_.end()) {
            out.emplace_back(n, it->second);
        }
    }
    return out;
}

pid_t spawned_services::pid_of(const std::string& node_name) const {
    std::lock_guard lock(children_mutex_);
    const auto it = children_.find(node_name);
    return it == children_.end() ? -1 : it->second;
}

std::optional<std::chrono::nanoseconds>
spawned_services::cpu_time(const std::string& node_name) const {
    const pid_t pid = pid_of(node_name);
    if (pid < 0) {
        return std::nullopt;
    }
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) {
        return std::nullopt;
    }
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // field 3, utime and stime are fields 14 and 15, in clock ticks.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(stat.substr(close + 1));
    std::string skip;
    for (int field = 3; field < 14; ++field) {
        fields >> skip;
    }
    long long utime = 0, stime = 0;
    if (!(fields >> utime >> stime)) {
        return std::nullopt;
    }
    const auto ticks = ::sysconf(_SC_CLK_TCK);
    return std::chrono::nanoseconds((utime + stime) * 1'000'000'000LL / (ticks > 0 ? ticks : 100));
}

int spawned_services::kill(const std::string& service, int signal) {
    std::lock_guard ops(ops_mutex_);
    pid_t pid = -1;
    {
        // Out of the list first: a signal thread stopping everything meanwhile leaves it alone.
        std::lock_guard lock(children_mutex_);
        const auto it = children_.find(service);
        if (it == children_.end()) {
            throw std::invalid_argument("no process for " + service);
        }
        pid = it->second;
        children_.erase(it);
    }
    close_channel(service);
    int status = 0;
    ::kill(pid, signal);
    ::kill(pid, SIGCONT); // a paused child acts on the signal only once continued
    if (!wait_exit(pid, grace, &status)) {
        ::kill(pid, SIGKILL);
        wait_exit(pid, grace, &status);
    }
    return status;
}

void spawned_services::restart(const std::string& service) {
    std::lock_guard ops(ops_mutex_);
    if (std::find(nodes_.begin(), nodes_.end(), service) == nodes_.end()) {
        throw std::invalid_argument("no node " + service + " in this deployment");
    }
    if (pid_of(service) >= 0) {
        throw std::invalid_argument(service + " is still running");
    }
    // The endpoint it had, port and all: its peers know it by that. If another program took
    // the port meanwhile, the child cannot bind, exits, and this throws.
    const auto endpoint = *topology_.endpoint_of(service);
    start(service, endpoint);
    std::string bound;
    try {
        bound = await_report(service);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(service + " cannot come back on " + endpoint + ": " + e.what());
    }
    if (bound != endpoint) {
        kill(service, SIGKILL);
        throw std::runtime_error(service + " came back on " + bound + ", not on " + endpoint);
    }
    if (shared_) {
        give_topology(service);
    }
}

spawned_services::~spawned_services() {
    {
        std::lock_guard lock(events_mutex_);
        stopping_ = true;
    }
    events_changed_.notify_all();
    if (watcher_.joinable()) {
        watcher_.join();
    }
    {
        std::lock_guard lock(live_mutex);
        live.erase(this);
    }
    stop_all();
    while (!channels_.empty()) {
        close_channel(channels_.begin()->first);
    }
}

void spawned_services::stop_all() noexcept {
    // Taken out under the lock, so that the signal thread and the owner never stop (or wait
    // for) the same child twice, and kill() or restart() on another thread are not disturbed.
    all_stopped_ = true;
    std::map<std::string, pid_t> children;
    {
        std::lock_guard lock(children_mutex_);
        children.swap(children_);
    }
    for (const auto& [service, pid] : children) {
        ::kill(pid, SIGTERM);
        ::kill(pid, SIGCONT); // a paused child acts on SIGTERM only once continued
    }
    for (const auto& [service, pid] : children) {
        int status = 0;
        if (!wait_exit(pid, grace, &status)) {
            log().error("{} (pid {}) ignored SIGTERM: killed", service, pid);
            ::kill(pid, SIGKILL);
            wait_exit(pid, grace);
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            log().warn("{} (pid {}) exited with status {}", service, pid, status);
        }
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void spawned_services::record(const std::string& service, std::string what, std::string detail) {
    const auto at = std::chrono::steady_clock::now() - started_;
    log().warn("fault: {} {} at +{:.3f} s: {}", service, what,
               std::chrono::duration<double>(at).count(), detail);
    {
        std::lock_guard lock(events_mutex_);
        auto& t = tally_;
        t.kills += what == "killed" ? 1 : 0;
        t.restarts += what == "restarted" ? 1 : 0;
        t.pauses += what == "paused" ? 1 : 0;
        t.continues += what == "continued" ? 1 : 0;
        events_.push_back({at, service, std::move(what), std::move(detail)});
    }
    events_changed_.notify_all();
}

void spawned_services::supervise() {
    enum class stage { armed, paused, down, done };
    struct watched_fault {
        const fault* f;
        stage now = stage::armed;
        std::chrono::steady_clock::time_point due{};
    };
    std::vector<watched_fault> watched;
    for (const auto& f : faults_.faults) {
        if (f.is_process_fault()) {
            watched.push_back({&f});
        }
    }
    // Polled: waitpid on the children of faults only, so that the owner's kill() and
    // stop_all(), which take a child out of children_ before they wait for it, never race it.
    constexpr auto poll = std::chrono::milliseconds(5);
    for (;;) {
        {
            std::unique_lock lock(events_mutex_);
            if (events_changed_.wait_for(lock, poll, [this] { return stopping_; })) {
                return;
            }
        }
        const auto now = std::chrono::steady_clock::now();
        for (auto& w : watched) {
            const auto& service = w.f->service;
            if (w.now == stage::armed) {
                int status = 0;
                pid_t pid = -1;
                {
                    std::lock_guard lock(children_mutex_);
                    const auto it = children_.find(service);
                    if (it == children_.end() ||
                        ::waitpid(it->second, &status, WNOHANG | WUNTRACED) != it->second) {
                        continue;
                    }
                    pid = it->second;
                    if (!WIFSTOPPED(status)) {
                        children_.erase(it);
                    }
                }
                const auto after = fmt::format("after {} handled messages", w.f->after);
                if (WIFSTOPPED(status)) {
                    record(service, "paused", fmt::format("SIGSTOP {} (pid {})", after, pid));
                    w.now = stage::paused;
                    w.due = now + w.f->duration;
                } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
                           w.f->kind == fault_kind::kill) {
                    record(service, "killed", fmt::format("SIGKILL {} (pid {})", after, pid));
                    w.now = w.f->restarts ? stage::down : stage::done;
                    w.due = now + w.f->duration;
                    if (!w.f->restarts) {
                        record(service, "not restarted", "stays down: no restart delay given");
                    }
                } else {
                    record(service, "exited",
                           WIFEXITED(status) ? fmt::format("status {}", WEXITSTATUS(status))
                                             : fmt::format("signal {}", WTERMSIG(status)));
                    w.now = stage::done;
                }
            } else if (w.now == stage::paused && now >= w.due) {
                pid_t pid = -1;
                {
                    std::lock_guard lock(children_mutex_);
                    if (const auto it = children_.find(service); it != children_.end()) {
                        pid = it->second;
                        ::kill(pid, SIGCONT);
                    }
                }
                if (pid > 0) {
                    record(service, "continued",
                           fmt::format(
                               "SIGCONT after {} ms (pid {})",
                               std::chrono::duration_cast<std::chrono::milliseconds>(w.f->duration)
                                   .count(),
                               pid));
                }
                w.now = stage::done;
            } else if (w.now == stage::down && now >= w.due) {
                w.now = stage::done;
                try {
                    std::lock_guard ops(ops_mutex_);
                    {
                        std::lock_guard lock(events_mutex_);
                        if (stopping_ || all_stopped_) {
                            return;
                        }
                    }
                    const auto endpoint = *topology_.endpoint_of(service);
                    start(service, endpoint, false);
                    const auto bound = await_report(service);
                    if (bound != endpoint) {
                        throw std::runtime_error("came back on " + bound + ", not " + endpoint);
                    }
                    if (shared_) {
                        give_topology(service);
                    }
                    record(service, "restarted",
                           fmt::format(
                               "on {} after {} ms (pid {})", endpoint,
                               std::chrono::duration_cast<std::chrono::milliseconds>(w.f->duration)
                                   .count(),
                               pid_of(service)));
                } catch (const std::exception& e) {
                    record(service, "not restarted", e.what());
                }
            }
        }
    }
}

std::vector<fault_event> spawned_services::fault_events() const {
    std::lock_guard lock(events_mutex_);
    return events_;
}

fault_tally spawned_services::tally() const {
    std::lock_guard lock(events_mutex_);
    return tally_;
}

bool spawned_services::await_fault_events(std::size_t count,
                                          std::chrono::steady_clock::duration limit) const {
    std::unique_lock lock(events_mutex_);
    return events_changed_.wait_for(lock, limit, [&] { return events_.size() >= count; });
}

} // namespace choreo::demo

#include "demo/spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "patterns/log.hpp"

namespace choreo::demo {
namespace {

constexpr auto grace = std::chrono::seconds(5);

/// Free loopback ports below the kernel's ephemeral range (32768 and up by default), so that
/// the wildcard binds of other programs on this machine cannot take them before the children
/// bind them. A port is free if it can be bound now; all are held until every one is found.
std::vector<int> free_ports(std::size_t n) {
    std::vector<int> fds, ports;
    std::mt19937 random(
        static_cast<unsigned>(::getpid()) ^
        static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::uniform_int_distribution<int> pick(20'000, 32'000);
    for (int attempt = 0; ports.size() < n && attempt < 1'000; ++attempt) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            break;
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(pick(random)));
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
            fds.push_back(fd);
            ports.push_back(ntohs(addr.sin_port));
        } else {
            ::close(fd);
        }
    }
    for (const int fd : fds) {
        ::close(fd);
    }
    if (ports.size() < n) {
        throw std::runtime_error("no free loopback ports between 20000 and 32000");
    }
    return ports;
}

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
                                   std::vector<std::string> node_args)
    : binary_(std::move(node_binary)), link_delay_(link_delay), retain_finished_(retain_finished),
      node_args_(std::move(node_args)), pattern_(p.name()), workflow_(wf.name) {
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
    nodes_ = p.nodes(wf);
    auto names = nodes_;
    names.insert(names.end(), clients.begin(), clients.end());
    const auto ports = via == transport::tcp ? free_ports(names.size()) : std::vector<int>{};
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto endpoint = via == transport::tcp
                                  ? "tcp://127.0.0.1:" + std::to_string(ports[i])
                                  : "ipc://" + (dir_ / (names[i] + ".sock")).string();
        const bool client = i >= nodes_.size();
        topology_.set(names[i], endpoint, client ? node_role::client : node_role::service);
    }
    file_ = dir_ / "topology.txt";
    std::ofstream(file_) << topology_.to_text();
    {
        std::lock_guard lock(live_mutex);
        live.insert(this);
    }
    try {
        for (const auto& n : nodes_) {
            start(n);
        }
    } catch (...) {
        stop_all();
        throw;
    }
}

void spawned_services::start(const std::string& service) {
    std::vector<std::string> args{
        binary_.string(),
        "--pattern",
        pattern_,
        "--service",
        service,
        "--topology",
        file_.string(),
        "--workflow",
        workflow_,
        "--link-delay-us",
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(link_delay_).count()),
        "--retain-finished",
        std::to_string(retain_finished_)};
    args.insert(args.end(), node_args_.begin(), node_args_.end());
    // Built before fork(): the child of a multi-threaded parent may only call async-signal-safe
    // functions, and allocating is not one of them.
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
    }
    if (pid == 0) {
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
    std::lock_guard lock(children_mutex_);
    children_[service] = pid;
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
    int status = 0;
    ::kill(pid, signal);
    if (!wait_exit(pid, grace, &status)) {
        ::kill(pid, SIGKILL);
        wait_exit(pid, grace, &status);
    }
    return status;
}

void spawned_services::restart(const std::string& service) {
    if (std::find(nodes_.begin(), nodes_.end(), service) == nodes_.end()) {
        throw std::invalid_argument("no node " + service + " in this deployment");
    }
    if (pid_of(service) >= 0) {
        throw std::invalid_argument(service + " is still running");
    }
    start(service);
}

spawned_services::~spawned_services() {
    {
        std::lock_guard lock(live_mutex);
        live.erase(this);
    }
    stop_all();
}

void spawned_services::stop_all() noexcept {
    // Taken out under the lock, so that the signal thread and the owner never stop (or wait
    // for) the same child twice, and kill() or restart() on another thread are not disturbed.
    std::map<std::string, pid_t> children;
    {
        std::lock_guard lock(children_mutex_);
        children.swap(children_);
    }
    for (const auto& [service, pid] : children) {
        ::kill(pid, SIGTERM);
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

} // namespace choreo::demo

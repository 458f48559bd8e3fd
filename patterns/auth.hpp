// Who may speak in a deployment: CURVE key pairs, the deployment's public keys, and the ZAP
// handler that maps an authenticated key to its node name.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "patterns/topology.hpp"

namespace choreo {

/// A CURVE key pair, each key as 40 characters of Z85 (ZeroMQ's text form of 32 bytes).
struct curve_key_pair {
    std::string public_key;
    std::string secret_key;
};

/// Returns: a fresh key pair from libzmq (libsodium underneath).
/// Throws: std::runtime_error if libzmq was built without CURVE.
curve_key_pair make_key_pair();

/// The public keys of a deployment, one per topology line, and which names are operators
/// (topology role `operator`: may send inspect and hold requests).
class keyring {
public:
    /// Adds `name` with its Z85 public key. Throws: std::invalid_argument if the key is not
    /// 40 characters of Z85 or the name or key is already there.
    void add(const std::string& name, const std::string& public_key, bool is_operator = false);
    /// Returns: the Z85 public key of `name`, or nullopt.
    std::optional<std::string> public_key_of(std::string_view name) const;
    /// Returns: the name whose public key is these 32 bytes, or nullopt.
    std::optional<std::string> name_of_binary(std::string_view key32) const;
    bool knows(std::string_view name) const { return public_key_of(name).has_value(); }
    bool is_operator(std::string_view name) const { return operators_.contains(name); }
    std::size_t size() const noexcept { return by_name_.size(); }

private:
    std::map<std::string, std::string, std::less<>> by_name_;   ///< name -> Z85
    std::map<std::string, std::string, std::less<>> by_binary_; ///< 32 bytes -> name
    std::set<std::string, std::less<>> operators_;
};

/// What a node needs to speak CURVE: its own key pair and the deployment's public keys.
struct credentials {
    curve_key_pair own;
    std::shared_ptr<const keyring> ring;
};

/// A keys directory, as `choreo-ctl keygen` writes it: for every topology line NAME, a public
/// certificate NAME.key and a secret certificate NAME.key_secret (mode 0600), in ZeroMQ's
/// certificate format (`curve` section, `public-key = "Z85"`, `secret-key = "Z85"`).
namespace keys_dir {
/// Writes a fresh key pair for every line of `t` into `dir` (created if missing).
/// Throws: std::invalid_argument naming the path if `dir` holds keys already or cannot be
/// written (nothing is overwritten).
void generate(const topology& t, const std::string& dir);
/// Reads the public key of every line of `t` and the key pair of `self`: the credentials of
/// node `self`. Operators are the lines of `t` with role `operator`.
/// Throws: std::invalid_argument naming the file and the reason: missing, unreadable, not a
/// certificate, a key that is not Z85, a secret file readable by others, a secret key that
/// does not match its public key.
credentials load(const topology& t, const std::string& dir, const std::string& self);
/// Reads the key pair of `self` and every public certificate NAME.key in `dir` (no
/// operators): the credentials of a node that has not got its topology yet. It accepts the
/// keys of its deployment before it learns the topology, so a peer that learnt it first is not
/// refused (libzmq never retries a handshake its peer refused).
/// Throws: std::invalid_argument as load() does.
credentials load_all(const std::string& dir, const std::string& self);
/// Returns: credentials for every line of `t`, generated in memory (one-process runs).
std::map<std::string, credentials> generate_in_memory(const topology& t);
} // namespace keys_dir

/// Counts what the ZAP handler refused for one node: peers whose key is not in its keyring.
struct zap_counters {
    std::atomic<std::uint64_t> refused{0};
};

/// The ZAP handler of one zmq context (ZeroMQ asks it, over inproc://zeromq.zap.01, whether a
/// CURVE peer may connect). Every node with keys enrols its keyring under a ZAP domain of its
/// own; the handler accepts a CURVE client whose public key is in that keyring and names the
/// connection with the key's node name (the User-Id of every message it sends). A NULL peer
/// of a node without keys is accepted (the domain only makes libzmq refuse ZMTP before 3.0).
///
/// It must be bound before a keyed socket binds: libzmq accepts any CURVE key when no
/// handler is there. One per context, shared by its nodes, stopped with the last of them.
class zap_handler {
public:
    /// Returns: the context's handler, started (bound) if it was not.
    static std::shared_ptr<zap_handler> of(zmq::context_t& context);
    ~zap_handler();
    zap_handler(const zap_handler&) = delete;
    zap_handler& operator=(const zap_handler&) = delete;

    /// Returns: a new ZAP domain under which `ring` decides; refusals are counted in `counts`.
    std::string enrol(std::shared_ptr<const keyring> ring, std::shared_ptr<zap_counters> counts);
    void leave(const std::string& domain);
    /// Puts `ring` in the place of the keyring `domain` was enrolled with.
    void update(const std::string& domain, std::shared_ptr<const keyring> ring);

    explicit zap_handler(zmq::context_t& context); // use of()

private:
    void run();
    void answer(std::vector<zmq::message_t>& request);

    void* context_handle_;
    zmq::socket_t socket_;  ///< ROUTER on inproc://zeromq.zap.01, used by the thread only
    zmq::socket_t wake_rx_; ///< the thread stops when this receives
    zmq::socket_t wake_tx_;
    std::mutex mutex_;
    struct enrolled {
        std::shared_ptr<const keyring> ring;
        std::shared_ptr<zap_counters> counts;
    };
    std::map<std::string, enrolled> domains_;
    std::uint64_t next_domain_ = 0;
    std::thread thread_;
};

/// The ZAP domain of a node without keys: set so that libzmq refuses ZMTP 1.0 and 2.0 peers.
inline constexpr std::string_view open_zap_domain = "choreo";

/// Returns: whether a tcp endpoint's host is a loopback address (127.0.0.0/8, ::1, localhost);
/// ipc and inproc are local too. Without keys a node binds only such endpoints.
bool is_local_endpoint(std::string_view endpoint);

} // namespace choreo

// fuzz_seeds DIR: writes the seed corpus of every fuzz target into DIR/<target>/ (what
// tests/fuzz/corpus holds): a valid message of every contract, valid topologies and valid
// option values, each file named by what it holds.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "contract_samples.hpp"
#include "patterns/codec.hpp"
#include "patterns/topology.hpp"
#include "registry/builtin.hpp"

namespace {

using namespace choreo;
namespace fs = std::filesystem;

void write(const fs::path& dir, const std::string& name, std::string_view bytes) {
    fs::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + (dir / name).string());
    }
}

/// A file name from any text: what is not a letter, digit, '-' or '_' becomes '_'.
std::string file_name(std::string_view text) {
    std::string out;
    for (const char c : text.substr(0, 60)) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '_';
        out.push_back(plain ? c : '_');
    }
    return out.empty() ? "empty" : out;
}

template <class... Ts> std::vector<msg::payload> samples_of(samples::contract_list<Ts...>) {
    return {msg::payload(samples::sample<Ts>())...};
}

/// fuzz_decode: "TYPE\0BODY" of every sampled contract; fuzz_contract: "TYPE\0" then the
/// contract's own map. A registered contract without a sample gets an empty
/// map, so that the fuzzer starts from its type name at least.
void contracts(const fs::path& root) {
    static_cast<void>(builtin_patterns());
    const auto registered = registered_contracts();
    const auto sampled = samples_of(samples::sampled_contracts{});
    for (const auto& contract : registered) {
        const auto type = contract.type_name;
        const auto it = std::find_if(sampled.begin(), sampled.end(),
                                     [&](const msg::payload& p) { return p.type_name() == type; });
        msgpack::sbuffer own;
        msgpack::packer<msgpack::sbuffer> packer(own);
        std::string body;
        if (it != sampled.end()) {
            it->pack(packer);
            body = encode({samples::sample_envelope(), *it}).body;
        } else {
            packer.pack_map(0);
            msgpack::sbuffer whole;
            msgpack::packer<msgpack::sbuffer> outer(whole);
            outer.pack_map(2);
            outer.pack(std::string_view("env"));
            outer.pack(samples::sample_envelope());
            outer.pack(std::string_view("payload"));
            outer.pack_map(0);
            body.assign(whole.data(), whole.size());
        }
        write(root / "fuzz_decode", std::string(type), std::string(type) + '\0' + body);
        write(root / "fuzz_contract", std::string(type),
              std::string(type) + '\0' + std::string(own.data(), own.size()));
    }
}

/// fuzz_topology: the topology of every pattern's nodes of the order workflow and of a chain,
/// over tcp and ipc with a client, and one written by hand with comments and blank lines.
void topologies(const fs::path& root) {
    std::size_t port = 5'555;
    for (const auto* name : {"order", "chain:3:1"}) {
        const auto wf = builtin_workflows().find(name).value();
        for (const auto& p : builtin_patterns().all()) {
            for (const auto via : {transport::tcp, transport::ipc}) {
                topology t;
                for (const auto& node : p->nodes(wf)) {
                    t.set(node, via == transport::tcp ? "tcp://127.0.0.1:" + std::to_string(port++)
                                                      : "ipc:///tmp/choreo-fuzz-" + node + ".sock");
                }
                t.set("client",
                      via == transport::tcp ? "tcp://[::1]:" + std::to_string(port++)
                                            : "ipc:///tmp/choreo-fuzz-client.sock",
                      node_role::client);
                write(root / "fuzz_topology",
                      file_name(std::string(p->name()) + "-" + name + "-" +
                                std::string(to_string(via))),
                      t.to_text());
            }
        }
    }
    write(root / "fuzz_topology", "by_hand",
          "# services\n\npayment tcp://localhost:6001 service  # the second step\n"
          "\temail\tipc:///tmp/e.sock\n"
          "client tcp://127.0.0.1:6003 client\n");
}

/// fuzz_options: "<selector><value>" (selectors as in fuzz_options.cpp).
void options(const fs::path& root) {
    const auto put = [&](char selector, std::string_view value) {
        write(root / "fuzz_options", std::string(1, selector) + "-" + file_name(value),
              std::string(1, selector) + std::string(value));
    };
    for (const auto* d : {"0", "200us", "1ms", "1.5s", "250\xc2\xb5s", "10ns", "0.5ms"}) {
        put('0', d);
    }
    for (const auto* n : {"1", "42", "1000000000", "0100"}) {
        put('1', n);
        put('2', n);
    }
    std::vector<std::string> workflows{"order", "chain:1", "chain:8", "chain:8:2", "chain:1024"};
    for (const auto& w : workflows) {
        put('3', w);
        const auto wf = builtin_workflows().find(w).value();
        for (const auto& s : module_of(wf).scenarios(wf)) {
            put('4', s);
        }
    }
    for (const auto* s : {"2,4,8,16,32", "chain:8,chain:8:1,chain:8:2", "order,3"}) {
        put('5', s);
    }
    for (const auto* t : {"inproc", "ipc", "tcp"}) {
        put('6', t);
    }
    for (const auto& p : builtin_patterns().names()) {
        put('6', p);
    }
    for (const auto* f : {"kill:payment@412:restart=1s", "kill:email@1", "pause:payment@3:250ms",
                          "delay:fulfillment:200us", "drop:0.05", "drop:0.5:seed=7"}) {
        put('6', f);
    }
    for (const auto* line :
         {"--pattern\nstateless\n--workflow\nchain:4:1\n--link-delay\n1ms\n--json",
          "--sweep=2,4\n--transport\nipc\n--retain-finished\n100\n--seed\n7",
          "--soak\n10\n--soak-every\n5\n--workflows\n3\nplace\n--timeout\n60",
          "--scenario\nhappy\nstatus\nwf-1", "--fault\nkill:payment@3\n--fault\ndrop:0.1"}) {
        put('7', line);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: fuzz_seeds DIR\n";
        return 2;
    }
    try {
        contracts(argv[1]);
        topologies(argv[1]);
        options(argv[1]);
    } catch (const std::exception& e) {
        std::cerr << "fuzz_seeds: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

// What a workflow's messages are made of on the wire: every message of one workflow, taken from
// the transport by a tap between the nodes, and each body broken down by field.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "patterns/pattern.hpp"
#include "patterns/workflow.hpp"

namespace choreo::bench {

/// One message as the tap saw it pass: the two frames the sender wrote.
struct tapped_message {
    std::string from;
    std::string to;
    std::string type;
    std::string body;
    std::size_t bytes() const noexcept { return type.size() + body.size(); }
};

/// Runs one workflow of `scenario` under `p` with every node in this process over ipc, each
/// node's peers reached through a tap that records what passes and forwards it unchanged.
/// Returns: the workflow's messages in the order the tap saw them (status queries excluded:
/// none is asked).
/// Throws: std::runtime_error if the workflow does not end within `timeout`.
std::vector<tapped_message> tap_one_workflow(const pattern& p, const workflow& wf,
                                             const std::string& scenario, std::uint64_t seed,
                                             std::chrono::milliseconds timeout);

/// Bytes of one body by what they carry.
struct body_part {
    std::string what; ///< a field name, or "map keys", "structure"
    std::size_t bytes{};
    std::size_t count{}; ///< occurrences
};

/// A body's size as it is and re-encoded in more compact forms of the same content.
struct body_anatomy {
    std::size_t bytes{};            ///< the body as sent
    std::vector<body_part> parts;   ///< sum == bytes, largest first
    std::size_t positional{};       ///< maps written as arrays (no keys)
    std::size_t positional_coded{}; ///< and names of services, steps and states as small ints
    std::size_t positional_lean{};  ///< and no detail strings or timestamps
};

/// Breaks a MessagePack body down. A field called `details` (a business payload) is one part.
/// Throws: std::invalid_argument if `body` is not MessagePack.
body_anatomy anatomy_of(const std::string& body);

/// Prints every tapped message and the breakdown of the largest of each type.
void print_anatomy(std::ostream& out, const pattern& p, const workflow& wf,
                   const std::string& scenario, const std::vector<tapped_message>& messages);

} // namespace choreo::bench

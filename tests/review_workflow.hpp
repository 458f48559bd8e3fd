// A workflow module the kit does not ship, defined by the tests alone: a manuscript is
// submitted, checked by an editor and published. It proves the core is open: it runs under
// every pattern without a line outside tests/.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include <msgpack.hpp>

#include "patterns/workflow_module.hpp"

namespace choreo::review {

/// The review workflow's business payload: what an author submits.
struct submission {
    std::string author;
    std::string title;
    std::uint32_t words{};
    bool operator==(const submission&) const = default;
    MSGPACK_DEFINE_MAP(author, title, words)
};

/// What the editor refuses, and who may submit: the data the review services start from.
struct desk {
    std::set<std::string> authors;
    std::set<std::string> banned_words; ///< a title containing one is refused
    std::uint32_t most_words{};         ///< a longer submission is refused

    /// The data every review service starts from, and the generator predicts for.
    static desk standard();
};

/// The workflow model: submit -> check -> publish. The check can refuse a submission
/// ("refused", event "submission_rejected"), which ends it "rejected" after telling submit,
/// which returns it to its author.
workflow model();

/// Returns: the review module, to register by name ("review").
std::unique_ptr<workflow_module> make_module();

/// Returns: the tests' own workflow registry, holding the review module only (it is not in
/// builtin_workflows()).
const workflow_registry& test_workflows();

} // namespace choreo::review

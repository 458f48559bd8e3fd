// libFuzzer target: topology::parse over any text. std::invalid_argument is its answer to bad
// input; any other exception, a crash or a leak is a finding.
// Property: a parsed topology's to_text() parses to the same entries.
#include "patterns/topology.hpp"

#include <sstream>
#include <stdexcept>
#include <string>

#include "fuzz_check.hpp"

namespace {

bool same_entries(const choreo::topology& a, const choreo::topology& b) {
    const auto& x = a.entries();
    const auto& y = b.entries();
    if (x.size() != y.size()) {
        return false;
    }
    for (std::size_t k = 0; k < x.size(); ++k) {
        if (x[k].name != y[k].name || x[k].endpoint != y[k].endpoint || x[k].role != y[k].role) {
            return false;
        }
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace choreo;
    std::istringstream in{std::string(fuzz::text_of(data, size))};
    topology parsed;
    try {
        parsed = topology::parse(in);
    } catch (const std::invalid_argument&) {
        return 0;
    }
    std::vector<std::string> names;
    for (const auto& e : parsed.entries()) {
        CHOREO_FUZZ_CHECK(!e.name.empty() && !e.endpoint.empty(), "no entry is blank");
        CHOREO_FUZZ_CHECK(parsed.endpoint_of(e.name) == e.endpoint, "endpoint_of finds it");
        CHOREO_FUZZ_CHECK(parsed.is_client(e.name) == (e.role == node_role::client),
                          "is_client follows the role");
        names.push_back(e.name);
    }
    parsed.require(names); // throws (a finding) if a listed node had no endpoint

    std::istringstream text(parsed.to_text());
    topology again;
    try {
        again = topology::parse(text);
    } catch (const std::invalid_argument&) {
        CHOREO_FUZZ_CHECK(false, "to_text() of a parsed topology parses");
    }
    CHOREO_FUZZ_CHECK(same_entries(parsed, again), "to_text() parses to the same entries");
    return 0;
}

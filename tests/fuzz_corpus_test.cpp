// The committed seed corpus of the fuzz targets (tests/fuzz/corpus) covers every registered
// contract: a contract registered later without a seed fails here, in the normal suite, rather
// than go unfuzzed. Regenerate the corpus with fuzz_seeds (README.md, Fuzzing).
#include "patterns/codec.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "registry/builtin.hpp"

namespace choreo {
namespace {

const std::filesystem::path corpus = std::filesystem::path(CHOREO_SOURCE_DIR) / "tests/fuzz/corpus";

std::string bytes_of(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// Returns: every registered contract's type name, the patterns' included.
std::set<std::string> registered_names() {
    static_cast<void>(builtin_patterns()); // a pattern registers its contracts when made
    std::set<std::string> out;
    for (const auto& c : registered_contracts()) {
        out.emplace(c.type_name);
    }
    return out;
}

/// Returns: the files of one target's corpus, by name.
std::set<std::string> files_of(const std::string& target) {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(corpus / target)) {
        out.insert(e.path().filename().string());
    }
    return out;
}

// fuzz_decode's input is the two frames a node receives, "TYPE\0BODY": each contract's seed is a
// whole message that decodes, so the fuzzer starts past the envelope, inside the contract.
TEST(fuzz_corpus, every_registered_contract_has_a_decode_seed_that_decodes) {
    const auto names = registered_names();
    ASSERT_GE(names.size(), 20U);
    const auto files = files_of("fuzz_decode");
    for (const auto& type : names) {
        SCOPED_TRACE(type);
        ASSERT_TRUE(files.contains(type))
            << "no seed in " << (corpus / "fuzz_decode").string() << ": run fuzz_seeds";
        const auto input = bytes_of(corpus / "fuzz_decode" / type);
        const auto nul = input.find('\0');
        ASSERT_NE(nul, std::string::npos);
        EXPECT_EQ(input.substr(0, nul), type);
        const auto decoded = decode(type, std::string_view(input).substr(nul + 1));
        ASSERT_TRUE(decoded.ok()) << decoded.error().message();
        EXPECT_EQ(decoded.value().payload.type_name(), type);
    }
}

// fuzz_contract picks the contract by the name before the first NUL: every file of its corpus
// names a registered contract, and every registered contract has a file.
TEST(fuzz_corpus, every_registered_contract_has_a_contract_seed_and_every_seed_names_one) {
    const auto names = registered_names();
    std::set<std::string> seeded;
    for (const auto& file : files_of("fuzz_contract")) {
        SCOPED_TRACE(file);
        const auto input = bytes_of(corpus / "fuzz_contract" / file);
        const auto nul = input.find('\0');
        ASSERT_NE(nul, std::string::npos) << "not TYPE\\0MAP";
        const auto type = input.substr(0, nul);
        EXPECT_TRUE(find_contract(type).has_value()) << "names no registered contract: " << type;
        seeded.insert(type);
    }
    for (const auto& type : names) {
        EXPECT_TRUE(seeded.contains(type)) << "no seed for " << type << ": run fuzz_seeds";
    }
}

// fuzz_options starts from a valid value of each parser; '6' holds the --fault specs.
TEST(fuzz_corpus, the_option_seeds_hold_fault_specs) {
    std::size_t faults = 0;
    for (const auto& file : files_of("fuzz_options")) {
        for (const auto* kind : {"6-kill_", "6-pause_", "6-delay_", "6-drop_"}) {
            faults += file.starts_with(kind) ? 1 : 0;
        }
    }
    EXPECT_GE(faults, 4U);
}

} // namespace
} // namespace choreo

// The parsers of option values the programs share (demo/cli.hpp), on the values they accept and
// on those they refuse, the ones fuzz_options found among them.
#include "demo/cli.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace choreo {
namespace {

using std::chrono::nanoseconds;

TEST(cli_parse_duration, reads_every_unit_and_a_bare_zero) {
    EXPECT_EQ(cli::parse_duration("0"), nanoseconds(0));
    EXPECT_EQ(cli::parse_duration("10ns"), nanoseconds(10));
    EXPECT_EQ(cli::parse_duration("200us"), nanoseconds(200'000));
    EXPECT_EQ(cli::parse_duration("250\xc2\xb5s"), nanoseconds(250'000));
    EXPECT_EQ(cli::parse_duration("1.5ms"), nanoseconds(1'500'000));
    EXPECT_EQ(cli::parse_duration("10s"), nanoseconds(10'000'000'000));
}

TEST(cli_parse_duration, refuses_what_is_not_a_duration_from_0_to_10_s) {
    for (const auto* text : {"", "fast", "5", "-1ms", "1h", "1 ms", "10.1s", "ms", "1e308s"}) {
        EXPECT_EQ(cli::parse_duration(text), std::nullopt) << text;
    }
}

TEST(cli_parse_duration, refuses_not_a_number_and_infinity_in_any_unit) {
    // fuzz_options found "nanns": NaN passed every check and was converted to an integer, which
    // is undefined behaviour.
    for (const auto* text : {"nan", "nans", "nanns", "nanms", "NaNus", "-nans", "nan(1)s", "infs",
                             "inf", "-infms", "infinityns"}) {
        EXPECT_EQ(cli::parse_duration(text), std::nullopt) << text;
    }
}

TEST(cli_count_error, accepts_whole_numbers_in_range_only) {
    EXPECT_EQ(cli::count_error("1", "workflows", 1, 10), "");
    EXPECT_EQ(cli::count_error("010", "workflows", 1, 10), "");
    for (const auto* text : {"0", "11", "", "+1", "-1", "1.0", "1 ", "99999999999999999999999"}) {
        EXPECT_EQ(cli::count_error(text, "workflows", 1, 10),
                  "'" + std::string(text) + "' is not a number of workflows from 1 to 10")
            << text;
    }
}

TEST(cli_retain_finished_error, accepts_n_of_1_or_more) {
    EXPECT_EQ(cli::retain_finished_error("1"), "");
    EXPECT_EQ(cli::retain_finished_error("18446744073709551615"), "");
    EXPECT_EQ(cli::retain_finished_error("0"),
              "0 would keep no finished workflow at all; valid: N >= 1");
    for (const auto* text : {"", "x", "-1", "1x", "18446744073709551616"}) {
        EXPECT_EQ(cli::retain_finished_error(text),
                  "'" + std::string(text) + "' is not a whole number; valid: N >= 1")
            << text;
    }
}

std::vector<std::string> names_of(const cli::sweep& s) {
    std::vector<std::string> out;
    for (const auto& wf : s.workflows) {
        out.push_back(wf.name);
    }
    return out;
}

TEST(cli_parse_sweep, reads_chain_lengths_and_workflow_names_in_order) {
    const auto s = cli::parse_sweep("2,chain:8:1,order,4,");
    EXPECT_EQ(s.refused, std::nullopt);
    EXPECT_EQ(names_of(s), (std::vector<std::string>{"chain:2", "chain:8:1", "order", "chain:4"}));
}

TEST(cli_parse_sweep, names_the_first_item_that_is_no_workflow) {
    EXPECT_EQ(cli::parse_sweep("2,x,y").refused, "x");
    EXPECT_EQ(cli::parse_sweep("2,,4").refused, "");
    EXPECT_EQ(cli::parse_sweep(",4").refused, "");
    EXPECT_EQ(cli::parse_sweep("08").refused, "08");
    EXPECT_EQ(cli::parse_sweep("0").refused, "0");
}

} // namespace
} // namespace choreo

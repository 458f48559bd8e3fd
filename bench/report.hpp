// choreo-bench's output: a table for people, JSON and CSV for machines, gnuplot charts.
#pragma once

#include <filesystem>
#include <ostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/workload.hpp"

namespace choreo::bench {

void print_table(std::ostream& out, const std::vector<run_result>& runs);
/// For every run with CURVE that has a twin without: the ratios of their latency, rate and
/// floor (nothing if there are no such pairs).
void print_curve_cost(std::ostream& out, const std::vector<run_result>& runs);
nlohmann::json to_json(const std::vector<run_result>& runs);
void write_csv(std::ostream& out, const std::vector<run_result>& runs);
/// A soak's reports: per run, throughput and every process's RSS per report, then the workflows
/// lost or not as predicted and each process's RSS growth after warm-up with its verdict.
void print_soak_table(std::ostream& out, const std::vector<soak_result>& soaks);
nlohmann::json soak_to_json(const std::vector<soak_result>& soaks);
/// Writes data and gnuplot scripts to `dir` and renders SVG charts if gnuplot is installed.
/// Returns: the charts rendered (empty without gnuplot).
std::vector<std::filesystem::path> write_plots(const std::filesystem::path& dir,
                                               const std::vector<run_result>& runs);

} // namespace choreo::bench

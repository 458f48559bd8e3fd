// choreo-demo's output: the terminal layout, JSON, and the Markdown report with diagrams.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "demo/claims.hpp"
#include "demo/tour.hpp"

namespace choreo::demo {

/// Writes one pattern's tour for a terminal.
void print_tour(std::ostream& out, const tour& t, const tour_options& o);
/// Writes the comparison table across patterns.
void print_comparison(std::ostream& out, const std::vector<tour>& tours);
/// Writes the chapter's claims beside the evidence.
void print_claims(std::ostream& out, const std::vector<claim_verdict>& claims);

/// Returns: everything measured, for --json: per pattern its costs, state, effects, traces
/// and status queries; the claims; the extra runs behind them.
nlohmann::json to_json(const std::vector<tour>& tours, const std::vector<claim_verdict>& claims,
                       const claim_measurements& measured, const tour_options& o);

/// Writes DIR/report.md (tables, Mermaid sequence diagrams of what flowed) and one Graphviz
/// file per pattern and traced scenario (links with message counts), rendered to SVG if `dot`
/// runs. Every node takes part, a pattern's own (an orchestrator) like any other.
/// Returns: the files written.
std::vector<std::filesystem::path> write_report(const std::filesystem::path& dir,
                                                const std::vector<tour>& tours,
                                                const std::vector<claim_verdict>& claims,
                                                const claim_measurements& measured,
                                                const tour_options& o);

} // namespace choreo::demo

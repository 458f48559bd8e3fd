// Table 11-8 and the ADR "Use Orchestration for Primary Ticket Workflow", measured on the
// ticket workflow under every pattern toured.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "demo/tour.hpp"
#include "patterns/pattern.hpp"

namespace choreo::demo {

/// What one pattern measured for each criterion of Table 11-8.
struct table_11_8_column {
    std::string pattern;

    // Workflow control: a ticket whose step is lost (its service holds the message past the
    // step's deadline).
    std::string detected_by;    ///< the owner that marked it stuck, or "" (nobody)
    double detected_after_ms{}; ///< from placing the ticket to the mark
    double step_deadline_ms{};  ///< the deadline of every step in this run
    std::uint32_t redrives{};   ///< re-drives by the owner when the status was read
    bool stuck_query_found{};   ///< a stuck query listed it (and only it)
    std::uint64_t stuck_query_messages{};
    std::size_t stuck_query_nodes{};
    bool completed_once{}; ///< released, it completed, its customer told once

    // State query: "where is ticket T now".
    struct query {
        std::uint64_t messages{}, bytes{};
        std::size_t nodes{};
        bool right{}; ///< the answer is what happened
        std::string state;
    };
    query mid_reassignment, after_cancel;

    // Error handling, from the traced tickets: scenario -> its cost.
    struct cost {
        std::size_t messages{}, links{}, nodes{};
    };
    std::map<std::string, cost> scenarios;
    std::map<std::string, std::string> ended; ///< scenario -> terminal of its traced ticket
    /// Links the error scenarios' tickets used that the happy ticket did not.
    std::size_t links_added_by_errors{};

    // Scalability, over the tour's batch: the busiest node and its messages per ticket.
    std::string busiest_node;
    double busiest_per_ticket{};
    double messages_per_ticket{}; ///< every workflow message of a ticket (client's included)
};

/// A reassigned ticket's path through the model, as its status showed it: the steps it ran,
/// the loop back to assignment, the end.
struct reassigned_path {
    std::vector<msg::step_record> steps; ///< the status's steps, in model order
    std::string terminal;
};

struct table_11_8 {
    std::vector<table_11_8_column> columns; ///< one per pattern toured
    reassigned_path reassigned;             ///< under the first pattern toured
};

/// Measures Table 11-8 for each of `tours` (the ticket workflow's): error handling and
/// scalability from the tours, state query and workflow control from small runs of one ticket
/// per pattern in this process.
/// Throws: std::invalid_argument if the tours are not of the ticket workflow;
/// std::runtime_error if a ticket never ends.
table_11_8 measure_table_11_8(const std::vector<const pattern*>& patterns,
                              const std::vector<tour>& tours, const tour_options& options);

/// Prints the Mermaid diagram of the reassigned ticket, Table 11-8 (one row per criterion,
/// one column per pattern) and the ADR's three requirements judged from those figures.
void print_table_11_8(std::ostream& out, const table_11_8& t);

} // namespace choreo::demo

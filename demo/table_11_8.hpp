// Table 11-8 and the ADR "Use Orchestration for Primary Ticket Workflow", measured on the
// ticket workflow under every pattern toured.
#pragma once

#include <chrono>
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

    /// Workflow control under a seeded drop fault: a spell of mixed tickets (see
    /// measure_lost_tickets).
    struct lost_tickets {
        std::string fault; ///< canonical, e.g. "drop:0.02:seed=7"
        std::chrono::milliseconds step_deadline{};
        std::size_t placed{};
        std::size_t ended{};
        std::uint64_t dropped{}; ///< inter-service sends the fault dropped, every node's
        /// Tickets whose progress a drop stopped: not ended by the end of the spell, or ended
        /// only because their owner re-drove a step (redrives > 0).
        std::size_t lost{};
        std::size_t not_ended{}; ///< of the lost, still not ended at the end
        /// Of the lost, marked stuck by the owner's step deadline (marked, or re-driven: a
        /// re-drive follows the mark).
        std::size_t marked_by_owner{};
        std::size_t recovered{};       ///< of the lost, ended after the owner re-drove them
        std::size_t listed_by_query{}; ///< of the lost not ended, listed by the stuck query
        std::size_t listed_not_lost{}; ///< listed by the stuck query, yet ended
        std::string detector;          ///< the owner's name, or "" (no owner)
        /// Of the lost, unmarked and not ended, waiting at a step that waits for a person
        /// (the model's deadline, longer than the spell).
        std::size_t at_person_step{};
        /// Per ticket listed by the stuck query: its age when the query asked (the loss to the
        /// query: someone has to ask).
        std::vector<std::int64_t> listed_age_ns;
        std::uint64_t query_messages{}; ///< the one stuck query made at the end of the spell
        std::size_t query_nodes{};
    };
    lost_tickets drops;

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

/// Sizes of the workflow-control spell.
struct lost_tickets_options {
    std::size_t tickets = 40; ///< of the module's "mixed" scenario
    double drop = 0.02;       ///< every node drops each inter-service send so
    std::uint64_t seed = 7;   ///< the drop's seed and the generator's
    std::chrono::milliseconds step_deadline{300};
    /// The spell ends once every ticket ended, or none ended for this long (the owner re-drives
    /// a step every step deadline, and a re-drive may be dropped again), or at `wait`.
    std::chrono::milliseconds quiet{1'000};
    std::chrono::milliseconds wait{20'000};
};

/// Workflow control: places o.tickets mixed tickets on a one-process deployment of `p` whose
/// nodes drop each inter-service send with probability o.drop (--fault drop:P:seed=S) and do
/// not resend it within the spell (a dropped message stays lost), every step's deadline
/// o.step_deadline and the owner re-driving a late step until it is done. At the end of the
/// spell, reads each ticket's status and asks one stuck query (older than the step deadline).
/// Throws: std::runtime_error if the deployment cannot be made.
table_11_8_column::lost_tickets measure_lost_tickets(const pattern& p, const workflow& model,
                                                     const lost_tickets_options& o);

/// Measures Table 11-8 for each of `tours` (the ticket workflow's): error handling and
/// scalability from the tours, state query and workflow control from small runs of one ticket
/// per pattern in this process, and workflow control under drops from measure_lost_tickets
/// (its default sizes, the tours' seed).
/// Throws: std::invalid_argument if the tours are not of the ticket workflow;
/// std::runtime_error if a ticket never ends.
table_11_8 measure_table_11_8(const std::vector<const pattern*>& patterns,
                              const std::vector<tour>& tours, const tour_options& options);

/// Prints the Mermaid diagram of the reassigned ticket, Table 11-8 (one row per criterion,
/// one column per pattern) and the ADR's three requirements judged from those figures.
void print_table_11_8(std::ostream& out, const table_11_8& t);

} // namespace choreo::demo

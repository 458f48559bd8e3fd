// Table 11-8 and the ADR "Use Orchestration for Primary Ticket Workflow", measured on the
// ticket workflow under every pattern toured.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "demo/tour.hpp"
#include "patterns/pattern.hpp"

namespace choreo::demo {

/// Workflow control under one fault: a spell of mixed tickets, and what became of those the fault
/// stopped.
struct lost_tickets {
    std::string fault; ///< canonical, e.g. "drop:0.02:seed=7"; empty: not measured
    std::chrono::milliseconds step_deadline{};
    std::uint32_t retries{}; ///< re-drives an owner makes before it fails a ticket
    std::size_t placed{};
    std::size_t ended{};     ///< by the end of the spell, whatever their end
    std::uint64_t dropped{}; ///< drop: inter-service sends the fault dropped, every node's
    /// Tickets the fault stopped. drop: a send of theirs was dropped, and they did not end by
    /// themselves (not ended, or ended only after their owner re-drove a step). kill: not ended,
    /// or ended "failed" by their owner.
    std::size_t lost{};
    std::string detector; ///< the owner's name, or "" (no owner)
    /// Of the lost, found by the owner by itself: re-driven (drop) or marked stuck (kill).
    std::size_t detected{};
    /// Per ticket detected, how long after the loss: from the first of its sends dropped to the
    /// owner's first re-drive (drop), from the last step the owner saw act to its stuck mark
    /// (kill).
    std::vector<std::int64_t> detected_after_ns;
    std::size_t false_alarms{}; ///< found by the owner, but not lost
    std::size_t recovered{};    ///< of the lost, ended as predicted after a re-drive
    std::size_t ended_failed{}; ///< of the lost, ended "failed" by the owner, the client told
    std::size_t not_ended{};    ///< of the lost, not ended at the end of the spell
    /// One stuck query at the end of the spell (older than the step deadline): of the lost not
    /// ended, how many it lists, and how many it lists that are not lost.
    std::size_t listed{};
    std::size_t listed_not_lost{};
    std::vector<std::int64_t> listed_age_ns; ///< per ticket listed: its age when asked
    std::uint64_t query_messages{};
    std::size_t query_nodes{};
    std::vector<std::string> query_silent; ///< nodes asked that did not answer
};

/// What one pattern measured for each criterion of Table 11-8.
struct table_11_8_column {
    std::string pattern;

    // Workflow control: tickets lost to a fault (see measure_lost_tickets).
    lost_tickets drops; ///< --fault drop:P, one process
    lost_tickets kill;  ///< --fault kill:SERVICE@N, one process per node (not measured: fault "")

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
    /// CPU time per ticket of each node's thread over a batch of mixed tickets in one process
    /// (measure_table_11_8's cpu_tickets): the busiest node's, and every node's together.
    std::string busiest_cpu_node;
    double busiest_cpu_us_per_ticket{};
    double cpu_us_per_ticket{};
    std::size_t cpu_tickets{};
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

/// Sizes of the workflow-control spells.
struct lost_tickets_options {
    std::size_t tickets = 40; ///< of the module's "mixed" scenario
    std::uint64_t seed = 7;   ///< the generator's, and the drop's
    /// Every step's deadline (the expert's too: the spell's expert reports at once).
    std::chrono::milliseconds step_deadline{300};
    /// A spell ends once every ticket ended, or none ended for this long, or at `wait`.
    std::chrono::milliseconds quiet{1'000};
    std::chrono::milliseconds wait{20'000};
    double drop = 0.02; ///< drop: every node drops each inter-service send so
    /// kill: choreo-node, the victim, and after how many of its handled messages it is killed
    /// (for good). Re-drives an owner makes before it fails a ticket.
    std::filesystem::path node_binary;
    std::string victim = "notification";
    std::uint64_t kill_after = 45;
    std::uint32_t retries = 2;
    /// A query's wait for each node's answer (the victim never answers: loopback answers within
    /// a few ms).
    std::chrono::milliseconds query_timeout{300};
    /// Scalability: mixed tickets whose CPU time per node is measured, in one process.
    std::size_t cpu_tickets = 500;
};

/// Workflow control under --fault drop:P: places o.tickets mixed tickets on a one-process
/// deployment of `p` whose nodes drop each inter-service send with probability o.drop and do
/// not resend it within the spell (a dropped message stays lost, as without acknowledgements),
/// every step due within o.step_deadline, an owner re-driving a late step until it is done. At
/// the end of the spell, reads each ticket's status and the nodes' incidents (node::incidents),
/// and asks one stuck query.
/// Throws: std::runtime_error if the deployment cannot be made.
lost_tickets measure_lost_tickets(const pattern& p, const workflow& model,
                                  const lost_tickets_options& o);

/// Workflow control under --fault kill:VICTIM@N: one choreo-node per node over tcp (in memory),
/// the victim killed for good after o.kill_after handled messages, o.tickets mixed tickets, an
/// owner re-driving a late step o.retries times and then failing the ticket. At the end of the
/// spell, reads each ticket's status and asks one stuck query (the victim is silent).
/// Throws: std::runtime_error if the nodes cannot be started.
lost_tickets measure_killed_tickets(const pattern& p, const workflow& model,
                                    const lost_tickets_options& o);

/// Measures Table 11-8 for each of `tours` (the ticket workflow's): error handling and
/// scalability from the tours, state query from small runs of one ticket per pattern in this
/// process, workflow control from measure_lost_tickets and, if control.node_binary is set,
/// measure_killed_tickets.
/// Throws: std::invalid_argument if the tours are not of the ticket workflow;
/// std::runtime_error if a ticket never ends.
table_11_8 measure_table_11_8(const std::vector<const pattern*>& patterns,
                              const std::vector<tour>& tours, const tour_options& options,
                              const lost_tickets_options& control);

/// Prints the Mermaid diagram of the reassigned ticket (if `diagram`), Table 11-8 (one row per
/// criterion, one column per pattern) and the ADR's three requirements judged from those figures.
void print_table_11_8(std::ostream& out, const table_11_8& t, bool diagram = true);

/// Returns: every figure of the table, per pattern (choreo-demo --json's "table_11_8").
nlohmann::json to_json(const table_11_8& t);

/// Writes `dir`/table_11_8.md (choreo-demo --report): the diagram, the table and the ADR.
/// Returns: its path. Throws: std::runtime_error if it cannot be written.
std::filesystem::path write_table_11_8(const std::filesystem::path& dir, const table_11_8& t);

} // namespace choreo::demo

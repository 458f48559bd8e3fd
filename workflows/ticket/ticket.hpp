// The Sysops Squad primary ticket workflow: ticket management -> assignment -> notification ->
// the expert's app -> ticket management -> survey, with reassignment, cancellation and no survey.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "patterns/workflow_module.hpp"

namespace choreo::ticket {

/// A trouble ticket: the ticket workflow's business payload (`details` on the wire).
struct trouble_ticket {
    std::string customer; ///< e.g. "c007"
    std::string problem;  ///< the skill it needs, e.g. "network"
    std::string zone;     ///< where the customer is, e.g. "north"
    bool operator==(const trouble_ticket&) const = default;
    MSGPACK_DEFINE_MAP(customer, problem, zone)
};

/// How many experts a ticket is offered to at most before it is escalated to a person.
inline constexpr std::uint32_t max_rounds = 3;

/// A survey that could not be sent is retried every survey_retry_period, at most this many
/// times; then the survey service gives it up.
inline constexpr std::uint32_t survey_retries = 3;
/// How long the survey service waits between two rounds of retries.
inline constexpr std::chrono::milliseconds survey_retry_period{100};
/// Surveys held for a retry at most: when one more fails, the oldest is dropped (counted in the
/// effects as surveys_dropped, and logged).
inline constexpr std::size_t max_surveys_held = 10'000;

/// The starting data of the ticket services.
struct fixture {
    struct customer {
        std::string plan;      ///< "basic" or "premium"
        std::string notify_by; ///< "sms" or "email"
        /// Whether the survey provider reaches this customer: "now"; "later" (the first
        /// attempt fails, the first retry gets through); or "never" (every attempt fails).
        std::string survey_reach = "now";
    };
    struct expert {
        std::vector<std::string> skills;
        std::string zone;
        bool available = true;
        /// What the expert's app reports when a ticket reaches it: "completes", "declines",
        /// "unreachable" (the device lost its connection) or "late" (past the deadline).
        std::string reliability = "completes";
    };
    std::map<std::string, customer> customers;
    std::map<std::string, expert> experts;

    /// The data every ticket service starts from, and the generator predicts for.
    static fixture standard();
    /// Returns: the available experts with the ticket's skill in its zone, in the order the
    /// ticket is offered to them (one per round).
    std::vector<std::string> candidates(const trouble_ticket& t) const;
};

/// The command a customer cancels a ticket with, from outside the chain.
inline constexpr std::string_view cancel_command = "cancel_ticket";
/// The event the expert's app reports back with, from outside the chain.
inline constexpr std::string_view expert_reported = "expert_reported";

/// The workflow model: six steps, the assignment loop unrolled into max_rounds rounds.
workflow model();

/// Returns: the ticket workflow's module, to register by name ("ticket").
std::unique_ptr<workflow_module> make_module();

} // namespace choreo::ticket

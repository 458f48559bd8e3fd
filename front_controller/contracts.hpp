// The front controller's own contract: progress reports to the first service of the chain.
#pragma once

#include <string>
#include <string_view>

#include "patterns/contracts.hpp"

namespace choreo::front_controller {

/// A service reports its progress to the front controller after each step it took part in.
struct progress_report {
    static constexpr std::string_view type_name = "progress_report";
    msg::step_record record;
    std::string terminal; ///< nonempty when this report ends the workflow
    bool operator==(const progress_report&) const = default;
    std::string label() const {
        return terminal.empty() ? record.outcome : record.outcome + " -> " + terminal;
    }
    MSGPACK_DEFINE_MAP(record, terminal)
};

} // namespace choreo::front_controller

#include "patterns/pattern.hpp"

#include <stdexcept>

namespace choreo {

void service_context::end_workflow(const std::string& reply_to, const std::string& workflow_id,
                                   std::uint32_t hop, const std::string& terminal,
                                   const std::string& detail) {
    node_.send(reply_to,
               {workflow_id, hop, 0, msg::workflow_ended{workflow_.name, terminal, detail}});
}

void registry::add(std::unique_ptr<pattern> p) {
    if (find(p->name()) != nullptr) {
        throw std::invalid_argument("pattern registered twice: " + std::string(p->name()));
    }
    patterns_.push_back(std::move(p));
}

const pattern* registry::find(std::string_view name) const noexcept {
    for (const auto& p : patterns_) {
        if (p->name() == name) {
            return p.get();
        }
    }
    return nullptr;
}

std::vector<std::string> registry::names() const {
    std::vector<std::string> out;
    for (const auto& p : patterns_) {
        out.emplace_back(p->name());
    }
    return out;
}

} // namespace choreo

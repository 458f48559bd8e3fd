#include "patterns/pattern.hpp"

#include <algorithm>
#include <stdexcept>

namespace choreo {

result<std::size_t> service_context::end_workflow(const std::string& reply_to,
                                                  const std::string& workflow_id, std::uint32_t hop,
                                                  const std::string& terminal,
                                                  const std::string& detail) {
    return node_.send(reply_to,
                      {workflow_id, hop, 0, msg::workflow_ended{workflow_.name, terminal, detail}});
}

std::string pattern::do_entry(const workflow& wf) const {
    return wf.steps.front().service;
}

std::vector<std::string> pattern::do_extra_nodes(const workflow&) const {
    return {};
}

std::vector<std::string> pattern::do_outside_event_targets(const workflow& wf,
                                                           std::string_view event) const {
    if (wf.interrupt_by(event) != nullptr) {
        return wf.step_services();
    }
    std::vector<std::string> out;
    for (const auto& s : wf.steps) {
        if (!event.empty() && s.awaits == event &&
            std::find(out.begin(), out.end(), s.service) == out.end()) {
            out.push_back(s.service);
        }
    }
    return out;
}

std::set<std::string> pattern::do_enders(const workflow& wf) const {
    const auto services = wf.services();
    return {services.begin(), services.end()};
}

std::vector<std::string> pattern::nodes(const workflow& wf) const {
    auto out = wf.services();
    for (auto& n : extra_nodes(wf)) {
        out.push_back(std::move(n));
    }
    return out;
}

msg::workflow_status status_of_owner(const std::vector<message>& replies) {
    for (const auto& m : replies) {
        if (const auto* r = msg::get_if<msg::status_reply>(&m.payload)) {
            return r->status;
        }
    }
    msg::workflow_status st;
    st.state = std::string(workflow_state::unknown);
    return st;
}

void service_context::answer_status(const incoming& asker, const std::string& workflow_id,
                                    const workflow_progress* progress,
                                    std::optional<std::string_view> retired_as) {
    msg::workflow_status st;
    if (progress != nullptr) {
        st = progress->status(workflow_);
    } else if (retired_as) {
        st = retired_status(workflow_, *retired_as);
    } else {
        st.state = std::string(workflow_state::unknown);
    }
    // A reply that cannot go out leaves the asker to time out, as if this node were silent.
    static_cast<void>(node_.reply(
        asker, {workflow_id, 0, asker.msg.env.query_id, msg::status_reply{name(), st}}));
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

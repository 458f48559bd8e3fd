#include "patterns/workflow_module.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "patterns/errors.hpp"

namespace choreo {

void workflow_registry::add(std::unique_ptr<workflow_module> m) {
    if (module(m->name()) != nullptr) {
        throw std::invalid_argument("workflow module registered twice: " + std::string(m->name()));
    }
    modules_.push_back(std::move(m));
}

result<workflow> workflow_registry::find(std::string_view name) const {
    for (const auto& m : modules_) {
        if (auto wf = m->model(name)) {
            return wf;
        }
    }
    return std::error_code(errc::unknown_workflow);
}

const workflow_module* workflow_registry::module(std::string_view name) const noexcept {
    for (const auto& m : modules_) {
        if (m->name() == name) {
            return m.get();
        }
    }
    return nullptr;
}

std::vector<std::string> workflow_registry::usages() const {
    std::vector<std::string> out;
    for (const auto& m : modules_) {
        out.push_back(m->usage());
    }
    return out;
}

const workflow_module& module_of(const workflow& wf) {
    if (wf.module == nullptr) {
        throw std::invalid_argument("workflow " + wf.name + " has no module to run it");
    }
    return *wf.module;
}

std::vector<std::string> effects_differences(const msg::domain_effects& got,
                                             const msg::domain_effects& predicted) {
    std::vector<std::string> out;
    auto value = [](const msg::domain_effects& e, const std::string& key) {
        const auto it = e.find(key);
        return it == e.end() ? std::int64_t{0} : it->second;
    };
    auto check = [&](const std::string& key) {
        if (value(got, key) != value(predicted, key)) {
            out.push_back(fmt::format("{}: got {}, predicted {}", key, value(got, key),
                                      value(predicted, key)));
        }
    };
    for (const auto& [key, n] : got) {
        check(key);
    }
    for (const auto& [key, n] : predicted) {
        if (!got.contains(key)) {
            check(key);
        }
    }
    return out;
}

} // namespace choreo

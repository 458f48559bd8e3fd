#include "workflows/ticket/ticket.hpp"

#include <algorithm>
#include <array>
#include <random>

#include <fmt/format.h>

#include "patterns/errors.hpp"
#include "patterns/log.hpp"

namespace choreo::ticket {
namespace {

/// Bytes of one std::map node beside its key and value (links, colour, padding).
constexpr std::size_t map_node = 32;

constexpr std::array<std::string_view, 4> skills{"network", "printer", "laptop", "phone"};

using counts = std::map<std::string, std::uint64_t>;

void add_counts(domain_effects& out, std::string_view prefix, const counts& c) {
    for (const auto& [key, n] : c) {
        out[std::string(prefix) + key] += static_cast<std::int64_t>(n);
    }
}

std::size_t counts_bytes(const counts& c) {
    return c.size() * (map_node + sizeof(std::string) + sizeof(std::uint64_t));
}

/// What the customer is told, by the event that tells them.
std::string subject_of(std::string_view event) {
    if (event == "no_expert_found") {
        return "no_expert";
    }
    if (event == "expert_unavailable") {
        return "escalated";
    }
    if (event == "ticket_cancelled") {
        return "cancelled";
    }
    return "expert_on_the_way";
}

/// Notifications are counted per channel, customer and subject: a bounded set of keys however
/// many tickets are served, which still shows one missing, misdirected or sent twice.
std::string notice_key(const fixture& data, const std::string& customer,
                       const std::string& subject) {
    const auto it = data.customers.find(customer);
    const auto channel = it == data.customers.end() ? std::string("none") : it->second.notify_by;
    return channel + ":" + customer + ":" + subject;
}

// ---- ticket_management: takes the ticket, and completes it -----------------------------------

class ticket_management final : public typed_domain_service<trouble_ticket> {
public:
    explicit ticket_management(const fixture& f)
        : typed_domain_service("ticket_management"), data_(f) {}

private:
    step_result decide(const workflow& wf, std::uint32_t index, const std::string&,
                       const trouble_ticket& t) override {
        if (index != 0) {
            ++closed_;
            return {"", fmt::format("ticket of {} completed, survey asked for", t.customer)};
        }
        if (!data_.customers.contains(t.customer)) {
            return {"invalid_ticket", "unknown customer " + t.customer};
        }
        if (std::find(skills.begin(), skills.end(), t.problem) == skills.end()) {
            return {"invalid_ticket", "no expert skill for problem " + t.problem};
        }
        static_cast<void>(wf);
        ++opened_;
        return {"", fmt::format("ticket opened for {}: {} in {}", t.customer, t.problem, t.zone)};
    }

    void do_add_effects(domain_effects& out) const override {
        out["tickets_opened"] += static_cast<std::int64_t>(opened_);
        out["tickets_completed"] += static_cast<std::int64_t>(closed_);
    }
    std::size_t on_domain_bytes() const override { return 2 * sizeof(std::uint64_t); }

    // The customers are the fixture's, never changed: a service built the same way has them.
    void on_save(snapshot::writer& w) const override { w << opened_ << closed_; }
    void on_load(snapshot::reader& r) override {
        std::uint64_t opened = 0, closed = 0;
        r >> opened >> closed;
        opened_ = opened;
        closed_ = closed;
    }

    const fixture& data_;
    std::uint64_t opened_ = 0;
    std::uint64_t closed_ = 0;
};

// ---- ticket_assignment: finds the round's expert by skill, zone and availability ------------

class ticket_assignment final : public typed_domain_service<trouble_ticket> {
public:
    explicit ticket_assignment(const fixture& f)
        : typed_domain_service("ticket_assignment"), data_(f) {}

private:
    step_result decide(const workflow& wf, std::uint32_t index, const std::string&,
                       const trouble_ticket& t) override {
        // Each round offers the ticket to the next candidate: the same ticket gets the same
        // expert in the same round whatever else is in flight.
        const auto round = wf.steps.at(index).round;
        const auto candidates = data_.candidates(t);
        if (round > candidates.size()) {
            ++unassigned_;
            return {"no_expert",
                    fmt::format("no {} expert free in {} for round {}", t.problem, t.zone, round)};
        }
        const auto& expert = candidates[round - 1];
        ++assigned_[expert];
        return {"",
                fmt::format("assigned {} (round {}), routed to the expert's app", expert, round)};
    }

    void do_add_effects(domain_effects& out) const override {
        add_counts(out, "assigned:", assigned_);
        out["unassigned"] += static_cast<std::int64_t>(unassigned_);
    }
    std::size_t on_domain_bytes() const override {
        return counts_bytes(assigned_) +
               data_.experts.size() * (map_node + sizeof(std::string) + sizeof(fixture::expert));
    }

    void on_save(snapshot::writer& w) const override { w << assigned_ << unassigned_; }
    void on_load(snapshot::reader& r) override {
        counts assigned;
        std::uint64_t unassigned = 0;
        r >> assigned >> unassigned;
        assigned_ = std::move(assigned);
        unassigned_ = unassigned;
    }

    const fixture& data_;
    counts assigned_; ///< tickets routed, per expert
    std::uint64_t unassigned_ = 0;
};

// ---- notification: tells the customer, by SMS or email as their profile says -----------------

class notification final : public typed_domain_service<trouble_ticket> {
public:
    explicit notification(const fixture& f) : typed_domain_service("notification"), data_(f) {}

private:
    step_result decide(const workflow&, std::uint32_t, const std::string&,
                       const trouble_ticket& t) override {
        return {"", send(t, subject_of("customer_notified"))};
    }
    std::string on_failure(const failure& f, const std::string&, const trouble_ticket& t) override {
        return send(t, subject_of(f.event));
    }

    std::string send(const trouble_ticket& t, const std::string& subject) {
        const auto key = notice_key(data_, t.customer, subject);
        ++sent_[key];
        return "sent " + key;
    }

    void do_add_effects(domain_effects& out) const override { add_counts(out, "", sent_); }
    std::size_t on_domain_bytes() const override { return counts_bytes(sent_); }

    void on_save(snapshot::writer& w) const override { w << sent_; }
    void on_load(snapshot::reader& r) override {
        counts sent;
        r >> sent;
        sent_ = std::move(sent);
    }

    const fixture& data_;
    counts sent_; ///< notifications sent, by notice_key
};

// ---- expert_app: the experts' devices: accept and fix, or decline --------------------------

class expert_app final : public typed_domain_service<trouble_ticket> {
public:
    explicit expert_app(const fixture& f) : typed_domain_service("expert_app"), data_(f) {}

private:
    step_result decide(const workflow& wf, std::uint32_t index, const std::string&,
                       const trouble_ticket& t) override {
        const auto round = wf.steps.at(index).round;
        const auto candidates = data_.candidates(t);
        if (round > candidates.size()) {
            return {"reassign", fmt::format("no expert was routed in round {}", round)};
        }
        const auto& expert = candidates[round - 1];
        const auto& how = data_.experts.at(expert).reliability;
        if (how == "completes") {
            ++fixed_[expert];
            return {"", fmt::format("{} accepted, fixed it and marked it complete", expert)};
        }
        ++reassigned_[expert];
        return {"reassign", fmt::format("{} {}: to be reassigned", expert,
                                        how == "declines" ? "declined" : "was " + how)};
    }
    std::string on_failure(const failure& f, const std::string&, const trouble_ticket& t) override {
        ++stopped_;
        return fmt::format("the app stops work on the ticket of {}: {}", t.customer, f.event);
    }

    void do_add_effects(domain_effects& out) const override {
        add_counts(out, "fixed_by:", fixed_);
        add_counts(out, "reassigned_from:", reassigned_);
        out["app_told_to_stop"] += static_cast<std::int64_t>(stopped_);
    }
    std::size_t on_domain_bytes() const override {
        return counts_bytes(fixed_) + counts_bytes(reassigned_);
    }

    void on_save(snapshot::writer& w) const override { w << fixed_ << reassigned_ << stopped_; }
    void on_load(snapshot::reader& r) override {
        counts fixed, reassigned;
        std::uint64_t stopped = 0;
        r >> fixed >> reassigned >> stopped;
        fixed_ = std::move(fixed);
        reassigned_ = std::move(reassigned);
        stopped_ = stopped;
    }

    const fixture& data_;
    counts fixed_;      ///< tickets completed, per expert
    counts reassigned_; ///< tickets an expert declined, missed or ran late on
    std::uint64_t stopped_ = 0;
};

// ---- survey: sends the customer a survey once the ticket is complete -------------------------

class survey final : public typed_domain_service<trouble_ticket> {
public:
    explicit survey(const fixture& f)
        : typed_domain_service("survey"), data_(f), held_(max_surveys_held) {}

private:
    /// A survey that could not be sent, held for the next rounds of retries.
    struct held_survey {
        std::string customer;
        std::uint32_t retries = 0; ///< retries made so far
        std::uint64_t since = 0;   ///< the round it was held or last retried in
        bool operator==(const held_survey&) const = default;
        MSGPACK_DEFINE_MAP(customer, retries, since)
    };

    step_result decide(const workflow&, std::uint32_t, const std::string& workflow_id,
                       const trouble_ticket& t) override {
        const auto it = data_.customers.find(t.customer);
        if (it != data_.customers.end() && it->second.survey_reach == "now") {
            ++sent_;
            return {"", "survey sent to " + t.customer};
        }
        ++failed_;
        if (it == data_.customers.end()) {
            return {"survey_down", "no such customer as " + t.customer};
        }
        auto [held, evicted] = held_.emplace(workflow_id);
        *held = {t.customer, 0, round_};
        if (evicted) {
            log().warn("survey: the survey of {} is dropped unsent: {} surveys are held for a "
                       "retry already",
                       printable(*evicted), held_.capacity());
        }
        return {"survey_down",
                "the survey provider cannot reach " + t.customer + "; the survey is retried later"};
    }

    std::size_t on_later_work() const override { return held_.size(); }
    std::chrono::milliseconds on_later_period() const override { return survey_retry_period; }

    /// A round of retries: each survey held before this round is tried once more; it is sent
    /// if the provider reaches the customer now, given up after survey_retries, or held again.
    void on_run_later() override {
        ++round_;
        std::vector<std::string> due;
        held_.for_each([&](const std::string& id, const held_survey& h) {
            if (h.since < round_) {
                due.push_back(id);
            }
        });
        for (const auto& id : due) {
            auto& h = *held_.find(id);
            ++h.retries;
            ++retried_;
            if (data_.customers.at(h.customer).survey_reach == "later") {
                ++sent_later_;
                held_.erase(id);
            } else if (h.retries >= survey_retries) {
                ++given_up_;
                held_.erase(id);
            } else {
                h.since = round_;
            }
        }
    }

    void do_add_effects(domain_effects& out) const override {
        out["surveys_sent"] += static_cast<std::int64_t>(sent_);
        out["surveys_failed"] += static_cast<std::int64_t>(failed_);
        out["surveys_retried"] += static_cast<std::int64_t>(retried_);
        out["surveys_sent_later"] += static_cast<std::int64_t>(sent_later_);
        out["surveys_given_up"] += static_cast<std::int64_t>(given_up_);
        out["surveys_dropped"] += static_cast<std::int64_t>(held_.evicted());
        out["surveys_to_retry"] += static_cast<std::int64_t>(held_.size());
    }
    std::size_t on_domain_bytes() const override {
        std::size_t n = 6 * sizeof(std::uint64_t) + held_.overhead_bytes();
        held_.for_each([&](const std::string& id, const held_survey& h) {
            n += id.size() + sizeof(held_survey) + h.customer.size();
        });
        return n;
    }

    void on_save(snapshot::writer& w) const override {
        std::vector<std::pair<std::string, held_survey>> held;
        held_.for_each(
            [&](const std::string& id, const held_survey& h) { held.emplace_back(id, h); });
        w << sent_ << failed_ << retried_ << sent_later_ << given_up_ << round_ << held
          << held_.evicted();
    }
    void on_load(snapshot::reader& r) override {
        std::uint64_t sent = 0, failed = 0, retried = 0, sent_later = 0, given_up = 0, round = 0,
                      dropped = 0;
        std::vector<std::pair<std::string, held_survey>> held;
        r >> sent >> failed >> retried >> sent_later >> given_up >> round >> held >> dropped;
        for (const auto& [id, h] : held) {
            if (!data_.customers.contains(h.customer)) {
                throw snapshot::invalid("survey: a held survey names no customer: " + h.customer);
            }
        }
        sent_ = sent;
        failed_ = failed;
        retried_ = retried;
        sent_later_ = sent_later;
        given_up_ = given_up;
        round_ = round;
        held_.clear();
        for (auto& [id, h] : held) {
            *held_.emplace(id).first = std::move(h);
        }
        held_.set_evicted(dropped);
    }

    const fixture& data_;
    std::uint64_t sent_ = 0;        ///< sent at the first attempt
    std::uint64_t failed_ = 0;      ///< not sent at the first attempt (the ticket closes without)
    std::uint64_t retried_ = 0;     ///< retries made
    std::uint64_t sent_later_ = 0;  ///< sent at a retry
    std::uint64_t given_up_ = 0;    ///< not sent after survey_retries retries
    std::uint64_t round_ = 0;       ///< rounds of retries run
    pending_map<held_survey> held_; ///< surveys to retry, by workflow id, the oldest first
};

// ---- what a ticket does to the data, known before it is placed -------------------------------

/// Walks a ticket through the model on the standard data: its terminal state, and its effects
/// added to `e` if given. `cancelled`: the customer cancels it while it waits for the expert.
std::string walk(const fixture& data, const trouble_ticket& t, bool cancelled, domain_effects* e) {
    auto bump = [&](const std::string& key) {
        if (e != nullptr) {
            ++(*e)[key];
        }
    };
    if (!data.customers.contains(t.customer) ||
        std::find(skills.begin(), skills.end(), t.problem) == skills.end()) {
        return "rejected";
    }
    bump("tickets_opened");
    const auto candidates = data.candidates(t);
    for (std::uint32_t round = 1; round <= max_rounds; ++round) {
        if (round > candidates.size()) {
            bump("unassigned");
            bump(notice_key(data, t.customer, "no_expert"));
            return "unassigned";
        }
        const auto& expert = candidates[round - 1];
        bump("assigned:" + expert);
        bump(notice_key(data, t.customer, "expert_on_the_way"));
        if (cancelled) {
            bump(notice_key(data, t.customer, "cancelled"));
            bump("app_told_to_stop");
            return "cancelled";
        }
        if (data.experts.at(expert).reliability == "completes") {
            bump("fixed_by:" + expert);
            bump("tickets_completed");
            const auto& reach = data.customers.at(t.customer).survey_reach;
            if (reach == "now") {
                bump("surveys_sent");
                return "completed";
            }
            // The ticket closes without; the survey service retries it after the ticket ended.
            bump("surveys_failed");
            for (std::uint32_t retry = 1; retry <= survey_retries; ++retry) {
                bump("surveys_retried");
                if (reach == "later") {
                    bump("surveys_sent_later");
                    return "closed_no_survey";
                }
            }
            bump("surveys_given_up");
            return "closed_no_survey";
        }
        bump("reassigned_from:" + expert);
        if (round == max_rounds) {
            bump(notice_key(data, t.customer, "escalated"));
            return "escalated";
        }
    }
    return "escalated"; // not reached: the last round returns
}

const fixture& standard_data() {
    static const fixture data = fixture::standard();
    return data;
}

// ---- the seeded generator -------------------------------------------------------------------

constexpr int plain_customers = 40;
constexpr int unsurveyed_customers = 10;

std::string customer_name(char kind, int i) {
    return fmt::format("{}{:03}", kind, i);
}

const std::vector<std::string>& scenario_list() {
    static const std::vector<std::string> names{"happy",     "reassign",    "no_expert",
                                                "cancelled", "survey_down", "mixed"};
    return names;
}

class generator final : public workload {
public:
    generator(std::uint64_t seed, std::string mix) : random_(seed), mix_(std::move(mix)) {}

    planned_workflow next() override {
        if (mix_ != "mixed") {
            return make(mix_);
        }
        // mixed: 50% happy, 20% reassigned, 10% each no expert, cancelled, survey down
        const auto roll = pick(0, 99);
        return make(roll < 50   ? "happy"
                    : roll < 70 ? "reassign"
                    : roll < 80 ? "no_expert"
                    : roll < 90 ? "cancelled"
                                : "survey_down");
    }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); }

    planned_workflow make(const std::string& s) {
        static const std::array<std::string_view, 3> reassigning{"south", "east", "west"};
        trouble_ticket t;
        t.customer = s == "survey_down" ? customer_name('q', pick(1, unsurveyed_customers))
                                        : customer_name('c', pick(1, plain_customers));
        t.problem = std::string(skills.at(static_cast<std::size_t>(pick(0, 3))));
        t.zone = s == "reassign" ? std::string(reassigning.at(static_cast<std::size_t>(pick(0, 2))))
                 : s == "no_expert" ? "remote"
                                    : "north";
        const bool cancelled = s == "cancelled";
        planned_workflow p{msg::value::of(t), walk(standard_data(), t, cancelled, nullptr), s};
        if (cancelled) {
            p.interrupt = std::string(cancel_command);
        } else {
            p.outside_events.emplace_back(expert_reported);
        }
        return p;
    }

    std::mt19937_64 random_;
    std::string mix_;
};

// ---- the module -----------------------------------------------------------------------------

class module final : public workflow_module {
public:
    std::string_view name() const noexcept override { return "ticket"; }
    std::string usage() const override { return "ticket"; }

    result<workflow> model(std::string_view name) const override {
        if (name != "ticket") {
            return std::error_code(errc::unknown_workflow);
        }
        auto wf = choreo::ticket::model();
        wf.module = this;
        return wf;
    }

    result<std::unique_ptr<domain_service>> make_service(const workflow&,
                                                         std::string_view service) const override {
        const auto& data = standard_data();
        std::unique_ptr<domain_service> out;
        if (service == "ticket_management") {
            out = std::make_unique<ticket_management>(data);
        } else if (service == "ticket_assignment") {
            out = std::make_unique<ticket_assignment>(data);
        } else if (service == "notification") {
            out = std::make_unique<notification>(data);
        } else if (service == "expert_app") {
            out = std::make_unique<expert_app>(data);
        } else if (service == "survey") {
            out = std::make_unique<survey>(data);
        } else {
            return std::error_code(errc::unknown_service);
        }
        return out;
    }

    std::vector<std::string> scenarios(const workflow&) const override { return scenario_list(); }

    std::vector<std::string> traced_scenarios(const workflow&) const override {
        return {"happy", "reassign", "no_expert", "cancelled", "survey_down"};
    }

    result<std::unique_ptr<workload>> make_workload(const workflow&, std::string_view scenario,
                                                    std::uint64_t seed) const override {
        const auto& names = scenario_list();
        if (std::find(names.begin(), names.end(), scenario) == names.end()) {
            return std::error_code(errc::unknown_workflow);
        }
        return std::unique_ptr<workload>(std::make_unique<generator>(seed, std::string(scenario)));
    }

    domain_effects predict(const workflow&, const placed_workflows& placed) const override {
        domain_effects e{
            {"tickets_opened", 0},   {"tickets_completed", 0},  {"unassigned", 0},
            {"app_told_to_stop", 0}, {"surveys_sent", 0},       {"surveys_failed", 0},
            {"surveys_retried", 0},  {"surveys_sent_later", 0}, {"surveys_given_up", 0},
            {"surveys_dropped", 0},  {"surveys_to_retry", 0}};
        for (const auto& placed_one : placed) {
            const auto& p = placed_one.second;
            const auto t = decode_value<trouble_ticket>(p.details);
            if (t) {
                walk(standard_data(), t.value(), !p.interrupt.empty(), &e);
            }
        }
        return e;
    }

    bool settled(const workflow&, const domain_effects& e) const override {
        const auto it = e.find("surveys_to_retry");
        return it == e.end() || it->second == 0;
    }

    std::string describe(const msg::value& details) const override {
        const auto t = decode_value<trouble_ticket>(details);
        if (!t) {
            return "(not a trouble ticket)";
        }
        return fmt::format("{}: {} problem in {}", t.value().customer, t.value().problem,
                           t.value().zone);
    }

    std::string describe(const domain_effects& e) const override {
        std::int64_t assigned = 0, fixed = 0, reassigned = 0, notices = 0;
        for (const auto& [key, n] : e) {
            if (key.starts_with("assigned:")) {
                assigned += n;
            } else if (key.starts_with("fixed_by:")) {
                fixed += n;
            } else if (key.starts_with("reassigned_from:")) {
                reassigned += n;
            } else if (key.starts_with("sms:") || key.starts_with("email:")) {
                notices += n;
            }
        }
        auto at = [&](const char* key) { return e.contains(key) ? e.at(key) : 0; };
        return fmt::format("{} tickets opened, {} completed; {} assignments, {} unassigned, {} "
                           "reassigned; {} fixed; {} notifications; {} surveys sent, {} not "
                           "({} sent at a retry, {} given up, {} to retry)",
                           at("tickets_opened"), at("tickets_completed"), assigned,
                           at("unassigned"), reassigned, fixed, notices, at("surveys_sent"),
                           at("surveys_failed"), at("surveys_sent_later"), at("surveys_given_up"),
                           at("surveys_to_retry"));
    }
};

} // namespace

fixture fixture::standard() {
    fixture f;
    for (int i = 1; i <= plain_customers; ++i) {
        f.customers[customer_name('c', i)] = {i % 3 == 0 ? "premium" : "basic",
                                              i % 2 == 0 ? "sms" : "email", "now"};
    }
    // The survey provider reaches the first half of these customers at a retry, the others
    // never.
    for (int i = 1; i <= unsurveyed_customers; ++i) {
        f.customers[customer_name('q', i)] = {"basic", i % 2 == 0 ? "sms" : "email",
                                              i <= unsurveyed_customers / 2 ? "later" : "never"};
    }
    // Per zone and skill, the experts in the order a ticket is offered to them: the first
    // completes in the north, the second in the south, the third in the east; in the west none
    // completes within max_rounds; in the remote zone nobody is available.
    const std::vector<std::pair<std::string, std::vector<std::string>>> zones{
        {"north", {"completes", "completes"}},
        {"south", {"declines", "completes"}},
        {"east", {"unreachable", "late", "completes"}},
        {"west", {"declines", "unreachable", "late", "completes"}},
        {"remote", {"completes"}},
    };
    for (const auto& [zone, reliabilities] : zones) {
        for (const auto skill : skills) {
            for (std::size_t i = 0; i < reliabilities.size(); ++i) {
                f.experts[fmt::format("{}-{}-{}", zone, skill, i + 1)] = {
                    {std::string(skill)}, zone, zone != "remote", reliabilities[i]};
            }
        }
    }
    return f;
}

std::vector<std::string> fixture::candidates(const trouble_ticket& t) const {
    std::vector<std::string> out;
    for (const auto& [name, e] : experts) {
        if (e.available && e.zone == t.zone &&
            std::find(e.skills.begin(), e.skills.end(), t.problem) != e.skills.end()) {
            out.push_back(name);
        }
    }
    return out; // by name: "<zone>-<skill>-<n>" in the order n
}

workflow model() {
    using namespace std::chrono_literals;
    workflow wf;
    wf.name = "ticket";
    wf.steps = {
        {"ticket_management",
         "ticket_created",
         {{"invalid_ticket", "ticket_rejected", "rejected", {}}}},
        {"ticket_assignment",
         "expert_assigned",
         {{"no_expert", "no_expert_found", "unassigned", {"notification"}}}},
        {"notification", "customer_notified", {}},
        {"expert_app",
         "ticket_fixed",
         {{"reassign", "expert_unavailable", "escalated", {"notification"}}}},
        {"ticket_management", "ticket_completed", {}},
        {"survey", "survey_sent", {{"survey_down", "survey_failed", "closed_no_survey", {}}}},
    };
    // The expert works for a while: the app reports back from outside the chain, and the step
    // waits for it as long as a visit takes.
    wf.steps[3].awaits = std::string(expert_reported);
    wf.steps[3].deadline = 120s;
    // A survey that cannot be sent does not fail the ticket: it closes without one.
    wf.steps[5].optional = true;
    wf.steps[5].deadline = 30s;
    // The customer may cancel at any step: the app and the customer are told, no survey.
    wf.interrupts = {{std::string(cancel_command),
                      "ticket_cancelled",
                      "cancelled",
                      {"notification", "expert_app"}}};
    // An expert who declines, cannot be reached or runs late: the ticket goes back to
    // assignment, at most max_rounds times, then it is escalated to a person.
    return repeat(std::move(wf), 1, 3, "expert_unavailable", max_rounds);
}

std::unique_ptr<workflow_module> make_module() {
    return std::make_unique<module>();
}

} // namespace choreo::ticket

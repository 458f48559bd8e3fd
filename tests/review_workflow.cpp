#include "review_workflow.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "patterns/errors.hpp"
#include "patterns/retention.hpp"

namespace choreo::review {
namespace {

constexpr int author_count = 12;
constexpr std::string_view banned_word = "clickbait";

std::string author_name(int i) {
    return fmt::format("author-{:02}", i);
}

/// Returns: whether the editor refuses `s`, and why.
std::string refusal(const desk& rules, const submission& s) {
    if (s.words > rules.most_words) {
        return fmt::format("{} words, at most {}", s.words, rules.most_words);
    }
    for (const auto& word : rules.banned_words) {
        if (s.title.find(word) != std::string::npos) {
            return fmt::format("title contains '{}'", word);
        }
    }
    return {};
}

// ---- submit: the desk that takes manuscripts in, and returns the refused ones -------------------

class submit final : public typed_domain_service<submission> {
public:
    explicit submit(const desk& d) : typed_domain_service("submit"), authors_(d.authors) {}

private:
    step_result decide(const workflow&, std::uint32_t, const std::string& workflow_id,
                       const submission& s) override {
        if (taken_.try_emplace(workflow_id, s.author).second) {
            ++submitted_[s.author];
        }
        taken_.finish(workflow_id); // this service's part is done, as far as it can tell
        return {"", fmt::format("took in '{}' by {} ({} author)", s.title, s.author,
                                authors_.contains(s.author) ? "a known" : "a new")};
    }

    std::string on_failure(const failure& f, const std::string& workflow_id,
                           const submission& s) override {
        if (returned_ids_.try_emplace(workflow_id).second) {
            ++returned_[s.author];
        }
        returned_ids_.finish(workflow_id);
        return fmt::format("returned '{}' to {} ({})", s.title, s.author, f.event);
    }

    void do_add_effects(domain_effects& out) const override {
        for (const auto& [author, n] : submitted_) {
            out["submitted:" + author] += n;
        }
        for (const auto& [author, n] : returned_) {
            out["returned:" + author] += n;
        }
    }

    std::size_t on_domain_bytes() const override {
        std::size_t n = 0;
        taken_.for_each([&](const std::string& id, const std::string& author) {
            n += id.size() + author.size();
        });
        return n + returned_ids_.size() * sizeof(std::string) +
               (authors_.size() + submitted_.size() + returned_.size()) * sizeof(std::string);
    }

    void on_retain_finished(std::size_t n) override {
        taken_.set_limits(n, 0);
        returned_ids_.set_limits(n, 0);
    }

    // The authors are the desk's, never changed: a service built the same way has them.
    void on_save(snapshot::writer& w) const override {
        snapshot::write(w, taken_);
        snapshot::write(w, returned_ids_);
        w << submitted_ << returned_;
    }
    void on_load(snapshot::reader& r) override {
        auto taken = snapshot::read_new(r, taken_);
        auto returned_ids = snapshot::read_new(r, returned_ids_);
        std::map<std::string, std::int64_t> submitted, returned;
        r >> submitted >> returned;
        taken_ = std::move(taken);
        returned_ids_ = std::move(returned_ids);
        submitted_ = std::move(submitted);
        returned_ = std::move(returned);
    }

    std::set<std::string> authors_;
    retention_map<std::string> taken_; ///< workflow id -> author, the last ones taken
    retention_map<bool> returned_ids_; ///< the last ones returned
    std::map<std::string, std::int64_t> submitted_, returned_; ///< by author
};

// ---- check: the editor, who refuses by the desk's rules -----------------------------------------

class check final : public typed_domain_service<submission> {
public:
    explicit check(const desk& d) : typed_domain_service("check"), rules_(d) {}

private:
    step_result decide(const workflow&, std::uint32_t, const std::string& workflow_id,
                       const submission& s) override {
        if (const auto* kept = decided_.find(workflow_id)) {
            return *kept; // a manuscript is checked once (within the retention)
        }
        const auto why = refusal(rules_, s);
        step_result r = why.empty() ? step_result{"", "fit to print"} : step_result{"refused", why};
        ++checked_;
        refused_ += why.empty() ? 0 : 1;
        decided_.try_emplace(workflow_id, r);
        decided_.finish(workflow_id);
        return r;
    }

    void do_add_effects(domain_effects& out) const override {
        out["checked"] += checked_;
        out["refused"] += refused_;
    }

    std::size_t on_domain_bytes() const override {
        std::size_t n = 0;
        decided_.for_each([&](const std::string& id, const step_result& r) {
            n += id.size() + r.detail.size() + r.failure.size();
        });
        return n;
    }

    void on_retain_finished(std::size_t n) override { decided_.set_limits(n, 0); }

    // The rules are the desk's, never changed: a service built the same way has them.
    void on_save(snapshot::writer& w) const override {
        snapshot::write(w, decided_);
        w << checked_ << refused_;
    }
    void on_load(snapshot::reader& r) override {
        auto decided = snapshot::read_new(r, decided_);
        std::int64_t checked = 0, refused = 0;
        r >> checked >> refused;
        decided_ = std::move(decided);
        checked_ = checked;
        refused_ = refused;
    }

    desk rules_;
    retention_map<step_result> decided_;
    std::int64_t checked_ = 0;
    std::int64_t refused_ = 0;
};

// ---- publish: the catalog of what was printed ---------------------------------------------------

class publish final : public typed_domain_service<submission> {
public:
    publish() : typed_domain_service("publish") {}

private:
    step_result decide(const workflow&, std::uint32_t, const std::string& workflow_id,
                       const submission& s) override {
        auto [number, fresh] = catalog_.try_emplace(workflow_id, published_ + 1);
        if (fresh) {
            ++published_;
            words_ += s.words;
        }
        catalog_.finish(workflow_id);
        return {"", fmt::format("published '{}' as #{}", s.title, *number)};
    }

    void do_add_effects(domain_effects& out) const override {
        out["published"] += published_;
        out["words_published"] += words_;
    }

    std::size_t on_domain_bytes() const override {
        std::size_t n = 0;
        catalog_.for_each([&](const std::string& id, const std::int64_t& number) {
            n += id.size() + sizeof(number);
        });
        return n;
    }

    void on_retain_finished(std::size_t n) override { catalog_.set_limits(n, 0); }

    void on_save(snapshot::writer& w) const override {
        snapshot::write(w, catalog_);
        w << published_ << words_;
    }
    void on_load(snapshot::reader& r) override {
        auto catalog = snapshot::read_new(r, catalog_);
        std::int64_t published = 0, words = 0;
        r >> published >> words;
        catalog_ = std::move(catalog);
        published_ = published;
        words_ = words;
    }

    retention_map<std::int64_t> catalog_; ///< workflow id -> catalog number, the last ones
    std::int64_t published_ = 0;          ///< running count: retiring never changes it
    std::int64_t words_ = 0;
};

// ---- the seeded generator -----------------------------------------------------------------------

const std::vector<std::string>& scenario_list() {
    static const std::vector<std::string> names{"happy", "rejected", "mixed"};
    return names;
}

class generator final : public workload {
public:
    generator(std::uint64_t seed, std::string mix) : random_(seed), mix_(std::move(mix)) {}

    planned_workflow next() override {
        if (mix_ != "mixed") {
            return make(mix_);
        }
        return make(pick(0, 9) < 7 ? "happy" : "rejected"); // 70% published
    }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); }

    planned_workflow make(const std::string& s) {
        static const auto rules = desk::standard();
        submission m{author_name(pick(1, author_count)), fmt::format("notes {}", pick(1, 999)),
                     static_cast<std::uint32_t>(pick(300, static_cast<int>(rules.most_words)))};
        if (s == "rejected") {
            if (pick(0, 1) == 0) {
                m.words = rules.most_words + static_cast<std::uint32_t>(pick(1, 5000));
            } else {
                m.title += " " + std::string(banned_word);
            }
        }
        return {msg::value::of(m), s == "happy" ? "completed" : "rejected", s};
    }

    std::mt19937_64 random_;
    std::string mix_;
};

// ---- the module ---------------------------------------------------------------------------------

class module final : public workflow_module {
public:
    std::string_view name() const noexcept override { return "review"; }
    std::string usage() const override { return "review"; }

    result<workflow> model(std::string_view name) const override {
        if (name != "review") {
            return std::error_code(errc::unknown_workflow);
        }
        auto wf = review::model();
        wf.module = this;
        return wf;
    }

    result<std::unique_ptr<domain_service>> make_service(const workflow&,
                                                         std::string_view service) const override {
        static const auto rules = desk::standard();
        if (service == "submit") {
            return std::unique_ptr<domain_service>(std::make_unique<submit>(rules));
        }
        if (service == "check") {
            return std::unique_ptr<domain_service>(std::make_unique<check>(rules));
        }
        if (service == "publish") {
            return std::unique_ptr<domain_service>(std::make_unique<publish>());
        }
        return std::error_code(errc::unknown_service);
    }

    std::vector<std::string> scenarios(const workflow&) const override { return scenario_list(); }
    std::vector<std::string> traced_scenarios(const workflow&) const override {
        return {"happy", "rejected"};
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
        domain_effects e{{"checked", 0}, {"refused", 0}, {"published", 0}, {"words_published", 0}};
        for (const auto& [id, p] : placed) {
            const auto s = decode_value<submission>(p.details).value();
            ++e["submitted:" + s.author];
            ++e["checked"];
            if (p.expected_terminal == "rejected") {
                ++e["refused"];
                ++e["returned:" + s.author];
            } else {
                ++e["published"];
                e["words_published"] += s.words;
            }
        }
        return e;
    }

    std::string describe(const msg::value& details) const override {
        const auto s = decode_value<submission>(details);
        if (!s) {
            return "(not a submission)";
        }
        return fmt::format("{}: '{}', {} words", s.value().author, s.value().title,
                           s.value().words);
    }

    std::string describe(const domain_effects& e) const override {
        auto at = [&](const char* key) { return e.contains(key) ? e.at(key) : 0; };
        return fmt::format("{} checked, {} published ({} words), {} refused and returned",
                           at("checked"), at("published"), at("words_published"), at("refused"));
    }
};

} // namespace

desk desk::standard() {
    desk d;
    for (int i = 1; i <= author_count; ++i) {
        d.authors.insert(author_name(i));
    }
    d.banned_words.insert(std::string(banned_word));
    d.most_words = 8000;
    return d;
}

workflow model() {
    workflow wf;
    wf.name = "review";
    wf.steps = {
        {"submit", "submitted", {}},
        {"check", "checked", {{"refused", "submission_rejected", "rejected", {"submit"}}}},
        {"publish", "published", {}},
    };
    return wf;
}

std::unique_ptr<workflow_module> make_module() {
    return std::make_unique<module>();
}

const workflow_registry& test_workflows() {
    static const workflow_registry instance = [] {
        workflow_registry r;
        r.add(make_module());
        return r;
    }();
    return instance;
}

} // namespace choreo::review

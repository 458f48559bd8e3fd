#include "patterns/client.hpp"

#include <algorithm>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "patterns/clock.hpp"
#include "patterns/errors.hpp"
#include "patterns/log.hpp"

namespace choreo {

struct client::pending_query {
    pending_query(asio::io_context& io) : timer(io) {}
    std::promise<status_answer> promise;
    status_answer answer;
    std::int64_t started_ns{};
    asio::steady_timer timer;
};

client::client(node& net, const pattern& p, const workflow& wf,
               std::chrono::milliseconds query_timeout)
    : node_(net), pattern_(p), workflow_(wf), enders_(p.enders(wf)), query_timeout_(query_timeout) {
    node_.on_message([this](node&, const incoming& in) { receive(in); });
    // An order dropped after it was accepted (its entry went away mid-message) ends as one that
    // could not be sent: nobody else will ever end it.
    node_.on_send_failed([this](const failed_send& f) {
        if (f.what.payload.holds<msg::place_order>()) {
            not_placed(f.what.env.workflow_id, "place_order to " + f.to + " dropped: " +
                                                   make_error_code(f.reason).message());
        }
    });
}

client::~client() = default;

std::string client::place(const msg::value& details) {
    std::string id;
    {
        std::lock_guard lock(mutex_);
        id = workflow_id(++next_id_);
    }
    place(id, details);
    return id;
}

void client::place(const std::string& workflow_id, const msg::value& details) {
    {
        std::lock_guard lock(mutex_);
        placed_at_[workflow_id] = steady_ns();
    }
    // On the io thread (from an on_ended hook, say) the order goes out at once; from any other
    // thread it is queued to the io thread.
    asio::dispatch(node_.io(), [this, workflow_id, details, entry = pattern_.entry(workflow_)] {
        // Posted work must not throw: a send that fails, or throws, ends the workflow here.
        try {
            const auto sent =
                node_.send(entry, {workflow_id, 0, 0,
                                   msg::place_order{workflow_.name, node_.name(), details}});
            if (!sent) {
                not_placed(workflow_id,
                           "place_order not sent to " + entry + ": " + sent.error().message());
            }
        } catch (const std::exception& e) {
            log().error("{}: placing {} failed: {}", node_.name(), printable(workflow_id),
                        printable(e.what()));
            not_placed(workflow_id, "place_order not sent to " + entry + ": " + e.what());
        }
    });
}

std::error_code client::send_outside(const std::string& workflow_id, const std::string& event,
                                     const msg::value& details) {
    if (workflow_.interrupt_by(event) == nullptr && !workflow_.awaited_from_outside(event)) {
        return errc::unknown_workflow;
    }
    asio::dispatch(node_.io(), [this, workflow_id, event, details,
                                targets = pattern_.outside_event_targets(workflow_, event)] {
        for (const auto& to : targets) {
            try {
                // Unsent, it is counted and logged by the node: the workflow goes on as if the
                // event had not come.
                static_cast<void>(node_.send(
                    to, {workflow_id, 0, 0,
                         msg::workflow_event{workflow_.name, event, 0, node_.name(), details}}));
            } catch (const std::exception& e) {
                log().error("{}: sending {} for {} failed: {}", node_.name(), printable(event),
                            printable(workflow_id), printable(e.what()));
            }
        }
    });
    return {};
}

void client::not_placed(const std::string& workflow_id, const std::string& why) {
    // Posted, not called: an on_ended hook that places the next order (which fails in turn)
    // must not recurse without bound.
    asio::post(
        node_.io(), [this, o = workflow_outcome{workflow_id, std::string(workflow_state::failed),
                                                why, 0, steady_ns(), 0}]() mutable {
            try {
                ended(std::move(o));
            } catch (const std::exception& e) {
                // The on_ended hook is the caller's: it may throw, the io thread must not.
                log().error("{}: on_ended hook failed: {}", node_.name(), printable(e.what()));
            }
        });
}

bool client::wait_for(const std::vector<std::string>& ids,
                      std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    // An id that has ended stays ended: each wake-up goes on from the first id not seen ended,
    // so waiting for n workflows costs O(n) in all, not O(n) per workflow that ends (which,
    // with the lock held, starved the io thread that records the ends).
    std::size_t seen = 0;
    return ended_cv_.wait_for(lock, timeout, [&] {
        while (seen < ids.size() && ended_.contains(ids[seen])) {
            ++seen;
        }
        return seen == ids.size();
    });
}

std::optional<workflow_outcome> client::outcome(const std::string& workflow_id) const {
    std::lock_guard lock(mutex_);
    const auto it = ended_.find(workflow_id);
    return it == ended_.end() ? std::nullopt : std::optional(it->second);
}

std::size_t client::ended_count() const {
    std::lock_guard lock(mutex_);
    return ended_count_;
}

std::future<status_answer> client::query_status(const std::string& workflow_id) {
    auto q = std::make_unique<pending_query>(node_.io());
    auto future = q->promise.get_future();
    asio::dispatch(node_.io(), [this, workflow_id, q = std::move(q)]() mutable {
        const auto id = ++next_query_;
        const auto plan = pattern_.plan_status_query(workflow_, workflow_id);
        q->answer.workflow_id = workflow_id;
        q->started_ns = steady_ns();
        for (const auto& service : plan.ask) {
            // Posted work must not throw: a send that throws is an error of the answer.
            try {
                if (auto sent = node_.send(service, {workflow_id, 0, id, plan.request})) {
                    q->answer.cost.add(sent.value());
                    q->answer.asked.push_back(service);
                } else {
                    q->answer.errors.push_back(service + ": " + sent.error().message());
                }
            } catch (const std::exception& e) {
                q->answer.errors.push_back(service + ": " + e.what());
            }
        }
        q->timer.expires_after(query_timeout_);
        q->timer.async_wait([this, id](const boost::system::error_code& ec) {
            if (!ec) {
                finish(id);
            }
        });
        auto& slot = queries_[id];
        slot = std::move(q);
        if (slot->answer.asked.empty()) {
            finish(id);
        }
    });
    return future;
}

status_answer client::status(const std::string& workflow_id) {
    return query_status(workflow_id).get();
}

result<message> client::ask(const std::string& node_name, msg::payload request,
                            std::chrono::milliseconds timeout) {
    // Shared with the io thread, which may run the posted handler after a timeout here.
    struct exchange {
        std::promise<result<std::uint64_t>> sent;
        std::promise<message> reply;
    };
    auto ex = std::make_shared<exchange>();
    auto sent = ex->sent.get_future();
    auto reply = ex->reply.get_future();
    asio::post(node_.io(), [this, ex, node_name, request = std::move(request)]() mutable {
        const auto query = ++next_query_;
        asks_.emplace(query, std::move(ex->reply));
        // Posted work must not throw: a send that fails, or throws, is the answer's error.
        result<std::size_t> out = std::error_code(send_failure::socket_error);
        try {
            out = node_.send(node_name, {"", 0, query, std::move(request)});
        } catch (const std::exception& e) {
            log().error("{}: asking {} failed: {}", node_.name(), printable(node_name),
                        printable(e.what()));
        }
        if (!out) {
            asks_.erase(query);
            ex->sent.set_value(out.error());
            return;
        }
        ex->sent.set_value(query);
    });
    const auto until = std::chrono::steady_clock::now() + timeout;
    if (sent.wait_until(until) != std::future_status::ready) {
        return std::error_code(errc::timeout);
    }
    const auto asked = sent.get();
    if (!asked) {
        return asked.error();
    }
    const auto query = asked.value();
    if (reply.wait_until(until) != std::future_status::ready) {
        asio::post(node_.io(), [this, query] { asks_.erase(query); });
        return std::error_code(errc::timeout);
    }
    return reply.get();
}

void client::receive(const incoming& in) {
    if (const auto* e = msg::get_if<msg::workflow_ended>(&in.msg.payload)) {
        if (!enders_.contains(in.msg.env.sender)) {
            node_.refuse(in, errc::not_permitted); // with keys, the sender is authenticated
            return;
        }
        bool never_placed = false;
        {
            // Kept outcomes tell an ending twice from an ending of a workflow this client never
            // placed (forged or misrouted): that is refused, never shown as an outcome.
            std::lock_guard lock(mutex_);
            never_placed = keep_outcomes_ && !placed_at_.contains(in.msg.env.workflow_id) &&
                           !ended_.contains(in.msg.env.workflow_id);
        }
        if (never_placed) {
            node_.refuse(in, errc::unknown_workflow);
            return;
        }
        ended({in.msg.env.workflow_id, e->terminal, e->detail, 0, steady_ns(), in.msg.env.hop + 2});
        return;
    }
    if (const auto* e = msg::get_if<msg::error_reply>(&in.msg.payload);
        e != nullptr && in.msg.env.query_id == 0 && !in.msg.env.workflow_id.empty()) {
        // A place_order refused by the entry (a second one for a workflow id already placed,
        // say): the workflow placed first goes on and ends as it will; nothing ends here.
        log().warn("{}: {} refused a place_order for {}: {}", node_.name(),
                   printable(in.msg.env.sender), printable(in.msg.env.workflow_id),
                   printable(e->reason));
        return;
    }
    if (const auto a = asks_.find(in.msg.env.query_id); a != asks_.end()) {
        a->second.set_value(in.msg);
        asks_.erase(a);
        return;
    }
    const auto it = queries_.find(in.msg.env.query_id);
    if (in.msg.env.query_id == 0 || it == queries_.end()) {
        node_.refuse(in, errc::unexpected_message);
        return;
    }
    auto& q = *it->second;
    q.answer.cost.add(in.bytes);
    q.answer.answered.push_back(in.msg.env.sender);
    if (const auto* e = msg::get_if<msg::error_reply>(&in.msg.payload)) {
        q.answer.errors.push_back(in.msg.env.sender + ": " + e->reason);
    } else {
        q.answer.replies.push_back(in.msg);
    }
    if (q.answer.answered.size() == q.answer.asked.size()) {
        finish(it->first);
    }
}

void client::ended(workflow_outcome o) {
    std::function<void(const workflow_outcome&)> hook;
    {
        std::lock_guard lock(mutex_);
        const auto placed = placed_at_.find(o.workflow_id);
        if (ended_.contains(o.workflow_id) || (!keep_outcomes_ && placed == placed_at_.end())) {
            log().warn("{}: workflow {} ended twice ({})", node_.name(), printable(o.workflow_id),
                       printable(o.terminal));
            return;
        }
        if (placed != placed_at_.end()) {
            o.placed_ns = placed->second;
            placed_at_.erase(placed);
        }
        if (keep_outcomes_) {
            ended_.emplace(o.workflow_id, o);
        }
        ++ended_count_;
        hook = ended_hook_;
    }
    node_.book().finish(o.workflow_id); // the client is done with it
    ended_cv_.notify_all();
    if (hook) {
        hook(o);
    }
}

void client::finish(std::uint64_t query_id) {
    const auto it = queries_.find(query_id);
    if (it == queries_.end()) {
        return;
    }
    auto q = std::move(it->second);
    queries_.erase(it);
    q->timer.cancel();
    std::set<std::string> silent(q->answer.asked.begin(), q->answer.asked.end());
    for (const auto& s : q->answer.answered) {
        silent.erase(s);
    }
    q->answer.status = pattern_.assemble_status(workflow_, q->answer.replies, silent);
    q->answer.latency_ns = steady_ns() - q->started_ns;
    q->promise.set_value(std::move(q->answer));
}

} // namespace choreo

// A node on an io thread of its own, for tests that drive one node at a time over real sockets.
#pragma once

#include <future>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "patterns/node.hpp"

namespace choreo::testing {

/// A node and the thread that runs its io_context. Bind it, give it its topology and its
/// handlers, then run(); it stops when it goes away.
struct running_node {
    running_node(zmq::context_t& ctx, std::string name, node_options o = {}, bool trace = false)
        : book(trace), net(ctx, io, std::move(name), book, std::move(o)) {}
    ~running_node() { shut(); }
    running_node(const running_node&) = delete;
    running_node& operator=(const running_node&) = delete;

    /// Starts the node on its own thread.
    void run() {
        thread = std::thread([this] {
            net.start();
            auto guard = boost::asio::make_work_guard(io);
            io.run();
        });
    }
    /// Runs the io thread without starting the node (a test that starts it itself).
    void run_without_start() {
        thread = std::thread([this] {
            auto guard = boost::asio::make_work_guard(io);
            io.run();
        });
    }
    /// Runs `fn` on the io thread and waits for it. Returns: what `fn` returned.
    template <class F> auto on(F fn) {
        std::packaged_task<decltype(fn())()> task(std::move(fn));
        auto done = task.get_future();
        boost::asio::post(io, [&task] { task(); });
        return done.get();
    }
    /// Stops the node and its thread (once; the destructor calls it too).
    void shut() {
        if (thread.joinable()) {
            boost::asio::post(io, [this] {
                net.stop();
                io.stop();
            });
            thread.join();
        }
    }

    boost::asio::io_context io;
    ledger book;
    node net;
    std::thread thread;
};

/// Sends a workflow message (a `workflow_ended` of `workflow_id`) from `from` to `to`, on its io
/// thread. Returns: what node::send returned.
inline result<std::size_t> send_ended(running_node& from, const std::string& to,
                                      const std::string& workflow_id) {
    return from.on([&] {
        return from.net.send(to,
                             {workflow_id, 0, 0, msg::workflow_ended{"order", "completed", ""}});
    });
}

} // namespace choreo::testing

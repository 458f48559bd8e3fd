#include "patterns/service_node.hpp"

#include <stdexcept>

namespace choreo {

service_node::service_node(zmq::context_t& context, asio::io_context& io, const pattern& p,
                           const workflow& wf, std::unique_ptr<domain_service> domain, ledger& book,
                           node_options options)
    : node_(context, io, domain->name(), book, std::move(options)), domain_(std::move(domain)),
      context_(wf, *domain_, node_), behaviour_(p.make_service(context_)) {
    node_.on_message([this](node&, const incoming& in) { receive(in); });
}

void service_node::receive(const incoming& in) {
    if (held_ && in.msg.env.query_id == 0) {
        waiting_.push_back(in);
        return;
    }
    if (const auto ec = behaviour_->receive(in)) {
        node_.refuse(in, ec);
    }
}

void service_node::release() {
    held_ = false;
    while (!waiting_.empty() && !held_) {
        auto in = std::move(waiting_.front());
        waiting_.pop_front();
        receive(in);
    }
}

} // namespace choreo

// One contract of any registered type, behind one value type: the open set of messages.
#pragma once

#include <concepts>
#include <memory>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace choreo::msg {

/// A message contract: a plain struct encoded as a MessagePack map, with the name of its type
/// frame. It may say what it means in a short `label()`, which the ledger shows in traces.
/// The type frame is asked for first: a struct holding a payload (a message) is then refused
/// before std::copyable asks whether it converts to a payload, which clang follows in circles.
template <class T>
concept contract = requires {
    { T::type_name } -> std::convertible_to<std::string_view>;
}
&&std::copyable<T>&& std::equality_comparable<T>;

/// Holds one contract of any type, immutable and cheap to copy. The core's contracts, each
/// pattern's and each workflow's are all carried this way; no module lists another's types.
class payload {
public:
    payload() = default;
    template <contract T>
    payload(T value) // NOLINT(google-explicit-constructor): a contract is a payload
        : impl_(std::make_shared<const model<T>>(std::move(value))) {}

    bool empty() const noexcept { return impl_ == nullptr; }
    /// Returns: the type frame of the contract held ("" when empty).
    std::string_view type_name() const noexcept { return impl_ ? impl_->type_name() : ""; }
    /// Returns: what the contract says in a few words (event name, terminal state, ...).
    std::string label() const { return impl_ ? impl_->label() : std::string(); }
    /// Returns: the contract if it is a T, else nullptr.
    template <contract T> const T* get_if() const noexcept {
        return impl_ && impl_->tag() == &tag<T> ? &static_cast<const model<T>&>(*impl_).value
                                                : nullptr;
    }
    template <contract T> bool holds() const noexcept { return get_if<T>() != nullptr; }
    /// Packs the contract as a MessagePack map (nil when empty).
    void pack(msgpack::packer<msgpack::sbuffer>& out) const {
        impl_ ? impl_->pack(out) : static_cast<void>(out.pack_nil());
    }
    bool operator==(const payload& other) const {
        if (!impl_ || !other.impl_) {
            return impl_ == other.impl_;
        }
        return impl_->tag() == other.impl_->tag() && impl_->equals(*other.impl_);
    }

private:
    template <class T> static constexpr char tag{}; // one address per contract type

    struct concept_t {
        virtual ~concept_t() = default;
        virtual const char* tag() const noexcept = 0;
        virtual std::string_view type_name() const noexcept = 0;
        virtual std::string label() const = 0;
        virtual void pack(msgpack::packer<msgpack::sbuffer>& out) const = 0;
        virtual bool equals(const concept_t& other) const = 0;
    };
    template <class T> struct model final : concept_t {
        explicit model(T v) : value(std::move(v)) {}
        const char* tag() const noexcept override { return &payload::tag<T>; }
        std::string_view type_name() const noexcept override { return T::type_name; }
        std::string label() const override {
            if constexpr (requires(const T& t) {
                              { t.label() } -> std::convertible_to<std::string>;
                          }) {
                return value.label();
            } else {
                return {};
            }
        }
        void pack(msgpack::packer<msgpack::sbuffer>& out) const override { out.pack(value); }
        bool equals(const concept_t& other) const override {
            return value == static_cast<const model&>(other).value;
        }
        T value;
    };

    std::shared_ptr<const concept_t> impl_;
};

/// Returns: the contract `p` holds if it is a T, else nullptr (reads like std::get_if).
template <contract T> const T* get_if(const payload* p) noexcept {
    return p ? p->get_if<T>() : nullptr;
}

} // namespace choreo::msg

// A value or the std::error_code saying why there is none.
#pragma once

#include <cassert>
#include <system_error>
#include <utility>
#include <variant>

namespace choreo {

/// Holds either a T or an error; used where failure is an expected outcome (decoding input).
template <class T> class result {
public:
    result(T value) : state_(std::move(value)) {}
    result(std::error_code error) : state_(error) {}

    bool ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    /// Requires: ok().
    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }

    /// Returns: the error, or a default (success) error_code when ok().
    std::error_code error() const noexcept {
        return ok() ? std::error_code{} : std::get<1>(state_);
    }

private:
    std::variant<T, std::error_code> state_;
};

} // namespace choreo

// A temporary directory of a test's own, removed with everything in it when the test is done.
#pragma once

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

#include <stdlib.h>

namespace choreo::testing {

/// A fresh directory under the system's temporary directory, named `choreo-<what>-XXXXXX`.
/// Removed with its contents when it goes away, even where a test took its permissions.
/// Throws: std::system_error if it cannot be made.
class scratch {
public:
    explicit scratch(const std::string& what = "test") {
        auto pattern =
            (std::filesystem::temp_directory_path() / ("choreo-" + what + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        }
        path_ = pattern;
    }
    ~scratch() {
        std::error_code ignored;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ignored);
        std::filesystem::remove_all(path_, ignored);
    }
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

} // namespace choreo::testing

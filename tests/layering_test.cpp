// The layering the CMake targets promise, checked on the sources: the core (patterns/) includes
// no workflow, no pattern and no registry; a pattern includes the core and its own folder only.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "registry/builtin.hpp"

namespace choreo {
namespace {

namespace fs = std::filesystem;

const fs::path source_dir = CHOREO_SOURCE_DIR;

/// An #include of a source file: the header it names, and where.
struct inclusion {
    std::string header;
    std::string where; ///< "path:line"
};

/// Returns: every header named by an #include line of `text` (quoted or angled, any spacing).
std::vector<std::string> included_headers(const std::string& text) {
    static const std::regex line(R"(^\s*#\s*include\s*["<]([^">]+)[">])");
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        std::smatch m;
        if (std::regex_search(l, m, line)) {
            out.push_back(m[1]);
        }
    }
    return out;
}

/// Returns: the includes of every C++ source and header under `folder` (recursively).
std::vector<inclusion> includes_under(const fs::path& folder) {
    std::vector<inclusion> out;
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
        const auto ext = entry.path().extension();
        if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp" && ext != ".h")) {
            continue;
        }
        std::ifstream in(entry.path());
        std::string l;
        for (std::size_t number = 1; std::getline(in, l); ++number) {
            for (const auto& h : included_headers(l)) {
                out.push_back({h, fs::relative(entry.path(), source_dir).string() + ":" +
                                      std::to_string(number)});
            }
        }
    }
    return out;
}

/// Returns: the folders of the registered patterns (each pattern lives in a folder of its name).
std::vector<std::string> pattern_folders() {
    return builtin_patterns().names();
}

bool names_folder(const std::string& header, const std::string& folder) {
    return header.starts_with(folder + "/");
}

TEST(layering, the_include_reader_sees_every_form_of_include) {
    EXPECT_EQ(included_headers("#include \"workflows/order/order.hpp\"\n"
                               "  #  include <stateless/stateless.hpp>\n"
                               "// #include \"not/this.hpp\" is a comment, but starts with //\n"
                               "#include\"registry/builtin.hpp\"\n"),
              (std::vector<std::string>{"workflows/order/order.hpp", "stateless/stateless.hpp",
                                        "registry/builtin.hpp"}));
}

TEST(layering, every_registered_pattern_lives_in_a_folder_of_its_name) {
    for (const auto& folder : pattern_folders()) {
        EXPECT_TRUE(fs::is_directory(source_dir / folder)) << folder;
    }
}

TEST(layering, the_core_includes_no_workflow_no_pattern_and_no_registry) {
    std::vector<std::string> forbidden{"workflows", "registry", "demo", "bench", "tests"};
    for (const auto& p : pattern_folders()) {
        forbidden.push_back(p);
    }
    // The folders the issue names, whether or not a pattern of that name is registered today.
    for (const auto* p : {"front_controller", "stateless", "stamp_coupling", "orchestration"}) {
        forbidden.emplace_back(p);
    }
    const auto includes = includes_under(source_dir / "patterns");
    ASSERT_FALSE(includes.empty()) << "no sources read under " << source_dir / "patterns";
    for (const auto& i : includes) {
        for (const auto& folder : forbidden) {
            EXPECT_FALSE(names_folder(i.header, folder))
                << i.where << " includes " << i.header << ": the core must not know " << folder;
        }
    }
}

TEST(layering, a_pattern_includes_only_the_core_and_its_own_folder) {
    for (const auto& self : pattern_folders()) {
        SCOPED_TRACE(self);
        const auto includes = includes_under(source_dir / self);
        ASSERT_FALSE(includes.empty()) << "no sources read under " << source_dir / self;
        for (const auto& i : includes) {
            for (const auto& other : pattern_folders()) {
                if (other != self) {
                    EXPECT_FALSE(names_folder(i.header, other))
                        << i.where << " includes " << i.header << " of pattern " << other;
                }
            }
            for (const auto* folder : {"workflows", "registry", "demo", "bench", "tests"}) {
                EXPECT_FALSE(names_folder(i.header, folder))
                    << i.where << " includes " << i.header << " from " << folder << "/";
            }
        }
    }
}

/// Returns: every choreo target (choreo::NAME or choreo_NAME, as NAME) that a
/// target_link_libraries() call of `cmake_file` links.
std::set<std::string> linked_choreo_targets(const fs::path& cmake_file) {
    std::ifstream in(cmake_file);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    static const std::regex call(R"(target_link_libraries\s*\(([^)]*)\))");
    static const std::regex target(R"(choreo(?:::|_)(\w+))");
    std::set<std::string> out;
    for (auto c = std::sregex_iterator(text.begin(), text.end(), call); c != std::sregex_iterator();
         ++c) {
        const std::string args = (*c)[1];
        for (auto t = std::sregex_iterator(args.begin(), args.end(), target);
             t != std::sregex_iterator(); ++t) {
            out.insert((*t)[1]);
        }
    }
    return out;
}

TEST(layering, the_cmake_targets_link_the_core_to_no_pattern_and_a_pattern_to_the_core_only) {
    // What every target may link: itself, the shared build options, the core's own pieces.
    const std::set<std::string> core_may_link{"patterns", "build_options", "msgpack", "store"};
    for (const auto& t : linked_choreo_targets(source_dir / "patterns" / "CMakeLists.txt")) {
        EXPECT_TRUE(core_may_link.contains(t)) << "the core links choreo::" << t;
    }
    for (const auto& self : pattern_folders()) {
        const auto file = source_dir / self / "CMakeLists.txt";
        ASSERT_TRUE(fs::exists(file)) << file;
        const auto linked = linked_choreo_targets(file);
        EXPECT_TRUE(linked.contains("patterns")) << self << " does not link the core";
        for (const auto& t : linked) {
            EXPECT_TRUE(t == self || t == "patterns" || t == "build_options")
                << "pattern " << self << " links choreo::" << t;
        }
    }
}

TEST(layering, the_checks_see_a_forbidden_include_and_a_forbidden_link_in_a_folder) {
    const auto dir =
        fs::path(::testing::TempDir()) / ("choreo-layering-" + std::to_string(::getpid()));
    fs::create_directories(dir / "nested");
    std::ofstream(dir / "nested" / "bad.cpp") << "#include \"patterns/node.hpp\"\n"
                                                 "#include \"workflows/order/order.hpp\"\n";
    std::ofstream(dir / "CMakeLists.txt")
        << "target_link_libraries(x\n    PUBLIC choreo::patterns\n"
           "    PRIVATE choreo_stateless choreo::build_options)\n";
    const auto includes = includes_under(dir);
    ASSERT_EQ(includes.size(), 2U);
    EXPECT_TRUE(names_folder(includes[1].header, "workflows"));
    EXPECT_TRUE(includes[1].where.ends_with("bad.cpp:2")) << includes[1].where;
    EXPECT_EQ(linked_choreo_targets(dir / "CMakeLists.txt"),
              (std::set<std::string>{"patterns", "stateless", "build_options"}));
    fs::remove_all(dir);
}

} // namespace
} // namespace choreo

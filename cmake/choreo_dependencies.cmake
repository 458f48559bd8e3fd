# Every third-party dependency of choreo is found here, and only here.
find_package(Threads REQUIRED)
find_package(cppzmq CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
# A durable node's database (patterns/store.*): SQLite through SQLiteCpp's RAII statements.
find_package(SQLiteCpp CONFIG REQUIRED)

# Debian names the msgpack-c C++ target msgpackc-cxx; upstream names it msgpack-cxx.
find_package(msgpack-cxx CONFIG QUIET)
if(NOT TARGET msgpack-cxx)
    find_package(msgpack CONFIG REQUIRED)
endif()
add_library(choreo_msgpack INTERFACE)
if(TARGET msgpack-cxx)
    target_link_libraries(choreo_msgpack INTERFACE msgpack-cxx)
else()
    target_link_libraries(choreo_msgpack INTERFACE msgpackc-cxx)
endif()
# Header-only use of msgpack-c: no Boost-based adaptors are needed.
target_compile_definitions(choreo_msgpack INTERFACE MSGPACK_NO_BOOST)

if(CHOREO_BUILD_TESTS)
    find_package(GTest CONFIG REQUIRED)
endif()

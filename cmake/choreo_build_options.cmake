# One INTERFACE target carries the language standard, warnings and sanitizers; every choreo
# target links it PRIVATE, so third-party code is never built with our warning set.
add_library(choreo_build_options INTERFACE)
add_library(choreo::build_options ALIAS choreo_build_options)
target_compile_features(choreo_build_options INTERFACE cxx_std_20)
target_compile_options(choreo_build_options INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor)
if(CHOREO_WERROR)
    target_compile_options(choreo_build_options INTERFACE -Werror)
endif()
# A fuzz build instruments all of choreo for libFuzzer's coverage and always runs the sanitizers;
# only the targets in tests/fuzz link libFuzzer itself.
if(CHOREO_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "CHOREO_FUZZ needs clang for libFuzzer: configure with CXX=clang++-14")
    endif()
    if(NOT CHOREO_SANITIZE)
        set(CHOREO_SANITIZE address,undefined)
    endif()
    target_compile_options(choreo_build_options INTERFACE -fsanitize=fuzzer-no-link)
endif()
if(CHOREO_SANITIZE)
    target_compile_options(choreo_build_options INTERFACE
        -fsanitize=${CHOREO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(choreo_build_options INTERFACE -fsanitize=${CHOREO_SANITIZE})
    # GCC warns that ThreadSanitizer does not model std::atomic_thread_fence, which Boost.Asio's
    # fenced blocks use around every handler; Asio's scheduler hands handlers over under a mutex,
    # which TSan does see, so the warning is noise (and would fail a -Werror build).
    if(CHOREO_SANITIZE MATCHES "thread")
        target_compile_options(choreo_build_options INTERFACE -Wno-tsan)
    endif()
endif()
set(CMAKE_CXX_EXTENSIONS OFF)

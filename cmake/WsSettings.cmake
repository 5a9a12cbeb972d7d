# SPDX-License-Identifier: MIT
# Build options and the two INTERFACE targets every project target links privately.
# Dev mode (warnings are errors) is the default in a development checkout: a git clone (.git,
# a directory, or a file in a worktree) building watchstate as the top-level project. A release
# tarball, or watchstate built inside another project, defaults to OFF (a newer compiler's new
# warning must not break a user's build). The presets set it explicitly: ON for dev, asan and
# tidy, OFF for release.
if(PROJECT_IS_TOP_LEVEL AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
  set(_ws_dev_mode_default ON)
else()
  set(_ws_dev_mode_default OFF)
endif()
option(WS_DEV_MODE "Warnings as errors and extra warnings" ${_ws_dev_mode_default})
set(WS_SANITIZERS "" CACHE STRING "Sanitizers to build with, e.g. address;undefined")
option(WS_BUILD_TESTS "Build the unit and integration tests" ${PROJECT_IS_TOP_LEVEL})

if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 10)
  message(FATAL_ERROR "watchstate needs GCC >= 10 (C++20); found ${CMAKE_CXX_COMPILER_VERSION}")
endif()

add_library(ws_settings INTERFACE)
target_compile_definitions(ws_settings INTERFACE WS_VERSION="${PROJECT_VERSION}"
                           $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>)
if(WS_SANITIZERS)
  string(REPLACE ";" "," _ws_san "${WS_SANITIZERS}")
  target_compile_options(ws_settings INTERFACE -fsanitize=${_ws_san} -fno-omit-frame-pointer
                         -fno-sanitize-recover=all)
  target_link_options(ws_settings INTERFACE -fsanitize=${_ws_san})
  # GCC 12 reports false "maybe-uninitialized" positives inside libstdc++'s <regex> and
  # <functional> once sanitizer instrumentation meets optimisation; they are not our code.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(ws_settings INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()

add_library(ws_warnings INTERFACE)
target_compile_options(ws_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                       -Wcast-align -Wunused -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
if(WS_DEV_MODE)
  target_compile_options(ws_warnings INTERFACE -Werror)
endif()

# SPDX-License-Identifier: MIT
# Every third-party dependency comes from Debian's archive; each is wrapped as ws::dep_<name>
# so the rest of the build does not care how a package exports itself.
find_package(Threads REQUIRED)
find_package(CLI11 REQUIRED)
find_package(CURL REQUIRED)
find_package(SQLiteCpp REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(RapidJSON REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

add_library(ws_dep_rapidjson INTERFACE)
target_include_directories(ws_dep_rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIRS})
# RapidJSON asserts with C assert() by default; the forced header makes that an exception.
target_compile_options(ws_dep_rapidjson INTERFACE
  -include "${PROJECT_SOURCE_DIR}/lib/watchstate/json/rapidjson_config.hpp")
add_library(ws::dep_rapidjson ALIAS ws_dep_rapidjson)

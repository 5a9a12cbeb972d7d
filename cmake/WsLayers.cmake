# SPDX-License-Identifier: MIT
# The core library is a stack of layers, one static library per directory of lib/watchstate.
# A layer names the layers it uses and the third-party packages it is allowed to include; at
# configure time every file of the directory is read and the build stops when one includes a
# header of a layer it may not use, a third-party header its layer does not declare, or another
# layer's internal header. ARCHITECTURE.md describes the same stack in words.
#
#   ws_layer(<name> [USES <layer>...] [THIRD_PARTY <package>...] [INTERNAL <header>...]
#            SOURCES <file>...)
#
# <name> is the directory (lib/watchstate/<name>, subdirectories included); SOURCES are paths
# relative to it and must list every .cpp there. USES are layers defined before it; what they
# use is usable too. INTERNAL headers may include the layer's third-party headers and are
# included only by files of the layer itself. Every other header is public: it includes no
# third-party header but fmt, so the package stays PRIVATE to its layer.

# Third-party packages a layer may declare: the CMake target and the include prefixes that mark
# a file as its user.
set(_ws_pkg_rapidjson_target ws::dep_rapidjson)
set(_ws_pkg_rapidjson_includes "rapidjson/")
set(_ws_pkg_yaml-cpp_target yaml-cpp)
set(_ws_pkg_yaml-cpp_includes "yaml-cpp/")
set(_ws_pkg_sqlite_target SQLiteCpp)
set(_ws_pkg_sqlite_includes "SQLiteCpp/;sqlite3.h")
set(_ws_pkg_curl_target CURL::libcurl)
set(_ws_pkg_curl_includes "curl/")
set(_ws_pkg_httplib_target PkgConfig::HTTPLIB)
set(_ws_pkg_httplib_includes "httplib.h")
set(_ws_pkg_zlib_target ZLIB::ZLIB)
set(_ws_pkg_zlib_includes "zlib.h")
set(_ws_pkg_cli11_target CLI11::CLI11)
set(_ws_pkg_cli11_includes "CLI/")
set(_ws_packages rapidjson yaml-cpp sqlite curl httplib zlib cli11)

set(WS_LIB_DIR "${CMAKE_CURRENT_LIST_DIR}/../lib")
cmake_path(NORMAL_PATH WS_LIB_DIR)

function(_ws_layer_fail message)
  message(FATAL_ERROR "layer check: ${message}\n(the allowed uses are declared in "
                      "lib/CMakeLists.txt and explained in ARCHITECTURE.md)")
endfunction()

function(ws_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 L "" "" "USES;THIRD_PARTY;INTERNAL;SOURCES")
  set(dir "${WS_LIB_DIR}/watchstate/${name}")
  if(NOT IS_DIRECTORY "${dir}")
    _ws_layer_fail("layer '${name}' has no directory lib/watchstate/${name}")
  endif()

  # What this layer may include: itself, the layers it uses and everything they may use.
  set(allowed ${name})
  foreach(used IN LISTS L_USES)
    get_property(known GLOBAL PROPERTY WS_LAYER_${used}_ALLOWED SET)
    if(NOT known)
      _ws_layer_fail("layer '${name}' uses '${used}', which is not defined before it")
    endif()
    get_property(below GLOBAL PROPERTY WS_LAYER_${used}_ALLOWED)
    list(APPEND allowed ${below})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set_property(GLOBAL PROPERTY WS_LAYER_${name}_ALLOWED ${allowed})
  set(internal_paths "")
  foreach(header IN LISTS L_INTERNAL)
    list(APPEND internal_paths "watchstate/${name}/${header}")
  endforeach()
  set_property(GLOBAL APPEND PROPERTY WS_INTERNAL_HEADERS ${internal_paths})

  # Every .cpp of the directory is listed, and every listed file exists.
  file(GLOB_RECURSE present RELATIVE "${dir}" "${dir}/*.cpp")
  foreach(file IN LISTS present)
    if(NOT file IN_LIST L_SOURCES)
      _ws_layer_fail("lib/watchstate/${name}/${file} is not in the SOURCES of layer '${name}'")
    endif()
  endforeach()
  set(sources "")
  foreach(file IN LISTS L_SOURCES)
    if(NOT EXISTS "${dir}/${file}")
      _ws_layer_fail("layer '${name}' lists ${file}, which does not exist")
    endif()
    list(APPEND sources "${dir}/${file}")
  endforeach()

  # The includes of every file of the directory.
  file(GLOB_RECURSE files RELATIVE "${dir}" "${dir}/*.cpp" "${dir}/*.hpp")
  get_property(all_internal GLOBAL PROPERTY WS_INTERNAL_HEADERS)
  foreach(file IN LISTS files)
    set(where "lib/watchstate/${name}/${file}")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${dir}/${file}")
    file(STRINGS "${dir}/${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    set(is_public_header FALSE)
    if(file MATCHES "\\.hpp$" AND NOT file IN_LIST L_INTERNAL)
      set(is_public_header TRUE)
    endif()
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*$" "\\1" header "${line}")
      if(header MATCHES "^watchstate/([a-z_]+)/")
        set(target_layer "${CMAKE_MATCH_1}")
        if(NOT target_layer IN_LIST allowed)
          _ws_layer_fail("${where} includes <${header}>: layer '${name}' may use only "
                         "${allowed}")
        endif()
        if(header IN_LIST all_internal AND NOT target_layer STREQUAL name)
          _ws_layer_fail("${where} includes <${header}>, internal to layer '${target_layer}'")
        endif()
        continue()
      endif()
      foreach(pkg IN LISTS _ws_packages)
        foreach(prefix IN LISTS _ws_pkg_${pkg}_includes)
          string(FIND "${header}" "${prefix}" at)
          if(at EQUAL 0)
            if(NOT pkg IN_LIST L_THIRD_PARTY)
              _ws_layer_fail("${where} includes <${header}>: layer '${name}' does not use ${pkg}")
            endif()
            if(is_public_header)
              _ws_layer_fail("${where} is a public header and includes <${header}>: keep "
                             "${pkg} out of public headers, or list it as INTERNAL")
            endif()
          endif()
        endforeach()
      endforeach()
    endforeach()
  endforeach()

  add_library(ws_${name} STATIC ${sources})
  target_include_directories(ws_${name} PUBLIC "${WS_LIB_DIR}")
  target_link_libraries(ws_${name} PUBLIC fmt::fmt Threads::Threads PRIVATE ws_settings ws_warnings)
  foreach(used IN LISTS L_USES)
    target_link_libraries(ws_${name} PUBLIC ws_${used})
  endforeach()
  foreach(pkg IN LISTS L_THIRD_PARTY)
    if(NOT pkg IN_LIST _ws_packages)
      _ws_layer_fail("layer '${name}' declares unknown package '${pkg}' (known: ${_ws_packages})")
    endif()
    target_link_libraries(ws_${name} PRIVATE ${_ws_pkg_${pkg}_target})
  endforeach()
  set_property(GLOBAL APPEND PROPERTY WS_LAYERS ${name})
endfunction()

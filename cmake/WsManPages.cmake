# SPDX-License-Identifier: MIT
# Man pages from scdoc sources. The text every tool page shares (options, exit status,
# environment, files) exists once, in man/*.scd.in fragments pasted in as @COMMON_OPTIONS@,
# @EXIT_STATUS@, @ENVIRONMENT@ and @FILES@.
set(WS_BUILD_MANPAGES AUTO CACHE STRING "Build man pages with scdoc (ON, OFF, AUTO)")
find_program(SCDOC scdoc)
if(WS_BUILD_MANPAGES STREQUAL "OFF" OR (WS_BUILD_MANPAGES STREQUAL "AUTO" AND NOT SCDOC))
  message(STATUS "man pages: skipped (scdoc not found or WS_BUILD_MANPAGES=OFF)")
  return()
endif()
if(NOT SCDOC)
  message(FATAL_ERROR "WS_BUILD_MANPAGES=ON but scdoc was not found")
endif()
# Debian policy wants man pages compressed with gzip -9n (-n: no name or time stamp, so the
# output is reproducible); man-db reads both forms.
find_program(GZIP gzip)

# Install paths the pages name (see WsInstall.cmake).
set(WS_FULL_DATADIR "${CMAKE_INSTALL_FULL_DATADIR}")
set(WS_FULL_DOCDIR "${CMAKE_INSTALL_FULL_DOCDIR}")
set(WS_FULL_UNITDIR "${CMAKE_INSTALL_PREFIX}/${WS_SYSTEMD_UNITDIR}")

# Read man/<name>.scd.in into <var>, with its own @VARIABLES@ filled in.
macro(ws_man_fragment var name)
  set(_source "${PROJECT_SOURCE_DIR}/man/${name}.scd.in")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_source}")
  file(READ "${_source}" _text)
  string(CONFIGURE "${_text}" ${var} @ONLY)
endmacro()
ws_man_fragment(COMMON_OPTIONS common-options)
ws_man_fragment(EXIT_STATUS exit-status)
ws_man_fragment(ENVIRONMENT environment)
ws_man_fragment(FILES files)

file(GLOB _pages CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/man/*.[0-9].scd.in"
                                   "${PROJECT_SOURCE_DIR}/man/*.[0-9].scd")
set(_outputs "")
foreach(_page IN LISTS _pages)
  get_filename_component(_name "${_page}" NAME)
  string(REGEX REPLACE "\\.scd(\\.in)?$" "" _out "${_name}")
  set(_scd "${CMAKE_BINARY_DIR}/man/${_out}.scd")
  set(_roff "${CMAKE_BINARY_DIR}/man/${_out}")
  configure_file("${_page}" "${_scd}" @ONLY)
  string(REGEX MATCH "[0-9]$" _section "${_out}")
  add_custom_command(OUTPUT "${_roff}"
                     COMMAND ${SCDOC} < "${_scd}" > "${_roff}"
                     DEPENDS "${_scd}" VERBATIM)
  list(APPEND _outputs "${_roff}")
  if(GZIP)
    add_custom_command(OUTPUT "${_roff}.gz"
                       COMMAND ${GZIP} -9nc "${_roff}" > "${_roff}.gz"
                       DEPENDS "${_roff}" VERBATIM)
    list(APPEND _outputs "${_roff}.gz")
    install(FILES "${_roff}.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${_section}")
  else()
    install(FILES "${_roff}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${_section}")
  endif()
endforeach()
add_custom_target(man ALL DEPENDS ${_outputs})

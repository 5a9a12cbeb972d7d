# SPDX-License-Identifier: MIT
# Man pages from scdoc sources; the option and exit-status tables exist once (man/*.scd.in).
set(WS_BUILD_MANPAGES AUTO CACHE STRING "Build man pages with scdoc (ON, OFF, AUTO)")
find_program(SCDOC scdoc)
if(WS_BUILD_MANPAGES STREQUAL "OFF" OR (WS_BUILD_MANPAGES STREQUAL "AUTO" AND NOT SCDOC))
  message(STATUS "man pages: skipped (scdoc not found or WS_BUILD_MANPAGES=OFF)")
  return()
endif()
if(NOT SCDOC)
  message(FATAL_ERROR "WS_BUILD_MANPAGES=ON but scdoc was not found")
endif()

file(READ "${PROJECT_SOURCE_DIR}/man/common-options.scd.in" COMMON_OPTIONS)
file(READ "${PROJECT_SOURCE_DIR}/man/exit-status.scd.in" EXIT_STATUS)
file(GLOB _pages CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/man/*.[0-9].scd.in"
                                   "${PROJECT_SOURCE_DIR}/man/*.[0-9].scd")
set(_outputs "")
foreach(_page IN LISTS _pages)
  get_filename_component(_name "${_page}" NAME)
  string(REGEX REPLACE "\\.scd(\\.in)?$" "" _out "${_name}")
  set(_scd "${CMAKE_BINARY_DIR}/man/${_out}.scd")
  configure_file("${_page}" "${_scd}" @ONLY)
  string(REGEX MATCH "[0-9]$" _section "${_out}")
  add_custom_command(OUTPUT "${CMAKE_BINARY_DIR}/man/${_out}"
                     COMMAND ${SCDOC} < "${_scd}" > "${CMAKE_BINARY_DIR}/man/${_out}"
                     DEPENDS "${_scd}" VERBATIM)
  list(APPEND _outputs "${CMAKE_BINARY_DIR}/man/${_out}")
  install(FILES "${CMAKE_BINARY_DIR}/man/${_out}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${_section}")
endforeach()
add_custom_target(man ALL DEPENDS ${_outputs})

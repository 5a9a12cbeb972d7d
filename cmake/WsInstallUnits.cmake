# SPDX-License-Identifier: MIT
# Runs at install time (install(SCRIPT), after WsInstall.cmake's install(CODE) set the WS_UNITS*
# variables): writes each systemd unit with @WS_BINDIR@ replaced by the bin directory of the
# prefix being installed to, then installs it like install(FILES) would (DESTDIR, manifest).
if(IS_ABSOLUTE "${WS_UNITS_BINDIR}")
  set(WS_BINDIR "${WS_UNITS_BINDIR}")
else()
  set(WS_BINDIR "${CMAKE_INSTALL_PREFIX}/${WS_UNITS_BINDIR}")
endif()
if(IS_ABSOLUTE "${WS_UNITS_DIR}")
  set(_destination "${WS_UNITS_DIR}")
else()
  set(_destination "${CMAKE_INSTALL_PREFIX}/${WS_UNITS_DIR}")
endif()
# The settings every service shares, without the fragment's own header (up to the first empty
# line).
file(READ "${WS_UNITS_SOURCE_DIR}/service-common.conf.in" WS_SERVICE_COMMON)
string(FIND "${WS_SERVICE_COMMON}" "\n\n" _body)
math(EXPR _body "${_body} + 2")
string(SUBSTRING "${WS_SERVICE_COMMON}" ${_body} -1 WS_SERVICE_COMMON)
string(STRIP "${WS_SERVICE_COMMON}" WS_SERVICE_COMMON)
# One staging directory per destination: an install test and CPack may run at the same time.
string(MD5 _key "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
set(_staging "${WS_UNITS_STAGING_DIR}/${_key}")
set(_files "")
foreach(_unit IN LISTS WS_UNITS)
  set(_source "${WS_UNITS_SOURCE_DIR}/${_unit}")
  if(EXISTS "${_source}.in")
    set(_source "${_source}.in")
  endif()
  configure_file("${_source}" "${_staging}/${_unit}" @ONLY)
  list(APPEND _files "${_staging}/${_unit}")
endforeach()
file(INSTALL DESTINATION "${_destination}" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE
     GROUP_READ WORLD_READ FILES ${_files})
file(REMOVE_RECURSE "${_staging}")

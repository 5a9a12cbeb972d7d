# SPDX-License-Identifier: MIT
# What `cmake --install` (and CPack) put where, besides the executables (apps/CMakeLists.txt) and
# the man pages (WsManPages.cmake). Directories are relative to the install prefix.
set(WS_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "systemd system units, relative to the install prefix")
set(WS_SYSUSERSDIR "lib/sysusers.d" CACHE STRING "sysusers.d files, relative to the install prefix")
set(WS_BASH_COMPLETIONDIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" CACHE STRING
    "bash-completion files, relative to the install prefix")

# The example config (share/watchstate/config.example.yaml).
install(DIRECTORY share/watchstate DESTINATION ${CMAKE_INSTALL_DATADIR})

# Documentation; Debian wants the licence as /usr/share/doc/<package>/copyright.
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The JSON document of every tool (--json); the man pages refer to it.
install(FILES docs/json.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)
install(FILES packaging/cron/watchstate.crontab DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# systemd: the user the units run as, and the units. The services name their executable by
# absolute path, which is only known at install time (`cmake --install --prefix`, CPack's /usr):
# WsInstallUnits.cmake fills it in then.
install(FILES packaging/systemd/watchstate.sysusers DESTINATION ${WS_SYSUSERSDIR}
        RENAME watchstate.conf)
# Every unit of packaging/systemd: NAME.service.in (filled in at install time) or NAME.timer.
file(GLOB _unit_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/packaging/systemd/*.service.in"
                                          "${PROJECT_SOURCE_DIR}/packaging/systemd/*.timer")
set(WS_SYSTEMD_UNITS "")
foreach(_source IN LISTS _unit_sources)
  get_filename_component(_unit "${_source}" NAME)
  string(REGEX REPLACE "\\.in$" "" _unit "${_unit}")
  list(APPEND WS_SYSTEMD_UNITS "${_unit}")
endforeach()
list(SORT WS_SYSTEMD_UNITS)
install(CODE "set(WS_UNITS_SOURCE_DIR \"${PROJECT_SOURCE_DIR}/packaging/systemd\")
set(WS_UNITS_STAGING_DIR \"${PROJECT_BINARY_DIR}/systemd-staging\")
set(WS_UNITS \"${WS_SYSTEMD_UNITS}\")
set(WS_UNITS_DIR \"${WS_SYSTEMD_UNITDIR}\")
set(WS_UNITS_BINDIR \"${CMAKE_INSTALL_BINDIR}\")")
install(SCRIPT cmake/WsInstallUnits.cmake)

# SPDX-License-Identifier: MIT
# A Debian package with CPack: `cpack -G DEB` in a build directory (packaging/build-deb.sh builds
# the release preset and packages it). Everything `cmake --install` installs goes into it, under
# /usr.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME watchstate)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "watchstate developers <dev@watchstate.invalid>" CACHE STRING
    "Maintainer field of the Debian package")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # watchstate_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The control file's Description: the summary line, then this text (CPack indents it).
set(CPACK_PACKAGE_DESCRIPTION "Command-line tools that keep the play state of media servers in
step - watched or unwatched, last-played date and resume position - across Plex,
Jellyfin and Emby, without a third-party service: ws-sync (import then export, the
usual cron or timer job), ws-import, ws-export, ws-backup, ws-parity, ws-state and
ws-backend.

Ships systemd timers (ws-sync.timer, ws-sync@IDENTITY.timer, ws-backup.timer,
ws-parity.timer, ws-maintain.timer) that run as the system user watchstate, with a
failure report (ws-failure@.service), an example crontab, bash completion and man pages.")
# The runtime libraries as dpkg-shlibdeps finds them in the executables (with the versions
# the build saw); without dpkg-dev, the names of Debian 12's packages.
find_program(WS_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(WS_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libc6, libcurl4, libfmt9, libgcc-s1, libsqlite3-0, libstdc++6, libyaml-cpp0.7, zlib1g")
endif()
# systemd-sysusers creates the user in postinst; adduser does where systemd is absent.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd | cron")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")

# Maintainer scripts: the system user, and systemd's view of the units.
set(WS_SYSUSERS_FILE "${CPACK_PACKAGING_INSTALL_PREFIX}/${WS_SYSUSERSDIR}/watchstate.conf")
foreach(_script postinst postrm)
  configure_file("${PROJECT_SOURCE_DIR}/packaging/deb/${_script}.in"
                 "${PROJECT_BINARY_DIR}/deb/${_script}" @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                  WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${PROJECT_BINARY_DIR}/deb/postinst;${PROJECT_BINARY_DIR}/deb/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)

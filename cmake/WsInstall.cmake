# SPDX-License-Identifier: MIT
install(DIRECTORY share/watchstate DESTINATION ${CMAKE_INSTALL_DATADIR})

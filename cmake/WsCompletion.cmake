# SPDX-License-Identifier: MIT
# bash completion: one script (packaging/bash-completion/ws-tools.bash.in) registering every tool
# of apps/CMakeLists.txt, installed once under each tool's name, because bash-completion loads
# completions/<command> on the first <Tab> after that command.
get_property(WS_TOOLS GLOBAL PROPERTY WS_TOOLS)
list(JOIN WS_TOOLS " " WS_TOOLS_SPACED)
set(_script "${PROJECT_BINARY_DIR}/bash-completion/ws-tools.bash")
configure_file("${PROJECT_SOURCE_DIR}/packaging/bash-completion/ws-tools.bash.in" "${_script}" @ONLY)
foreach(_tool IN LISTS WS_TOOLS)
  install(FILES "${_script}" DESTINATION "${WS_BASH_COMPLETIONDIR}" RENAME ${_tool})
endforeach()

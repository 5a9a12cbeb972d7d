// SPDX-License-Identifier: MIT
#pragma once

// Entry points of the executables: each apps/<tool>/main.cpp is one call to one of these.
// They parse the command line, run the use case and return the process exit code.
namespace ws::app {

int import_main(int argc, char** argv);
int state_main(int argc, char** argv);
int export_main(int argc, char** argv);
int sync_main(int argc, char** argv);
int backup_main(int argc, char** argv);
int parity_main(int argc, char** argv);
int backend_main(int argc, char** argv);
int webhook_main(int argc, char** argv);
int config_main(int argc, char** argv);
int playlist_main(int argc, char** argv);

} // namespace ws::app

// SPDX-License-Identifier: MIT
#include <watchstate/app/tools.hpp>

int main(int argc, char** argv) { return ws::app::playlist_main(argc, argv); }

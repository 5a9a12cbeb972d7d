// SPDX-License-Identifier: MIT
#include <watchstate/config/config.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/setup/backend_entry.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

std::string read(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ws-entry-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

ws::setup::NewBackend jellyfin() {
  ws::setup::NewBackend b;
  b.name = "living_room";
  b.type = ws::model::BackendType::jellyfin;
  b.url = "http://jf.lan:8096";
  b.token_file = "/etc/watchstate/jf token";
  return b;
}

ws::setup::ProbedBackend probed() {
  ws::setup::ProbedBackend p;
  p.server = {"f00dfeed", "Living Room", "10.9.11"};
  p.user_id = "5e1f0c2d";
  p.user_name = "alice";
  p.libraries = {{"1", "Movies", ws::backend::LibraryKind::movies},
                 {"2", "TV", ws::backend::LibraryKind::shows}};
  return p;
}

} // namespace

TEST_CASE("backend entry: a ready entry with uuid, user and libraries", "[setup]") {
  const auto entry = ws::setup::backend_entry_yaml(jellyfin(), probed());
  CHECK(entry.find("  living_room:  # jellyfin 'Living Room' 10.9.11\n") == 0);
  CHECK(entry.find("    token_file: \"/etc/watchstate/jf token\"\n") != std::string::npos);
  CHECK(entry.find("    user: \"5e1f0c2d\"  # alice\n") != std::string::npos);
  CHECK(entry.find("    uuid: \"f00dfeed\"\n") != std::string::npos);
  CHECK(entry.find("#   2 TV (shows)") != std::string::npos);
  // What the config reader makes of it (a token from the environment: no file needed).
  auto from_env = jellyfin();
  from_env.token_file.clear();
  from_env.token_env = "WS_TEST_ENTRY_TOKEN";
  ::setenv("WS_TEST_ENTRY_TOKEN", "entry-token-1234", 1);
  const auto config = ws::config::parse_config(
      "backends:\n" + ws::setup::backend_entry_yaml(from_env, probed()), "entry.yaml");
  ::unsetenv("WS_TEST_ENTRY_TOKEN");
  REQUIRE(config.backends.size() == 1);
  CHECK(config.backends[0].uuid == "f00dfeed");
  CHECK(config.backends[0].user == "5e1f0c2d");
}

TEST_CASE("backend entry: appended inside backends:, nothing else touched", "[setup]") {
  TempDir dir;
  const auto file = dir.path / "config.yaml";
  const std::string before = "# my config\nstate_dir: /tmp/x  # keep\nbackends:\n"
                             "    home:\n      type: plex\n      url: http://p:32400\n"
                             "      token: abc\n\n# people\nidentities: {}\n";
  {
    std::ofstream out(file);
    out << before;
  }
  ::chmod(file.c_str(), 0640);
  auto wanted = jellyfin();
  wanted.token_file.clear();
  wanted.token_env = "JF_TOKEN";
  ws::setup::append_backend_entry(file, "living_room",
                                  ws::setup::backend_entry_yaml(wanted, probed()));
  const std::string after = read(file);
  // The old text is all there, in order, with the entry inserted after the last backend line.
  const auto cut = after.find("    living_room:");
  REQUIRE(cut != std::string::npos);
  CHECK(after.substr(0, cut) == before.substr(0, before.find("\n# people")));
  CHECK(after.find("      token: \"${JF_TOKEN}\"\n") != std::string::npos); // indent followed
  CHECK(after.ends_with("\n# people\nidentities: {}\n"));
  struct stat info {};
  REQUIRE(::stat(file.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0640); // the file's mode kept

  CHECK_THROWS_AS(ws::setup::append_backend_entry(file, "living_room", "  living_room: {}\n"),
                  ws::Error);
  CHECK(read(file) == after); // a refused append changes nothing
}

TEST_CASE("backend entry: a missing file is created 0600 with a backends: section", "[setup]") {
  TempDir dir;
  const auto file = dir.path / "new.yaml";
  ws::setup::append_backend_entry(file, "living_room",
                                  ws::setup::backend_entry_yaml(jellyfin(), probed()));
  CHECK(read(file).starts_with("backends:\n  living_room:"));
  struct stat info {};
  REQUIRE(::stat(file.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
}

TEST_CASE("backend entry: entries appended one after another keep their comment lines", "[setup]") {
  TempDir dir;
  const auto file = dir.path / "config.yaml";
  auto first = jellyfin();
  auto second = jellyfin();
  second.name = "den";
  ws::setup::append_backend_entry(file, first.name, ws::setup::backend_entry_yaml(first, probed()));
  ws::setup::append_backend_entry(file, second.name,
                                  ws::setup::backend_entry_yaml(second, probed()));
  const std::string text = read(file);
  CHECK(text.starts_with("backends:\n  living_room:"));
  const auto den = text.find("  den:");
  REQUIRE(den != std::string::npos);
  // living_room's library comments come before den, not after it.
  CHECK(text.find("#   2 TV (shows)") < den);
  CHECK(text.rfind("#   2 TV (shows)") > den);
  CHECK(text.ends_with("#   2 TV (shows)\n"));
}

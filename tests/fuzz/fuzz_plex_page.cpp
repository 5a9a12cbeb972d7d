// SPDX-License-Identifier: MIT
// libFuzzer harness: the Plex adapter's parsers (listing pages, server identity, sections,
// single items, search hubs, sessions, accounts, playlists and their entries) fed with hostile
// response bodies through the real adapter (ws::backend::make_backend) and a scripted HTTP
// client.
#include "fuzz_support.hpp"

#include <watchstate/core/log.hpp>

#include <cstddef>
#include <cstdint>

namespace {

// The answer to the size-0 "how many?" requests, so that every listing requests its pages.
constexpr const char* k_count = R"({"MediaContainer":{"size":0,"offset":0,"totalSize":5}})";

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ws::log::set_level(ws::log::Level::error);
  using namespace ws::backend;
  Connection connection;
  connection.name = "plex";
  connection.type = BackendType::plex;
  connection.url = "http://127.0.0.1:1";
  connection.token = "fuzz-plex-token";
  connection.user = "1";
  connection.page_size = 2;
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto backend = make_backend(connection, std::make_unique<ws::fuzz::ScriptedClient>(
                                              body, "X-Plex-Container-Size=0", k_count));
  using ws::fuzz::expect_clean;
  expect_clean([&] { (void)backend->server_info(); });
  expect_clean([&] { (void)backend->libraries(); });
  ShowCache shows;
  const std::vector<Library> libraries{{"1", "Movies", LibraryKind::movies},
                                       {"2", "TV Shows", LibraryKind::shows}};
  std::size_t seen = 0;
  expect_clean([&] {
    backend->list_items(libraries, shows, [&](RemoteItem&& item) { seen += item.guids.size(); });
  });
  expect_clean([&] { (void)backend->find_item("7", shows); });
  expect_clean([&] { (void)backend->search("a", 5, shows); });
  expect_clean([&] { (void)backend->active_items(); });
  expect_clean([&] { (void)backend->users(); });
  // Playlists through an adapter of their own, so that the listings above have not used up the
  // scripted client's requests.
  auto lists = make_backend(connection, std::make_unique<ws::fuzz::ScriptedClient>(
                                            body, "X-Plex-Container-Size=0", k_count));
  expect_clean([&] {
    for (const auto& playlist : lists->playlists()) {
      seen += playlist.entries.size();
    }
  });
  expect_clean([&] { seen += lists->playlist("9001").entries.size(); });
  return seen > 1000000 ? -1 : 0;
}

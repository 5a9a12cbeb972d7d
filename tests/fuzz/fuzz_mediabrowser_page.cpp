// SPDX-License-Identifier: MIT
// libFuzzer harness: the Jellyfin and Emby adapter's parsers (item listing pages, system info,
// views, single items, search, sessions, users, playlists and their entries) fed with hostile
// response bodies through the real adapter (ws::backend::make_backend) and a scripted HTTP
// client. The first input byte picks Jellyfin (even) or Emby (odd).
#include "fuzz_support.hpp"

#include <watchstate/core/log.hpp>

#include <cstddef>
#include <cstdint>

namespace {

// The answer to the Limit=0 "how many?" requests, so that every listing requests its pages.
constexpr const char* k_count = R"({"Items":[],"TotalRecordCount":5,"StartIndex":0})";

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ws::log::set_level(ws::log::Level::error);
  using namespace ws::backend;
  const auto [selector, body] = ws::fuzz::split_selector(data, size);
  Connection connection;
  connection.type = (selector & 1U) != 0 ? BackendType::emby : BackendType::jellyfin;
  connection.name = (selector & 1U) != 0 ? "emby" : "jellyfin";
  connection.url = "http://127.0.0.1:1";
  connection.token = "fuzz-mediabrowser-key";
  connection.user = "5e0c1d2b3a4f4e6d8c7b6a5f4e3d2c1b";
  connection.page_size = 2;
  auto backend = make_backend(connection,
                              std::make_unique<ws::fuzz::ScriptedClient>(body, "Limit=0", k_count));
  using ws::fuzz::expect_clean;
  expect_clean([&] { (void)backend->server_info(); });
  expect_clean([&] { (void)backend->libraries(); });
  ShowCache shows;
  const std::vector<Library> libraries{
      {"f137a2dd21bbc1b99aa5c0f6bf02a805", "Movies", LibraryKind::movies},
      {"a656b907eb3a73532e40e44b968d0225", "Shows", LibraryKind::shows},
      {"1", "Mixed", LibraryKind::mixed}};
  std::size_t seen = 0;
  expect_clean([&] {
    backend->list_items(libraries, shows, [&](RemoteItem&& item) { seen += item.guids.size(); });
  });
  expect_clean([&] { (void)backend->find_item("item-1", shows); });
  expect_clean([&] { (void)backend->search("a", 5, shows); });
  expect_clean([&] { (void)backend->active_items(); });
  expect_clean([&] { (void)backend->users(); });
  // Playlists through an adapter of their own, so that the listings above have not used up the
  // scripted client's requests.
  auto lists = make_backend(connection,
                            std::make_unique<ws::fuzz::ScriptedClient>(body, "Limit=0", k_count));
  expect_clean([&] {
    for (const auto& playlist : lists->playlists()) {
      seen += playlist.entries.size();
    }
  });
  expect_clean([&] { seen += lists->playlist("playlist-1").entries.size(); });
  return seen > 1000000 ? -1 : 0;
}

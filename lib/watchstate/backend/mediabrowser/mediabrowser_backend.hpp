// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

namespace ws::backend::mediabrowser {

// What differs between Jellyfin and Emby. Both get the same endpoints, query
// and Fields list (Emby 4.8+ needs UserDataLastPlayedDate in Fields to report LastPlayedDate in
// listings; Jellyfin ignores unknown Fields), so only the identity of the client differs.
// On the write side the DatePlayed format differs.
enum class DatePlayedFormat : std::uint8_t {
  iso8601, // "2024-05-01T10:00:00Z" (Jellyfin)
  compact, // "20240501100000", UTC (Emby)
};

struct MediaBrowserTraits {
  BackendType type;
  std::string_view device_id; // stable DeviceId of the Authorization header
  DatePlayedFormat date_played;
};

inline constexpr MediaBrowserTraits k_jellyfin_traits{
    BackendType::jellyfin, "watchstate-jellyfin-3c9e51d2", DatePlayedFormat::iso8601};
inline constexpr MediaBrowserTraits k_emby_traits{BackendType::emby, "watchstate-emby-7a40f6b8",
                                                  DatePlayedFormat::compact};

// The Fields list every item listing requests: only what map_item reads (ProviderIds: the ids;
// DateCreated: added_at; Path; UserDataLastPlayedDate: UserData.LastPlayedDate on Emby 4.8+;
// ProductionYear, else PremiereDate: the year). Every field asked for costs bytes on every item
// of every page, so a field the parser does not read is not asked for (UserDataPlayCount, the
// real UserData.PlayCount on Emby, was dropped: nothing reads a play count).
inline constexpr std::string_view k_item_fields =
    "ProviderIds,DateCreated,Path,UserDataLastPlayedDate,PremiereDate,ProductionYear";

// Build the Jellyfin or Emby adapter sending through `client`.
std::unique_ptr<Backend> make_mediabrowser_backend(const Connection& connection,
                                                   std::unique_ptr<http::Client> client,
                                                   const MediaBrowserTraits& traits);

} // namespace ws::backend::mediabrowser

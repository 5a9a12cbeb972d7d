// SPDX-License-Identifier: MIT
// libFuzzer harness: the webhook payload parser (Plex, Tautulli, Jellyfin, Emby), on hostile
// requests. The first line of the input is the User-Agent, the second names where the JSON goes
// ("payload" or "data": a multipart field; anything else: the body), the rest is the JSON.
#include <watchstate/backend/webhook_payload.hpp>
#include <watchstate/core/log.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ws::log::set_level(ws::log::Level::error);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto next_line = [&text]() {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    return std::string(line);
  };
  ws::backend::WebhookRequest request;
  request.user_agent = next_line();
  const std::string where = next_line();
  if (where == "payload" || where == "data") {
    request.form[where] = std::string(text);
  } else {
    request.body = std::string(text);
  }
  // Never throws; an accepted event names a server, an item and a movie or an episode.
  const auto result = ws::backend::parse_webhook(request);
  if (result.status == ws::backend::ParseStatus::accepted &&
      (result.event.server_id.empty() || result.event.item_id.empty() ||
       (result.event.item_type != "movie" && result.event.item_type != "episode") ||
       (!result.event.library_event && result.event.user_id.empty()))) {
    throw std::logic_error("accepted an event without what it needs");
  }
  if (result.status != ws::backend::ParseStatus::accepted && result.reason.empty()) {
    throw std::logic_error("refused without a reason");
  }
  return 0;
}

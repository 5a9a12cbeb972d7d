// SPDX-License-Identifier: MIT
// libFuzzer harness: the Plex GUID parser (every legacy agent rule), the ProviderIds parser,
// the id validators and the multi-episode file name parser, on hostile strings. The input is
// split at newlines into the `Guid[].id` values of one item; "key=value" lines double as
// Jellyfin/Emby ProviderIds.
#include <watchstate/backend/guid.hpp>
#include <watchstate/core/log.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ws::log::set_level(ws::log::Level::error);
  using namespace ws::backend;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> ids;
  std::vector<std::pair<std::string_view, std::string_view>> provider_ids;
  std::size_t start = 0;
  while (start <= text.size() && ids.size() < 64) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    ids.push_back(line);
    if (const auto eq = line.find('='); eq != std::string_view::npos) {
      provider_ids.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    }
    start = end + 1;
  }
  // The parsers never throw: a bad id is dropped.
  const Guids guids = parse_plex_guids(ids);
  const Guids provider = parse_provider_ids(provider_ids);
  for (const auto* set : {&guids, &provider}) {
    for (std::size_t i = 0; i < set->size(); ++i) {
      const Guid& g = (*set)[i];
      // What comes out is valid, sorted by key and unique per key.
      if (!is_valid_guid_value(g.key, g.value) ||
          guid_key_from_name(guid_key_name(g.key)) != g.key ||
          (i > 0 && !((*set)[i - 1].key < g.key))) {
        throw std::logic_error("parser returned an invalid or unsorted guid");
      }
    }
  }
  for (const auto line : ids) {
    if (const auto range = parse_episode_range(line)) {
      if (range->first > range->last) {
        throw std::logic_error("episode range ends before it starts");
      }
    }
  }
  return 0;
}

// SPDX-License-Identifier: MIT
// The matching section: ignore rules, path matching, custom id rules.
#include <watchstate/config/reader.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace ws::config::detail {

namespace {

std::string provider_names() {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < model::k_guid_key_count; ++i) {
    names.emplace_back(model::guid_key_name(static_cast<model::GuidKey>(i)));
  }
  return join(names);
}

// What a valid id of `key` looks like, for messages.
std::string_view id_form(model::GuidKey key) {
  switch (key) {
  case model::GuidKey::imdb: return "tt followed by digits";
  case model::GuidKey::youtube:
  case model::GuidKey::cmdb: return "any non-empty text";
  case model::GuidKey::anidb:
  case model::GuidKey::tmdb:
  case model::GuidKey::tvdb:
  case model::GuidKey::tvmaze:
  case model::GuidKey::tvrage: break;
  }
  return "digits";
}

bool is_item_type(std::string_view type) {
  return type == "movie" || type == "show" || type == "episode";
}

// The rule as a user reads it; also the rule's identity in the state database's record of what
// it touched, so two rules never share one.
std::string ignore_rule_text(const IgnoreRule& rule) {
  if (!rule.id) {
    return fmt::format("{} item {}", rule.backend, rule.item);
  }
  std::string out = fmt::format("{}://{}", model::guid_key_name(rule.id->key), rule.id->value);
  if (!rule.backend.empty()) {
    out += " on " + rule.backend;
  }
  if (!rule.item.empty()) {
    out += " item " + rule.item;
  }
  if (!rule.type.empty()) {
    out += " (" + rule.type + ")";
  }
  return out;
}

// A folder as a server names it: a POSIX path, a Windows drive path or a UNC share.
bool is_absolute_folder(std::string_view folder) {
  if (folder.starts_with('/') || (folder.starts_with("\\\\") && folder.size() > 2)) {
    return true;
  }
  return folder.size() >= 3 && std::isalpha(static_cast<unsigned char>(folder[0])) != 0 &&
         folder[1] == ':' && (folder[2] == '\\' || folder[2] == '/');
}

constexpr std::string_view k_ignore_forms =
    "must be <provider>://<id> (e.g. tmdb://12345), WatchState's "
    "<type>://<provider>:<id>@<backend>[?id=<item>], or a map with id and/or backend and item";

} // namespace

MatchingSettings Parser::parse_matching(const Field& field) {
  MatchingSettings matching;
  const MapReader map(*this, field, {"ignore", "paths", "guids"});
  if (auto f = map.get("ignore")) {
    for (const auto& item : sequence(*f, "a list of ignore rules")) {
      IgnoreRule rule = parse_ignore_rule(item);
      for (const auto& seen : matching.ignore) {
        if (seen.text == rule.text) {
          fail(rule.line, item.path,
               fmt::format("repeats the rule on line {} ({})", seen.line, seen.text));
        }
      }
      matching.ignore.push_back(std::move(rule));
    }
  }
  if (auto f = map.get("paths")) {
    matching.paths = parse_paths(*f);
  }
  if (auto f = map.get("guids")) {
    std::vector<int> lines;
    for (const auto& item : sequence(*f, "a list of custom id rules")) {
      model::CustomGuidRule rule = parse_guid_rule(item);
      for (std::size_t i = 0; i < matching.guids.size(); ++i) {
        const auto& seen = matching.guids[i];
        if (!rule.provider_id.empty() && iequals(seen.provider_id, rule.provider_id)) {
          fail(line_of(item.value), item.path + ".provider_id",
               fmt::format("repeats the ProviderIds key of the rule on line {}", lines[i]));
        }
        // Rules are tried in order: a shorter prefix before a longer one would take its GUIDs.
        if (!rule.plex_prefix.empty() && !seen.plex_prefix.empty() &&
            rule.plex_prefix.size() >= seen.plex_prefix.size() &&
            iequals(std::string_view(rule.plex_prefix).substr(0, seen.plex_prefix.size()),
                    seen.plex_prefix)) {
          fail(line_of(item.value), item.path + ".plex_prefix",
               fmt::format("is never used: the rule on line {} (prefix '{}') matches these GUIDs "
                           "first",
                           lines[i], seen.plex_prefix));
        }
      }
      lines.push_back(line_of(item.value));
      matching.guids.push_back(std::move(rule));
    }
  }
  return matching;
}

model::Guid Parser::parse_guid(const Field& field, std::string_view provider,
                               std::string_view value) const {
  const auto key = model::guid_key_from_name(trim(provider));
  if (!key) {
    fail(
        line(field), field.path,
        fmt::format("unknown provider '{}'; expected one of {}", trim(provider), provider_names()));
  }
  const std::string id = trim(value);
  if (!model::is_valid_guid_value(*key, id)) {
    fail(line(field), field.path,
         fmt::format("'{}' is not a valid {} id ({})", id, model::guid_key_name(*key),
                     id_form(*key)));
  }
  return model::Guid{*key, id};
}

IgnoreRule Parser::parse_ignore_rule(const Field& item) {
  if (item.value.IsMap()) {
    return parse_ignore_map(item);
  }
  if (item.value.IsSequence()) {
    fail(line(item), item.path, std::string(k_ignore_forms));
  }
  const std::string text = trim(string(item).value_or(""));
  const auto sep = text.find("://");
  if (sep == std::string::npos || sep == 0) {
    fail(line(item), item.path, fmt::format("{}; not '{}'", k_ignore_forms, text));
  }
  if (is_item_type(lowercase_ascii(text.substr(0, sep)))) {
    return parse_watchstate_ignore(item, text);
  }
  IgnoreRule rule;
  rule.line = line(item);
  rule.id = parse_guid(item, text.substr(0, sep), std::string_view(text).substr(sep + 3));
  rule.text = ignore_rule_text(rule);
  return rule;
}

// WatchState's ignore.yaml key: <type>://<provider>:<id>@<backend>[?id=<server item id>].
IgnoreRule Parser::parse_watchstate_ignore(const Field& item, std::string_view text) {
  constexpr std::string_view k_form = "<type>://<provider>:<id>@<backend>[?id=<item>]";
  IgnoreRule rule;
  rule.line = line(item);
  const auto sep = text.find("://");
  rule.type = lowercase_ascii(text.substr(0, sep));
  std::string_view rest = text.substr(sep + 3);
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos || at + 1 == rest.size()) {
    fail(rule.line, item.path,
         fmt::format("WatchState's form names the backend: {}, not '{}'", k_form, text));
  }
  rule.backend = std::string(rest.substr(at + 1));
  const std::string_view guid = rest.substr(0, at);
  const auto colon = guid.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    fail(rule.line, item.path,
         fmt::format("WatchState's form needs <provider>:<id>: {}, not '{}'", k_form, text));
  }
  rule.id = parse_guid(item, guid.substr(0, colon), guid.substr(colon + 1));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != "id" || eq == std::string_view::npos || eq + 1 == pair.size()) {
      fail(rule.line, item.path,
           fmt::format("WatchState's form takes only ?id=<server item id>: {}, not '{}'", k_form,
                       text));
    }
    rule.item = std::string(pair.substr(eq + 1));
  }
  refer_to_backend(rule.backend, rule.line, item.path);
  rule.text = ignore_rule_text(rule);
  return rule;
}

IgnoreRule Parser::parse_ignore_map(const Field& item) {
  const MapReader map(*this, item, {"id", "backend", "type", "item", "reason"});
  IgnoreRule rule;
  rule.line = line_of(item.value);
  if (auto f = map.value("id")) {
    const std::string text = trim(string(*f).value_or(""));
    const auto sep = text.find("://");
    if (sep == std::string::npos || sep == 0) {
      fail(line(*f), f->path,
           fmt::format("must be <provider>://<id> (e.g. tmdb://12345), not '{}'", text));
    }
    rule.id = parse_guid(*f, text.substr(0, sep), std::string_view(text).substr(sep + 3));
  }
  if (auto f = map.get("backend")) {
    rule.backend = trim(string(*f).value_or(""));
    if (rule.backend.empty()) {
      fail(line(*f), f->path, "must be the name of a configured backend");
    }
    refer_to_backend(rule.backend, line(*f), f->path);
  }
  if (auto f = map.get("type")) {
    const std::string type = trim(string(*f).value_or(""));
    rule.type = lowercase_ascii(type);
    if (!is_item_type(rule.type)) {
      fail(line(*f), f->path, fmt::format("must be movie, show or episode, not '{}'", type));
    }
    if (!rule.id) {
      fail(line(*f), f->path, "applies only with id (a server item is kept out whatever its type)");
    }
  }
  if (auto f = map.get("item")) {
    rule.item = trim(string(*f).value_or(""));
    if (rule.item.empty()) {
      fail(line(*f), f->path, "must be a server item id (Plex ratingKey, Jellyfin/Emby Id)");
    }
    if (rule.backend.empty()) {
      fail(line(*f), f->path, "needs backend: a server item id names an item of one backend");
    }
  }
  if (auto f = map.value("reason")) {
    rule.reason = trim(string(*f).value_or(""));
  }
  if (!rule.id && rule.item.empty()) {
    fail(rule.line, item.path,
         "needs id (an external id to drop), or backend and item (a server item to keep out)");
  }
  rule.text = ignore_rule_text(rule);
  return rule;
}

PathMatching Parser::parse_paths(const Field& field) {
  PathMatching paths;
  const MapReader map(*this, field, {"enabled", "roots"});
  if (auto f = map.value("enabled")) {
    paths.enabled = boolean(*f);
  }
  if (auto f = map.get("roots")) {
    for (const auto& item : sequence(*f, "a list of maps of backend names to folders")) {
      const auto folders = entries(item, "a map of backend names to folders");
      if (folders.size() < 2) {
        fail(line_of(item.value), item.path,
             "must name the same place on at least two backends, e.g. "
             "{ home_plex: /media/movies, living_room_jf: /data/movies }");
      }
      std::vector<std::pair<std::string, std::string>> root;
      for (const auto& folder : folders) {
        std::string text = trim(string(folder).value_or(""));
        if (!is_absolute_folder(text)) {
          fail(line(folder), folder.path,
               fmt::format("must be an absolute folder as the server names it (/media/movies, "
                           "D:\\Movies), not '{}'",
                           text));
        }
        // "/media/movies/" and "/media/movies" are one folder; "/" stays "/".
        while (text.size() > 1 && (text.back() == '/' || text.back() == '\\') &&
               !(text.size() == 3 && text[1] == ':')) {
          text.pop_back();
        }
        refer_to_backend(folder.key.Scalar(), line_of(folder.key), folder.path);
        root.emplace_back(folder.key.Scalar(), std::move(text));
      }
      paths.roots.push_back(std::move(root));
    }
  }
  return paths;
}

model::CustomGuidRule Parser::parse_guid_rule(const Field& item) const {
  const MapReader map(*this, item, {"plex_prefix", "provider_id", "provider"});
  model::CustomGuidRule rule;
  const auto prefix = map.get("plex_prefix");
  const auto provider_id = map.get("provider_id");
  if (prefix && provider_id) {
    fail(line_of(provider_id->key), item.path,
         "set only one of plex_prefix and provider_id (one rule per source)");
  }
  if (!prefix && !provider_id) {
    fail(line_of(item.value), item.path,
         "needs plex_prefix (a Plex GUID prefix) or provider_id (a Jellyfin/Emby ProviderIds "
         "key)");
  }
  if (prefix) {
    rule.plex_prefix = trim(string(*prefix).value_or(""));
    const std::string_view text = rule.plex_prefix;
    const bool ends_well = (text.ends_with("://") && text.size() > 3) ||
                           (!text.ends_with("://") && text.ends_with(':') && text.size() > 1);
    if (!ends_well || text.find_first_of(k_whitespace) != std::string_view::npos) {
      fail(line(*prefix), prefix->path,
           fmt::format("must be a GUID prefix ending in :// or : (e.g. "
                       "com.plexapp.agents.mydb://), not '{}'",
                       text));
    }
  }
  if (provider_id) {
    rule.provider_id = trim(string(*provider_id).value_or(""));
    if (rule.provider_id.empty()) {
      fail(line(*provider_id), provider_id->path,
           "must be a ProviderIds key as the server writes it (e.g. MyDb)");
    }
  }
  const auto provider = map.value("provider");
  if (!provider) {
    fail(line_of(item.value), item.path + ".provider",
         fmt::format("is required: the provider these ids are read as ({})", provider_names()));
  }
  const std::string name = trim(string(*provider).value_or(""));
  const auto key = model::guid_key_from_name(name);
  if (!key) {
    fail(line(*provider), provider->path,
         fmt::format("unknown provider '{}'; expected one of {}", name, provider_names()));
  }
  rule.provider = *key;
  return rule;
}

} // namespace ws::config::detail

// SPDX-License-Identifier: MIT
#include <watchstate/backend/adapter_support.hpp>
#include <watchstate/backend/json_fields.hpp>
#include <watchstate/backend/mediabrowser/mediabrowser_account.hpp>
#include <watchstate/backend/mediabrowser/mediabrowser_backend.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/json/writer.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <utility>

namespace ws::backend::mediabrowser {
namespace {

using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

// The Jellyfin Webhook plugin's name in GET /Plugins.
constexpr std::string_view k_jellyfin_plugin_name = "webhook";
// Emby's webhook notifier (the PluginId its own settings page writes).
constexpr std::string_view k_emby_webhook_plugin = "85a7b1d4-fbda-4e85-a0a2-ac303c9946a4";

// What ws-webhook reads from each server (webhook/payload.cpp); other events would only be
// received and dropped.
constexpr std::string_view k_jellyfin_events[] = {"ItemAdded", "UserDataSaved", "PlaybackStop"};
constexpr std::string_view k_emby_events[] = {"library.new", "item.markplayed", "item.markunplayed",
                                              "playback.stop", "playback.pause"};

Value string_value(std::string_view text, Allocator& alloc) {
  return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

void set_member(Value& object, std::string_view name, Value value, Allocator& alloc) {
  if (auto it = object.FindMember(Value(rapidjson::StringRef(name.data(), name.size())));
      it != object.MemberEnd()) {
    it->value = std::move(value);
    return;
  }
  object.AddMember(string_value(name, alloc), std::move(value), alloc);
}

Value string_array(const std::vector<std::string>& items, Allocator& alloc) {
  Value array(rapidjson::kArrayType);
  for (const auto& item : items) {
    array.PushBack(string_value(item, alloc), alloc);
  }
  return array;
}

template <std::size_t N> Value string_array(const std::string_view (&items)[N], Allocator& alloc) {
  Value array(rapidjson::kArrayType);
  for (const auto item : items) {
    array.PushBack(string_value(item, alloc), alloc);
  }
  return array;
}

std::string to_json(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

// scheme://host:port/path of a URL, without query and fragment, for comparing receivers.
std::string receiver_of(std::string_view url) {
  const auto end = url.find_first_of("?#");
  std::string_view base = url.substr(0, end);
  while (base.size() > 1 && base.back() == '/') {
    base.remove_suffix(1);
  }
  return lowercase_ascii(base);
}

} // namespace

bool same_receiver(std::string_view a, std::string_view b) {
  return receiver_of(a) == receiver_of(b);
}

LoginResult parse_login(std::string body, std::string_view label) {
  rapidjson::Document doc;
  detail::parse_json_body(doc, body, label, "login answer", "/Users/AuthenticateByName");
  LoginResult result;
  result.access_token = std::string(detail::string_member(doc, "AccessToken").value_or(""));
  result.server_id = std::string(detail::string_member(doc, "ServerId").value_or(""));
  if (const auto* user = detail::object_member(doc, "User")) {
    result.user_id = detail::id_member(*user, "Id").value_or("");
    result.user_name = std::string(detail::string_member(*user, "Name").value_or(""));
    if (const auto* policy = detail::object_member(*user, "Policy")) {
      result.admin = detail::bool_member(*policy, "IsAdministrator").value_or(false);
    }
  }
  if (result.access_token.empty() || result.user_id.empty()) {
    detail::throw_protocol(label, "login answer", "/Users/AuthenticateByName",
                           "no AccessToken or User.Id");
  }
  register_secret(result.access_token);
  return result;
}

MediaBrowserAccount::MediaBrowserAccount(std::string label, BackendType type, std::string url,
                                         std::unique_ptr<http::Client> client)
    : m_label(std::move(label)), m_type(type), m_url(std::move(url)), m_client(std::move(client)) {
  while (!m_url.empty() && m_url.back() == '/') {
    m_url.pop_back();
  }
}

http::Request MediaBrowserAccount::request(http::Method method, std::string path,
                                           std::string_view token) const {
  const auto& traits = m_type == BackendType::emby ? k_emby_traits : k_jellyfin_traits;
  std::string auth = fmt::format(R"(Client="watchstate", Device="watchstate", DeviceId="{}", )"
                                 R"(Version="{}")",
                                 traits.device_id, WS_VERSION);
  if (!token.empty()) {
    auth = fmt::format(R"(Token="{}", {})", token, auth);
  }
  http::Request r;
  r.method = method;
  r.url = m_url + path;
  r.headers.push_back({"Accept", "application/json"});
  r.headers.push_back({"Authorization", "MediaBrowser " + auth});
  if (m_type == BackendType::emby) {
    r.headers.push_back({"X-Emby-Authorization", "Emby " + auth});
  }
  return r;
}

LoginResult MediaBrowserAccount::login(std::string_view user_name, std::string_view password) {
  register_secret(password);
  json::Writer body;
  body.begin_object().field("Username", user_name).field("Pw", password).end_object();
  auto req = request(http::Method::post, "/Users/AuthenticateByName", {});
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = body.str();
  const std::string url = req.url;
  http::Outcome outcome = m_client->send(std::move(req));
  if (outcome.transport_ok() &&
      (outcome.response.status == 401 || outcome.response.status == 403)) {
    throw Error(Errc::no_perm, fmt::format("{}: the server refused the user name or password "
                                           "(HTTP {})",
                                           m_label, outcome.response.status));
  }
  detail::check_outcome(m_label, url, outcome);
  return parse_login(std::move(outcome.response.body), m_label);
}

WebhookChange MediaBrowserAccount::register_webhook(std::string_view token,
                                                    std::string_view webhook_url,
                                                    const std::vector<std::string>& user_ids,
                                                    bool dry_run) {
  return m_type == BackendType::emby ? register_emby(token, webhook_url, user_ids, dry_run)
                                     : register_jellyfin(token, webhook_url, user_ids, dry_run);
}

WebhookChange MediaBrowserAccount::register_jellyfin(std::string_view token,
                                                     std::string_view webhook_url,
                                                     const std::vector<std::string>& user_ids,
                                                     bool dry_run) {
  auto plugins_req = request(http::Method::get, "/Plugins", token);
  std::string plugins_url = plugins_req.url;
  auto plugins = detail::send_checked(*m_client, m_label, std::move(plugins_req));
  rapidjson::Document list;
  detail::parse_json_array_body(list, plugins.response.body, m_label, "plugin list", plugins_url);
  std::string plugin_id;
  for (const auto& plugin : list.GetArray()) {
    if (iequals(detail::string_member(plugin, "Name").value_or(""), k_jellyfin_plugin_name)) {
      plugin_id = detail::id_member(plugin, "Id").value_or("");
    }
  }
  if (plugin_id.empty()) {
    return WebhookChange::unsupported;
  }

  const std::string config_path = fmt::format("/Plugins/{}/Configuration", plugin_id);
  auto config_req = request(http::Method::get, config_path, token);
  const std::string config_url = config_req.url;
  auto config_outcome = detail::send_checked(*m_client, m_label, std::move(config_req));
  rapidjson::Document config;
  detail::parse_json_body(config, config_outcome.response.body, m_label,
                          "Webhook plugin configuration", config_url);
  auto& alloc = config.GetAllocator();
  if (!config.HasMember("GenericOptions") || !config["GenericOptions"].IsArray()) {
    set_member(config, "GenericOptions", Value(rapidjson::kArrayType), alloc);
  }
  Value& destinations = config["GenericOptions"];

  Value entry(rapidjson::kObjectType);
  Value* found = nullptr;
  for (auto& destination : destinations.GetArray()) {
    const auto uri = detail::string_member(destination, "WebhookUri");
    if (uri && same_receiver(*uri, webhook_url)) {
      found = &destination;
      entry.CopyFrom(destination, alloc);
      break;
    }
  }
  Value content_type(rapidjson::kObjectType);
  content_type.AddMember("Key", "Content-Type", alloc);
  content_type.AddMember("Value", "application/json", alloc);
  Value headers(rapidjson::kArrayType);
  headers.PushBack(std::move(content_type), alloc);
  set_member(entry, "WebhookName", string_value(k_webhook_name, alloc), alloc);
  set_member(entry, "WebhookUri", string_value(webhook_url, alloc), alloc);
  set_member(entry, "NotificationTypes", string_array(k_jellyfin_events, alloc), alloc);
  set_member(entry, "Headers", std::move(headers), alloc);
  set_member(entry, "Fields", Value(rapidjson::kArrayType), alloc);
  set_member(entry, "EnableMovies", Value(true), alloc);
  set_member(entry, "EnableEpisodes", Value(true), alloc);
  set_member(entry, "EnableSeries", Value(false), alloc);
  set_member(entry, "EnableSeasons", Value(false), alloc);
  set_member(entry, "EnableAlbums", Value(false), alloc);
  set_member(entry, "EnableSongs", Value(false), alloc);
  set_member(entry, "EnableVideos", Value(false), alloc);
  // ws-webhook reads the plugin's full data dictionary, not a template.
  set_member(entry, "SendAllProperties", Value(true), alloc);
  set_member(entry, "Template", Value(""), alloc);
  set_member(entry, "TrimWhitespace", Value(true), alloc);
  set_member(entry, "SkipEmptyMessageBody", Value(true), alloc);
  set_member(entry, "EnableWebhook", Value(true), alloc);
  set_member(entry, "UserFilter", string_array(user_ids, alloc), alloc);

  WebhookChange change = WebhookChange::added;
  if (found != nullptr) {
    if (*found == entry) {
      return WebhookChange::unchanged;
    }
    *found = std::move(entry);
    change = WebhookChange::updated;
  } else {
    destinations.PushBack(std::move(entry), alloc);
  }
  if (dry_run) {
    return change;
  }
  auto post = request(http::Method::post, config_path, token);
  post.headers.push_back({"Content-Type", "application/json"});
  post.body = to_json(config);
  detail::send_checked(*m_client, m_label, std::move(post));
  return change;
}

WebhookChange MediaBrowserAccount::register_emby(std::string_view token,
                                                 std::string_view webhook_url,
                                                 const std::vector<std::string>& user_ids,
                                                 bool dry_run) {
  const std::string path = "/Notifications/Services/Configured";
  auto list_req = request(http::Method::get, path, token);
  const std::string list_url = list_req.url;
  http::Outcome listed = m_client->send(std::move(list_req));
  // Webhooks are an Emby Premiere feature: a server without it refuses the notifier API while
  // the same token reads everything else.
  if (listed.transport_ok() && (listed.response.status == 403 || listed.response.status == 404)) {
    return WebhookChange::unsupported;
  }
  detail::check_outcome(m_label, list_url, listed);
  rapidjson::Document list;
  detail::parse_json_array_body(list, listed.response.body, m_label, "notifier list", list_url);
  auto& alloc = list.GetAllocator();

  Value entry(rapidjson::kObjectType);
  const Value* found = nullptr;
  for (const auto& notifier : list.GetArray()) {
    const auto* options = detail::object_member(notifier, "Options");
    const auto url = options != nullptr ? detail::string_member(*options, "Url") : std::nullopt;
    if (url && same_receiver(*url, webhook_url)) {
      found = &notifier;
      entry.CopyFrom(notifier, alloc);
      break;
    }
  }
  Value options(rapidjson::kObjectType);
  if (found != nullptr && entry.HasMember("Options") && entry["Options"].IsObject()) {
    options.CopyFrom(entry["Options"], alloc);
  }
  set_member(options, "Url", string_value(webhook_url, alloc), alloc);
  // ws-webhook reads JSON bodies; multipart is the older servers' default.
  set_member(options, "EnableMultipartFormData", Value(false), alloc);
  set_member(entry, "NotifierKey", Value("webhooknotifications"), alloc);
  set_member(entry, "SetupModuleUrl", Value("configurationpage?name=webhookeditorjs"), alloc);
  set_member(entry, "ServiceName", Value("Webhooks"), alloc);
  set_member(entry, "PluginId", string_value(k_emby_webhook_plugin, alloc), alloc);
  set_member(entry, "FriendlyName", string_value(k_webhook_name, alloc), alloc);
  set_member(entry, "Enabled", Value(true), alloc);
  set_member(entry, "UserIds", string_array(user_ids, alloc), alloc);
  if (!entry.HasMember("DeviceIds")) {
    set_member(entry, "DeviceIds", Value(rapidjson::kArrayType), alloc);
  }
  if (!entry.HasMember("LibraryIds")) {
    set_member(entry, "LibraryIds", Value(rapidjson::kArrayType), alloc);
  }
  set_member(entry, "EventIds", string_array(k_emby_events, alloc), alloc);
  set_member(entry, "IsSelfNotification", Value(false), alloc);
  set_member(entry, "GroupItems", Value(false), alloc);
  set_member(entry, "Options", std::move(options), alloc);

  if (found != nullptr && *found == entry) {
    return WebhookChange::unchanged;
  }
  if (dry_run) {
    return found != nullptr ? WebhookChange::updated : WebhookChange::added;
  }
  auto post = request(http::Method::post, path, token);
  post.headers.push_back({"Content-Type", "application/json"});
  post.body = to_json(entry);
  detail::send_checked(*m_client, m_label, std::move(post));
  return found != nullptr ? WebhookChange::updated : WebhookChange::added;
}

} // namespace ws::backend::mediabrowser

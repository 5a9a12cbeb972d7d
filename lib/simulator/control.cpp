// SPDX-License-Identifier: MIT
// The /__sim control API used by tests (README §6).
#include "simulator/server.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace ws::sim {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

Response json_ok(std::string body, int status = 200) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Response json_error(int status, std::string_view message) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("error");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return json_ok({buf.GetString(), buf.GetSize()}, status);
}

void write_ids(JsonWriter& w, const IdList& ids) {
  w.StartObject();
  for (const auto& [k, v] : ids) {
    w.Key(k.c_str());
    w.String(v.c_str());
  }
  w.EndObject();
}

} // namespace

std::string Server::item_json(size_t user, uint32_t item) const {
  const Item& it = m_items[item];
  const Entry& e = m_world->entries[it.entry];
  const PlayState& st = m_state[user][item];
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("key");
  w.String(e.key.c_str());
  w.Key("id");
  w.String(it.id.c_str());
  w.Key("type");
  w.String(it.type == ItemType::movie ? "movie"
                                      : (it.type == ItemType::series ? "show" : "episode"));
  w.Key("title");
  w.String(e.title.c_str());
  if (it.type == ItemType::episode) {
    w.Key("show");
    w.String(m_world->entries[e.show].key.c_str());
    w.Key("season");
    w.Int(e.season);
    w.Key("episode");
    w.Int(e.episode);
  }
  w.Key("library");
  w.String(m_libraries[it.library].slot == k_4k_library ? "4k" : "main");
  w.Key("ids");
  write_ids(w, presented_ids_locked(item));
  if (it.is_folder()) {
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
  }
  w.Key("played");
  w.Bool(st.played);
  w.Key("play_count");
  w.Uint(st.play_count);
  w.Key("last_played");
  if (st.last_played_ms == k_no_time) {
    w.Null();
  } else {
    w.Int64(st.last_played_ms >= 0 ? st.last_played_ms / 1000 : (st.last_played_ms - 999) / 1000);
  }
  w.Key("position_ms");
  w.Int64(st.position_ms);
  w.Key("favorite");
  w.Bool(st.favorite);
  if (hidden(item)) {
    w.Key("hidden");
    w.Bool(true);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

Response Server::control(const Request& req) {
  const std::string& p = req.path;
  const std::string& m = req.method;
  if (p == "/__sim/requests") {
    if (m == "DELETE") {
      std::lock_guard lock(m_log_mutex);
      m_log.clear();
      m_requests = 0;
      m_writes = 0;
      return json_ok(R"({"ok":true})");
    }
    if (m == "GET" || m == "HEAD") {
      uint64_t since = 0;
      if (const std::string* s = req.param("since")) {
        since = static_cast<uint64_t>(std::max<int64_t>(0, parse_int(*s).value_or(0)));
      }
      rapidjson::StringBuffer buf;
      JsonWriter w(buf);
      std::lock_guard lock(m_log_mutex);
      w.StartArray();
      for (const LogEntry& e : m_log) {
        if (e.seq <= since) {
          continue;
        }
        w.StartObject();
        w.Key("seq");
        w.Uint64(e.seq);
        w.Key("method");
        w.String(e.method.c_str());
        w.Key("path");
        w.String(e.path.c_str());
        w.Key("query");
        w.String(e.query.c_str());
        w.Key("status");
        w.Int(e.status);
        w.Key("ms");
        w.Double(static_cast<double>(static_cast<int64_t>(e.ms * 1000.0)) / 1000.0);
        w.EndObject();
      }
      w.EndArray();
      return json_ok({buf.GetString(), buf.GetSize()});
    }
  }
  if (p == "/__sim/stats" && (m == "GET" || m == "HEAD")) {
    std::lock_guard lock(m_log_mutex);
    return json_ok(fmt::format(R"({{"requests":{},"writes":{}}})", m_requests, m_writes));
  }
  if (p == "/__sim/faults") {
    return control_faults(req);
  }
  if (p == "/__sim/visibility" && m == "POST") {
    return control_visibility(req);
  }
  if (p == "/__sim/items" && (m == "GET" || m == "HEAD")) {
    return control_items(req);
  }
  if (p == "/__sim/state" && m == "POST") {
    return control_state(req);
  }
  if (p == "/__sim/sessions" && m == "POST") {
    return control_sessions(req);
  }
  if (p == "/__sim/ids" && m == "POST") {
    return control_ids(req);
  }
  if (p == "/__sim/rematch" && m == "POST") {
    return control_rematch();
  }
  if (p == "/__sim/truth" && (m == "GET" || m == "HEAD")) {
    return control_truth();
  }
  if (p == "/__sim/playlists" && (m == "GET" || m == "HEAD")) {
    return control_playlists(req);
  }
  if (p == "/__sim/world" && (m == "GET" || m == "HEAD")) {
    const ServerDef& s = def();
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("server");
    w.String(std::string(kind_name(m_kind)).c_str());
    w.Key("server_id");
    w.String(s.server_id.c_str());
    w.Key("name");
    w.String(s.name.c_str());
    w.Key("token");
    w.String(s.token.c_str());
    w.Key("users");
    w.StartArray();
    for (const UserDef& u : s.users) {
      w.StartObject();
      w.Key("id");
      w.String(u.id.c_str());
      w.Key("name");
      w.String(u.name.c_str());
      w.Key("token");
      w.String(u.token.c_str());
      w.Key("admin");
      w.Bool(u.admin);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return json_ok({buf.GetString(), buf.GetSize()});
  }
  return json_error(404, fmt::format("unknown control route {} {}", m, p));
}

Response Server::control_items(const Request& req) {
  size_t user = 0;
  if (const std::string* u = req.param("user")) {
    const int64_t found = user_of_id(*u);
    if (found < 0) {
      return json_error(404, fmt::format("unknown user {}", *u));
    }
    user = static_cast<size_t>(found);
  }
  std::string out;
  out.reserve(m_items.size() * 180 + 2);
  out += '[';
  std::shared_lock lock(m_mutex);
  bool first = true;
  for (size_t i = 0; i < m_world->entries.size(); ++i) {
    const int32_t item = m_item_of_entry[i];
    if (item < 0 || m_items[static_cast<size_t>(item)].is_folder()) {
      continue;
    }
    if (!first) {
      out += ',';
    }
    first = false;
    out += item_json(user, static_cast<uint32_t>(item));
  }
  out += ']';
  return json_ok(std::move(out));
}

std::vector<uint32_t> Server::items_of_keys(const rapidjson::Value& keys,
                                            std::string& problem) const {
  std::vector<uint32_t> out;
  if (!keys.IsArray()) {
    problem = "expected an array of world keys";
    return out;
  }
  for (const auto& k : keys.GetArray()) {
    if (!k.IsString()) {
      problem = "expected an array of world keys";
      return out;
    }
    const int64_t item = item_of_key(k.GetString());
    if (item < 0 || m_items[static_cast<size_t>(item)].is_folder()) {
      problem = fmt::format("{} is not a movie/episode on this server", k.GetString());
      return out;
    }
    out.push_back(static_cast<uint32_t>(item));
  }
  return out;
}

Response Server::control_visibility(const Request& req) {
  rapidjson::Document doc;
  doc.Parse(req.body.data(), req.body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return json_error(400, "body must be a JSON object {\"hide\":[keys],\"show\":[keys]}");
  }
  std::vector<uint32_t> lists[2];
  const char* const names[2] = {"hide", "show"};
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string name = it->name.GetString();
    if (name != names[0] && name != names[1]) {
      return json_error(400, fmt::format("unknown key \"{}\"", name));
    }
  }
  for (size_t i = 0; i < 2; ++i) {
    if (!doc.HasMember(names[i])) {
      continue;
    }
    std::string problem;
    lists[i] = items_of_keys(doc[names[i]], problem);
    if (!problem.empty()) {
      return json_error(404, fmt::format("\"{}\": {}", names[i], problem));
    }
  }
  set_hidden(lists[0], true);
  set_hidden(lists[1], false);
  size_t count = 0;
  for (size_t i = 0; i < m_items.size(); ++i) {
    count += hidden(static_cast<uint32_t>(i)) ? 1 : 0;
  }
  return json_ok(fmt::format(R"({{"hidden":{}}})", count));
}

Response Server::control_state(const Request& req) {
  rapidjson::Document doc;
  doc.Parse(req.body.data(), req.body.size());
  if (doc.HasParseError() || (!doc.IsObject() && !doc.IsArray())) {
    return json_error(400, "body must be a JSON object or array");
  }
  std::vector<const rapidjson::Value*> list;
  if (doc.IsArray()) {
    for (auto& v : doc.GetArray()) {
      list.push_back(&v);
    }
  } else {
    list.push_back(&doc);
  }
  struct Change {
    size_t user;
    uint32_t item;
    const rapidjson::Value* v;
  };
  std::vector<Change> changes;
  for (const rapidjson::Value* v : list) {
    if (!v->IsObject()) {
      return json_error(400, "each state must be an object");
    }
    int64_t item = -1;
    if (v->HasMember("key") && (*v)["key"].IsString()) {
      item = item_of_key((*v)["key"].GetString());
    } else if (v->HasMember("id") && (*v)["id"].IsString()) {
      item = item_of_id_any((*v)["id"].GetString());
    } else {
      return json_error(400, "each state needs \"key\" or \"id\"");
    }
    if (item < 0 || m_items[static_cast<size_t>(item)].is_folder()) {
      return json_error(404, "unknown movie/episode on this server");
    }
    int64_t user = 0;
    if (v->HasMember("user")) {
      if (!(*v)["user"].IsString()) {
        return json_error(400, "\"user\" must be a string");
      }
      user = user_of_id((*v)["user"].GetString());
      if (user < 0) {
        return json_error(404, "unknown user");
      }
    }
    for (const char* k : {"play_count", "position_ms"}) {
      if (v->HasMember(k) && (!(*v)[k].IsInt64() || (*v)[k].GetInt64() < 0)) {
        return json_error(400, fmt::format("\"{}\" must be a non-negative integer", k));
      }
    }
    for (const char* k : {"played", "favorite"}) {
      if (v->HasMember(k) && !(*v)[k].IsBool()) {
        return json_error(400, fmt::format("\"{}\" must be true or false", k));
      }
    }
    if (v->HasMember("last_played") && !(*v)["last_played"].IsNull() &&
        !(*v)["last_played"].IsInt64()) {
      return json_error(400, "\"last_played\" must be unix seconds or null");
    }
    changes.push_back({static_cast<size_t>(user), static_cast<uint32_t>(item), v});
  }
  const int64_t now = now_ms();
  std::unique_lock lock(m_mutex);
  std::string out = "[";
  for (const Change& c : changes) {
    const rapidjson::Value& v = *c.v;
    PlayState& st = m_state[c.user][c.item];
    if (v.HasMember("played")) {
      const bool played = v["played"].GetBool();
      if (played) {
        st.play_count = v.HasMember("play_count")
                            ? static_cast<uint32_t>(v["play_count"].GetInt64())
                            : st.play_count + 1;
        if (!v.HasMember("last_played")) {
          st.last_played_ms = now;
        }
      } else if (!v.HasMember("play_count")) {
        st.play_count = 0;
      }
      st.played = played;
    }
    if (v.HasMember("play_count")) {
      st.play_count = static_cast<uint32_t>(v["play_count"].GetInt64());
    }
    if (v.HasMember("last_played")) {
      st.last_played_ms =
          v["last_played"].IsNull() ? k_no_time : v["last_played"].GetInt64() * 1000;
    }
    if (v.HasMember("position_ms")) {
      st.position_ms = v["position_ms"].GetInt64();
    }
    if (v.HasMember("favorite")) {
      st.favorite = v["favorite"].GetBool();
    }
    if (out.size() > 1) {
      out += ',';
    }
    out += item_json(c.user, c.item);
  }
  out += ']';
  return json_ok(std::move(out));
}

Response Server::control_ids(const Request& req) {
  rapidjson::Document doc;
  doc.Parse(req.body.data(), req.body.size());
  if (doc.HasParseError() || (!doc.IsObject() && !doc.IsArray())) {
    return json_error(400, "body must be a JSON object or array of {\"key\":…,\"ids\":{…}}");
  }
  std::vector<const rapidjson::Value*> list;
  if (doc.IsArray()) {
    for (auto& v : doc.GetArray()) {
      list.push_back(&v);
    }
  } else {
    list.push_back(&doc);
  }
  std::vector<std::pair<uint32_t, IdList>> changes;
  for (size_t i = 0; i < list.size(); ++i) {
    const rapidjson::Value& v = *list[i];
    auto fail = [&](std::string_view what) {
      return json_error(400, fmt::format("entry {}: {}", i, what));
    };
    if (!v.IsObject()) {
      return fail("expected an object");
    }
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      const std::string_view name(it->name.GetString(), it->name.GetStringLength());
      if (name != "key" && name != "ids") {
        return fail(fmt::format("unknown key \"{}\"", name));
      }
    }
    if (!v.HasMember("key") || !v["key"].IsString()) {
      return fail("\"key\" (a world key) is required");
    }
    if (!v.HasMember("ids") || !v["ids"].IsObject()) {
      return fail("\"ids\" (an object provider -> id) is required");
    }
    IdList ids;
    for (auto it = v["ids"].MemberBegin(); it != v["ids"].MemberEnd(); ++it) {
      const std::string provider(it->name.GetString(), it->name.GetStringLength());
      if (provider.empty() || provider != to_lower(provider)) {
        return fail(fmt::format("provider \"{}\" must be lower-case", provider));
      }
      if (!it->value.IsString() || it->value.GetStringLength() == 0) {
        return fail(fmt::format("ids.{} must be a non-empty string", provider));
      }
      ids.emplace_back(provider, std::string(it->value.GetString(), it->value.GetStringLength()));
    }
    const int64_t item = item_of_key(v["key"].GetString());
    if (item < 0 || m_items[static_cast<size_t>(item)].type == ItemType::season) {
      return json_error(404, fmt::format("{} is not a movie, show or episode on this server",
                                         v["key"].GetString()));
    }
    changes.emplace_back(static_cast<uint32_t>(item), std::move(ids));
  }
  std::unique_lock lock(m_mutex);
  std::string out = "[";
  for (auto& [item, ids] : changes) {
    set_ids(m_items[item].entry, std::move(ids));
  }
  for (const auto& change : changes) {
    if (out.size() > 1) {
      out += ',';
    }
    out += item_json(0, change.first);
  }
  out += ']';
  return json_ok(std::move(out));
}

Response Server::control_rematch() {
  std::unique_lock lock(m_mutex);
  const size_t count = m_rematch.size();
  for (uint32_t entry : m_rematch) {
    set_ids(entry, m_world->entries[entry].ids);
  }
  m_rematch.clear();
  return json_ok(fmt::format(R"({{"rematched":{}}})", count));
}

Response Server::control_truth() {
  std::call_once(m_truth_once, [this]() {
    const World& world = *m_world;
    const char* const cases[] = {"shared_episode_id", "cross_show_episode_id", "conflicting_ids",
                                 "rematch"};
    rapidjson::StringBuffer buf(nullptr, world.entries.size() * 220 + 2);
    JsonWriter w(buf);
    w.StartArray();
    for (const Entry& e : world.entries) {
      if (e.kind == EntryKind::show) {
        continue;
      }
      const bool episode = e.kind == EntryKind::episode;
      const Entry* show = episode ? &world.entries[e.show] : nullptr;
      w.StartObject();
      w.Key("key");
      w.String(e.key.c_str());
      w.Key("type");
      w.String(episode ? "episode" : "movie");
      w.Key("title");
      w.String(e.title.c_str());
      if (episode) {
        w.Key("show");
        w.String(show->key.c_str());
        w.Key("season");
        w.Int(e.season);
        w.Key("episode");
        w.Int(e.episode);
        if (e.episode_end >= 0) {
          w.Key("episode_end");
          w.Int(e.episode_end);
        }
      }
      if (e.copy_of >= 0) {
        w.Key("copy_of");
        w.String(world.entries[static_cast<size_t>(e.copy_of)].key.c_str());
      }
      w.Key("library");
      w.String((episode ? show->library : e.library) == k_4k_library ? "4k" : "main");
      w.Key("ids");
      write_ids(w, e.ids);
      w.Key("servers");
      w.StartObject();
      for (Kind k : k_all_kinds) {
        if (world.servers[idx(k)].present) {
          w.Key(std::string(kind_name(k)).c_str());
          w.Bool(e.on(k));
        }
      }
      w.EndObject();
      // Generated hard cases; a re-matched show reports "rematch" on its episodes.
      uint8_t bits = e.cases;
      int8_t server = e.case_server;
      if (episode && (show->cases & mc_rematch) != 0) {
        bits = static_cast<uint8_t>(bits | mc_rematch);
        server = show->case_server;
      }
      if (bits != 0) {
        w.Key("cases");
        w.StartArray();
        for (size_t b = 0; b < 4; ++b) {
          if ((bits >> b) & 1U) {
            w.String(cases[b]);
          }
        }
        w.EndArray();
        if (server >= 0) {
          w.Key("case_server");
          w.String(std::string(kind_name(static_cast<Kind>(server))).c_str());
        }
      }
      w.EndObject();
    }
    w.EndArray();
    m_truth.assign(buf.GetString(), buf.GetSize());
  });
  return json_ok(m_truth);
}

// GET /__sim/playlists[?server=KIND][&user=REF]: the playlists of one user of this server (or of
// another served server, through its peer), creation order.
Response Server::control_playlists(const Request& req) {
  const Server* target = this;
  if (const std::string* name = req.param("server"); name != nullptr && !name->empty()) {
    const auto kind = kind_from_name(*name);
    if (!kind) {
      return json_error(400, fmt::format("unknown server \"{}\" (plex, jellyfin, emby)", *name));
    }
    if (*kind != m_kind) {
      target = m_peers[idx(*kind)];
      if (target == nullptr) {
        return json_error(404, fmt::format("server {} is not served", *name));
      }
    }
  }
  int64_t user = 0;
  if (const std::string* u = req.param("user"); u != nullptr && !u->empty()) {
    user = target->user_ref(*u);
    if (user < 0) {
      return json_error(404, fmt::format("unknown user {}", *u));
    }
  }
  return json_ok(target->playlists_json(static_cast<size_t>(user)));
}

Response Server::control_sessions(const Request& req) {
  rapidjson::Document doc;
  doc.Parse(req.body.data(), req.body.size());
  if (doc.HasParseError() || !doc.IsArray()) {
    return json_error(400, "body must be a JSON array");
  }
  std::vector<Session> sessions;
  for (auto& v : doc.GetArray()) {
    if (!v.IsObject()) {
      return json_error(400, "each session must be an object");
    }
    Session s;
    if (v.HasMember("user")) {
      const int64_t u = v["user"].IsString() ? user_of_id(v["user"].GetString()) : -1;
      if (u < 0) {
        return json_error(404, "unknown user");
      }
      s.user = static_cast<size_t>(u);
    }
    int64_t item = -1;
    if (v.HasMember("id") && v["id"].IsString()) {
      item = item_of_id_any(v["id"].GetString());
    } else if (v.HasMember("key") && v["key"].IsString()) {
      item = item_of_key(v["key"].GetString());
    }
    if (item < 0 || m_items[static_cast<size_t>(item)].is_folder()) {
      return json_error(404, "unknown movie/episode on this server");
    }
    s.item = static_cast<uint32_t>(item);
    if (v.HasMember("position_ms") && v["position_ms"].IsInt64()) {
      s.position_ms = v["position_ms"].GetInt64();
    }
    if (v.HasMember("paused") && v["paused"].IsBool()) {
      s.paused = v["paused"].GetBool();
    }
    sessions.push_back(s);
  }
  std::unique_lock lock(m_mutex);
  m_sessions = std::move(sessions);
  return json_ok(fmt::format(R"({{"sessions":{}}})", m_sessions.size()));
}

Response Server::control_faults(const Request& req) {
  if (req.method == "DELETE") {
    std::lock_guard lock(m_fault_mutex);
    m_faults.clear();
    return json_ok(R"({"rules":0})");
  }
  if (req.method == "GET" || req.method == "HEAD") {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    std::lock_guard lock(m_fault_mutex);
    w.StartArray();
    for (const FaultRule& f : m_faults) {
      w.StartObject();
      w.Key("path");
      w.String(f.path.c_str());
      if (!f.method.empty()) {
        w.Key("method");
        w.String(f.method.c_str());
      }
      if (f.status != 0) {
        w.Key("status");
        w.Int(f.status);
      }
      w.Key("times");
      w.Int64(f.times);
      w.Key("delay_ms");
      w.Int64(f.delay_ms);
      if (f.has_body) {
        w.Key("body");
        w.String(f.body.c_str());
      }
      if (!f.retry_after.empty()) {
        w.Key("retry_after");
        w.String(f.retry_after.c_str());
      }
      w.Key("skip");
      w.Int64(f.skip);
      w.EndObject();
    }
    w.EndArray();
    return json_ok({buf.GetString(), buf.GetSize()});
  }
  if (req.method != "POST") {
    return json_error(405, "use GET, POST or DELETE");
  }
  rapidjson::Document doc;
  doc.Parse(req.body.data(), req.body.size());
  if (doc.HasParseError() || (!doc.IsArray() && !doc.IsObject())) {
    return json_error(400, "body must be a JSON array of rules");
  }
  std::vector<const rapidjson::Value*> list;
  if (doc.IsArray()) {
    for (auto& v : doc.GetArray()) {
      list.push_back(&v);
    }
  } else {
    list.push_back(&doc);
  }
  std::vector<FaultRule> rules;
  for (size_t i = 0; i < list.size(); ++i) {
    const rapidjson::Value& v = *list[i];
    auto fail = [&](std::string_view what) {
      return json_error(400, fmt::format("rule {}: {}", i, what));
    };
    if (!v.IsObject()) {
      return fail("expected an object");
    }
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      const std::string name = it->name.GetString();
      static const char* const k_known[] = {"path", "method",      "status", "times", "delay_ms",
                                            "body", "retry_after", "skip",   "hide",  "unhide"};
      if (std::find_if(std::begin(k_known), std::end(k_known),
                       [&](const char* k) { return name == k; }) == std::end(k_known)) {
        return fail(fmt::format("unknown key \"{}\"", name));
      }
    }
    FaultRule f;
    if (!v.HasMember("path") || !v["path"].IsString()) {
      return fail("\"path\" (a regex) is required");
    }
    f.path = v["path"].GetString();
    try {
      f.re = std::regex(f.path, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return fail(fmt::format("bad regex: {}", e.what()));
    }
    if (v.HasMember("method")) {
      if (!v["method"].IsString()) {
        return fail("\"method\" must be a string");
      }
      f.method = v["method"].GetString();
    }
    if (v.HasMember("status")) {
      if (!v["status"].IsInt() || v["status"].GetInt() < 100 || v["status"].GetInt() > 599) {
        return fail("\"status\" must be an HTTP status code");
      }
      f.status = v["status"].GetInt();
    }
    if (v.HasMember("times")) {
      if (!v["times"].IsInt64() || (v["times"].GetInt64() < 1 && v["times"].GetInt64() != -1)) {
        return fail("\"times\" must be a positive integer or -1");
      }
      f.times = v["times"].GetInt64();
    }
    if (v.HasMember("delay_ms")) {
      if (!v["delay_ms"].IsInt64() || v["delay_ms"].GetInt64() < 0) {
        return fail("\"delay_ms\" must be a non-negative integer");
      }
      f.delay_ms = v["delay_ms"].GetInt64();
    }
    if (v.HasMember("body")) {
      if (!v["body"].IsString()) {
        return fail("\"body\" must be a string");
      }
      f.body = v["body"].GetString();
      f.has_body = true;
    }
    if (v.HasMember("retry_after")) {
      if (v["retry_after"].IsString()) {
        f.retry_after = v["retry_after"].GetString();
      } else if (v["retry_after"].IsInt64()) {
        f.retry_after = fmt::format("{}", v["retry_after"].GetInt64());
      } else {
        return fail("\"retry_after\" must be a string or integer");
      }
    }
    if (v.HasMember("skip")) {
      if (!v["skip"].IsInt64() || v["skip"].GetInt64() < 0) {
        return fail("\"skip\" must be a non-negative integer");
      }
      f.skip = v["skip"].GetInt64();
    }
    for (const char* k : {"hide", "unhide"}) {
      if (!v.HasMember(k)) {
        continue;
      }
      std::string problem;
      auto items = items_of_keys(v[k], problem);
      if (!problem.empty()) {
        return fail(fmt::format("\"{}\": {}", k, problem));
      }
      (std::string_view(k) == "hide" ? f.hide : f.unhide) = std::move(items);
    }
    rules.push_back(std::move(f));
  }
  std::lock_guard lock(m_fault_mutex);
  for (FaultRule& f : rules) {
    m_faults.push_back(std::move(f));
  }
  return json_ok(fmt::format(R"({{"rules":{}}})", m_faults.size()));
}

} // namespace ws::sim

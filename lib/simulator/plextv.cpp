// SPDX-License-Identifier: MIT
#include "simulator/plextv.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <utility>

namespace ws::sim {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr size_t k_log_limit = 100000;

Response json(std::string body, int status = 200)
{
    Response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

Response unauthorized()
{
    return json(R"({"errors":[{"code":1001,"message":"User could not be authenticated","status":401}]})", 401);
}

Response not_found()
{
    return json(R"({"errors":[{"code":1002,"message":"Not found","status":404}]})", 404);
}

}  // namespace

PlexTv::PlexTv(std::shared_ptr<const World> world, std::string plex_url)
    : m_world(std::move(world)), m_plex_url(std::move(plex_url))
{
    const auto& users = plex().users;
    for (size_t i = 0; i < users.size(); ++i) {
        m_tokens.emplace(users[i].token, static_cast<int64_t>(i));
        if (users[i].home) {
            m_tokens.emplace(switch_token(users[i]), static_cast<int64_t>(i));
        }
    }
}

std::string PlexTv::switch_token(const UserDef& user)
{
    return "tv" + hex_hash(user.token, "plextv/switch", 22);
}

int64_t PlexTv::user_of_token(const Request& req) const
{
    const std::string* token = req.header("X-Plex-Token");
    if (token == nullptr) {
        token = req.iparam("X-Plex-Token");
    }
    if (token == nullptr) {
        return -1;
    }
    const auto found = m_tokens.find(*token);
    return found == m_tokens.end() ? -1 : found->second;
}

std::string PlexTv::user_json(size_t user) const
{
    const UserDef& u = plex().users[user];
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("id");
    w.Int64(parse_int(u.id).value_or(0));
    w.Key("uuid");
    w.String(u.uuid.c_str());
    w.Key("title");
    w.String(u.name.c_str());
    w.Key("username");
    w.String(u.managed ? "" : u.name.c_str());
    w.Key("friendlyName");
    w.String(u.name.c_str());
    w.Key("admin");
    w.Bool(user == 0);
    w.Key("guest");
    w.Bool(false);
    w.Key("restricted");
    w.Bool(u.managed);
    w.Key("protected");
    w.Bool(false);
    w.Key("home");
    w.Bool(u.home);
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

Response PlexTv::handle(const Request& req)
{
    if (req.path == "/__sim/requests") {
        std::lock_guard lock(m_log_mutex);
        if (req.method == "DELETE") {
            m_log.clear();
            return json(R"({"ok":true})");
        }
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        w.StartArray();
        for (const LogEntry& e : m_log) {
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
            w.EndObject();
        }
        w.EndArray();
        return json({buf.GetString(), buf.GetSize()});
    }
    const auto start = std::chrono::steady_clock::now();
    Response res = answer(req);
    LogEntry e;
    e.method = req.method;
    e.path = req.path;
    e.query = Server::redact_query(req.query);
    e.status = res.status;
    e.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard lock(m_log_mutex);
    e.seq = ++m_seq;
    m_log.push_back(std::move(e));
    if (m_log.size() > k_log_limit) {
        m_log.pop_front();
    }
    return res;
}

Response PlexTv::answer(const Request& req)
{
    const ServerDef& server = plex();
    const int64_t caller = user_of_token(req);
    if (caller < 0) {
        return unauthorized();
    }
    const auto& users = server.users;
    const UserDef& me = users[static_cast<size_t>(caller)];
    // The account endpoints take the owner's own token, not a switched one.
    const std::string* token = req.header("X-Plex-Token") != nullptr ? req.header("X-Plex-Token")
                                                                     : req.iparam("X-Plex-Token");
    const bool owner = token != nullptr && *token == users.front().token;
    const std::string& p = req.path;
    const bool get = req.method == "GET" || req.method == "HEAD";

    if (get && (p == "/api/v2/user" || p == "/api/v2/user/")) {
        return json(user_json(static_cast<size_t>(caller)));
    }
    if (get && (p == "/api/v2/home/users" || p == "/api/v2/home/users/")) {
        if (!owner) {
            return unauthorized();
        }
        std::string body = fmt::format(R"({{"id":1,"name":"{} Home","guestUserID":null,"users":[)", "Sim");
        bool first = true;
        for (size_t i = 0; i < users.size(); ++i) {
            if (!users[i].home) {
                continue;
            }
            body += first ? "" : ",";
            body += user_json(i);
            first = false;
        }
        body += "]}";
        return json(std::move(body));
    }
    constexpr std::string_view k_home = "/api/v2/home/users/";
    if (req.method == "POST" && p.starts_with(k_home) && p.ends_with("/switch")) {
        if (!owner) {
            return unauthorized();
        }
        const std::string uuid = p.substr(k_home.size(), p.size() - k_home.size() - 7);
        for (const UserDef& u : users) {
            if (u.home && u.uuid == uuid) {
                return json(fmt::format(R"({{"id":{},"uuid":"{}","authToken":"{}"}})", u.id, u.uuid,
                                        switch_token(u)),
                            201);
            }
        }
        return not_found();
    }
    if (get && p == "/api/v2/resources") {
        // The owner, home members and friends reach the server; any other account does not.
        if (!(caller == 0 || me.home || me.friend_user)) {
            return json("[]");
        }
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        w.StartArray();
        w.StartObject();
        w.Key("name");
        w.String(server.name.c_str());
        w.Key("product");
        w.String("Plex Media Server");
        w.Key("provides");
        w.String("server");
        w.Key("clientIdentifier");
        w.String(server.server_id.c_str());
        w.Key("owned");
        w.Bool(caller == 0);
        w.Key("home");
        w.Bool(me.home);
        w.Key("accessToken");
        w.String(me.token.c_str());
        w.Key("connections");
        w.StartArray();
        w.StartObject();
        w.Key("uri");
        w.String(m_plex_url.c_str());
        w.Key("local");
        w.Bool(true);
        w.EndObject();
        w.EndArray();
        w.EndObject();
        w.EndArray();
        return json({buf.GetString(), buf.GetSize()});
    }
    constexpr std::string_view k_servers = "/api/servers/";
    if (get && p.starts_with(k_servers) && p.ends_with("/shared_servers")) {
        if (!owner) {
            return unauthorized();
        }
        const std::string machine = p.substr(k_servers.size(), p.size() - k_servers.size() - 15);
        if (machine != server.server_id) {
            return not_found();
        }
        std::string body = fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer friendlyName=\"myPlex\" "
                                       "identifier=\"com.plexapp.plugins.myplex\" machineIdentifier=\"{}\" size=\"{}\">\n",
                                       server.server_id, 0);
        size_t shared = 0;
        for (size_t i = 0; i < users.size(); ++i) {
            const UserDef& u = users[i];
            if (!u.friend_user) {
                continue;
            }
            ++shared;
            body += fmt::format("  <SharedServer id=\"{}\" username=\"{}\" email=\"{}@example.test\" userID=\"{}\" "
                                "accessToken=\"{}\" name=\"{}\" owned=\"0\" allowSync=\"1\" acceptedAt=\"1700000000\">\n"
                                "    <Section id=\"1\" key=\"1\" title=\"Movies\" type=\"movie\" shared=\"1\"/>\n"
                                "  </SharedServer>\n",
                                9000 + i, xml_escape(u.name), xml_escape(u.name), u.id, u.token,
                                xml_escape(server.name));
        }
        body += "</MediaContainer>\n";
        const std::string size_attr = "size=\"0\"";
        body.replace(body.find(size_attr), size_attr.size(), fmt::format("size=\"{}\"", shared));
        Response r;
        r.content_type = "application/xml";
        r.body = std::move(body);
        return r;
    }
    return not_found();
}

}  // namespace ws::sim

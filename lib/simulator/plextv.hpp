// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "simulator/server.hpp"
#include "simulator/world.hpp"

namespace ws::sim {

// A stand-in for plex.tv serving the world's Plex users: home users, the user switch, resources
// and shared servers (README §5.4). The owner's token authenticates the account endpoints.
class PlexTv {
public:
    PlexTv(std::shared_ptr<const World> world, std::string plex_url);

    // Answer one request (and the /__sim/requests log of this listener).
    Response handle(const Request& request);

    // The temporary token a switch to Plex user `user` hands out.
    static std::string switch_token(const UserDef& user);

private:
    Response answer(const Request& request);
    // The Plex user index a token belongs to, or -1.
    int64_t user_of_token(const Request& request) const;
    const ServerDef& plex() const { return m_world->servers[idx(Kind::plex)]; }
    std::string user_json(size_t user) const;

    std::shared_ptr<const World> m_world;
    std::string m_plex_url;
    std::unordered_map<std::string, int64_t> m_tokens;  // plex.tv token -> user index

    std::mutex m_log_mutex;
    std::deque<LogEntry> m_log;
    uint64_t m_seq = 0;
};

}  // namespace ws::sim

// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "simulator/server.hpp"
#include "simulator/world.hpp"

namespace ws::sim {

// A stand-in for plex.tv serving the world's Plex users: home users, the user switch, resources,
// shared servers, PIN sign-in and the account's webhooks (README §5.4). The owner's token
// authenticates the account endpoints.
class PlexTv {
public:
  PlexTv(std::shared_ptr<const World> world, std::string plex_url);

  // Answer one request (and the /__sim/requests log and /__sim/plextv/* controls of this listener).
  Response handle(const Request& request);

  // Claim every new PIN for the owner once it has been polled twice (--plextv-autolink).
  void set_autolink(bool on) { m_autolink = on; }

  // The temporary token a switch to Plex user `user` hands out.
  static std::string switch_token(const UserDef& user);

private:
  // A sign-in PIN (POST /api/v2/pins), claimed at plex.tv/link (here: /__sim/plextv/link).
  struct Pin {
    int64_t id = 0;
    std::string code;
    std::string client_id;
    std::string product;
    int64_t created_ms = 0;
    int64_t expires_ms = 0;
    int64_t user = -1; // the claiming Plex user index, -1 = not claimed
    int polls = 0;
  };

  Response answer(const Request& request);
  Response control(const Request& request);
  Response pins(const Request& request);
  Response webhooks(const Request& request, bool owner);
  // The JSON of a PIN as plex.tv answers it (holds m_account_mutex).
  std::string pin_json(const Pin& pin, int64_t now) const;
  // The PIN with that code, live (not expired) or not; nullptr when none (holds m_account_mutex).
  Pin* pin_of_code(const std::string& code);
  // The Plex user index named by a world id, a name or an index; -1 when none.
  int64_t user_of_ref(const std::string& ref) const;
  // The Plex user index a token belongs to, or -1.
  int64_t user_of_token(const Request& request) const;
  const ServerDef& plex() const { return m_world->servers[idx(Kind::plex)]; }
  std::string user_json(size_t user) const;

  std::shared_ptr<const World> m_world;
  std::string m_plex_url;
  std::unordered_map<std::string, int64_t> m_tokens; // plex.tv token -> user index
  bool m_autolink = false;

  std::mutex m_account_mutex; // guards the PINs and the webhooks
  std::vector<Pin> m_pins;
  int64_t m_next_pin = 0;
  std::vector<std::string> m_webhooks;

  std::mutex m_log_mutex;
  std::deque<LogEntry> m_log;
  uint64_t m_seq = 0;
};

} // namespace ws::sim

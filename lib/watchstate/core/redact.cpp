// SPDX-License-Identifier: MIT
#include <watchstate/core/redact.hpp>

#include <watchstate/core/text.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <vector>

namespace ws {
namespace {

std::mutex g_secrets_mutex;
std::vector<std::string> g_secrets; // NOLINT: process-wide registry, guarded by the mutex

bool iequals_prefix(std::string_view text, std::size_t pos, std::string_view word) {
  return text.size() - pos >= word.size() && iequals(text.substr(pos, word.size()), word);
}

// Hide the value after `name=` (query parameters) and `Token="` (MediaBrowser headers).
std::string redact_parameters(std::string_view text) {
  static constexpr std::array<std::string_view, 7> k_names = {
      "x-plex-token=", "api_key=",      "apikey=", "token=",
      "x-emby-token=", "access_token=", "pin="}; // pin: a Plex home user's PIN on the plex.tv user
                                                 // switch
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    const bool at_boundary = i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1]));
    if (at_boundary) {
      for (auto name : k_names) {
        if (iequals_prefix(text, i, name)) {
          out.append(text.substr(i, name.size()));
          i += name.size();
          const bool quoted = i < text.size() && text[i] == '"';
          if (quoted) {
            out.push_back('"');
            ++i;
          }
          const std::size_t start = i;
          while (i < text.size() && text[i] != '&' && text[i] != '"' && text[i] != ' ' &&
                 text[i] != ',' && text[i] != '\'' && text[i] != '\n') {
            ++i;
          }
          if (i > start) {
            out.append("<redacted>");
          }
          matched = true;
          break;
        }
      }
    }
    if (!matched) {
      out.push_back(text[i]);
      ++i;
    }
  }
  return out;
}

} // namespace

void register_secret(std::string_view secret) {
  if (secret.size() < 4) {
    return;
  }
  std::lock_guard lock(g_secrets_mutex);
  if (std::find(g_secrets.begin(), g_secrets.end(), secret) == g_secrets.end()) {
    g_secrets.emplace_back(secret);
  }
}

void forget_secrets() noexcept {
  std::lock_guard lock(g_secrets_mutex);
  g_secrets.clear();
}

std::string redact(std::string_view text) {
  std::string out = redact_parameters(text);
  std::lock_guard lock(g_secrets_mutex);
  for (const auto& secret : g_secrets) {
    std::size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), "<redacted>");
      pos += 10;
    }
  }
  return out;
}

} // namespace ws

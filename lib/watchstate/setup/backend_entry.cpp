// SPDX-License-Identifier: MIT
#include <watchstate/core/atomic_file.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/setup/backend_entry.hpp>
#include <watchstate/sync/inspect.hpp>

#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ws::setup {
namespace {

bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string user_list(const std::vector<backend::RemoteUser>& users) {
  std::vector<std::string> names;
  for (const auto& u : users) {
    names.push_back(fmt::format("{} (id {})", u.name, u.id));
  }
  return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

// A YAML double-quoted scalar.
std::string yaml_quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

} // namespace

ProbedBackend probe_backend(const sync::Services& services, const NewBackend& wanted,
                            const http::ClientOptions& options) {
  if (!valid_name(wanted.name)) {
    throw Error(Errc::usage, fmt::format("'{}': a backend name may hold only lower-case letters, "
                                         "digits and '_'",
                                         wanted.name));
  }
  if (!wanted.url.starts_with("http://") && !wanted.url.starts_with("https://")) {
    throw Error(Errc::usage,
                fmt::format("--url {}: must start with http:// or https://", wanted.url));
  }
  backend::Connection connection;
  connection.name = wanted.name;
  connection.type = wanted.type;
  connection.url = wanted.url;
  while (!connection.url.empty() && connection.url.back() == '/') {
    connection.url.pop_back();
  }
  connection.token = wanted.token;
  auto adapter = backend::make_backend(connection, services.http_client(options));

  ProbedBackend probed;
  probed.server = adapter->server_info();
  const bool plex = wanted.type == model::BackendType::plex;
  try {
    probed.users = adapter->users();
  } catch (const Error& e) {
    // A Jellyfin/Emby user's own token (jellyfin-login of a non-administrator) may not list
    // users: then --user must be the id, which listing the user's libraries confirms below.
    if (e.code() != Errc::no_perm || plex) {
      throw;
    }
    if (wanted.user.empty()) {
      throw Error(Errc::usage, fmt::format("{}: this token may not list the server's users; give "
                                           "--user with the user id (jellyfin-login and "
                                           "emby-login print it)",
                                           wanted.name));
    }
    probed.users.push_back(backend::RemoteUser{wanted.user, wanted.user, false, false});
  }

  if (!wanted.user.empty()) {
    const auto it = std::find_if(probed.users.begin(), probed.users.end(), [&](const auto& u) {
      return normalized_id(u.id) == normalized_id(wanted.user) || iequals(u.name, wanted.user);
    });
    if (it == probed.users.end()) {
      throw Error(Errc::config, fmt::format("{}: the server has no user '{}'; its users: {}",
                                            wanted.name, wanted.user, user_list(probed.users)));
    }
    probed.user_id = it->id;
    probed.user_name = it->name;
  } else if (!plex) {
    std::vector<const backend::RemoteUser*> enabled;
    for (const auto& u : probed.users) {
      if (!u.disabled) {
        enabled.push_back(&u);
      }
    }
    if (enabled.size() != 1) {
      throw Error(Errc::config, fmt::format("{}: name the user to sync with --user; the "
                                            "server's users: {}",
                                            wanted.name, user_list(probed.users)));
    }
    probed.user_id = enabled.front()->id;
    probed.user_name = enabled.front()->name;
  }

  // Jellyfin/Emby list the libraries of a user; Plex those of the token.
  connection.user = probed.user_id;
  auto as_user = backend::make_backend(connection, services.http_client(options));
  probed.libraries = as_user->libraries();
  return probed;
}

std::string backend_entry_yaml(const NewBackend& wanted, const ProbedBackend& probed) {
  std::string out;
  out += fmt::format("  {}:  # {} '{}' {}\n", wanted.name, model::backend_type_name(wanted.type),
                     probed.server.name, probed.server.version);
  out += fmt::format("    type: {}\n", model::backend_type_name(wanted.type));
  out += fmt::format("    url: {}\n", wanted.url);
  if (!wanted.token_file.empty()) {
    out += fmt::format("    token_file: {}\n", yaml_quoted(wanted.token_file));
  } else {
    out += fmt::format("    token: \"${{{}}}\"\n", wanted.token_env);
  }
  if (!probed.user_id.empty()) {
    out += fmt::format("    user: {}  # {}\n", yaml_quoted(probed.user_id), probed.user_name);
  }
  out += fmt::format("    uuid: {}\n", yaml_quoted(probed.server.id));
  if (!wanted.verify_tls || !wanted.plextv_url.empty()) {
    out += "    options:\n";
    if (!wanted.verify_tls) {
      out += "      verify_tls: false\n";
    }
    if (!wanted.plextv_url.empty()) {
      out += fmt::format("      plextv_url: {}\n", wanted.plextv_url);
    }
  }
  if (!probed.libraries.empty()) {
    out += "    # libraries (an id or a name can go into options.ignore_libraries):\n";
    for (const auto& library : probed.libraries) {
      out += fmt::format("    #   {} {} ({})\n", library.id, library.title,
                         sync::library_kind_name(library.kind));
    }
  }
  return out;
}

void append_backend_entry(const std::filesystem::path& file, const std::string& name,
                          const std::string& entry) {
  std::string text;
  mode_t mode = 0600;
  if (std::ifstream in{file, std::ios::binary}) {
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
    struct stat info {};
    if (::stat(file.c_str(), &info) == 0) {
      mode = info.st_mode & 07777;
    }
  } else if (errno != ENOENT) {
    throw Error(Errc::io, fmt::format("{}: cannot read: {}", file.string(), std::strerror(errno)));
  }
  if (!text.empty() && text.back() != '\n') {
    text += '\n';
  }

  // Find the top-level `backends:` line and the end of its block: the next line that starts in
  // column 0 with anything but a comment. Entries are the block's lines indented by exactly
  // the first entry's indent.
  std::size_t pos = 0;
  std::size_t block_start = std::string::npos;
  std::size_t block_end = text.size();
  std::size_t entry_indent = 0;
  std::size_t last_content_end = std::string::npos; // after the block's last indented line
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::size_t next = eol == std::string::npos ? text.size() : eol + 1;
    const std::string_view line(text.data() + pos, next - pos);
    if (block_start == std::string::npos) {
      if (line.starts_with("backends:")) {
        block_start = next;
      }
    } else if (!line.empty() && line[0] != ' ' && line[0] != '#' && line[0] != '\n' &&
               line[0] != '\r') {
      block_end = pos;
      break;
    } else {
      const auto first = line.find_first_not_of(' ');
      if (first != std::string_view::npos && first > 0 && line[first] != '\n' &&
          line[first] != '\r') {
        last_content_end = next; // an entry's own comment lines stay with it
      }
      if (first != std::string_view::npos && line[first] != '#' && line[first] != '\n') {
        if (entry_indent == 0) {
          entry_indent = first;
        }
        if (first == entry_indent) {
          const auto colon = line.find(':');
          if (colon != std::string_view::npos && trim(line.substr(first, colon - first)) == name) {
            throw Error(Errc::usage, fmt::format("{}: backend '{}' is already configured there",
                                                 file.string(), name));
          }
        }
      }
    }
    pos = next;
  }
  if (block_start == std::string::npos) {
    text += (text.empty() ? "backends:\n" : "\nbackends:\n") + entry;
  } else {
    // The entry comes indented by two; follow the file's own indent.
    std::string indented;
    std::istringstream lines(entry);
    for (std::string line; std::getline(lines, line);) {
      indented += (entry_indent > 0 ? std::string(entry_indent, ' ') : std::string("  ")) +
                  line.substr(std::min<std::size_t>(2, line.size())) + "\n";
    }
    text.insert(last_content_end != std::string::npos ? last_content_end : block_end, indented);
  }
  write_file_atomic(file, text, mode);
}

} // namespace ws::setup

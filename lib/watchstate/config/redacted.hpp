// SPDX-License-Identifier: MIT
// The config as a bug report may show it (ws-state report): its structure and the values of the
// keys known to hold no secret; every other value replaced by "<redacted>".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ws::config {

inline constexpr std::string_view k_redacted = "<redacted>";

struct RedactedEntry;

// One node of the redacted config tree.
struct RedactedNode {
  enum class Kind { null, scalar, map, list };
  Kind kind = Kind::null;
  std::string text;                   // scalar: as written (no ${VAR} expanded), or "<redacted>"
  bool redacted = false;              // scalar: `text` is "<redacted>"
  std::vector<RedactedEntry> entries; // map, in file order
  std::vector<RedactedNode> items;    // list
};

struct RedactedEntry {
  std::string key; // the key as written, or "<redacted key N>" when it does not look like a name
  RedactedNode value;
};

// The config file's text with every value redacted unless its place is on an allow-list of
// non-secret keys (type, url, user, uuid, token_file and pin_file paths, http, progress,
// matching, ...). Anything else is replaced: token, api_key, pin, ADMIN_TOKEN, PLEX_USER_PIN,
// any key this version does not know. Values are shown as written: a ${VAR} under a kept key
// stays "${VAR}" (the variable's value is never read), and token_file / pin_file stay paths
// (the files are never read). A kept value that is an alias of a redacted one is redacted, a
// URL loses its user:password@ part, and every kept value passes through ws::redact() (token
// query parameters, registered secrets). Comments, tags and anchors are dropped.
// Throws ws::Error(Errc::config) when the text is not YAML; the message quotes none of it.
RedactedNode redact_config(std::string_view yaml_text);

// The tree as YAML (block style).
std::string to_yaml(const RedactedNode& node);

} // namespace ws::config

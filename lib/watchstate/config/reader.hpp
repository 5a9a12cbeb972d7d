// SPDX-License-Identifier: MIT
// Internal to lib/watchstate/config: the state the config reader and its section parsers share.
// The reader (reader.cpp) loads the YAML, expands ${ENV}, reads token and PIN files and words
// every message as "<file>:<line>: <key path>: <what>"; the section parsers (parse_*.cpp) turn
// each part of the file into the structs of config.hpp through it.
#pragma once

#include <watchstate/config/config.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws::config::detail {

namespace fs = std::filesystem;

inline constexpr std::string_view k_whitespace = " \t\r\n\v\f";

// The home directory: HOME, else the password database; nullopt when neither knows.
std::optional<fs::path> home_dir();

std::string trim(std::string_view text);
std::string join(const std::vector<std::string>& items);
std::string_view type_name(model::BackendType type);
// A backend or identity name: [a-z0-9_]+.
bool valid_name(std::string_view name);
// The 1-based line of `node`, 0 when yaml-cpp does not know it.
int line_of(const YAML::Node& node);

// A key/value pair of a YAML map, with its dotted path for messages.
struct Field {
  YAML::Node key;
  YAML::Node value;
  std::string path;
};

struct Expanded {
  std::string text;
  bool has_literal = false; // some characters came from the file itself, not from ${VAR}
};

enum class ExpandStatus { ok, unset, malformed };

// Expand ${NAME} from the environment and "$$" to "$"; any other '$' is literal.
ExpandStatus expand_env(std::string_view raw, Expanded& out, std::string& bad_name);

class MapReader;

class Parser {
public:
  Parser(std::string label, fs::path base_dir)
      : m_label(std::move(label)), m_base_dir(std::move(base_dir)) {}

  Config parse(const std::string& text);

  [[nodiscard]] bool has_inline_secret() const { return m_inline_secret; }

  // --- the reader (reader.cpp) ---

  [[noreturn]] void fail(int line, std::string_view path, std::string_view what) const;

  // The line to blame for a field: the value's own line for a scalar, else the key's line
  // (yaml-cpp places an empty value, a map or a list on the line of the next token).
  static int line(const Field& field);

  // Every key/value pair of a map field; null counts as an empty map.
  std::vector<Field> entries(const Field& field, std::string_view expected = "a map") const;
  // The items of a list field; null counts as an empty list. Each item is its own key, so that
  // messages about it name its line.
  std::vector<Field> sequence(const Field& field, std::string_view expected) const;

  // Expanded text of a scalar; nullopt for an empty (null) value.
  std::optional<Expanded> scalar(const Field& field) const;
  std::optional<std::string> string(const Field& field) const;
  int integer(const Field& field, int min, int max) const;
  // Seconds that may have a fraction (WatchState's client.timeout is a float); rounded up.
  int seconds(const Field& field, int min, int max) const;
  bool boolean(const Field& field) const;
  // A path: "~" is the home directory; a relative path is taken from the config file's directory.
  fs::path path(const Field& field, const std::string& text) const;
  // A token: registered as a secret at once; messages name its key, never its value.
  std::string token(const Field& field);
  std::string token_from_file(const Field& field);
  // A Plex home user's PIN: 4 digits, registered as a secret; messages never show it.
  std::string pin(const Field& field);
  // The PIN in the first line of a file (pin_file).
  std::string pin_from_file(const Field& field);

private:
  // The root node of `text`, one YAML document; syntax errors fail with their line.
  YAML::Node load(const std::string& text) const;
  void register_secrets_early(const YAML::Node& root);
  // The content of the file a token_file/pin_file field names (`what`: "token", "PIN").
  // The file and its content; fails naming the file when it cannot be read.
  std::pair<fs::path, std::string> secret_file(const Field& field, std::string_view what) const;

  // --- the section parsers (parse_settings.cpp, parse_backends.cpp, parse_matching.cpp) ---

  HttpSettings parse_http(const Field& field) const;
  ProgressSettings parse_progress(const Field& field) const;
  BackupSettings parse_backup(const Field& field) const;
  WebhookSettings parse_webhook(const Field& field);
  MetricsSettings parse_metrics(const Field& field) const;
  HistorySettings parse_history(const Field& field) const;
  BackendConfig parse_backend(const Field& field);
  void parse_options(const Field& field, BackendConfig& backend);
  bool parse_enabled(const Field& field) const;
  IdentityConfig parse_identity(const Field& field, const std::vector<BackendConfig>& backends);
  std::optional<std::string> read_token_pair(const Field& owner, const MapReader& map,
                                             bool required);
  MatchingSettings parse_matching(const Field& field);
  IgnoreRule parse_ignore_rule(const Field& item);
  IgnoreRule parse_ignore_map(const Field& item);
  IgnoreRule parse_watchstate_ignore(const Field& item, std::string_view text);
  model::Guid parse_guid(const Field& field, std::string_view provider,
                         std::string_view value) const;
  PathMatching parse_paths(const Field& field);
  model::CustomGuidRule parse_guid_rule(const Field& item) const;
  void refer_to_backend(std::string name, int line, std::string path);
  void check_backend_references(const std::vector<BackendConfig>& backends) const;

  // A backend name used before the backends are known (`matching` may precede `backends`).
  struct BackendReference {
    std::string name;
    int line = 0;
    std::string path;
  };

  std::string m_label;
  fs::path m_base_dir;
  bool m_inline_secret = false;
  std::vector<BackendReference> m_backend_references;
};

// The fields of a map with a fixed key set: unknown keys are an error, `ignored` keys are
// accepted and dropped.
class MapReader {
public:
  MapReader(const Parser& parser, const Field& field, const std::vector<std::string_view>& known,
            const std::vector<std::string_view>& ignored = {});

  [[nodiscard]] std::optional<Field> get(std::string_view key) const;
  // A present key with a non-empty value.
  [[nodiscard]] std::optional<Field> value(std::string_view key) const;
  [[nodiscard]] const std::vector<Field>& fields() const { return m_fields; }

private:
  std::vector<Field> m_fields;
};

// Two spellings of one setting (ours and WatchState's) must agree when both are given.
template <typename T>
void merge_setting(const Parser& parser, std::optional<std::pair<T, std::string>>& slot,
                   const Field& field, T value) {
  if (slot && slot->first != value) {
    parser.fail(Parser::line(field), field.path,
                fmt::format("contradicts {}; set only one of them", slot->second));
  }
  slot = std::make_pair(value, field.path);
}

} // namespace ws::config::detail

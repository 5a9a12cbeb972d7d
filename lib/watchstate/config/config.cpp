// SPDX-License-Identifier: MIT
#include <watchstate/config/config.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/text.hpp>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <sstream>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ws::config {
namespace {

namespace fs = std::filesystem;

// WatchState option keys (servers.yaml `options`) that carry no meaning here. They are accepted
// and ignored so that a WatchState backend entry can be pasted in unchanged:
//   MAX_EPISODE_RANGE     multi-episode expansion limit (we always expand the full range)
//   DUMP_PAYLOAD, DEBUG_TRACE, DRY_RUN   WatchState debugging switches
//   EXPORT_TIME_DIFF      push-mode clock margin of WatchState's queue
//   FORCE_FULL, IMPORT_METADATA_ONLY, LIBRARY_SELECT, LIBRARY_INVERSE   per-run flags WatchState
//                         stores transiently (ours are command-line options)
//   is_limited_token, ADMIN_TOKEN, PLEX_USER_PIN, plex_external_user, plex_guest_user,
//   plex_user_uuid, plex_user_name   plex.tv user management of WatchState's web UI
//   ALT_NAME, ALT_ID      WatchState's link from an identity's copy back to the main backend
const std::vector<std::string_view> k_watchstate_option_keys = {"MAX_EPISODE_RANGE",
                                                                "DUMP_PAYLOAD",
                                                                "DEBUG_TRACE",
                                                                "DRY_RUN",
                                                                "EXPORT_TIME_DIFF",
                                                                "FORCE_FULL",
                                                                "IMPORT_METADATA_ONLY",
                                                                "LIBRARY_SELECT",
                                                                "LIBRARY_INVERSE",
                                                                "is_limited_token",
                                                                "ADMIN_TOKEN",
                                                                "PLEX_USER_PIN",
                                                                "plex_external_user",
                                                                "plex_guest_user",
                                                                "plex_user_uuid",
                                                                "plex_user_name",
                                                                "ALT_NAME",
                                                                "ALT_ID"};

// Backend-level keys of older WatchState versions (per-backend webhook token and matching,
// removed upstream) that old servers.yaml files may still carry.
const std::vector<std::string_view> k_watchstate_legacy_backend_keys = {"webhook"};

constexpr std::string_view k_whitespace = " \t\r\n\v\f";

std::optional<fs::path> home_dir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home);
  }
  // HOME is unset under some service managers; the password database still knows.
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::string buffer(size > 0 ? static_cast<std::size_t>(size) : 16384U, '\0');
  struct passwd entry {};
  struct passwd* result = nullptr;
  if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &result) == 0 &&
      result != nullptr && result->pw_dir != nullptr && *result->pw_dir != '\0') {
    return fs::path(result->pw_dir);
  }
  return std::nullopt;
}

// XDG base directory variables count only when set to an absolute path (XDG spec).
std::optional<fs::path> xdg_dir(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  fs::path path(value);
  if (!path.is_absolute()) {
    return std::nullopt;
  }
  return path;
}

// Read a whole file; on failure returns the errno value.
// Records where each YAML document starts, building nothing.
class DocumentStarts final : public YAML::EventHandler {
public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnScalar(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& /*value*/) override {}
  void OnSequenceStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {}
  void OnMapEnd() override {}
};

// The 1-based line of the second YAML document of `text`, nullopt when it holds at most one.
// Not YAML::LoadAll: yaml-cpp 0.7 loops forever on some malformed text (a file holding only
// ","), because its parser keeps reporting a document without consuming input. Here the loop
// is bounded and a "document" that starts where the previous one did is no new document.
// Throws YAML::Exception on a syntax error.
std::optional<int> second_document_line(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts handler;
  for (int i = 0; i < 2 && parser.HandleNextDocument(handler); ++i) {
  }
  if (handler.starts.size() > 1 && handler.starts[1].pos > handler.starts[0].pos) {
    return handler.starts[1].line + 1;
  }
  return std::nullopt;
}

// Far more than any config or token; a path such as /dev/zero must not eat the memory.
constexpr std::size_t k_max_config_bytes = std::size_t{16} << 20;
constexpr std::size_t k_max_token_bytes = std::size_t{64} << 10;

// Read `path` into `out`; an errno value on failure (EFBIG beyond `max_bytes`). With
// `regular_only`, anything but a regular file is refused (EINVAL) before a read could block on
// it (a FIFO, a terminal): a token file is a plain file, a config may come from a pipe.
int read_file(const fs::path& path, std::string& out, std::size_t max_bytes = k_max_config_bytes,
              bool regular_only = false) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0));
  if (fd < 0) {
    return errno;
  }
  if (regular_only) {
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      ::close(fd);
      return EINVAL;
    }
  }
  out.clear();
  std::array<char, 8192> chunk{};
  for (;;) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      return err;
    }
    if (got == 0) {
      break;
    }
    if (out.size() + static_cast<std::size_t>(got) > max_bytes) {
      ::close(fd);
      return EFBIG;
    }
    out.append(chunk.data(), static_cast<std::size_t>(got));
  }
  ::close(fd);
  return 0;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(k_whitespace);
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(k_whitespace);
  return std::string(text.substr(first, last - first + 1));
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view type_name(model::BackendType type) {
  switch (type) {
  case model::BackendType::plex: return "plex";
  case model::BackendType::jellyfin: return "jellyfin";
  case model::BackendType::emby: return "emby";
  }
  return "plex";
}

bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += ", ";
    }
    out += item;
  }
  return out;
}

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

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
ExpandStatus expand_env(std::string_view raw, Expanded& out, std::string& bad_name) {
  out = {};
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c != '$' || i + 1 >= raw.size()) {
      out.text.push_back(c);
      out.has_literal = true;
      continue;
    }
    if (raw[i + 1] == '$') {
      out.text.push_back('$');
      out.has_literal = true;
      ++i;
      continue;
    }
    if (raw[i + 1] != '{') {
      out.text.push_back(c);
      out.has_literal = true;
      continue;
    }
    const auto close = raw.find('}', i + 2);
    if (close == std::string_view::npos) {
      return ExpandStatus::malformed;
    }
    const std::string name(raw.substr(i + 2, close - i - 2));
    if (!valid_env_name(name)) {
      bad_name = name;
      return ExpandStatus::malformed;
    }
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      bad_name = name;
      return ExpandStatus::unset;
    }
    out.text += value;
    i = close;
  }
  return ExpandStatus::ok;
}

class Parser {
public:
  Parser(std::string label, fs::path base_dir)
      : m_label(std::move(label)), m_base_dir(std::move(base_dir)) {}

  Config parse(const std::string& text);

  [[nodiscard]] bool has_inline_secret() const { return m_inline_secret; }

  [[noreturn]] void fail(int line, std::string_view path, std::string_view what) const {
    const int shown = line > 0 ? line : 1;
    std::string message = path.empty() ? fmt::format("{}:{}: {}", m_label, shown, what)
                                       : fmt::format("{}:{}: {}: {}", m_label, shown, path, what);
    throw Error(Errc::config, redact(message));
  }

  // The line to blame for a field: the value's own line for a scalar, else the key's line
  // (yaml-cpp places an empty value, a map or a list on the line of the next token).
  static int line(const Field& field) {
    if (field.value.IsScalar()) {
      const int value_line = line_of(field.value);
      if (value_line > 0) {
        return value_line;
      }
    }
    const int key_line = line_of(field.key);
    return key_line > 0 ? key_line : line_of(field.value);
  }

  // Every key/value pair of a map field; null counts as an empty map.
  std::vector<Field> entries(const Field& field, std::string_view expected = "a map") const {
    std::vector<Field> out;
    if (!field.value.IsDefined() || field.value.IsNull()) {
      return out;
    }
    if (!field.value.IsMap()) {
      fail(line(field), field.path, fmt::format("must be {}", expected));
    }
    for (auto it = field.value.begin(); it != field.value.end(); ++it) {
      Field child{it->first, it->second, {}};
      if (!child.key.IsScalar()) {
        fail(line_of(child.key), field.path, "keys must be plain names");
      }
      const std::string& key = child.key.Scalar();
      child.path = field.path.empty() ? key : field.path + "." + key;
      for (const auto& seen : out) {
        if (seen.key.Scalar() == key) {
          fail(line_of(child.key), child.path,
               fmt::format("duplicate key (first on line {})", line_of(seen.key)));
        }
      }
      out.push_back(std::move(child));
    }
    return out;
  }

  // Expanded text of a scalar; nullopt for an empty (null) value.
  std::optional<Expanded> scalar(const Field& field) const {
    if (field.value.IsNull() || !field.value.IsDefined()) {
      return std::nullopt;
    }
    if (!field.value.IsScalar()) {
      fail(line(field), field.path, "must be a single value, not a map or a list");
    }
    Expanded out;
    std::string name;
    switch (expand_env(field.value.Scalar(), out, name)) {
    case ExpandStatus::ok: return out;
    case ExpandStatus::unset:
      fail(line(field), field.path, fmt::format("environment variable {} is not set", name));
    case ExpandStatus::malformed: break;
    }
    fail(line(field), field.path,
         "malformed ${...} reference; write ${NAME} for an environment variable and $$ for a "
         "literal $");
  }

  std::optional<std::string> string(const Field& field) const {
    auto value = scalar(field);
    if (!value) {
      return std::nullopt;
    }
    return std::move(value->text);
  }

  int integer(const Field& field, int min, int max) const {
    const auto value = scalar(field);
    const std::string text = value ? trim(value->text) : std::string();
    long long number = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    if (!text.empty() && *begin == '+') {
      ++begin;
    }
    const auto [ptr, ec] = std::from_chars(begin, end, number);
    if (text.empty() || ec != std::errc() || ptr != end || number < min || number > max) {
      fail(line(field), field.path,
           fmt::format("must be an integer from {} to {}, not '{}'", min, max, text));
    }
    return static_cast<int>(number);
  }

  // Seconds that may have a fraction (WatchState's client.timeout is a float); rounded up.
  int seconds(const Field& field, int min, int max) const {
    const auto value = scalar(field);
    const std::string text = value ? trim(value->text) : std::string();
    double number = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
        !std::isfinite(number) || std::ceil(number) < min || std::ceil(number) > max) {
      fail(line(field), field.path,
           fmt::format("must be a number of seconds from {} to {}, not '{}'", min, max, text));
    }
    return static_cast<int>(std::ceil(number));
  }

  bool boolean(const Field& field) const {
    const auto value = scalar(field);
    const std::string text = value ? to_lower(trim(value->text)) : std::string();
    if (text == "true" || text == "yes" || text == "on") {
      return true;
    }
    if (text == "false" || text == "no" || text == "off") {
      return false;
    }
    fail(line(field), field.path,
         fmt::format("must be true or false, not '{}'", value ? value->text : std::string()));
  }

  // A path: "~" is the home directory; a relative path is taken from the config file's directory.
  fs::path path(const Field& field, const std::string& text) const {
    fs::path out;
    if (text == "~" || text.starts_with("~/")) {
      const auto home = home_dir();
      if (!home) {
        fail(line(field), field.path, "cannot expand '~': HOME is not set");
      }
      out = text.size() > 2 ? *home / text.substr(2) : *home;
    } else {
      out = text;
    }
    if (out.is_relative() && !m_base_dir.empty()) {
      out = m_base_dir / out;
    }
    return out.lexically_normal();
  }

  // A token: registered as a secret at once; messages name its key, never its value.
  std::string token(const Field& field) {
    const auto value = scalar(field);
    if (!value || value->text.empty()) {
      fail(line(field), field.path, "must be a non-empty string");
    }
    register_secret(value->text);
    if (value->has_literal) {
      m_inline_secret = true;
    }
    const bool bad = std::any_of(value->text.begin(), value->text.end(),
                                 [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
    if (bad) {
      fail(line(field), field.path, "must not contain spaces or control characters");
    }
    return value->text;
  }

  std::string token_from_file(const Field& field) {
    const auto name = string(field);
    if (!name || name->empty()) {
      fail(line(field), field.path, "must be the path of a file holding the token");
    }
    const fs::path file = path(field, *name);
    std::string content;
    if (const int err = read_file(file, content, k_max_token_bytes, true); err != 0) {
      const std::string why = err == EINVAL  ? std::string("not a regular file")
                              : err == EFBIG ? std::string("larger than 64 KiB")
                                             : std::string(std::strerror(err));
      fail(line(field), field.path,
           fmt::format("cannot read token file '{}': {}", file.string(), why));
    }
    std::string value = trim(content);
    register_secret(value);
    if (value.empty()) {
      fail(line(field), field.path, fmt::format("token file '{}' is empty", file.string()));
    }
    const bool bad = std::any_of(value.begin(), value.end(),
                                 [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
    if (bad) {
      fail(line(field), field.path,
           fmt::format("the token in '{}' contains spaces or control characters", file.string()));
    }
    return value;
  }

  // A Plex home user's PIN: 4 digits, registered as a secret; messages never show it.
  std::string pin(const Field& field) {
    const auto value = scalar(field);
    const std::string text = value ? trim(value->text) : std::string();
    register_secret(text);
    if (value && value->has_literal) {
      m_inline_secret = true;
    }
    if (!is_pin(text)) {
      fail(line(field), field.path, "must be the 4 digits of the Plex home user's PIN");
    }
    return text;
  }

  // The PIN in the first line of a file (pin_file).
  std::string pin_from_file(const Field& field) {
    const auto name = string(field);
    if (!name || name->empty()) {
      fail(line(field), field.path, "must be the path of a file holding the PIN");
    }
    const fs::path file = path(field, *name);
    std::string content;
    if (const int err = read_file(file, content, k_max_token_bytes, true); err != 0) {
      const std::string why = err == EINVAL  ? std::string("not a regular file")
                              : err == EFBIG ? std::string("larger than 64 KiB")
                                             : std::string(std::strerror(err));
      fail(line(field), field.path,
           fmt::format("cannot read PIN file '{}': {}", file.string(), why));
    }
    std::string value = trim(std::string_view(content).substr(0, content.find('\n')));
    register_secret(value);
    if (!is_pin(value)) {
      fail(line(field), field.path,
           fmt::format("the first line of '{}' must be the 4 digits of the Plex home user's PIN",
                       file.string()));
    }
    return value;
  }

private:
  static bool is_pin(std::string_view text) {
    return text.size() == 4 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  void register_secrets_early(const YAML::Node& root);
  HttpSettings parse_http(const Field& field) const;
  ProgressSettings parse_progress(const Field& field) const;
  BackupSettings parse_backup(const Field& field) const;
  WebhookSettings parse_webhook(const Field& field);
  BackendConfig parse_backend(const Field& field);
  void parse_options(const Field& field, BackendConfig& backend);
  bool parse_enabled(const Field& field) const;
  IdentityConfig parse_identity(const Field& field, const std::vector<BackendConfig>& backends);
  std::optional<std::string> read_token_pair(const Field& owner, const class MapReader& map,
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

  // The items of a list field; null counts as an empty list. Each item is its own key, so that
  // messages about it name its line.
  std::vector<Field> sequence(const Field& field, std::string_view expected) const {
    std::vector<Field> out;
    if (!field.value.IsDefined() || field.value.IsNull()) {
      return out;
    }
    if (!field.value.IsSequence()) {
      fail(line(field), field.path, fmt::format("must be {}", expected));
    }
    for (std::size_t i = 0; i < field.value.size(); ++i) {
      const YAML::Node node = field.value[i];
      out.push_back(Field{node, node, fmt::format("{}[{}]", field.path, i)});
    }
    return out;
  }

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
            const std::vector<std::string_view>& ignored = {})
      : m_fields(parser.entries(field)) {
    for (const auto& child : m_fields) {
      const std::string& key = child.key.Scalar();
      const bool is_known = std::find(known.begin(), known.end(), key) != known.end();
      const bool is_ignored = std::find(ignored.begin(), ignored.end(), key) != ignored.end();
      if (!is_known && !is_ignored) {
        std::vector<std::string> names(known.begin(), known.end());
        parser.fail(line_of(child.key), child.path,
                    fmt::format("unknown key; expected one of {}", join(names)));
      }
    }
  }

  [[nodiscard]] std::optional<Field> get(std::string_view key) const {
    for (const auto& child : m_fields) {
      if (child.key.Scalar() == key) {
        return child;
      }
    }
    return std::nullopt;
  }

  // A present key with a non-empty value.
  [[nodiscard]] std::optional<Field> value(std::string_view key) const {
    auto field = get(key);
    if (field && (field->value.IsNull() || !field->value.IsDefined())) {
      return std::nullopt;
    }
    return field;
  }

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

void add_libraries(const Parser& parser, const Field& field, std::vector<std::string>& out) {
  auto add = [&out](std::string id) {
    if (!id.empty() && std::find(out.begin(), out.end(), id) == out.end()) {
      out.push_back(std::move(id));
    }
  };
  if (field.value.IsSequence()) {
    for (std::size_t i = 0; i < field.value.size(); ++i) {
      Field item{field.key, field.value[i], fmt::format("{}[{}]", field.path, i)};
      const auto text = parser.string(item);
      if (!text || trim(*text).empty()) {
        parser.fail(Parser::line(item), item.path, "must be a library id or name");
      }
      add(trim(*text));
    }
    return;
  }
  if (field.value.IsMap()) {
    parser.fail(Parser::line(field), field.path,
                "must be a list of library ids or names, or a comma-separated string");
  }
  const auto text = parser.string(field);
  if (!text) {
    return;
  }
  std::string_view rest(*text);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    add(trim(rest.substr(0, comma)));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
}

void Parser::register_secrets_early(const YAML::Node& root) {
  // A token written under the wrong key, or next to an invalid value, must not leak through a
  // message about another key: register every token-like value before validating anything.
  auto register_scalar = [](const YAML::Node& node) {
    if (node.IsDefined() && node.IsScalar()) {
      Expanded expanded;
      std::string unused;
      switch (expand_env(node.Scalar(), expanded, unused)) {
      case ExpandStatus::ok: register_secret(expanded.text); break;
      case ExpandStatus::malformed:
        // Probably a literal token that happens to hold "${".
        register_secret(node.Scalar());
        break;
      case ExpandStatus::unset: break;
      }
    }
  };
  auto each = [](const YAML::Node& map, auto&& fn) {
    if (map.IsDefined() && map.IsMap()) {
      for (auto it = map.begin(); it != map.end(); ++it) {
        fn(it->first, it->second);
      }
    }
  };
  auto find = [&each](const YAML::Node& map, std::string_view key) {
    YAML::Node found;
    bool seen = false;
    each(map, [&](const YAML::Node& k, const YAML::Node& v) {
      if (!seen && k.IsScalar() && k.Scalar() == key) {
        found = v;
        seen = true;
      }
    });
    return seen ? found : YAML::Node(YAML::NodeType::Undefined);
  };
  auto register_entry = [&](const YAML::Node& entry) {
    register_scalar(find(entry, "token"));
    register_scalar(find(entry, "pin"));
    register_scalar(find(find(entry, "options"), "ADMIN_TOKEN"));
  };
  each(find(root, "backends"),
       [&](const YAML::Node&, const YAML::Node& entry) { register_entry(entry); });
  each(find(root, "identities"), [&](const YAML::Node&, const YAML::Node& identity) {
    each(identity, [&](const YAML::Node&, const YAML::Node& entry) { register_entry(entry); });
  });
  register_scalar(find(find(root, "webhook"), "api_key"));
}

HttpSettings Parser::parse_http(const Field& field) const {
  HttpSettings http;
  const MapReader map(*this, field,
                      {"concurrency", "timeout", "retries", "page_size", "backoff_ms"});
  if (auto f = map.get("concurrency")) {
    http.concurrency = integer(*f, 1, 64);
  }
  if (auto f = map.get("timeout")) {
    http.timeout = integer(*f, 1, 86400);
  }
  if (auto f = map.get("retries")) {
    http.retries = integer(*f, 0, 10);
  }
  if (auto f = map.get("page_size")) {
    http.page_size = integer(*f, 1, 10000);
  }
  if (auto f = map.get("backoff_ms")) {
    http.backoff_ms = integer(*f, 0, 60000);
  }
  return http;
}

ProgressSettings Parser::parse_progress(const Field& field) const {
  ProgressSettings progress;
  const MapReader map(*this, field, {"sync", "minimum"});
  if (auto f = map.get("sync")) {
    progress.sync = boolean(*f);
  }
  if (auto f = map.get("minimum")) {
    progress.minimum = integer(*f, 0, 86400);
  }
  return progress;
}

BackupSettings Parser::parse_backup(const Field& field) const {
  BackupSettings backup;
  const MapReader map(*this, field, {"keep_days"});
  if (auto f = map.get("keep_days")) {
    backup.keep_days = integer(*f, 1, 365000);
  }
  return backup;
}

WebhookSettings Parser::parse_webhook(const Field& field) {
  WebhookSettings webhook;
  const MapReader map(*this, field, {"listen", "api_key"});
  if (auto f = map.value("listen")) {
    const std::string listen = trim(string(*f).value_or(""));
    // host:port, the host possibly a bracketed IPv6 address.
    const auto colon = listen.rfind(':');
    int port = 0;
    bool ok = colon != std::string::npos && colon > 0 && colon + 1 < listen.size();
    if (ok) {
      const std::string host = listen.substr(0, colon);
      const std::string digits = listen.substr(colon + 1);
      const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
      ok = ec == std::errc() && ptr == digits.data() + digits.size() && port >= 1 && port <= 65535;
      const bool bracketed = host.front() == '[' && host.back() == ']';
      ok = ok && (bracketed || host.find(':') == std::string::npos) &&
           host.find_first_of(k_whitespace) == std::string::npos;
    }
    if (!ok) {
      fail(line(*f), f->path,
           fmt::format("must be host:port (e.g. 127.0.0.1:8686, [::1]:8686), not '{}'", listen));
    }
    webhook.listen = listen;
  }
  if (auto f = map.value("api_key")) {
    webhook.api_key = token(*f);
  }
  return webhook;
}

bool Parser::parse_enabled(const Field& field) const {
  // lastSync and playlist are WatchState's own sync bookkeeping; ours lives in state_dir.
  const MapReader map(*this, field, {"enabled"}, {"lastSync", "playlist"});
  if (auto f = map.value("enabled")) {
    return boolean(*f);
  }
  return true;
}

// token or token_file (exactly one when required, at most one otherwise).
std::optional<std::string> Parser::read_token_pair(const Field& owner, const MapReader& map,
                                                   bool required) {
  const auto inline_token = map.get("token");
  const auto file_token = map.get("token_file");
  if (inline_token && file_token) {
    fail(line_of(file_token->key), owner.path, "set only one of token and token_file");
  }
  if (inline_token) {
    return token(*inline_token);
  }
  if (file_token) {
    return token_from_file(*file_token);
  }
  if (required) {
    fail(line_of(owner.key), owner.path + ".token", "is required (or token_file)");
  }
  return std::nullopt;
}

void Parser::parse_options(const Field& field, BackendConfig& backend) {
  const MapReader map(*this, field,
                      {"ignore_libraries", "page_size", "concurrency", "timeout", "verify_tls",
                       "disable_mark_unplayed", "ignore", "LIBRARY_SEGMENT",
                       "DISABLE_MARK_UNPLAYED", "client", "plextv_url"},
                      k_watchstate_option_keys);

  for (const char* key : {"ignore_libraries", "ignore"}) {
    if (auto f = map.get(key)) {
      add_libraries(*this, *f, backend.ignore_libraries);
    }
  }

  std::optional<std::pair<int, std::string>> page_size;
  for (const char* key : {"page_size", "LIBRARY_SEGMENT"}) {
    if (auto f = map.value(key)) {
      merge_setting(*this, page_size, *f, integer(*f, 1, 10000));
    }
  }
  if (page_size) {
    backend.page_size = page_size->first;
  }
  if (auto f = map.value("concurrency")) {
    backend.concurrency = integer(*f, 1, 64);
  }

  std::optional<std::pair<bool, std::string>> unplayed;
  for (const char* key : {"disable_mark_unplayed", "DISABLE_MARK_UNPLAYED"}) {
    if (auto f = map.value(key)) {
      merge_setting(*this, unplayed, *f, boolean(*f));
    }
  }
  backend.disable_mark_unplayed = unplayed && unplayed->first;

  std::optional<std::pair<int, std::string>> timeout;
  std::optional<std::pair<bool, std::string>> verify;
  if (auto f = map.value("timeout")) {
    merge_setting(*this, timeout, *f, integer(*f, 1, 86400));
  }
  if (auto f = map.value("verify_tls")) {
    merge_setting(*this, verify, *f, boolean(*f));
  }
  if (auto client = map.get("client")) {
    // WatchState hands `client` to its HTTP client; http_version only works around PHP's
    // HTTP/2 problems and has no meaning for libcurl here.
    const MapReader client_map(*this, *client, {"timeout", "verify_host", "verify_peer"},
                               {"http_version"});
    if (auto f = client_map.value("timeout")) {
      merge_setting(*this, timeout, *f, seconds(*f, 1, 86400));
    }
    for (const char* key : {"verify_host", "verify_peer"}) {
      if (auto f = client_map.value(key)) {
        merge_setting(*this, verify, *f, boolean(*f));
      }
    }
  }
  if (timeout) {
    backend.timeout = timeout->first;
  }
  if (verify) {
    backend.verify_tls = verify->first;
  }
  if (auto f = map.value("plextv_url")) {
    std::string url = trim(string(*f).value_or(""));
    while (!url.empty() && url.back() == '/') {
      url.pop_back();
    }
    const std::string lower = to_lower(url);
    if ((!lower.starts_with("http://") && !lower.starts_with("https://")) ||
        url.find_first_of(k_whitespace) != std::string::npos || url.size() <= 8) {
      fail(line(*f), f->path, fmt::format("must be an http:// or https:// URL, not '{}'", url));
    }
    backend.plextv_url = url;
  }

  if (auto f = map.value("ADMIN_TOKEN")) {
    // Unused, but a secret all the same: hide it and count it for the file-mode warning.
    (void)token(*f);
  }
}

BackendConfig Parser::parse_backend(const Field& field) {
  BackendConfig backend;
  backend.name = field.key.Scalar();
  backend.line = line_of(field.key);
  if (!valid_name(backend.name)) {
    fail(backend.line, field.path,
         "a backend name may hold only lower-case letters, digits and '_' ([a-z0-9_]+)");
  }
  const MapReader map(*this, field,
                      {"type", "url", "token", "token_file", "user", "uuid", "import", "export",
                       "playlists", "options"},
                      k_watchstate_legacy_backend_keys);

  const auto type_field = map.value("type");
  if (!type_field) {
    fail(backend.line, field.path + ".type", "is required: plex, jellyfin or emby");
  }
  const std::string type_text = string(*type_field).value_or("");
  const std::string type = to_lower(trim(type_text));
  if (type == "plex") {
    backend.type = model::BackendType::plex;
  } else if (type == "jellyfin") {
    backend.type = model::BackendType::jellyfin;
  } else if (type == "emby") {
    backend.type = model::BackendType::emby;
  } else {
    fail(line(*type_field), type_field->path,
         fmt::format("must be plex, jellyfin or emby, not '{}'", type_text));
  }

  const auto url_field = map.value("url");
  if (!url_field) {
    fail(backend.line, field.path + ".url", "is required (e.g. http://192.168.1.10:32400)");
  }
  std::string url = trim(string(*url_field).value_or(""));
  const std::string lower = to_lower(url);
  std::size_t scheme = 0;
  if (lower.starts_with("http://")) {
    scheme = 7;
  } else if (lower.starts_with("https://")) {
    scheme = 8;
  }
  while (url.size() > scheme && url.back() == '/') {
    url.pop_back();
  }
  if (scheme == 0 || url.size() == scheme || url.find_first_of(k_whitespace) != std::string::npos) {
    fail(line(*url_field), url_field->path,
         fmt::format("must be an http:// or https:// URL, not '{}'", url));
  }
  backend.url = lower.substr(0, scheme) + url.substr(scheme);

  backend.token = read_token_pair(field, map, true).value_or("");

  if (auto f = map.value("user")) {
    backend.user = trim(string(*f).value_or(""));
  }
  if (backend.user.empty() && backend.type != model::BackendType::plex) {
    fail(backend.line, field.path + ".user",
         fmt::format("is required for {} backends (the user id whose play state is synced)", type));
  }
  if (auto f = map.value("uuid")) {
    backend.uuid = trim(string(*f).value_or(""));
  }
  if (auto f = map.get("import")) {
    backend.import_enabled = parse_enabled(*f);
  }
  if (auto f = map.get("export")) {
    backend.export_enabled = parse_enabled(*f);
  }
  if (auto f = map.get("playlists")) {
    backend.playlists_enabled = parse_enabled(*f);
  }
  if (auto f = map.get("options")) {
    parse_options(*f, backend);
  }
  return backend;
}

IdentityConfig Parser::parse_identity(const Field& field,
                                      const std::vector<BackendConfig>& backends) {
  IdentityConfig identity;
  identity.name = field.key.Scalar();
  if (!valid_name(identity.name) || identity.name == "main") {
    fail(line_of(field.key), field.path,
         "an identity name may hold only lower-case letters, digits and '_' ([a-z0-9_]+), and "
         "'main' is reserved");
  }
  const auto entries = this->entries(field, "a map of backend names to { user, token }");
  if (entries.empty()) {
    fail(line_of(field.key), field.path, "must map at least one backend to this person's user");
  }
  for (const auto& entry : entries) {
    const std::string& name = entry.key.Scalar();
    const auto main = std::find_if(backends.begin(), backends.end(),
                                   [&name](const BackendConfig& b) { return b.name == name; });
    if (main == backends.end()) {
      std::vector<std::string> names;
      for (const auto& b : backends) {
        names.push_back(b.name);
      }
      fail(line_of(entry.key), entry.path,
           fmt::format("no backend named '{}'; configured: {}", name, join(names)));
    }
    const MapReader map(*this, entry, {"user", "token", "token_file", "pin", "pin_file"});
    IdentityBackend out;
    out.backend = name;
    out.token = read_token_pair(entry, map, false).value_or("");
    const auto inline_pin = map.get("pin");
    const auto file_pin = map.get("pin_file");
    if (inline_pin && file_pin) {
      fail(line_of(file_pin->key), entry.path, "set only one of pin and pin_file");
    }
    if (inline_pin || file_pin) {
      const Field& pin_field = inline_pin ? *inline_pin : *file_pin;
      out.pin = inline_pin ? pin(*inline_pin) : pin_from_file(*file_pin);
      out.pin_key = pin_field.key.Scalar();
      if (main->type != model::BackendType::plex) {
        fail(line_of(pin_field.key), pin_field.path, "only a Plex home user has a PIN");
      }
      if (!out.token.empty()) {
        fail(line_of(pin_field.key), pin_field.path,
             "a PIN is only used to obtain this person's token through plex.tv; with a token "
             "set, remove the PIN");
      }
    }
    if (auto f = map.value("user")) {
      out.user = trim(string(*f).value_or(""));
    }
    if (out.user.empty() && main->type != model::BackendType::plex) {
      fail(line_of(entry.key), entry.path + ".user",
           fmt::format("is required for {} backends (this person's user id)",
                       type_name(main->type)));
    }
    if (out.user.empty() && out.token.empty()) {
      fail(line_of(entry.key), entry.path, "set user, token or both for this person");
    }
    identity.backends.push_back(std::move(out));
  }
  return identity;
}

// ---- matching ----

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
  if (is_item_type(to_lower(text.substr(0, sep)))) {
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
  rule.type = to_lower(text.substr(0, sep));
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
    rule.type = to_lower(type);
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

void Parser::refer_to_backend(std::string name, int line, std::string path) {
  m_backend_references.push_back(BackendReference{std::move(name), line, std::move(path)});
}

void Parser::check_backend_references(const std::vector<BackendConfig>& backends) const {
  for (const auto& reference : m_backend_references) {
    const bool known = std::any_of(backends.begin(), backends.end(), [&](const BackendConfig& b) {
      return b.name == reference.name;
    });
    if (!known) {
      std::vector<std::string> names;
      for (const auto& b : backends) {
        names.push_back(b.name);
      }
      fail(reference.line, reference.path,
           fmt::format("no backend named '{}'; configured: {}", reference.name, join(names)));
    }
  }
}

Config Parser::parse(const std::string& text) {
  YAML::Node root;
  try {
    if (const auto second = second_document_line(text)) {
      fail(*second, {}, "the file holds more than one YAML document");
    }
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    fail(e.mark.line >= 0 ? e.mark.line + 1 : 0, {}, e.msg);
  } catch (const YAML::Exception& e) {
    fail(e.mark.line >= 0 ? e.mark.line + 1 : 0, {}, e.msg);
  }
  if (!root.IsMap()) {
    fail(line_of(root), {}, "the file must be a YAML map with at least a 'backends' key");
  }
  register_secrets_early(root);

  const Field top{YAML::Node(), root, {}};
  const MapReader map(*this, top,
                      {"state_dir", "http", "progress", "backup", "webhook", "matching", "metrics",
                       "history", "backends", "identities"});
  Config config;
  if (auto f = map.value("state_dir")) {
    const std::string dir = trim(string(*f).value_or(""));
    if (dir.empty()) {
      fail(line(*f), f->path, "must be a directory path");
    }
    config.state_dir = path(*f, dir);
  } else {
    config.state_dir = default_state_dir();
  }
  if (auto f = map.get("http")) {
    config.http = parse_http(*f);
  }
  if (auto f = map.get("progress")) {
    config.progress = parse_progress(*f);
  }
  if (auto f = map.get("backup")) {
    config.backup = parse_backup(*f);
  }
  if (auto f = map.get("webhook")) {
    config.webhook = parse_webhook(*f);
  }
  if (auto f = map.get("matching")) {
    config.matching = parse_matching(*f);
  }
  if (auto f = map.get("metrics")) {
    // Prometheus' textfile collector: every tool rewrites this file after its run.
    const MapReader metrics(*this, *f, {"textfile"});
    if (auto t = metrics.value("textfile")) {
      const std::string file = trim(string(*t).value_or(""));
      if (file.empty() || !file.ends_with(".prom")) {
        fail(line(*t), t->path,
             "must be a file path ending in .prom (node_exporter's "
             "textfile collector reads only those)");
      }
      config.metrics.textfile = path(*t, file);
    }
  }
  if (auto f = map.get("history")) {
    const MapReader history(*this, *f, {"keep_days", "change_log_days"});
    if (auto k = history.get("keep_days")) {
      config.history.keep_days = integer(*k, 1, 365000);
    }
    if (auto k = history.get("change_log_days")) {
      config.history.change_log_days = integer(*k, 0, 365000); // 0: kept for ever
    }
  }
  const auto backends = map.get("backends");
  const auto backend_entries =
      backends ? entries(*backends, "a map of backend names to backend settings")
               : std::vector<Field>();
  if (backend_entries.empty()) {
    fail(backends ? line(*backends) : 1, "backends", "at least one backend is required");
  }
  for (const auto& entry : backend_entries) {
    config.backends.push_back(parse_backend(entry));
  }
  check_backend_references(config.backends);
  if (auto f = map.get("identities")) {
    for (const auto& entry : entries(*f, "a map of identity names to their backends")) {
      config.identities.push_back(parse_identity(entry, config.backends));
    }
  }
  return config;
}

Config parse_with(const std::string& text, const fs::path& file, bool& inline_secret) {
  Parser parser(file.string(), file.parent_path());
  Config config = parser.parse(text);
  config.file = file;
  inline_secret = parser.has_inline_secret();
  return config;
}

} // namespace

std::filesystem::path
resolve_config_path(const std::optional<std::filesystem::path>& explicit_path) {
  if (explicit_path) {
    return *explicit_path;
  }
  if (const char* env = std::getenv("WS_CONFIG"); env != nullptr && *env != '\0') {
    return fs::path(env);
  }
  fs::path user_file;
  if (const auto xdg = xdg_dir("XDG_CONFIG_HOME")) {
    user_file = *xdg / "watchstate" / "config.yaml";
  } else if (const auto home = home_dir()) {
    user_file = *home / ".config" / "watchstate" / "config.yaml";
  }
  const fs::path system_file = "/etc/watchstate/config.yaml";
  std::error_code ec;
  if (!user_file.empty() && fs::exists(user_file, ec)) {
    return user_file;
  }
  if (fs::exists(system_file, ec) || user_file.empty()) {
    return system_file;
  }
  // Neither exists: name the per-user file in the "cannot read" message.
  return user_file;
}

std::filesystem::path default_state_dir() {
  if (const auto xdg = xdg_dir("XDG_STATE_HOME")) {
    return *xdg / "watchstate";
  }
  if (const auto home = home_dir()) {
    return *home / ".local" / "state" / "watchstate";
  }
  throw Error(Errc::config,
              "cannot find a state directory: set state_dir in the config, XDG_STATE_HOME or HOME");
}

Config load_config(const std::filesystem::path& file) {
  std::string text;
  if (const int err = read_file(file, text); err != 0) {
    // The first thing a new user meets: say how to get a config, not only that there is none.
    throw Error(Errc::config,
                fmt::format("{}: cannot read config file: {}{}", file.string(), std::strerror(err),
                            err == ENOENT ? "; write one with `ws-config add NAME --type T --url U "
                                            "--token-file F --append FILE`, or start from "
                                            "share/watchstate/config.example.yaml (keys: "
                                            "watchstate.yaml(5))"
                                          : ""));
  }
  bool inline_secret = false;
  Config config = parse_with(text, file, inline_secret);
  struct stat info {};
  if (inline_secret && ::stat(file.c_str(), &info) == 0) {
    config.readable_by_others_with_token = (info.st_mode & (S_IRGRP | S_IROTH)) != 0;
  }
  return config;
}

Config parse_config(const std::string& text, const std::filesystem::path& file) {
  bool inline_secret = false;
  return parse_with(text, file, inline_secret);
}

std::vector<BackendConfig> backends_for_identity(const Config& config,
                                                 const std::string& identity) {
  if (identity == "main") {
    return config.backends;
  }
  const auto found =
      std::find_if(config.identities.begin(), config.identities.end(),
                   [&identity](const IdentityConfig& i) { return i.name == identity; });
  if (found == config.identities.end()) {
    std::vector<std::string> names{"main"};
    for (const auto& i : config.identities) {
      names.push_back(i.name);
    }
    throw Error(Errc::usage,
                fmt::format("unknown identity '{}'; configured: {}", identity, join(names)));
  }
  std::vector<BackendConfig> out;
  for (const auto& backend : config.backends) {
    const auto mapped =
        std::find_if(found->backends.begin(), found->backends.end(),
                     [&backend](const IdentityBackend& b) { return b.backend == backend.name; });
    if (mapped == found->backends.end()) {
      continue;
    }
    BackendConfig copy = backend;
    copy.user = mapped->user;
    copy.identity = identity;
    if (!mapped->token.empty()) {
      copy.token = mapped->token;
    } else if (copy.type == model::BackendType::plex && !copy.user.empty()) {
      copy.obtain_user_token = true;
      copy.plex_pin = mapped->pin;
      copy.plex_pin_key = mapped->pin_key;
    }
    out.push_back(std::move(copy));
  }
  return out;
}

} // namespace ws::config

// SPDX-License-Identifier: MIT
// The config reader: YAML loading, ${ENV} expansion, token and PIN files, and the messages that
// name the file, the line and the key.
#include <watchstate/config/reader.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/read_file.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/text.hpp>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <pwd.h>
#include <unistd.h>

namespace ws::config::detail {

namespace {

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

// Far more than any token; a path such as /dev/zero must not eat the memory.
constexpr std::size_t k_max_token_bytes = std::size_t{64} << 10;

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

} // namespace

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

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(k_whitespace);
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(k_whitespace);
  return std::string(text.substr(first, last - first + 1));
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

void Parser::fail(int line, std::string_view path, std::string_view what) const {
  const int shown = line > 0 ? line : 1;
  std::string message = path.empty() ? fmt::format("{}:{}: {}", m_label, shown, what)
                                     : fmt::format("{}:{}: {}: {}", m_label, shown, path, what);
  throw Error(Errc::config, redact(message));
}

int Parser::line(const Field& field) {
  if (field.value.IsScalar()) {
    const int value_line = line_of(field.value);
    if (value_line > 0) {
      return value_line;
    }
  }
  const int key_line = line_of(field.key);
  return key_line > 0 ? key_line : line_of(field.value);
}

std::vector<Field> Parser::entries(const Field& field, std::string_view expected) const {
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

std::vector<Field> Parser::sequence(const Field& field, std::string_view expected) const {
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

std::optional<Expanded> Parser::scalar(const Field& field) const {
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

std::optional<std::string> Parser::string(const Field& field) const {
  auto value = scalar(field);
  if (!value) {
    return std::nullopt;
  }
  return std::move(value->text);
}

int Parser::integer(const Field& field, int min, int max) const {
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

int Parser::seconds(const Field& field, int min, int max) const {
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

bool Parser::boolean(const Field& field) const {
  const auto value = scalar(field);
  const std::string text = value ? lowercase_ascii(trim(value->text)) : std::string();
  if (text == "true" || text == "yes" || text == "on") {
    return true;
  }
  if (text == "false" || text == "no" || text == "off") {
    return false;
  }
  fail(line(field), field.path,
       fmt::format("must be true or false, not '{}'", value ? value->text : std::string()));
}

fs::path Parser::path(const Field& field, const std::string& text) const {
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

std::string Parser::token(const Field& field) {
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

std::pair<fs::path, std::string> Parser::secret_file(const Field& field,
                                                     std::string_view what) const {
  const auto name = string(field);
  if (!name || name->empty()) {
    fail(line(field), field.path, fmt::format("must be the path of a file holding the {}", what));
  }
  const fs::path file = path(field, *name);
  std::string content;
  if (const int err = read_file(file, content, k_max_token_bytes, true).error; err != 0) {
    const std::string why = err == EINVAL  ? std::string("not a regular file")
                            : err == EFBIG ? std::string("larger than 64 KiB")
                                           : std::string(std::strerror(err));
    fail(line(field), field.path,
         fmt::format("cannot read {} file '{}': {}", what, file.string(), why));
  }
  return {file, std::move(content)};
}

std::string Parser::token_from_file(const Field& field) {
  const auto [file, content] = secret_file(field, "token");
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

namespace {

bool is_pin(std::string_view text) {
  return text.size() == 4 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

std::string Parser::pin(const Field& field) {
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

std::string Parser::pin_from_file(const Field& field) {
  const auto [file, content] = secret_file(field, "PIN");
  std::string value = trim(std::string_view(content).substr(0, content.find('\n')));
  register_secret(value);
  if (!is_pin(value)) {
    fail(line(field), field.path,
         fmt::format("the first line of '{}' must be the 4 digits of the Plex home user's PIN",
                     file.string()));
  }
  return value;
}

YAML::Node Parser::load(const std::string& text) const {
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
  return root;
}

MapReader::MapReader(const Parser& parser, const Field& field,
                     const std::vector<std::string_view>& known,
                     const std::vector<std::string_view>& ignored)
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

std::optional<Field> MapReader::get(std::string_view key) const {
  for (const auto& child : m_fields) {
    if (child.key.Scalar() == key) {
      return child;
    }
  }
  return std::nullopt;
}

std::optional<Field> MapReader::value(std::string_view key) const {
  auto field = get(key);
  if (field && (field->value.IsNull() || !field->value.IsDefined())) {
    return std::nullopt;
  }
  return field;
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

} // namespace ws::config::detail

// SPDX-License-Identifier: MIT
// ws-config: connect real servers. Checks a config against the servers, writes the `backends:`
// entry of a new server, signs in to plex.tv, logs in to Jellyfin/Emby and registers webhooks.
#include <watchstate/app/runner.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/backend/mediabrowser/mediabrowser_account.hpp>
#include <watchstate/backend/plex/plex_account.hpp>
#include <watchstate/core/atomic_file.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/signals.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/setup/backend_entry.hpp>
#include <watchstate/setup/config_check.hpp>
#include <watchstate/setup/webhook_setup.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <fmt/format.h>

#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

namespace ws::app {
namespace {

struct ConfigArgs {
  CLI::App* check = nullptr;
  CLI::App* add = nullptr;
  CLI::App* plex_login = nullptr;
  CLI::App* plex_servers = nullptr;
  CLI::App* jellyfin_login = nullptr;
  CLI::App* emby_login = nullptr;
  CLI::App* webhook = nullptr;

  std::string name;
  std::string type;
  std::string url;
  std::string token_file; // input (add, plex-servers) or output (logins)
  std::string token_env;
  std::string user;
  std::string append;
  bool no_verify_tls = false;
  bool strict = false;
  bool print_token = false;
  std::string plextv_url = "https://plex.tv";
  int wait_seconds = 0;
  int poll_ms = 1000;
  std::string public_url;
};

model::BackendType parse_type(const std::string& type) {
  if (type == "plex") {
    return model::BackendType::plex;
  }
  if (type == "jellyfin") {
    return model::BackendType::jellyfin;
  }
  if (type == "emby") {
    return model::BackendType::emby;
  }
  throw Error(Errc::usage, fmt::format("--type {}: must be plex, jellyfin or emby", type));
}

// The token ws-config is handed: from a file (first line, trimmed) or an environment variable.
std::string read_token(const ConfigArgs& args) {
  if (args.token_file.empty() == args.token_env.empty()) {
    throw Error(Errc::usage, "give the token as exactly one of --token-file FILE and "
                             "--token-env VARIABLE (never on the command line)");
  }
  std::string token;
  if (!args.token_file.empty()) {
    std::ifstream in(args.token_file);
    if (!in) {
      throw Error(Errc::no_input, fmt::format("{}: cannot read the token file", args.token_file));
    }
    std::getline(in, token);
  } else {
    const char* value = std::getenv(args.token_env.c_str());
    if (value == nullptr) {
      throw Error(Errc::usage,
                  fmt::format("--token-env {}: the variable is not set", args.token_env));
    }
    token = value;
  }
  token = std::string(trim(token));
  if (token.empty()) {
    throw Error(Errc::usage, "the token is empty");
  }
  register_secret(token);
  return token;
}

// A password from the terminal (echo off) or, when stdin is not a terminal, its first line.
std::string read_password(const std::string& prompt) {
  std::string password;
  if (::isatty(STDIN_FILENO) != 0) {
    std::fprintf(stderr, "%s", prompt.c_str());
    std::fflush(stderr);
    termios saved{};
    const bool terminal = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (terminal) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::getline(std::cin, password);
    if (terminal) {
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    }
    std::fprintf(stderr, "\n");
  } else {
    std::getline(std::cin, password);
  }
  if (!password.empty() && password.back() == '\r') {
    password.pop_back();
  }
  register_secret(password);
  return password;
}

// Store a token where the user asked: a 0600 file, or stdout with --print-token.
void hand_over_token(const ConfigArgs& args, const std::string& token, ToolOutcome& outcome) {
  if (!args.token_file.empty()) {
    write_file_atomic(args.token_file, token + "\n", 0600);
    outcome.human += fmt::format("token written to {} (mode 0600)\n", args.token_file);
  } else {
    // Asked for in so many words: the one place a token is printed.
    std::fwrite(token.data(), 1, token.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
}

void require_output(const ConfigArgs& args, const CommonOptions& common) {
  if (args.token_file.empty() == !args.print_token) {
    throw Error(Errc::usage, "say where the token goes: --token-file FILE (written with mode "
                             "0600) or --print-token (stdout)");
  }
  if (args.print_token && common.json) {
    throw Error(Errc::usage, "--print-token prints the token alone on stdout: it does not go "
                             "with --json (use --token-file)");
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return lines;
}

http::ClientOptions setup_client(const CommonOptions& common) {
  http::ClientOptions o;
  o.concurrency = 2;
  o.timeout = std::chrono::seconds(common.timeout > 0 ? common.timeout : 30);
  o.retries = 1;
  o.backoff = std::chrono::milliseconds(500);
  o.user_agent = std::string("watchstate/") + WS_VERSION;
  return o;
}

ToolOutcome run_check(ToolContext& ctx, const ConfigArgs& args) {
  ctx.config = load_tool_config(ctx.common);
  auto results = std::make_shared<std::vector<setup::CheckResult>>(
      setup::check_config(ctx.services, ctx.config, ctx.run_options()));
  ToolOutcome outcome;
  outcome.print_human_always = true;
  int failed = 0;
  int warnings = 0;
  for (const auto& r : *results) {
    const std::string where =
        r.identity == "main" ? r.backend : fmt::format("{}/{}", r.identity, r.backend);
    // -q (cron): only what needs attention, so that a clean run prints nothing.
    if (!ctx.common.quiet || r.status != setup::CheckStatus::ok) {
      outcome.human += fmt::format("{:<8} {:<24} {:<10} {}\n", setup::check_status_name(r.status),
                                   where, r.check, r.message);
    }
    if (r.status == setup::CheckStatus::failed) {
      ++failed;
      outcome.exit_code = std::max(outcome.exit_code, exit_code_for(r.kind));
      outcome.errors.push_back({r.identity, r.backend, r.kind, r.message, ""});
    } else if (r.status == setup::CheckStatus::warning) {
      ++warnings;
    }
  }
  if (failed == 0 && warnings > 0 && args.strict) {
    outcome.exit_code = exit_code::attention;
  }
  if (!ctx.common.quiet) {
    outcome.human +=
        fmt::format("{} checks: {} failed, {} warnings\n", results->size(), failed, warnings);
  }
  outcome.write_result = [results, failed, warnings](json::Writer& out) {
    out.begin_object();
    out.key("checks").begin_array();
    for (const auto& r : *results) {
      out.begin_object();
      out.field("identity", r.identity);
      out.field("backend", r.backend);
      out.field("check", r.check);
      out.field("status", setup::check_status_name(r.status));
      if (r.status == setup::CheckStatus::failed) {
        out.field("kind", errc_name(r.kind));
      }
      out.field("message", r.message);
      out.end_object();
    }
    out.end_array();
    out.field("failed", failed);
    out.field("warnings", warnings);
    out.end_object();
  };
  return outcome;
}

ToolOutcome run_add(ToolContext& ctx, const ConfigArgs& args) {
  setup::NewBackend wanted;
  wanted.name = args.name;
  wanted.type = parse_type(args.type);
  wanted.url = args.url;
  while (!wanted.url.empty() && wanted.url.back() == '/') {
    wanted.url.pop_back();
  }
  wanted.token = read_token(args);
  if (!args.token_file.empty()) {
    wanted.token_file = std::filesystem::absolute(args.token_file).lexically_normal().string();
  }
  wanted.token_env = args.token_env;
  wanted.user = args.user;
  wanted.verify_tls = !args.no_verify_tls;
  if (args.plextv_url != "https://plex.tv") {
    if (wanted.type != model::BackendType::plex) {
      throw Error(Errc::usage, "--plextv-url is for a Plex backend");
    }
    wanted.plextv_url = args.plextv_url;
  }
  auto client = setup_client(ctx.common);
  client.verify_tls = wanted.verify_tls;
  const auto probed =
      std::make_shared<setup::ProbedBackend>(setup::probe_backend(ctx.services, wanted, client));
  const auto entry = std::make_shared<std::string>(setup::backend_entry_yaml(wanted, *probed));

  ToolOutcome outcome;
  outcome.print_human_always = true;
  if (!args.append.empty() && !ctx.common.dry_run) {
    setup::append_backend_entry(args.append, wanted.name, *entry);
    outcome.human = fmt::format("{}: backend '{}' added; check it with: ws-config check -c {} "
                                "-s {}\n",
                                args.append, wanted.name, args.append, wanted.name);
  } else {
    outcome.human = "backends:\n" + *entry;
  }
  const std::string appended = ctx.common.dry_run ? std::string() : args.append;
  outcome.write_result = [probed, entry, name = wanted.name, appended](json::Writer& out) {
    out.begin_object();
    out.field("name", name);
    out.key("server").begin_object();
    out.field("id", probed->server.id);
    out.field("name", probed->server.name);
    out.field("version", probed->server.version);
    out.end_object();
    out.field("user", probed->user_id);
    out.key("users").begin_array();
    for (const auto& u : probed->users) {
      out.begin_object()
          .field("id", u.id)
          .field("name", u.name)
          .field("admin", u.admin)
          .end_object();
    }
    out.end_array();
    out.key("libraries").begin_array();
    for (const auto& l : probed->libraries) {
      out.begin_object().field("id", l.id).field("title", l.title).end_object();
    }
    out.end_array();
    out.field("entry", *entry);
    if (!appended.empty()) {
      out.field("appended_to", appended);
    }
    out.end_object();
  };
  return outcome;
}

void write_servers_json(json::Writer& out,
                        const std::vector<backend::plex::AccountServer>& servers) {
  out.key("servers").begin_array();
  for (const auto& s : servers) {
    out.begin_object();
    out.field("name", s.name);
    out.field("uuid", s.machine_id);
    out.field("version", s.version);
    out.field("owned", s.owned);
    out.key("connections").begin_array();
    for (const auto& c : s.connections) {
      out.begin_object()
          .field("uri", c.uri)
          .field("local", c.local)
          .field("relay", c.relay)
          .end_object();
    }
    out.end_array();
    out.end_object();
  }
  out.end_array();
}

std::string servers_text(const std::vector<backend::plex::AccountServer>& servers) {
  std::string text;
  for (const auto& s : servers) {
    text += fmt::format("{}  uuid {}  version {}{}\n", s.name, s.machine_id, s.version,
                        s.owned ? "  (owned)" : "  (shared with you)");
    for (const auto& c : s.connections) {
      text +=
          fmt::format("    {}  {}\n", c.uri, c.relay ? "relay" : (c.local ? "local" : "remote"));
    }
  }
  return text.empty() ? std::string("no server reachable with this account\n") : text;
}

ToolOutcome run_plex_login(ToolContext& ctx, const ConfigArgs& args) {
  require_output(args, ctx.common);
  backend::plex::PlexAccount account(args.plextv_url,
                                     ctx.services.http_client(setup_client(ctx.common)));
  const auto pin = account.request_pin();
  // The one line the person must see, whatever else is quiet: on stderr, so that stdout stays
  // the token's (--print-token) or the JSON document's.
  std::fprintf(stderr, "Open https://plex.tv/link and enter the code %s (waiting for it%s)\n",
               pin.code.c_str(),
               pin.expires_in > 0
                   ? fmt::format("; valid {} minutes", (pin.expires_in + 59) / 60).c_str()
                   : "");
  std::fflush(stderr);
  const int wait = args.wait_seconds > 0
                       ? args.wait_seconds
                       : static_cast<int>(pin.expires_in > 0 ? pin.expires_in : 1800);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait);
  std::optional<std::string> token;
  while (!(token = account.check_pin(pin))) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(Errc::tempfail, fmt::format("plex.tv: the code {} was not entered within {} "
                                              "seconds; run ws-config plex-login again",
                                              pin.code, wait));
    }
    for (int slept = 0; slept < args.poll_ms; slept += 50) {
      throw_if_interrupted();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  auto servers =
      std::make_shared<std::vector<backend::plex::AccountServer>>(account.servers(*token));
  ToolOutcome outcome;
  outcome.print_human_always = !args.print_token;
  hand_over_token(args, *token, outcome);
  outcome.human += "signed in to plex.tv; servers of this account:\n" + servers_text(*servers);
  if (args.print_token) {
    std::fwrite(outcome.human.data(), 1, outcome.human.size(), stderr);
    outcome.human.clear();
  }
  outcome.write_result = [servers, file = args.token_file](json::Writer& out) {
    out.begin_object();
    out.field("token_file", file);
    write_servers_json(out, *servers);
    out.end_object();
  };
  return outcome;
}

ToolOutcome run_plex_servers(ToolContext& ctx, const ConfigArgs& args) {
  const std::string token = read_token(args);
  backend::plex::PlexAccount account(args.plextv_url,
                                     ctx.services.http_client(setup_client(ctx.common)));
  auto servers =
      std::make_shared<std::vector<backend::plex::AccountServer>>(account.servers(token));
  ToolOutcome outcome;
  outcome.print_human_always = true;
  outcome.human = servers_text(*servers);
  outcome.write_result = [servers](json::Writer& out) {
    out.begin_object();
    write_servers_json(out, *servers);
    out.end_object();
  };
  return outcome;
}

ToolOutcome run_mediabrowser_login(ToolContext& ctx, const ConfigArgs& args,
                                   model::BackendType type) {
  require_output(args, ctx.common);
  if (args.url.empty() || args.user.empty()) {
    throw Error(Errc::usage, "give the server as --url URL and the user name as --user NAME");
  }
  const std::string password =
      read_password(fmt::format("Password for {} at {}: ", args.user, args.url));
  backend::mediabrowser::MediaBrowserAccount server(
      std::string(model::backend_type_name(type)), type, args.url,
      ctx.services.http_client(setup_client(ctx.common)));
  auto login =
      std::make_shared<backend::mediabrowser::LoginResult>(server.login(args.user, password));
  ToolOutcome outcome;
  outcome.print_human_always = !args.print_token;
  hand_over_token(args, login->access_token, outcome);
  outcome.human +=
      fmt::format("logged in as {} (user id {}{}) on server {}\n", login->user_name, login->user_id,
                  login->admin ? ", an administrator" : "", login->server_id);
  if (!args.token_file.empty()) {
    outcome.human +=
        fmt::format("next: ws-config add NAME --type {} --url {} --token-file {} "
                    "--user {}\n",
                    model::backend_type_name(type), args.url, args.token_file, login->user_id);
  }
  if (args.print_token) {
    std::fwrite(outcome.human.data(), 1, outcome.human.size(), stderr);
    outcome.human.clear();
  }
  outcome.write_result = [login, file = args.token_file](json::Writer& out) {
    out.begin_object();
    out.field("user_id", login->user_id);
    out.field("user_name", login->user_name);
    out.field("admin", login->admin);
    out.field("server_id", login->server_id);
    out.field("token_file", file);
    out.end_object();
  };
  return outcome;
}

ToolOutcome run_webhook(ToolContext& ctx, const ConfigArgs& args) {
  ctx.config = load_tool_config(ctx.common);
  const std::string address = setup::webhook_address(ctx.config, args.public_url);
  const auto backends = config::backends_for_identity(ctx.config, "main");
  std::vector<const config::BackendConfig*> targets;
  for (const auto& b : backends) {
    if (args.name.empty() ? sync::backend_selected(ctx.run_options(), b.name)
                          : b.name == args.name) {
      targets.push_back(&b);
    }
  }
  if (!args.name.empty() && targets.empty()) {
    std::vector<std::string> names;
    for (const auto& b : backends) {
      names.push_back(b.name);
    }
    throw Error(Errc::usage,
                fmt::format("no backend '{}' (configured: {})", args.name, fmt::join(names, ", ")));
  }
  auto setups = std::make_shared<std::vector<setup::WebhookSetup>>();
  ToolOutcome outcome;
  outcome.print_human_always = true;
  for (const auto* backend : targets) {
    try {
      setups->push_back(
          setup::setup_webhook(ctx.services, ctx.config, *backend, address, ctx.run_options()));
    } catch (const Error& e) {
      outcome.errors.push_back({"main", backend->name, e.code(), redact(e.what()), ""});
      outcome.exit_code = std::max(outcome.exit_code, exit_code_for(e.code()));
      log::error("{}", redact(e.what()));
    }
  }
  for (const auto& s : *setups) {
    outcome.human += fmt::format("{:<20} {:<10} {}\n", s.backend, s.result, s.where);
    if (!s.steps.empty()) {
      for (const auto& line : lines_of(s.steps)) {
        outcome.human += fmt::format("    {}\n", line);
      }
      if (outcome.exit_code == 0) {
        outcome.exit_code = exit_code::attention;
      }
    }
  }
  outcome.write_result = [setups](json::Writer& out) {
    out.begin_object();
    out.key("backends").begin_array();
    for (const auto& s : *setups) {
      out.begin_object();
      out.field("backend", s.backend);
      out.field("result", s.result);
      out.field("where", s.where);
      if (!s.steps.empty()) {
        out.key("steps").begin_array();
        for (const auto& line : lines_of(s.steps)) {
          out.value(line);
        }
        out.end_array();
      }
      out.end_object();
    }
    out.end_array();
    out.end_object();
  };
  return outcome;
}

} // namespace

int config_main(int argc, char** argv) {
  auto args = std::make_shared<ConfigArgs>();
  ToolDefinition tool{
      "ws-config",
      "Connect real servers: check a config against them, write a new backend's entry, sign in "
      "to plex.tv, log in to Jellyfin/Emby, register webhooks",
      false,
      [args](CLI::App& cli) {
        cli.require_subcommand(1);
        auto& a = *args;
        a.check = cli.add_subcommand("check", "Ask every backend what the tools need; one line "
                                              "per check; writes nothing");
        a.check->add_flag("--strict", a.strict, "Exit 1 on warnings too");

        a.add = cli.add_subcommand("add", "Ask a server for its id, users and libraries and "
                                          "print its backends: entry");
        a.add->add_option("NAME", a.name, "Backend name ([a-z0-9_]+)")->required();
        a.add->add_option("--type", a.type, "plex, jellyfin or emby")->required();
        a.add->add_option("--url", a.url, "Server address, http(s)://host:port")->required();
        a.add->add_option("--token-file", a.token_file, "File holding the token");
        a.add->add_option("--token-env", a.token_env, "Environment variable holding the token");
        a.add->add_option("--user", a.user, "User id or name to sync (Plex default: the owner)");
        a.add->add_option("--append", a.append, "Add the entry to this config file");
        a.add->add_flag("--no-verify-tls", a.no_verify_tls, "Accept any TLS certificate");
        a.add->add_option("--plextv-url", a.plextv_url,
                          "Plex: where plex.tv answers (written as options.plextv_url)");

        a.plex_login = cli.add_subcommand("plex-login", "Sign in to plex.tv with a PIN "
                                                        "(plex.tv/link) and store the token");
        a.plex_login->add_option("--token-file", a.token_file, "Write the token here (mode 0600)");
        a.plex_login->add_flag("--print-token", a.print_token, "Print the token on stdout");
        a.plex_login
            ->add_option("--wait", a.wait_seconds,
                         "Seconds to wait for the code (default: until it expires)")
            ->check(CLI::Range(1, 86400));
        a.plex_login->add_option("--plextv-url", a.plextv_url, "Where plex.tv answers");
        a.plex_login->add_option("--poll-ms", a.poll_ms, "Milliseconds between checks (1000)")
            ->check(CLI::Range(50, 60000))
            ->group("");

        a.plex_servers = cli.add_subcommand("plex-servers", "List the servers a Plex account "
                                                            "reaches, with their addresses");
        a.plex_servers->add_option("--token-file", a.token_file, "File holding the account token");
        a.plex_servers->add_option("--token-env", a.token_env,
                                   "Variable holding the account token");
        a.plex_servers->add_option("--plextv-url", a.plextv_url, "Where plex.tv answers");

        for (auto* login : {&a.jellyfin_login, &a.emby_login}) {
          const bool jellyfin = login == &a.jellyfin_login;
          *login = cli.add_subcommand(jellyfin ? "jellyfin-login" : "emby-login",
                                      "Log in with a user name and a password (read from the "
                                      "terminal or stdin) and store the access token");
          (*login)->add_option("--url", a.url, "Server address")->required();
          (*login)->add_option("--user", a.user, "User name")->required();
          (*login)->add_option("--token-file", a.token_file, "Write the token here (mode 0600)");
          (*login)->add_flag("--print-token", a.print_token, "Print the token on stdout");
        }

        a.webhook = cli.add_subcommand("webhook", "Register ws-webhook's address on a backend, "
                                                  "or print the steps where its API cannot");
        a.webhook->add_option("NAME", a.name, "Backend (default: every selected backend)");
        a.webhook->add_option("--url", a.public_url,
                              "Address the servers reach ws-webhook at (default: "
                              "http://<webhook.listen>/webhook)");
      },
      [args](ToolContext& ctx) -> ToolOutcome {
        auto& a = *args;
        if (a.check->parsed()) {
          return run_check(ctx, a);
        }
        if (a.add->parsed()) {
          return run_add(ctx, a);
        }
        if (a.plex_login->parsed()) {
          return run_plex_login(ctx, a);
        }
        if (a.plex_servers->parsed()) {
          return run_plex_servers(ctx, a);
        }
        if (a.jellyfin_login->parsed()) {
          return run_mediabrowser_login(ctx, a, model::BackendType::jellyfin);
        }
        if (a.emby_login->parsed()) {
          return run_mediabrowser_login(ctx, a, model::BackendType::emby);
        }
        return run_webhook(ctx, a);
      }};
  return run_tool(tool, argc, argv);
}

} // namespace ws::app

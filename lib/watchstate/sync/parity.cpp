// SPDX-License-Identifier: MIT
#include <watchstate/sync/parity.hpp>

#include <watchstate/core/exit_code.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/display.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace ws::sync {
namespace {

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out += out.empty() ? p : ", " + p;
  }
  return out;
}

bool wanted(const ParityOptions& options, std::string_view check) {
  return options.checks.empty() ||
         std::find(options.checks.begin(), options.checks.end(), check) != options.checks.end();
}

} // namespace

int ParityResult::exit_code() const {
  return findings.empty() ? exit_code::ok : exit_code::attention;
}

ParityResult run_parity(const config::Config& config, db::StateStore& store,
                        const RunOptions& options, const ParityOptions& parity) {
  validate_backend_filter(config, options);
  for (const auto& check : parity.checks) {
    if (std::find(k_parity_checks.begin(), k_parity_checks.end(), check) == k_parity_checks.end()) {
      throw Error(Errc::usage, fmt::format("--check {}: no such check; known: {}", check,
                                           join(k_parity_checks)));
    }
  }
  ParityResult result;
  result.identity = options.identity.value_or("main");
  result.live = parity.live;
  for (const auto& b : config::backends_for_identity(config, result.identity)) {
    if (backend_selected(options, b.name)) {
      result.backends.push_back(b.name);
    }
  }
  const std::size_t min_backends =
      parity.min_backends > 0 ? parity.min_backends : result.backends.size();
  const std::int64_t tolerance_ms = static_cast<std::int64_t>(config.progress.minimum) * 1000;

  std::vector<db::ItemRow> rows;
  db::ListFilter filter;
  filter.identity = result.identity;
  store.list_items(filter, [&](const db::ItemRow& row) { rows.push_back(row); });
  result.items = rows.size();

  std::map<std::pair<std::string, std::string>, db::ItemId> files; // (backend, path) -> row
  for (const auto& row : rows) {
    const std::string title = display_title(row);
    auto records = store.records(row.id);
    std::erase_if(records, [&](const db::BackendRecord& r) {
      return std::find(result.backends.begin(), result.backends.end(), r.backend) ==
             result.backends.end();
    });
    auto add = [&](const char* check, std::string detail, std::vector<std::string> backends) {
      result.findings.push_back({check, row.id, title, std::move(detail), std::move(backends)});
    };

    if (wanted(parity, "missing") && records.size() < min_backends) {
      std::vector<std::string> absent;
      for (const auto& b : result.backends) {
        if (std::none_of(records.begin(), records.end(),
                         [&](const auto& r) { return r.backend == b; })) {
          absent.push_back(b);
        }
      }
      add("missing", "not on " + join(absent), absent);
    }

    std::vector<std::string> played;
    std::vector<std::string> unplayed;
    for (const auto& r : records) {
      (r.watched ? played : unplayed).push_back(r.backend);
    }
    if (wanted(parity, "played") && !played.empty() && !unplayed.empty()) {
      add("played", fmt::format("played on {}; unplayed on {}", join(played), join(unplayed)),
          unplayed);
    }

    if (wanted(parity, "progress")) {
      std::int64_t low = -1;
      std::int64_t high = -1;
      std::vector<std::string> with_position;
      for (const auto& r : records) {
        if (!r.watched) {
          low = low < 0 ? r.progress_ms : std::min(low, r.progress_ms);
          high = std::max(high, r.progress_ms);
          with_position.push_back(fmt::format("{} {}s", r.backend, r.progress_ms / 1000));
        }
      }
      if (high >= 0 && high - low > tolerance_ms && high >= tolerance_ms) {
        add("progress", "positions differ: " + join(with_position), {});
      }
    }

    if (wanted(parity, "id_conflict")) {
      std::map<backend::GuidKey, std::vector<std::pair<std::string, std::string>>> by_key;
      for (const auto& r : records) {
        for (const auto& g : r.guids) {
          by_key[g.key].emplace_back(g.value, r.backend);
        }
      }
      for (const auto& [key, values] : by_key) {
        const bool differ = std::any_of(values.begin(), values.end(), [&](const auto& v) {
          return v.first != values.front().first;
        });
        if (differ) {
          std::vector<std::string> parts;
          std::vector<std::string> backends;
          for (const auto& [value, backend] : values) {
            parts.push_back(fmt::format("{} ({})", value, backend));
            backends.push_back(backend);
          }
          add("id_conflict", fmt::format("{}: {}", backend::guid_key_name(key), join(parts)),
              backends);
        }
      }
    }

    if (wanted(parity, "duplicate_id")) {
      const char* type = row.type == backend::MediaType::episode ? "episode" : "movie";
      std::map<std::string, std::vector<std::string>> seen;
      for (const auto& r : records) {
        for (const auto& g : r.guids) {
          seen[fmt::format("{}://{}/{}", backend::guid_key_name(g.key), g.value, type)].push_back(
              r.backend);
        }
      }
      for (const auto& [key, backends] : seen) {
        const auto owner = store.find_by_key(result.identity, key);
        if (owner && *owner != row.id) {
          add("duplicate_id", fmt::format("{} also identifies item #{}", key, *owner), backends);
        }
      }
    }

    if (wanted(parity, "duplicate_file")) {
      for (const auto& r : records) {
        if (r.path.empty() || r.multi) {
          continue;
        }
        const auto [it, inserted] = files.emplace(std::make_pair(r.backend, r.path), row.id);
        if (!inserted && it->second != row.id) {
          add("duplicate_file", fmt::format("{} on {} is also item #{}", r.path, r.backend,
                                            it->second),
              {r.backend});
        }
      }
    }

    if (wanted(parity, "metadata")) {
      // Type cannot differ (the matching keys carry it). An episode's year is its air year on
      // some servers and its series' year on others, so only a movie's year is compared.
      std::map<std::string, std::vector<std::string>> said; // value -> backends saying it
      for (const auto& r : records) {
        if (row.type == backend::MediaType::movie && r.year > 0) {
          said[fmt::format("year {}", r.year)].push_back(r.backend);
        } else if (row.type == backend::MediaType::episode && r.season >= 0 && r.episode >= 0) {
          said[fmt::format("{}x{:02}", r.season, r.episode)].push_back(r.backend);
        }
      }
      if (said.size() > 1) {
        std::vector<std::string> parts;
        std::vector<std::string> backends;
        for (const auto& [value, by] : said) {
          parts.push_back(fmt::format("{} ({})", value, join(by)));
          backends.insert(backends.end(), by.begin(), by.end());
        }
        add("metadata", "backends disagree: " + join(parts), backends);
      }
    }

    if (wanted(parity, "weak") && !records.empty() &&
        std::all_of(records.begin(), records.end(), [](const auto& r) { return r.guids.empty(); })) {
      add("weak", "matched only through its show's ids and the season/episode numbers", {});
    }
  }

  if (parity.prune) {
    result.pruned = store.prune_unreported(result.identity, options.dry_run);
  }
  return result;
}

void write_parity_result(json::Writer& out, const ParityResult& result) {
  out.begin_object();
  out.field("identity", result.identity);
  out.field("live", result.live);
  out.key("backends").begin_array();
  for (const auto& b : result.backends) {
    out.value(b);
  }
  out.end_array();
  out.field("items", result.items);
  out.key("counts").begin_object();
  for (const auto& check : k_parity_checks) {
    out.field(check, static_cast<std::uint64_t>(std::count_if(
                         result.findings.begin(), result.findings.end(),
                         [&](const auto& f) { return f.check == check; })));
  }
  out.end_object();
  out.key("findings").begin_array();
  for (const auto& f : result.findings) {
    out.begin_object();
    out.field("check", f.check);
    out.field("item", f.item);
    out.field("title", f.title);
    out.field("detail", f.detail);
    out.key("backends").begin_array();
    for (const auto& b : f.backends) {
      out.value(b);
    }
    out.end_array();
    out.end_object();
  }
  out.end_array();
  out.key("pruned").begin_array();
  for (const auto& row : result.pruned) {
    out.begin_object().field("item", row.id).field("title", display_title(row)).end_object();
  }
  out.end_array();
  out.end_object();
}

} // namespace ws::sync

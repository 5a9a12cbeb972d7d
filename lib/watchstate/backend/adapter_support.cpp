// SPDX-License-Identifier: MIT
#include <watchstate/backend/adapter_support.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/text.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace ws::backend::detail {

std::vector<PageWindow> plan_pages(std::int64_t total, int page_size) {
  const std::int64_t size = std::max(page_size, 1);
  std::vector<PageWindow> pages;
  const std::int64_t count = total > 0 ? (total + size - 1) / size : 0;
  pages.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    pages.push_back(PageWindow{i * size, size, i + 1 == count});
  }
  return pages;
}

std::optional<PageWindow> follow_up_page(const PageWindow& page, std::int64_t received,
                                         std::int64_t total) {
  const std::int64_t end = page.start + page.size;
  if (received <= 0) {
    return std::nullopt;
  }
  if (received < page.size && page.start + received < total) {
    return PageWindow{page.start + received, page.size - received, page.last};
  }
  if (page.last && received >= page.size && end < total) {
    return PageWindow{end, page.size, true};
  }
  return std::nullopt;
}

std::string_view header_value(const http::Response& response, std::string_view name) {
  const auto equal = [name](const http::Header& h) { return iequals(h.name, name); };
  const auto it = std::find_if(response.headers.begin(), response.headers.end(), equal);
  return it == response.headers.end() ? std::string_view{} : std::string_view(it->value);
}

std::string url_for_message(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme != std::string_view::npos) {
    const auto path = url.find('/', scheme + 3);
    url = path == std::string_view::npos ? std::string_view("/") : url.substr(path);
  }
  return redact(url);
}

std::string_view token_source(BackendType type) {
  switch (type) {
  case BackendType::plex:
    return "a Plex token comes from `ws-config plex-login`, or Plex Web's View XML "
           "(the X-Plex-Token in its address)";
  case BackendType::jellyfin:
    return "a Jellyfin token is an API key (Dashboard > API Keys) or comes from "
           "`ws-config jellyfin-login`";
  case BackendType::emby:
    return "an Emby token is an API key (Settings > API Keys) or comes from "
           "`ws-config emby-login`";
  }
  return "";
}

void check_outcome(std::string_view backend, std::string_view url, const http::Outcome& outcome,
                   std::string_view refused_hint) {
  if (outcome.error == http::TransportError::tls) {
    // A certificate that cannot be verified fails the same way on every retry: "try again
    // later" (75) would be a lie, so it is a protocol failure (76), like an unparsable answer.
    throw Error(Errc::protocol,
                fmt::format("{}: TLS failure talking to {}: {} (the certificate must be valid for "
                            "the URL, or set options.verify_tls: false for this backend)",
                            backend, url_for_message(url), redact(outcome.error_message)));
  }
  if (!outcome.transport_ok()) {
    throw Error(Errc::tempfail, fmt::format("{}: request to {} failed: {}", backend,
                                            url_for_message(url), redact(outcome.error_message)));
  }
  const long status = outcome.response.status;
  if (status >= 200 && status < 300) {
    return;
  }
  if (status == 401 || status == 403) {
    throw Error(Errc::no_perm,
                fmt::format("{}: the server refused the token (HTTP {}){}{}", backend, status,
                            refused_hint.empty() ? "" : "; ", refused_hint));
  }
  if (status == 429 || status >= 500) {
    throw Error(Errc::tempfail,
                fmt::format("{}: HTTP {} from {}", backend, status, url_for_message(url)));
  }
  throw Error(Errc::protocol,
              fmt::format("{}: unexpected HTTP {} from {}", backend, status, url_for_message(url)));
}

http::Outcome send_checked(http::Client& client, std::string_view backend, http::Request request,
                           long tolerated, std::string_view refused_hint) {
  const std::string url = request.url;
  http::Outcome result;
  std::vector<http::Request> batch;
  batch.push_back(std::move(request));
  client.send_all(std::move(batch),
                  [&result](std::size_t, http::Outcome& outcome) { result = std::move(outcome); });
  if (tolerated != 0 && result.transport_ok() && result.response.status == tolerated) {
    return result;
  }
  check_outcome(backend, url, result, refused_hint);
  return result;
}

void throw_protocol(std::string_view backend, std::string_view what, std::string_view url,
                    std::string_view why) {
  throw Error(Errc::protocol,
              fmt::format("{}: {} from {}: {}", backend, what, url_for_message(url), why));
}

std::string_view write_action_name(WriteAction action) {
  switch (action) {
  case WriteAction::mark_played: return "mark_played";
  case WriteAction::mark_unplayed: return "mark_unplayed";
  case WriteAction::set_progress: return "set_progress";
  case WriteAction::reset_progress: return "reset_progress";
  }
  return "write";
}

WriteOutcome failed_write(std::string_view backend, const WriteRequest& request, Errc kind,
                          std::string_view why) {
  WriteOutcome result;
  result.ok = false;
  result.kind = kind;
  result.message = redact(fmt::format("{}: {} of item {} failed: {}", backend,
                                      write_action_name(request.action), request.remote_id, why));
  return result;
}

WriteOutcome write_outcome(std::string_view backend, const WriteRequest& request,
                           const http::Outcome& outcome) {
  if (outcome.error == http::TransportError::tls) {
    return failed_write(backend, request, Errc::protocol, "TLS failure: " + outcome.error_message);
  }
  if (!outcome.transport_ok()) {
    return failed_write(backend, request, Errc::tempfail,
                        outcome.error_message.empty() ? std::string("transport error")
                                                      : outcome.error_message);
  }
  const long status = outcome.response.status;
  if (status >= 200 && status < 300) {
    WriteOutcome result;
    result.ok = true;
    return result;
  }
  const std::string why = fmt::format("HTTP {}", status);
  if (status == 401 || status == 403) {
    return failed_write(backend, request, Errc::no_perm, why);
  }
  if (status == 404) {
    return failed_write(backend, request, Errc::protocol, why + " (item not found)");
  }
  if (status == 429 || status >= 500) {
    return failed_write(backend, request, Errc::tempfail, why);
  }
  return failed_write(backend, request, Errc::protocol, why);
}

std::vector<std::vector<std::string>> chunks(const std::vector<std::string>& ids,
                                             std::size_t size) {
  size = std::max<std::size_t>(size, 1);
  std::vector<std::vector<std::string>> out;
  for (std::size_t start = 0; start < ids.size(); start += size) {
    const auto end = std::min(ids.size(), start + size);
    out.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(start),
                     ids.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

std::string join_encoded(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) {
      out += ',';
    }
    out += url_encode(id);
  }
  return out;
}

std::string playlist_subject(const std::string& playlist_id) {
  return fmt::format("playlist {}", playlist_id);
}

std::string entry_subject(const std::string& playlist_id, const std::string& entry_id) {
  return fmt::format("entry {} of playlist {}", entry_id, playlist_id);
}

void throw_not_found(std::string_view backend, std::string_view subject, std::string_view url) {
  throw Error(Errc::protocol, fmt::format("{}: {} not found (HTTP 404 from {})", backend, subject,
                                          url_for_message(url)));
}

void check_playlist_outcome(std::string_view backend, std::string_view url,
                            const http::Outcome& outcome, std::string_view subject,
                            std::string_view refused_hint, bool gone_is_done) {
  if (outcome.transport_ok() && outcome.response.status == 404) {
    if (gone_is_done && outcome.attempts > 1) {
      log::debug("{}: {} was already gone when a retry of its removal arrived", backend, subject);
      return;
    }
    throw_not_found(backend, subject, url);
  }
  check_outcome(backend, url, outcome, refused_hint);
}

http::Outcome send_playlist_request(http::Client& client, std::string_view backend,
                                    http::Request request, std::string_view subject,
                                    std::string_view refused_hint, bool gone_is_done) {
  const std::string url = request.url;
  http::Outcome outcome = client.send(std::move(request));
  check_playlist_outcome(backend, url, outcome, subject, refused_hint, gone_is_done);
  return outcome;
}

namespace {

// Rounds of read_paged(); each advances every open listing by at least one entry, so only a
// server that keeps reporting more entries than it has (or a page size of 1 over a playlist of
// a hundred thousand entries) gets here.
constexpr int k_max_paged_rounds = 100000;

} // namespace

void read_paged(
    http::Client& client, std::string_view backend, std::size_t count, int page_size,
    const std::function<http::Request(std::size_t listing, std::int64_t start, std::int64_t size)>&
        make,
    const std::function<std::optional<PageRead>(std::size_t listing, http::Outcome& outcome,
                                                const std::string& url)>& read) {
  const std::int64_t size = std::max(page_size, 1);
  std::vector<std::int64_t> next(count, 0); // where each listing's next page starts
  std::vector<bool> done(count, false);
  for (int round = 0;; ++round) {
    std::vector<std::size_t> open;
    for (std::size_t i = 0; i < count; ++i) {
      if (!done[i]) {
        open.push_back(i);
      }
    }
    if (open.empty()) {
      return;
    }
    if (round == k_max_paged_rounds) {
      throw Error(Errc::protocol,
                  fmt::format("{}: still more pages after {} pages of a listing", backend, round));
    }
    std::vector<http::Request> requests;
    std::vector<std::string> urls;
    requests.reserve(open.size());
    for (const auto listing : open) {
      requests.push_back(make(listing, next[listing], size));
      urls.push_back(requests.back().url);
    }
    FirstError error;
    client.send_all(std::move(requests), [&](std::size_t index, http::Outcome& outcome) {
      error.run([&] {
        const std::size_t listing = open[index];
        const auto page = read(listing, outcome, urls[index]);
        if (!page || page->received <= 0) {
          done[listing] = true;
          return;
        }
        next[listing] += page->received;
        if (page->received > size) {
          // The server ignored the page size and sent everything at once.
          done[listing] = true;
        } else if (page->total >= 0) {
          done[listing] = next[listing] >= page->total;
        } else {
          done[listing] = page->received < size;
        }
      });
    });
    error.rethrow();
  }
}

} // namespace ws::backend::detail

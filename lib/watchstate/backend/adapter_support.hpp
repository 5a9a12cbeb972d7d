// SPDX-License-Identifier: MIT
// Internal helpers shared by the backend adapters (not part of the public backend API).
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/http/client.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws::backend::detail {

// One page of a paged listing: items [start, start + size). `last` marks the page that ends the
// planned listing, so that items the server gained since the count are fetched too.
struct PageWindow {
  std::int64_t start = 0;
  std::int64_t size = 0;
  bool last = false;
};

// Split `total` items into pages of `page_size` (at least 1); none when total is 0.
std::vector<PageWindow> plan_pages(std::int64_t total, int page_size);

// The request still needed after a page returned `received` items while the server reports
// `total`: the rest of a short page, or the items beyond the planned end. nullopt when none, or
// when the server returned nothing although it reports more (it would never make progress).
std::optional<PageWindow> follow_up_page(const PageWindow& page, std::int64_t received,
                                         std::int64_t total);

// The value of response header `name` (case-insensitive), "" when absent.
std::string_view header_value(const http::Response& response, std::string_view name);

// The path and query of `url` with secrets redacted, for messages.
std::string url_for_message(std::string_view url);

// Percent-encode a query parameter value.
using ws::url_encode;

// Throw the ws::Error an unsuccessful outcome deserves: no_perm for 401/403, tempfail for
// transport failures, 429 and 5xx, protocol for a TLS failure (an unverifiable certificate) and
// any other non-2xx status. Returns on 2xx.
// `refused_hint` is added to the 401/403 message: where this kind of server's token comes from.
void check_outcome(std::string_view backend, std::string_view url, const http::Outcome& outcome,
                   std::string_view refused_hint = {});

// Where a token for a server of `type` comes from, for messages about a refused one.
std::string_view token_source(BackendType type);

// Send one request through `client` and return its outcome after check_outcome(); a status in
// `tolerated` (e.g. 404 for an item that may be gone) is returned instead of thrown.
http::Outcome send_checked(http::Client& client, std::string_view backend, http::Request request,
                           long tolerated = 0, std::string_view refused_hint = {});

// Throw Errc::protocol "<backend>: <what> from <url>: <why>".
[[noreturn]] void throw_protocol(std::string_view backend, std::string_view what,
                                 std::string_view url, std::string_view why);

// The JSON name of a write action ("mark_played", ...), for messages.
std::string_view write_action_name(WriteAction action);

// The outcome of one write: ok for 2xx; otherwise no_perm for 401/403, tempfail for transport
// failures, 429 and 5xx, protocol for any other status (404 means the item is gone), with the
// message "<backend>: <action> of item <id> failed: <why>".
WriteOutcome write_outcome(std::string_view backend, const WriteRequest& request,
                           const http::Outcome& outcome);

// A failed outcome of `kind` with the message "<backend>: <action> of item <id> failed: <why>".
WriteOutcome failed_write(std::string_view backend, const WriteRequest& request, Errc kind,
                          std::string_view why);

// --- Playlists ---

// Item or entry ids sent in one playlist request at most, where the API takes a list in the URL
// (create, add, remove): keeps URLs bounded however long the playlist.
inline constexpr std::size_t k_playlist_chunk = 100;

// `ids` cut into runs of at most `size` (at least 1), in order; none when `ids` is empty.
std::vector<std::vector<std::string>> chunks(const std::vector<std::string>& ids, std::size_t size);

// `ids` percent-encoded one by one and joined with literal commas ("a,b,c"), for a query value
// the server splits on commas.
std::string join_encoded(const std::vector<std::string>& ids);

// What a playlist request is about, for messages: "playlist <id>", "entry <id> of playlist <id>".
std::string playlist_subject(const std::string& playlist_id);
std::string entry_subject(const std::string& playlist_id, const std::string& entry_id);

// Throw Errc::protocol "<backend>: <subject> not found (HTTP 404 from <url>)", where `subject`
// names what the server does not know ("playlist 12", "entry 3 of playlist 12").
[[noreturn]] void throw_not_found(std::string_view backend, std::string_view subject,
                                  std::string_view url);

// check_outcome() for a request about a playlist: a 404 throws throw_not_found(subject) instead
// of the generic "unexpected HTTP 404". With `gone_is_done`, a 404 to a request the client had
// to send more than once returns instead: a removal whose earlier attempt went through although
// its answer was lost (the playlist or entry is gone, as asked).
void check_playlist_outcome(std::string_view backend, std::string_view url,
                            const http::Outcome& outcome, std::string_view subject,
                            std::string_view refused_hint, bool gone_is_done = false);

// Send one request through `client` and return its outcome after check_playlist_outcome().
http::Outcome send_playlist_request(http::Client& client, std::string_view backend,
                                    http::Request request, std::string_view subject,
                                    std::string_view refused_hint, bool gone_is_done = false);

// What one page of a paged listing held: `received` entries, of `total` the server reports (-1
// when it reports none).
struct PageRead {
  std::int64_t received = 0;
  std::int64_t total = -1;
};

// Read `count` paged listings (the entries of several playlists, say), each strictly in order:
// every round sends the next page of each listing not finished yet, together, so that many
// short listings cost one round and a long one a round per page. `make(listing, start, size)`
// builds the request for one page; `read(listing, outcome, url)` checks the outcome, parses the
// page, keeps what it holds and says how much that was (throwing ws::Error; nullopt ends the
// listing at once, e.g. a playlist that is gone). A listing ends with an empty page, once `start`
// reaches the total the server reports, or, when it reports none, with a short page. A server
// that keeps reporting more pages than any sane one fails the call with Errc::protocol.
void read_paged(
    http::Client& client, std::string_view backend, std::size_t count, int page_size,
    const std::function<http::Request(std::size_t listing, std::int64_t start, std::int64_t size)>&
        make,
    const std::function<std::optional<PageRead>(std::size_t listing, http::Outcome& outcome,
                                                const std::string& url)>& read);

// Remembers the first exception thrown inside a completion handler, so that the handler never
// throws through the HTTP client; later work is skipped and the error rethrown once the batch is
// done.
class FirstError {
public:
  template <typename F> void run(F&& work) {
    if (m_error) {
      return;
    }
    try {
      work();
    } catch (...) {
      m_error = std::current_exception();
    }
  }
  void rethrow() const {
    if (m_error) {
      std::rethrow_exception(m_error);
    }
  }

private:
  std::exception_ptr m_error;
};

} // namespace ws::backend::detail

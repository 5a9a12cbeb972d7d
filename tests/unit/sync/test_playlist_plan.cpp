// SPDX-License-Identifier: MIT
#include <watchstate/sync/playlist_plan.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>

using namespace ws;
using sync::PlaylistOp;

namespace {

constexpr UnixTime k_now = 1'800'000'000;

// Apply `ops` to `list` as a server would. Jellyfin/Emby place a moved entry at `index`
// (counted without it), Plex right after `after`; both must give the same list.
std::vector<backend::PlaylistEntry> apply(std::vector<backend::PlaylistEntry> list,
                                          const std::vector<PlaylistOp>& ops, bool by_index) {
  std::map<std::string, std::string> named;
  int next = 1000;
  for (const auto& op : ops) {
    switch (op.kind) {
    case PlaylistOp::Kind::remove:
      for (const auto& id : op.entry_ids) {
        auto it = std::find_if(list.begin(), list.end(), [&](auto& e) { return e.entry_id == id; });
        REQUIRE(it != list.end());
        list.erase(it);
      }
      break;
    case PlaylistOp::Kind::add:
      for (std::size_t k = 0; k < op.item_ids.size(); ++k) {
        const auto id = std::to_string(next++);
        named["new:" + std::to_string(k)] = id;
        list.push_back({id, op.item_ids[k]});
      }
      break;
    case PlaylistOp::Kind::move: {
      const auto real = [&](const std::string& id) {
        return id.starts_with("new:") ? named.at(id) : id;
      };
      auto it = std::find_if(list.begin(), list.end(),
                             [&](auto& e) { return e.entry_id == real(op.entry_id); });
      REQUIRE(it != list.end());
      const auto entry = *it;
      list.erase(it);
      std::size_t at = 0;
      if (by_index) {
        at = std::min(op.index, list.size());
      } else if (!op.after.empty()) {
        auto after = std::find_if(list.begin(), list.end(),
                                  [&](auto& e) { return e.entry_id == real(op.after); });
        REQUIRE(after != list.end());
        at = static_cast<std::size_t>(after - list.begin()) + 1;
      }
      list.insert(list.begin() + static_cast<std::ptrdiff_t>(at), entry);
      break;
    }
    default: FAIL("unexpected op");
    }
  }
  return list;
}

std::vector<std::string> items_of(const std::vector<backend::PlaylistEntry>& list) {
  std::vector<std::string> out;
  for (const auto& e : list) {
    out.push_back(e.item_id);
  }
  return out;
}

std::vector<backend::PlaylistEntry> entries(const std::vector<std::string>& items) {
  std::vector<backend::PlaylistEntry> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out.push_back({"e" + std::to_string(i), items[i]});
  }
  return out;
}

std::size_t count(const std::vector<PlaylistOp>& ops, PlaylistOp::Kind kind) {
  return static_cast<std::size_t>(
      std::count_if(ops.begin(), ops.end(), [&](const PlaylistOp& op) { return op.kind == kind; }));
}

// Three backends; local row N is item "pN" on plex, "jN" on jellyfin, "eN" on emby, except
// that row 9 is not on emby.
sync::PlaylistPlanInput three_backends() {
  sync::PlaylistPlanInput in;
  in.identity = "main";
  in.now = k_now;
  for (const char* name : {"plex", "jellyfin", "emby"}) {
    sync::PlaylistBackend b;
    b.name = name;
    b.has_edit_time = std::string(name) == "plex";
    in.backends.push_back(b);
  }
  in.copies_on = [](db::ItemId item, const std::string& backend) -> std::vector<std::string> {
    if (backend == "emby" && item == 9) {
      return {};
    }
    return {std::string(1, backend[0]) + std::to_string(item)};
  };
  return in;
}

sync::ObservedPlaylist observed(const std::string& backend, const std::string& id,
                                const std::string& title, const std::vector<db::ItemId>& rows,
                                UnixTime updated_at = 0) {
  sync::ObservedPlaylist o;
  o.remote.id = id;
  o.remote.title = title;
  o.remote.updated_at = updated_at;
  int n = 0;
  for (const auto row : rows) {
    o.remote.entries.push_back(
        {id + "-" + std::to_string(n++), std::string(1, backend[0]) + std::to_string(row)});
    o.local.emplace_back(row);
  }
  return o;
}

sync::ObservedPlaylist& add(sync::PlaylistPlanInput& in, std::size_t backend,
                            sync::ObservedPlaylist o) {
  in.backends[backend].playlists.push_back(std::move(o));
  return in.backends[backend].playlists.back();
}

// The state a run leaves when every copy holds `rows` (as the plan's next row, written back).
db::PlaylistRow synced(const std::string& title, const std::vector<db::ItemId>& rows,
                       const std::vector<std::pair<std::string, std::string>>& copies) {
  db::PlaylistRow row;
  row.id = 7;
  row.identity = "main";
  row.title = title;
  row.name_key = sync::playlist_name_key(title);
  row.items = rows;
  row.updated = k_now - 1000;
  row.source = "plex";
  row.synced_at = k_now - 1000;
  for (const auto& [backend, id] : copies) {
    row.copies.push_back({backend, id,
                          sync::playlist_signature(observed(backend, id, title, rows).remote),
                          false, k_now - 1000});
  }
  return row;
}

const sync::PlaylistTarget* target(const sync::PlannedPlaylist& p, const std::string& backend) {
  for (const auto& t : p.targets) {
    if (t.backend == backend) {
      return &t;
    }
  }
  return nullptr;
}

} // namespace

TEST_CASE("playlist_edit_ops turns any list into any other on both move conventions",
          "[sync][playlist]") {
  std::mt19937 rng(42);
  for (int round = 0; round < 400; ++round) {
    std::uniform_int_distribution<int> len(0, 9);
    std::uniform_int_distribution<int> pick(0, 5); // few items: duplicates are common
    std::vector<std::string> from;
    std::vector<std::string> to;
    for (int n = len(rng); n > 0; --n) {
      from.push_back("i" + std::to_string(pick(rng)));
    }
    for (int n = len(rng); n > 0; --n) {
      to.push_back("i" + std::to_string(pick(rng)));
    }
    const auto current = entries(from);
    const auto ops = sync::playlist_edit_ops(current, to);
    INFO("round " << round);
    CHECK(items_of(apply(current, ops, true)) == to);
    CHECK(items_of(apply(current, ops, false)) == to);
    CHECK(count(ops, PlaylistOp::Kind::remove) <= 1);
    CHECK(count(ops, PlaylistOp::Kind::add) <= 1);
    if (from == to) {
      CHECK(ops.empty());
    }
  }
}

TEST_CASE("playlist_edit_ops moves as few entries as the order allows", "[sync][playlist]") {
  // The last item to the front: one move, not three.
  auto ops = sync::playlist_edit_ops(entries({"a", "b", "c", "d"}), {"d", "a", "b", "c"});
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].kind == PlaylistOp::Kind::move);
  CHECK(ops[0].entry_id == "e3");
  CHECK(ops[0].index == 0);
  CHECK(ops[0].after.empty());
  // The first to the end: one move after the last entry.
  ops = sync::playlist_edit_ops(entries({"a", "b", "c", "d"}), {"b", "c", "d", "a"});
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].after == "e3");
  CHECK(ops[0].index == 3);
  // Removals and appends without any move.
  ops = sync::playlist_edit_ops(entries({"a", "x", "b"}), {"a", "b", "c"});
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].kind == PlaylistOp::Kind::remove);
  CHECK(ops[0].entry_ids == std::vector<std::string>{"e1"});
  CHECK(ops[1].kind == PlaylistOp::Kind::add);
  CHECK(ops[1].item_ids == std::vector<std::string>{"c"});
}

TEST_CASE("playlist_name_key trims and folds case", "[sync][playlist]") {
  CHECK(sync::playlist_name_key("  Friday Films ") == "friday films");
  CHECK(sync::playlist_name_key("FRIDAY films") == sync::playlist_name_key("friday FILMS"));
}

TEST_CASE("a new playlist is created on the backends that lack it", "[sync][playlist]") {
  auto in = three_backends();
  add(in, 0, observed("plex", "100", "Friday films", {1, 9, 2}, k_now - 50));
  const auto plan = sync::plan_playlists(in);
  REQUIRE(plan.playlists.size() == 1);
  const auto& p = plan.playlists[0];
  CHECK(p.action == "created");
  CHECK(p.source == "plex");
  CHECK(p.next.items == std::vector<db::ItemId>{1, 9, 2});
  CHECK(target(p, "plex") == nullptr); // the copy the list came from is never written
  const auto* jf = target(p, "jellyfin");
  REQUIRE(jf != nullptr);
  REQUIRE(jf->ops.size() == 1);
  CHECK(jf->ops[0].kind == PlaylistOp::Kind::create);
  CHECK(jf->ops[0].title == "Friday films");
  CHECK(jf->ops[0].item_ids == std::vector<std::string>{"j1", "j9", "j2"});
  const auto* emby = target(p, "emby");
  REQUIRE(emby != nullptr);
  CHECK(emby->ops[0].item_ids == std::vector<std::string>{"e1", "e2"}); // never guessed
  CHECK(emby->missing == std::vector<db::ItemId>{9});
}

TEST_CASE("a synced playlist nobody changed plans no write", "[sync][playlist]") {
  auto in = three_backends();
  in.known.push_back(
      synced("Friday films", {1, 2, 3}, {{"emby", "300"}, {"jellyfin", "200"}, {"plex", "100"}}));
  add(in, 0, observed("plex", "100", "Friday films", {1, 2, 3}, k_now - 999));
  add(in, 1, observed("jellyfin", "200", "Friday films", {1, 2, 3}));
  add(in, 2, observed("emby", "300", "Friday films", {1, 2, 3}));
  const auto plan = sync::plan_playlists(in);
  REQUIRE(plan.playlists.size() == 1);
  const auto& p = plan.playlists[0];
  CHECK(p.action == "unchanged");
  CHECK(p.targets.empty());
  CHECK(p.changed_on.empty());
  auto expected = in.known[0];
  expected.synced_at = k_now;
  CHECK(p.next == expected);
}

TEST_CASE("an edit on one backend reaches the others; the newest of two edits wins",
          "[sync][playlist]") {
  auto in = three_backends();
  in.known.push_back(
      synced("Friday films", {1, 2, 3}, {{"emby", "300"}, {"jellyfin", "200"}, {"plex", "100"}}));
  add(in, 0, observed("plex", "100", "Friday films", {1, 2, 3}, k_now - 999));
  add(in, 2, observed("emby", "300", "Friday films", {1, 2, 3}));

  SECTION("jellyfin reordered and added an item") {
    add(in, 1, observed("jellyfin", "200", "Friday films", {3, 1, 2, 4}));
    const auto plan = sync::plan_playlists(in);
    const auto& p = plan.playlists.at(0);
    CHECK(p.action == "updated");
    CHECK(p.source == "jellyfin");
    CHECK_FALSE(p.conflict());
    CHECK(p.next.items == std::vector<db::ItemId>{3, 1, 2, 4});
    CHECK(p.next.updated == k_now); // Jellyfin gives no edit time: dated by this run
    const auto* plex = target(p, "plex");
    REQUIRE(plex != nullptr);
    CHECK(items_of(apply(in.backends[0].playlists[0].remote.entries, plex->ops, false)) ==
          std::vector<std::string>{"p3", "p1", "p2", "p4"});
    CHECK(target(p, "jellyfin") == nullptr);
  }
  SECTION("plex edited later than emby (both with edit times): plex wins") {
    in.backends[2].has_edit_time = true;
    in.backends[0].playlists[0] = observed("plex", "100", "Friday films", {2, 1}, k_now - 10);
    in.backends[2].playlists[0] = observed("emby", "300", "Friday films", {3}, k_now - 20);
    add(in, 1, observed("jellyfin", "200", "Friday films", {1, 2, 3}));
    const auto plan = sync::plan_playlists(in);
    const auto& p = plan.playlists.at(0);
    CHECK(p.conflict());
    CHECK(p.changed_on == std::vector<std::string>{"plex", "emby"});
    CHECK(p.source == "plex");
    CHECK(p.next.items == std::vector<db::ItemId>{2, 1});
    REQUIRE(target(p, "emby") != nullptr); // the losing edit is overwritten
    CHECK(target(p, "jellyfin") != nullptr);
  }
  SECTION("a rename on plex is followed by id and renames the others") {
    in.backends[0].playlists[0] = observed("plex", "100", "Friday Movies", {1, 2, 3}, k_now - 5);
    add(in, 1, observed("jellyfin", "200", "Friday films", {1, 2, 3}));
    const auto plan = sync::plan_playlists(in);
    REQUIRE(plan.playlists.size() == 1);
    const auto& p = plan.playlists[0];
    CHECK(p.next.title == "Friday Movies");
    const auto* jf = target(p, "jellyfin");
    REQUIRE(jf != nullptr);
    REQUIRE(jf->ops.size() == 1);
    CHECK(jf->ops[0].kind == PlaylistOp::Kind::rename);
    CHECK(jf->ops[0].title == "Friday Movies");
  }
}

TEST_CASE("a playlist deleted on one backend is kept elsewhere unless deletes propagate",
          "[sync][playlist]") {
  auto in = three_backends();
  in.known.push_back(
      synced("Friday films", {1, 2}, {{"emby", "300"}, {"jellyfin", "200"}, {"plex", "100"}}));
  add(in, 0, observed("plex", "100", "Friday films", {1, 2}, k_now - 999));
  add(in, 2, observed("emby", "300", "Friday films", {1, 2}));

  SECTION("kept") {
    const auto plan = sync::plan_playlists(in);
    const auto& p = plan.playlists.at(0);
    CHECK(p.action == "kept");
    CHECK(p.deleted_on == std::vector<std::string>{"jellyfin"});
    CHECK(p.targets.empty()); // not re-created on jellyfin
    const auto jf = std::find_if(p.next.copies.begin(), p.next.copies.end(),
                                 [](auto& c) { return c.backend == "jellyfin"; });
    REQUIRE(jf != p.next.copies.end());
    CHECK(jf->deleted);
  }
  SECTION("--delete") {
    in.propagate_deletes = true;
    const auto plan = sync::plan_playlists(in);
    const auto& p = plan.playlists.at(0);
    CHECK(p.action == "deleted");
    CHECK(p.forget);
    REQUIRE(target(p, "plex") != nullptr);
    CHECK(target(p, "plex")->ops.at(0).kind == PlaylistOp::Kind::remove_playlist);
    CHECK(target(p, "emby")->ops.at(0).kind == PlaylistOp::Kind::remove_playlist);
  }
  SECTION("a backend that could not be read concludes nothing") {
    in.backends[1].readable = false;
    const auto plan = sync::plan_playlists(in);
    const auto& p = plan.playlists.at(0);
    CHECK(p.action == "unchanged");
    CHECK(p.deleted_on.empty());
    CHECK(p.next.copies == in.known[0].copies);
  }
}

TEST_CASE("smart and audio playlists are left alone and block their title", "[sync][playlist]") {
  auto in = three_backends();
  auto& smart = add(in, 0, observed("plex", "100", "Queue", {1}, k_now - 5));
  smart.remote.smart = true;
  auto& audio = add(in, 1, observed("jellyfin", "200", "Songs", {}));
  audio.remote.video = false;
  add(in, 2, observed("emby", "300", "Queue", {1, 2}));
  const auto plan = sync::plan_playlists(in);
  REQUIRE(plan.skipped.size() == 2);
  CHECK(plan.skipped[0].reason == "smart playlist");
  CHECK(plan.skipped[1].reason == "not a video playlist");
  REQUIRE(plan.playlists.size() == 1);
  const auto& p = plan.playlists[0];
  CHECK(target(p, "plex") == nullptr); // not a second "Queue" beside the smart one
  CHECK(target(p, "jellyfin") != nullptr);
  CHECK(p.not_on.size() == 1);
}

TEST_CASE("entries the state database does not know are left out and counted", "[sync][playlist]") {
  auto in = three_backends();
  auto& o = add(in, 0, observed("plex", "100", "Mixed", {1, 2}, k_now - 5));
  o.remote.entries.push_back({"x", "p77"});
  o.local.emplace_back(std::nullopt);
  const auto plan = sync::plan_playlists(in);
  const auto& p = plan.playlists.at(0);
  CHECK(p.unresolved == 1);
  CHECK(p.next.items == std::vector<db::ItemId>{1, 2});
  CHECK(target(p, "plex") == nullptr); // the entry stays where it is
  CHECK(target(p, "jellyfin")->ops.at(0).item_ids == std::vector<std::string>{"j1", "j2"});

  // The next run, nothing edited: the copy the list came from is still not written, so its
  // entry nobody can resolve survives (it was removed here once: found by a 300-playlist run).
  auto next = three_backends();
  auto known = p.next;
  known.id = 7;
  known.copies = {{"plex", "100", sync::playlist_signature(o.remote), false, k_now}};
  for (const char* b : {"jellyfin", "emby"}) {
    auto copy = observed(b, std::string(b) + "1", "Mixed", {1, 2});
    known.copies.push_back(
        {b, copy.remote.id, sync::playlist_signature(copy.remote), false, k_now});
    add(next, b == std::string("jellyfin") ? 1 : 2, std::move(copy));
  }
  next.known.push_back(known);
  next.backends[0].playlists.push_back(o);
  const auto again = sync::plan_playlists(next);
  REQUIRE(again.playlists.size() == 1);
  CHECK(again.playlists[0].action == "unchanged");
  CHECK(again.playlists[0].targets.empty());
}

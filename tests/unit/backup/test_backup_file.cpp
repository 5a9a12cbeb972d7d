// SPDX-License-Identifier: MIT
#include <watchstate/backup/backup_file.hpp>
#include <watchstate/core/error.hpp>

#include <catch2/catch.hpp>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;

using ws::Errc;
using ws::Error;
using ws::backup::BackupPlaylist;
using ws::backup::BackupRecord;
using ws::backup::BackupWriter;
using ws::backup::PlaylistBackup;
using ws::backup::read_any_backup;
using ws::backup::read_backup;
using ws::backup::read_playlist_backup;
using ws::backup::record_json;
using ws::backup::write_playlist_backup;
using ws::model::Guid;
using ws::model::GuidKey;

namespace {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
public:
  TempDir() {
    static std::atomic<int> counter{0};
    m_path = fs::temp_directory_path() /
             ("ws-backup-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] fs::path operator/(const std::string& name) const { return m_path / name; }
  [[nodiscard]] const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void spit(const fs::path& file, const std::string& data) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << data;
}

BackupRecord sample_movie() {
  BackupRecord movie;
  movie.watched = true;
  movie.updated = 1643805016;
  movie.title = "Ferengi: Rules of Acquisition";
  movie.year = 2000;
  movie.guids = {Guid{GuidKey::imdb, "tt0000001"}, Guid{GuidKey::tmdb, "1"}};
  return movie;
}

BackupRecord sample_episode() {
  BackupRecord episode;
  episode.episode = true;
  episode.watched = false;
  episode.updated = 1105631952;
  episode.show = "Ferengi StandUp Comedy";
  episode.title = "Pilot \"live\" / ünïcode";
  episode.season = 1;
  episode.episode_number = 2;
  episode.guids = {Guid{GuidKey::tvdb, "44"}, Guid{GuidKey::imdb, "tt0000004"}};
  episode.parent = {Guid{GuidKey::tvdb, "3"}};
  episode.progress_ms = 900000;
  return episode;
}

void check_same(const BackupRecord& got, const BackupRecord& want) {
  CHECK(got.episode == want.episode);
  CHECK(got.watched == want.watched);
  CHECK(got.updated == want.updated);
  CHECK(got.show == want.show);
  CHECK(got.title == want.title);
  CHECK(got.season == want.season);
  CHECK(got.episode_number == want.episode_number);
  CHECK(got.year == want.year);
  auto sorted = [](ws::model::Guids guids) {
    std::sort(guids.begin(), guids.end(),
              [](const Guid& a, const Guid& b) { return a.key < b.key; });
    return guids;
  };
  CHECK(got.guids == sorted(want.guids));
  CHECK(got.parent == sorted(want.parent));
  CHECK(got.progress_ms == want.progress_ms);
}

// The ws::Error read_backup throws for `file`; fails the test when it returns instead.
Error read_error(const fs::path& file) {
  try {
    (void)read_backup(file);
  } catch (const Error& e) {
    return e;
  }
  FAIL("read_backup(" << file.string() << ") did not throw");
  return Error(Errc::internal, "unreachable");
}

void write_backup(const fs::path& file, const std::vector<BackupRecord>& records) {
  BackupWriter writer(file);
  for (const auto& record : records) {
    writer.add(record);
  }
  writer.commit();
}

const std::string k_watchstate_example =
    "[\n"
    R"({"type":"movie","watched":1,"updated":1643805016,"title":"Ferengi: Rules of Acquisition","year":2000,"guids":{"guid_imdb":"tt0000001","guid_tmdb":"1","guid_tvdb":"1"}},)"
    "\n"
    R"({"type":"episode","watched":0,"updated":1105631952,"show":"Ferengi StandUp Comedy","title":"Pilot","season":1,"episode":1,"year":2002,"guids":{"guid_imdb":"tt0000004"},"parent":{"guid_tvdb":"3"},"progress":900000})"
    "\n]";

// --- a minimal ZIP writer, enough to exercise the reader ------------------------------------

void put16(std::string& out, unsigned value) {
  out.push_back(static_cast<char>(value & 0xFF));
  out.push_back(static_cast<char>((value >> 8) & 0xFF));
}

void put32(std::string& out, std::uint32_t value) {
  put16(out, value & 0xFFFF);
  put16(out, value >> 16);
}

std::string raw_deflate(const std::string& data) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  REQUIRE(result == Z_STREAM_END);
  out.resize(zs.total_out);
  return out;
}

struct ZipMember {
  std::string name;
  std::string data;
  unsigned method = 0;     // 0 stored, 8 deflate
  bool descriptor = false; // sizes in a data descriptor (flag bit 3)
};

std::string make_zip(const std::vector<ZipMember>& members, bool central_directory = true) {
  std::string zip;
  std::string central;
  for (const auto& m : members) {
    const auto crc = static_cast<std::uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(m.data.data()), static_cast<uInt>(m.data.size())));
    const std::string payload = m.method == 8 ? raw_deflate(m.data) : m.data;
    const auto offset = static_cast<std::uint32_t>(zip.size());
    const unsigned flags = m.descriptor ? 0x08 : 0;
    zip += "PK\x03\x04";
    put16(zip, 20);
    put16(zip, flags);
    put16(zip, m.method);
    put16(zip, 0);
    put16(zip, 0x21);
    put32(zip, m.descriptor ? 0 : crc);
    put32(zip, m.descriptor ? 0 : static_cast<std::uint32_t>(payload.size()));
    put32(zip, m.descriptor ? 0 : static_cast<std::uint32_t>(m.data.size()));
    put16(zip, static_cast<unsigned>(m.name.size()));
    put16(zip, 0);
    zip += m.name;
    zip += payload;
    if (m.descriptor) {
      zip += "PK\x07\x08";
      put32(zip, crc);
      put32(zip, static_cast<std::uint32_t>(payload.size()));
      put32(zip, static_cast<std::uint32_t>(m.data.size()));
    }
    central += "PK\x01\x02";
    put16(central, 20);
    put16(central, 20);
    put16(central, flags);
    put16(central, m.method);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, crc);
    put32(central, static_cast<std::uint32_t>(payload.size()));
    put32(central, static_cast<std::uint32_t>(m.data.size()));
    put16(central, static_cast<unsigned>(m.name.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0);
    put32(central, offset);
    central += m.name;
  }
  if (!central_directory) {
    return zip;
  }
  const auto central_at = static_cast<std::uint32_t>(zip.size());
  zip += central;
  zip += std::string("PK\x05\x06", 4);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, static_cast<unsigned>(members.size()));
  put16(zip, static_cast<unsigned>(members.size()));
  put32(zip, static_cast<std::uint32_t>(central.size()));
  put32(zip, central_at);
  put16(zip, 0);
  return zip;
}

void check_example(const std::vector<BackupRecord>& records) {
  REQUIRE(records.size() == 2);
  CHECK_FALSE(records[0].episode);
  CHECK(records[0].watched);
  CHECK(records[0].updated == 1643805016);
  CHECK(records[0].title == "Ferengi: Rules of Acquisition");
  CHECK(records[0].year == 2000);
  CHECK(records[0].guids == ws::model::Guids{Guid{GuidKey::imdb, "tt0000001"},
                                             Guid{GuidKey::tmdb, "1"}, Guid{GuidKey::tvdb, "1"}});
  CHECK(records[1].episode);
  CHECK_FALSE(records[1].watched);
  CHECK(records[1].show == "Ferengi StandUp Comedy");
  CHECK(records[1].title == "Pilot");
  CHECK(records[1].season == 1);
  CHECK(records[1].episode_number == 1);
  CHECK(records[1].year == 2002);
  CHECK(records[1].parent == ws::model::Guids{Guid{GuidKey::tvdb, "3"}});
  CHECK(records[1].progress_ms == 900000);
}

} // namespace

TEST_CASE("backup::record_json key order", "[backup]") {
  CHECK(
      record_json(sample_movie()) ==
      R"({"type":"movie","watched":1,"updated":1643805016,"title":"Ferengi: Rules of Acquisition","year":2000,"guids":{"guid_imdb":"tt0000001","guid_tmdb":"1"}})");
  // Guids are sorted, year 0 is null, the parent object and progress are written for episodes.
  CHECK(
      record_json(sample_episode()) ==
      R"({"type":"episode","watched":0,"updated":1105631952,"show":"Ferengi StandUp Comedy","title":"Pilot \"live\" / ünïcode","season":1,"episode":2,"year":null,"guids":{"guid_imdb":"tt0000004","guid_tvdb":"44"},"parent":{"guid_tvdb":"3"},"progress":900000})");
  BackupRecord bad = sample_movie();
  bad.title = "A\xff"
              "B\xc3";
  bad.progress_ms = -5;
  CHECK(
      record_json(bad) ==
      R"({"type":"movie","watched":1,"updated":1643805016,"title":"AB","year":2000,"guids":{"guid_imdb":"tt0000001","guid_tmdb":"1"}})");
}

TEST_CASE("backup::round trip plain", "[backup]") {
  TempDir dir;
  const auto file = dir / "main.plex.json";
  write_backup(file, {sample_movie(), sample_episode()});
  CHECK_FALSE(fs::exists(dir / "main.plex.json.tmp"));
  CHECK(slurp(file) ==
        "[\n" + record_json(sample_movie()) + ",\n" + record_json(sample_episode()) + "\n]");
  const auto records = read_backup(file);
  REQUIRE(records.size() == 2);
  check_same(records[0], sample_movie());
  check_same(records[1], sample_episode());
}

TEST_CASE("backup::round trip gzip", "[backup]") {
  TempDir dir;
  const auto file = dir / "main.plex.json.gz";
  std::vector<BackupRecord> many;
  for (int i = 0; i < 3000; ++i) {
    BackupRecord record = i % 2 == 0 ? sample_movie() : sample_episode();
    record.updated += i;
    many.push_back(record);
  }
  BackupWriter writer(file);
  for (const auto& record : many) {
    writer.add(record);
  }
  CHECK(writer.count() == 3000);
  CHECK(fs::exists(dir / "main.plex.json.gz.tmp"));
  CHECK_FALSE(fs::exists(file));
  writer.commit();
  CHECK_FALSE(fs::exists(dir / "main.plex.json.gz.tmp"));
  const std::string bytes = slurp(file);
  REQUIRE(bytes.size() > 2);
  CHECK(bytes.substr(0, 2) == "\x1f\x8b");
  CHECK(bytes.size() < 3000 * 100); // compressed

  const auto records = read_backup(file);
  REQUIRE(records.size() == many.size());
  for (std::size_t i = 0; i < many.size(); i += 997) {
    check_same(records[i], many[i]);
  }
  check_same(records.back(), many.back());

  // Format is detected by content: the same gzip bytes under a plain name read the same.
  spit(dir / "renamed.json", bytes);
  CHECK(read_backup(dir / "renamed.json").size() == many.size());
}

TEST_CASE("backup::empty backup", "[backup]") {
  TempDir dir;
  write_backup(dir / "empty.json", {});
  CHECK(slurp(dir / "empty.json") == "[\n]");
  CHECK(read_backup(dir / "empty.json").empty());
  write_backup(dir / "empty.json.gz", {});
  CHECK(read_backup(dir / "empty.json.gz").empty());
}

TEST_CASE("backup::WatchState example file", "[backup]") {
  TempDir dir;
  spit(dir / "main.plex.20240101.json", k_watchstate_example);
  const auto records = read_backup(dir / "main.plex.20240101.json");
  check_example(records);
  // Our writer produces WatchState's bytes for the same records.
  write_backup(dir / "again.json", records);
  CHECK(slurp(dir / "again.json") == k_watchstate_example);
}

TEST_CASE("backup::guid keys", "[backup]") {
  TempDir dir;
  spit(
      dir / "g.json",
      R"([{"type":"movie","watched":true,"updated":"1700000000","title":"X","year":null,)"
      R"("guids":{"imdb":"tt0000009","guid_tmdb":"abc","guid_tvdb":12,"guid_plex":"plex://x","other":{"a":1}}}])");
  const auto records = read_backup(dir / "g.json");
  REQUIRE(records.size() == 1);
  CHECK(records[0].watched);
  CHECK(records[0].updated == 1700000000);
  CHECK(records[0].year == 0);
  // Unprefixed key accepted, invalid tmdb value and unknown providers dropped, numeric id kept.
  CHECK(records[0].guids ==
        ws::model::Guids{Guid{GuidKey::imdb, "tt0000009"}, Guid{GuidKey::tvdb, "12"}});
}

TEST_CASE("backup::WatchState zip archive", "[backup]") {
  TempDir dir;
  const auto file = dir / "main.plex.20240101.json.zip";

  SECTION("stored member") {
    spit(file, make_zip({{"main.plex.20240101.json", k_watchstate_example, 0, false}}));
    check_example(read_backup(file));
  }
  SECTION("deflated member after a non-json member") {
    spit(file, make_zip({{"readme.txt", "not this one", 8, false},
                         {"main.plex.20240101.json", k_watchstate_example, 8, false}}));
    check_example(read_backup(file));
  }
  SECTION("deflated member with a data descriptor") {
    spit(file, make_zip({{"notes.txt", "skip me", 8, true},
                         {"main.plex.json", k_watchstate_example, 8, true}}));
    check_example(read_backup(file));
  }
  SECTION("data descriptor and no central directory") {
    spit(file, make_zip({{"notes.txt", "skip me", 8, true},
                         {"main.plex.json", k_watchstate_example, 8, true}},
                        false));
    check_example(read_backup(file));
  }
  SECTION("no json member") {
    spit(file, make_zip({{"readme.txt", "nothing", 0, false}}));
    const Error e = read_error(file);
    CHECK(e.code() == Errc::data);
    CHECK_THAT(e.what(), Catch::Contains("no .json file"));
  }
  SECTION("truncated archive") {
    const std::string zip = make_zip({{"main.plex.json", k_watchstate_example, 8, false}});
    spit(file, zip.substr(0, 60));
    const Error e = read_error(file);
    CHECK(e.code() == Errc::data);
    CHECK(std::string(e.what()) == file.string() + ": corrupt compressed data");
  }
}

TEST_CASE("backup::truncated gzip", "[backup]") {
  TempDir dir;
  const auto file = dir / "cut.json.gz";
  std::vector<BackupRecord> records(200, sample_episode());
  write_backup(file, records);
  const std::string bytes = slurp(file);
  spit(file, bytes.substr(0, bytes.size() / 2));
  const Error e = read_error(file);
  CHECK(e.code() == Errc::data);
  CHECK(std::string(e.what()) == file.string() + ": corrupt compressed data");

  std::string damaged = bytes;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x5A);
  damaged[damaged.size() / 2 + 1] = static_cast<char>(damaged[damaged.size() / 2 + 1] ^ 0x5A);
  spit(file, damaged);
  CHECK(read_error(file).code() == Errc::data);
}

TEST_CASE("backup::truncated JSON", "[backup]") {
  TempDir dir;
  const auto file = dir / "cut.json";
  write_backup(file, {sample_movie(), sample_episode(), sample_movie()});
  const std::string text = slurp(file);
  // Cut in the middle of the second record.
  const std::size_t second = text.find("{\"type\":\"episode\"");
  REQUIRE(second != std::string::npos);
  spit(file, text.substr(0, second + 30));
  const Error e = read_error(file);
  CHECK(e.code() == Errc::data);
  const std::string message = e.what();
  CHECK_THAT(message, Catch::StartsWith(file.string() + ": not valid JSON at byte "));
  CHECK_THAT(message, Catch::Contains("(record ~2)"));

  // A run that died before the closing bracket is refused, never partially read.
  spit(file, text.substr(0, text.size() - 2) + ",");
  CHECK_THAT(read_error(file).what(), Catch::Contains("(record ~3)"));
}

TEST_CASE("backup::wrong field type", "[backup]") {
  TempDir dir;
  const auto file = dir / "bad.json";
  const std::string first = record_json(sample_movie());
  const std::string second =
      R"({"type":"episode","watched":0,"updated":{"x":1},"show":"S","title":"T","season":1,"episode":1,"year":null,"guids":{}})";
  const std::string text = "[\n" + first + ",\n" + second + "\n]";
  spit(file, text);
  const Error e = read_error(file);
  CHECK(e.code() == Errc::data);
  CHECK(std::string(e.what()) == file.string() + ": record 2 at byte " +
                                     std::to_string(2 + first.size() + 2) +
                                     ": 'updated' must be a number");

  struct Case {
    std::string record;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"type":"show","watched":0,"updated":1,"title":"T"})", "'type' must be"},
      {R"({"type":"movie","watched":2,"updated":1,"title":"T"})", "'watched' must be 0 or 1"},
      {R"({"type":"movie","watched":0,"updated":1})", "'title' is missing"},
      {R"({"type":"movie","watched":0,"updated":1,"title":"T","year":"1999"})",
       "'year' must be an integer"},
      {R"({"type":"episode","watched":0,"updated":1,"show":"S","episode":1})",
       "'season' is missing"},
      {R"({"type":"episode","watched":0,"updated":1,"show":"S","season":1,"episode":"x"})",
       "'episode' must be an integer"},
      {R"({"type":"movie","watched":0,"updated":1,"title":"T","guids":[]})",
       "'guids' must be an object"},
      {R"({"type":"movie","watched":0,"updated":1,"title":"T","guids":{"guid_imdb":true}})",
       "'guids.guid_imdb' must be a string"},
      {R"({"type":"movie","watched":0,"updated":1,"title":"T","progress":"5"})",
       "'progress' must be"},
      {R"(42)", "not an object"},
  };
  for (const auto& c : cases) {
    spit(file, "[ " + c.record + " ]");
    const Error err = read_error(file);
    CHECK(err.code() == Errc::data);
    CHECK_THAT(err.what(), Catch::StartsWith(file.string() + ": record 1 at byte 2: " + c.message));
  }

  // An episode without a title is fine: it reads as "".
  spit(file, R"([{"type":"episode","watched":0,"updated":1,"show":"S","season":1,"episode":3}])");
  const auto records = read_backup(file);
  REQUIRE(records.size() == 1);
  CHECK(records[0].title.empty());
  CHECK(records[0].episode_number == 3);

  spit(file, R"({"type":"movie"})");
  CHECK_THAT(read_error(file).what(), Catch::Contains("must be a JSON array"));
}

TEST_CASE("backup::empty and missing files", "[backup]") {
  TempDir dir;
  spit(dir / "zero.json", "");
  Error e = read_error(dir / "zero.json");
  CHECK(e.code() == Errc::data);
  CHECK(std::string(e.what()) == (dir / "zero.json").string() + ": empty file");

  spit(dir / "blank.json", " \n\t\r\n");
  e = read_error(dir / "blank.json");
  CHECK(e.code() == Errc::data);
  CHECK_THAT(e.what(), Catch::EndsWith(": empty file"));

  e = read_error(dir / "missing.json");
  CHECK(e.code() == Errc::no_input);
  CHECK_THAT(e.what(), Catch::StartsWith((dir / "missing.json").string()));
}

TEST_CASE("backup::writer without commit leaves no file", "[backup]") {
  TempDir dir;
  const auto file = dir / "aborted.json.gz";
  {
    BackupWriter writer(file);
    writer.add(sample_movie());
    CHECK(fs::exists(dir / "aborted.json.gz.tmp"));
  }
  CHECK(fs::is_empty(dir.path()));

  // A directory that does not exist cannot hold the file.
  try {
    BackupWriter writer(dir / "no" / "such" / "dir.json");
    FAIL("BackupWriter did not throw");
  } catch (const Error& err) {
    CHECK(err.code() == Errc::cant_create);
  }
}

// --- playlists backups ---------------------------------------------------------------------

namespace {

PlaylistBackup sample_playlists() {
  PlaylistBackup backup;
  backup.identity = "main";
  backup.backend = "plex";
  backup.created_at = 1764547200; // 2025-12-01T00:00:00Z
  // An item may appear twice; a playlist may be empty.
  backup.playlists.push_back(
      BackupPlaylist{"Friday films", {sample_movie(), sample_episode(), sample_movie()}});
  backup.playlists.push_back(BackupPlaylist{"Empty \"one\"", {}});
  return backup;
}

void check_same_playlists(const PlaylistBackup& got, const PlaylistBackup& want) {
  CHECK(got.identity == want.identity);
  CHECK(got.backend == want.backend);
  CHECK(got.created_at == want.created_at);
  REQUIRE(got.playlists.size() == want.playlists.size());
  for (std::size_t p = 0; p < want.playlists.size(); ++p) {
    CHECK(got.playlists[p].title == want.playlists[p].title);
    REQUIRE(got.playlists[p].items.size() == want.playlists[p].items.size());
    for (std::size_t i = 0; i < want.playlists[p].items.size(); ++i) {
      check_same(got.playlists[p].items[i], want.playlists[p].items[i]);
    }
  }
}

// The ws::Error read_playlist_backup throws for `file`; fails the test when it returns instead.
Error read_playlist_error(const fs::path& file) {
  try {
    (void)read_playlist_backup(file);
  } catch (const Error& e) {
    return e;
  }
  FAIL("read_playlist_backup(" << file.string() << ") did not throw");
  return Error(Errc::internal, "unreachable");
}

const std::string k_playlists_head =
    R"({"watchstate_playlists":1,"identity":"main","backend":"plex","created_at":"2025-12-01T00:00:00Z",)";

} // namespace

TEST_CASE("backup::playlists round trip plain", "[backup]") {
  TempDir dir;
  const auto file = dir / "main.plex.20251201.playlists.json";
  write_playlist_backup(file, sample_playlists());
  CHECK_FALSE(fs::exists(dir / "main.plex.20251201.playlists.json.tmp"));
  // One playlist header per line, one record per line.
  CHECK(slurp(file) == k_playlists_head + "\n\"playlists\":[\n" +
                           R"({"title":"Friday films","items":[)" + "\n" +
                           record_json(sample_movie()) + ",\n" + record_json(sample_episode()) +
                           ",\n" + record_json(sample_movie()) + "\n]},\n" +
                           R"({"title":"Empty \"one\"","items":[]})" + "\n]}\n");
  check_same_playlists(read_playlist_backup(file), sample_playlists());

  const auto any = read_any_backup(file);
  CHECK(any.playlists);
  CHECK(any.records.empty());
  check_same_playlists(any.playlist_backup, sample_playlists());

  PlaylistBackup none = sample_playlists();
  none.playlists.clear();
  write_playlist_backup(file, none); // replaces the file
  CHECK(slurp(file) == k_playlists_head + "\n\"playlists\":[]}\n");
  CHECK(read_playlist_backup(file).playlists.empty());
}

TEST_CASE("backup::playlists round trip gzip", "[backup]") {
  TempDir dir;
  const auto file = dir / "main.plex.20251201.playlists.json.gz";
  PlaylistBackup big = sample_playlists();
  for (int p = 0; p < 50; ++p) {
    BackupPlaylist playlist{"List " + std::to_string(p), {}};
    for (int i = 0; i < 100; ++i) {
      BackupRecord record = (i + p) % 2 == 0 ? sample_movie() : sample_episode();
      record.updated += i;
      playlist.items.push_back(record);
    }
    big.playlists.push_back(std::move(playlist));
  }
  write_playlist_backup(file, big);
  CHECK_FALSE(fs::exists(dir / "main.plex.20251201.playlists.json.gz.tmp"));
  const std::string bytes = slurp(file);
  REQUIRE(bytes.size() > 2);
  CHECK(bytes.substr(0, 2) == "\x1f\x8b");
  check_same_playlists(read_playlist_backup(file), big);

  // Told apart by content, not by name.
  spit(dir / "renamed.json", bytes);
  CHECK(read_any_backup(dir / "renamed.json").playlists);
}

TEST_CASE("backup::playlist items need no play state", "[backup]") {
  TempDir dir;
  const auto file = dir / "by-hand.json";
  spit(
      file,
      "\xEF\xBB\xBF" + k_playlists_head + R"("playlists":[{"title":"T","items":[)" +
          R"({"type":"movie","title":"Alpha","year":2001,"guids":{"guid_imdb":"tt0000001"}},)" +
          R"({"type":"episode","show":"Show","season":1,"episode":2,"parent":{"guid_tvdb":"200"}}]}],"later":true})");
  const auto backup = read_playlist_backup(file);
  REQUIRE(backup.playlists.size() == 1);
  const auto& items = backup.playlists[0].items;
  REQUIRE(items.size() == 2);
  CHECK(items[0].title == "Alpha");
  CHECK_FALSE(items[0].watched);
  CHECK(items[1].episode);
  CHECK(items[1].season == 1);
  CHECK(items[1].parent == ws::model::Guids{Guid{GuidKey::tvdb, "200"}});
}

TEST_CASE("backup::corrupt playlists backups", "[backup]") {
  TempDir dir;
  const auto file = dir / "main.plex.20251201.playlists.json.gz";
  write_playlist_backup(file, sample_playlists());
  const std::string bytes = slurp(file);
  spit(file, bytes.substr(0, bytes.size() / 2));
  Error e = read_playlist_error(file);
  CHECK(e.code() == Errc::data);
  CHECK(std::string(e.what()) == file.string() + ": corrupt compressed data");

  const auto plain = dir / "cut.json";
  write_playlist_backup(plain, sample_playlists());
  const std::string text = slurp(plain);
  spit(plain, text.substr(0, text.size() / 2));
  e = read_playlist_error(plain);
  CHECK(e.code() == Errc::data);
  CHECK_THAT(e.what(), Catch::StartsWith(plain.string() + ": not valid JSON at byte "));
  // Cut after a whole playlist: still refused, never read in part.
  spit(plain, text.substr(0, text.find("},\n") + 2));
  CHECK(read_playlist_error(plain).code() == Errc::data);

  struct Case {
    std::string text;
    std::string message; // after "<file>: "
  };
  const std::string movie = R"({"type":"movie","title":"A","guids":{}})";
  const std::vector<Case> cases = {
      {R"([])", "top level: not a playlists backup: the top level must be a JSON object"},
      {R"({"playlists":[]})",
       "top level: not a playlists backup: 'watchstate_playlists' is missing"},
      {R"({"watchstate_playlists":"1"})",
       "top level: 'watchstate_playlists' must be a format version (1)"},
      {R"({"watchstate_playlists":2})",
       "top level: format version 2 is newer than this watchstate reads (1)"},
      {R"({"watchstate_playlists":1,"backend":"plex","created_at":"2025-12-01T00:00:00Z","playlists":[]})",
       "top level: 'identity' is missing"},
      {R"({"watchstate_playlists":1,"identity":"main","backend":3,"created_at":"2025-12-01T00:00:00Z","playlists":[]})",
       "top level: 'backend' must be a string"},
      {R"({"watchstate_playlists":1,"identity":"main","backend":"plex","created_at":"yesterday","playlists":[]})",
       "top level: 'created_at' is not an RFC 3339 date: \"yesterday\""},
      {k_playlists_head + R"("playlists":{}})", "top level: 'playlists' must be an array"},
      {k_playlists_head + R"("playlists":[3]})", "playlist 1: not an object"},
      {k_playlists_head + R"("playlists":[{"items":[]}]})", "playlist 1: 'title' is missing"},
      {k_playlists_head + R"("playlists":[{"title":"  ","items":[]}]})",
       "playlist 1: 'title' is empty"},
      {k_playlists_head + R"("playlists":[{"title":"T"}]})", "playlist 1: 'items' is missing"},
      {k_playlists_head + R"("playlists":[{"title":"T","items":[]},{"title":"U","items":[)" +
           movie + "," + movie + R"(,{"type":"show","title":"X"}]}]})",
       "playlist 2 item 3: 'type' must be \"movie\" or \"episode\", not \"show\""},
      {k_playlists_head +
           R"("playlists":[{"title":"T","items":[{"type":"movie","watched":5,"title":"A"}]}]})",
       "playlist 1 item 1: 'watched' must be 0 or 1"},
  };
  const auto bad = dir / "bad.json";
  for (const auto& c : cases) {
    spit(bad, c.text);
    const Error err = read_playlist_error(bad);
    CHECK(err.code() == Errc::data);
    CHECK(std::string(err.what()) == bad.string() + ": " + c.message);
  }

  spit(bad, "");
  CHECK(std::string(read_playlist_error(bad).what()) == bad.string() + ": empty file");
  e = read_playlist_error(dir / "missing.playlists.json");
  CHECK(e.code() == Errc::no_input);
  CHECK_THAT(e.what(), Catch::StartsWith((dir / "missing.playlists.json").string()));
}

TEST_CASE("backup::the two kinds of backup are told apart", "[backup]") {
  TempDir dir;
  write_backup(dir / "items.json", {sample_movie()});
  const auto items = read_any_backup(dir / "items.json");
  CHECK_FALSE(items.playlists);
  CHECK(items.records.size() == 1);

  write_playlist_backup(dir / "lists.json", sample_playlists());
  const Error e = read_error(dir / "lists.json");
  CHECK(e.code() == Errc::data);
  CHECK(std::string(e.what()) ==
        (dir / "lists.json").string() + ": a playlists backup, not a backup of items");

  // An object without "watchstate_playlists" is no backup of either kind.
  spit(dir / "object.json", R"({"type":"movie"})");
  try {
    (void)read_any_backup(dir / "object.json");
    FAIL("read_any_backup did not throw");
  } catch (const Error& err) {
    CHECK(err.code() == Errc::data);
    CHECK_THAT(err.what(), Catch::Contains("'watchstate_playlists' is missing"));
  }
}

TEST_CASE("backup::a playlists backup that cannot be written leaves no file", "[backup]") {
  TempDir dir;
  try {
    write_playlist_backup(dir / "no" / "such" / "dir.playlists.json", sample_playlists());
    FAIL("write_playlist_backup did not throw");
  } catch (const Error& err) {
    CHECK(err.code() == Errc::cant_create);
  }
  CHECK(fs::is_empty(dir.path()));
}

// SPDX-License-Identifier: MIT
#include <watchstate/core/error.hpp>
#include <watchstate/model/user_name.hpp>
#include <watchstate/sync/identities.hpp>

#include <catch2/catch.hpp>

using namespace ws::sync;
using ws::backend::RemoteUser;
using ws::config::parse_user_mapping;
using ws::config::UserMapping;
using ws::model::normalise_user_name;

TEST_CASE("sync::normalise_user_name", "[sync][identities]") {
  CHECK(normalise_user_name("Alice") == "alice");
  CHECK(normalise_user_name("Mary-Jane O'Neil") == "maryjaneoneil");
  CHECK(normalise_user_name("bob_2") == "bob_2");
  CHECK(normalise_user_name("12345") == "user_12345");
  CHECK(normalise_user_name(" 1 2 ") == "user_12");
  CHECK(normalise_user_name("Élodie") == "lodie");
  CHECK(normalise_user_name("!!!") == "");
}

TEST_CASE("sync::parse_user_mapping", "[sync][identities]") {
  const auto mapping = parse_user_mapping(R"(version: "1.5"
map:
  - plex: { name: Bob, replace_with: bobby, options: { PLEX_USER_PIN: 1234 } }
    emby: { name: Robert }
  - jellyfin: { name: kid }
)",
                                          "mapper.yaml");
  REQUIRE(mapping.groups.size() == 2);
  REQUIRE(mapping.groups[0].size() == 2);
  CHECK(mapping.groups[0][0].backend == "plex");
  CHECK(mapping.groups[0][0].name == "Bob");
  CHECK(mapping.groups[0][0].replace_with == "bobby");
  CHECK(mapping.groups[0][1].backend == "emby");
  CHECK(mapping.groups[1][0].name == "kid");

  CHECK(parse_user_mapping("", "m.yaml").groups.empty());
  CHECK(parse_user_mapping("version: \"1.5\"\nmap: []\n", "m.yaml").groups.empty());
  CHECK_THROWS_WITH(parse_user_mapping("map:\n  - plex: { nom: x }\n", "m.yaml"),
                    Catch::Contains("m.yaml:2") && Catch::Contains("map[0].plex.nom"));
  CHECK_THROWS_WITH(parse_user_mapping("maps: []\n", "m.yaml"), Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(parse_user_mapping("map: { plex: x }\n", "m.yaml"),
                    Catch::Contains("list of groups"));
  CHECK_THROWS_WITH(parse_user_mapping("map:\n  - plex: { name: '!!' }\n", "m.yaml"),
                    Catch::Contains("map[0].plex.name"));
  CHECK_THROWS_AS(parse_user_mapping("map: [", "m.yaml"), ws::Error);
}

TEST_CASE("sync::suggest_identities", "[sync][identities]") {
  std::vector<BackendUsers> backends{
      {"plex",
       {RemoteUser{"1", "owner", true, false}, RemoteUser{"1001", "Kid", false, false},
        RemoteUser{"2002", "Bob", false, false}, RemoteUser{"3003", "123", false, false}},
       ""},
      {"jellyfin",
       {RemoteUser{"a1", "alice", true, false}, RemoteUser{"k1", "kid", false, false},
        RemoteUser{"b1", "bob", true, false}, RemoteUser{"o1", "Owner", false, true}},
       "a1"},
      {"emby",
       {RemoteUser{"a2", "Alice", true, false}, RemoteUser{"k2", "KID", false, false},
        RemoteUser{"r2", "Robert", false, false}, RemoteUser{"k3", "k-i-d", false, false}},
       "a2"},
  };
  std::vector<std::string> warnings;
  auto out = suggest_identities(backends, UserMapping{}, warnings);
  REQUIRE(out.size() == 4);
  CHECK(out[0].name == "bob"); // an admin on Jellyfin, but not the configured main user
  REQUIRE(out[0].members.size() == 2);
  CHECK(out[0].members[0].backend == "plex");
  CHECK(out[0].members[1].user_id == "b1");
  CHECK(out[1].name == "kid");
  REQUIRE(out[1].members.size() == 3);
  CHECK(out[1].members[2].user_id == "k2");
  CHECK(out[2].name == "robert");
  CHECK(out[3].name == "user_123");
  // "k-i-d" is a second kid on Emby: left out with a warning.
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("emby") && Catch::Contains("k3"));

  UserMapping mapping;
  mapping.groups.push_back(
      {{"emby", "Robert", ""}, {"plex", "bob", "bobby"}, {"jellyfin", "BOB", ""}});
  warnings.clear();
  out = suggest_identities(backends, mapping, warnings);
  REQUIRE(out.size() == 3);
  CHECK(out[0].name == "bobby");
  CHECK(out[0].members.size() == 3);
  CHECK(out[1].name == "kid");

  const std::string yaml = identities_yaml(out);
  CHECK_THAT(yaml,
             Catch::StartsWith("identities:\n  bobby:\n    plex: { user: \"2002\" }  # Bob\n"));
  CHECK(identities_yaml({}) == "identities: {}\n");
}

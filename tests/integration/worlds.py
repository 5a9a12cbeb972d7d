# SPDX-License-Identifier: MIT
"""Hand-written worlds for the integration suites. Dates are fixed unix seconds."""

PLEX_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
JF_ID = "8f5d3e2a1b0c49d7a6e5f4d3c2b1a098"
EMBY_ID = "c0ffee00c0ffee00c0ffee00c0ffee00"
JF_USER = "5e0c1d2b3a4f4e6d8c7b6a5f4e3d2c1b"
EMBY_USER = "3f2e1d0c9b8a47a6b5c4d3e2f1a0b9c8"


def household():
    """Three servers, one person, the hard cases of matching."""
    return {
        "servers": {
            "plex": {"server_id": PLEX_ID, "users": [{"id": "1", "name": "owner", "token": "plex-owner-token-1234"}]},
            "jellyfin": {"server_id": JF_ID, "token": "jf-api-key-abcdef0123456789",
                         "users": [{"id": JF_USER, "name": "alice"}]},
            "emby": {"server_id": EMBY_ID, "token": "emby-api-key-9876543210fedcba",
                     "users": [{"id": EMBY_USER, "name": "alice"}]},
        },
        "movies": [
            {"key": "m1", "title": "Alpha", "year": 2001, "added_at": 1600000000,
             "ids": {"imdb": "tt0000001", "tmdb": "101"},
             "state": {"plex": {"played": True, "last_played": 1700000000}}},
            {"key": "m2", "title": "Beta", "year": 2002, "added_at": 1600000000,
             "ids": {"imdb": "tt0000002"},
             "state": {"jellyfin": {"played": True, "last_played": 1700100000},
                       "emby": {"played": True, "last_played": 1700200000}}},
            {"key": "m3", "title": "Gamma", "year": 2003, "added_at": 1600000000,
             "ids": {"tmdb": "103"},
             "plex_guids": ["com.plexapp.agents.themoviedb://103?lang=en"],
             "state": {"jellyfin": {"position_ms": 600000, "last_played": 1700500000}}},
            {"key": "m4", "title": "Delta", "year": 2004, "added_at": 1600000000, "ids": {}},
            {"key": "m5", "title": "Epsilon", "year": 2005, "added_at": 1600000000,
             "ids": {"imdb": "tt0000005"}, "servers": ["plex"],
             "state": {"plex": {"played": True, "last_played": 1700600000}}},
            {"key": "m6", "title": "Zeta", "year": 2006, "added_at": 1600000000,
             "ids": {"imdb": "tt0000006"}, "servers": ["jellyfin", "emby"],
             "jellyfin_provider_ids": {"IMDB": "tt0000006"},
             "emby_provider_ids": {"Imdb": "tt0000006"}},
        ],
        "shows": [
            {"key": "s1", "title": "Show One", "year": 2010, "added_at": 1600000000,
             "ids": {"tvdb": "200"},
             "episodes": [
                 {"key": "s1e1", "season": 1, "episode": 1, "ids": {"tvdb": "2001"},
                  "state": {"emby": {"played": True, "last_played": 1700300000}}},
                 {"key": "s1e2", "season": 1, "episode": 2, "ids": {},
                  "state": {"plex": {"position_ms": 900000}}},
                 {"key": "s1e3", "season": 1, "episode": 3, "episode_end": 4, "ids": {},
                  "file": "Show One - S01E03-E04.mkv",
                  "state": {"plex": {"played": True, "last_played": 1700400000}}},
             ]},
            {"key": "s2", "title": "Anime", "year": 2012, "added_at": 1600000000,
             "ids": {"anidb": "5000"},
             "plex_guids": ["com.plexapp.agents.hama://anidb-5000?lang=en"],
             "jellyfin_provider_ids": {"AniDB": "5000"},
             "emby_provider_ids": {"AniDB": "5000"},
             "episodes": [
                 {"key": "s2e1", "season": 1, "episode": 1, "ids": {},
                  "plex_guids": ["com.plexapp.agents.hama://anidb-5000/1/1?lang=en"],
                  "state": {"jellyfin": {"played": True, "last_played": 1700700000}}},
             ]},
        ],
    }


def films(movies):
    """The household's three servers holding only `movies` (no series)."""
    return {"servers": household()["servers"], "movies": movies, "shows": []}

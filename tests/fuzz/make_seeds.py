#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Build the seed corpus of every fuzz harness into OUT_DIR/<harness>/: the hand-written seeds of
tests/fuzz/corpus/, plus what the recorded fixtures of tests/fixtures/ hold (response bodies, the
GUIDs inside them, webhook bodies, configs). Usage: make_seeds.py SOURCE_DIR OUT_DIR"""
import hashlib
import json
import os
import shutil
import sys


def write(out_dir, harness, data):
    if isinstance(data, str):
        data = data.encode()
    os.makedirs(os.path.join(out_dir, harness), exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out_dir, harness, name), "wb") as f:
        f.write(data)


def guids_in(value, found):
    """Every "guid" attribute and Guid[].id string inside a Plex body."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("guid", "id") and isinstance(item, str) and "://" in item:
                found.add(item)
            guids_in(item, found)
    elif isinstance(value, list):
        for item in value:
            guids_in(item, found)


def main():
    source, out = sys.argv[1], sys.argv[2]
    shutil.rmtree(out, ignore_errors=True)
    corpus = os.path.join(source, "tests", "fuzz", "corpus")
    for harness in sorted(os.listdir(corpus)):
        for name in sorted(os.listdir(os.path.join(corpus, harness))):
            with open(os.path.join(corpus, harness, name), "rb") as f:
                write(out, harness, f.read())

    fixtures = os.path.join(source, "tests", "fixtures")
    with open(os.path.join(fixtures, "plex", "watchstate_plex_data.json")) as f:
        plex = json.load(f)
    guids = set()
    for exchange in plex.values():
        body = exchange.get("response", {}).get("body")
        if isinstance(body, (dict, list)):
            write(out, "plex_page", json.dumps(body))
            guids_in(body, guids)
    for guid in sorted(guids):
        write(out, "plex_guid", guid)
    if guids:
        write(out, "plex_guid", "\n".join(sorted(guids)))

    with open(os.path.join(fixtures, "mediabrowser", "watchstate_mediabrowser_data.json")) as f:
        mediabrowser = json.load(f)
    for value in mediabrowser.values():
        body = json.dumps(value).encode()
        write(out, "mediabrowser_page", b"\x00" + body)  # as Jellyfin
        write(out, "mediabrowser_page", b"\x01" + body)  # as Emby
    # Webhook harness input: User-Agent line, where the JSON goes (body / multipart field), JSON.
    if "webhook_jellyfin" in mediabrowser:
        write(out, "webhook_payload", b"Jellyfin-Server/10.10.7\nbody\n" +
              json.dumps(mediabrowser["webhook_jellyfin"]).encode())
    if "webhook_emby" in mediabrowser:
        write(out, "webhook_payload", b"Emby Server/4.8.11.0\ndata\n" +
              json.dumps(mediabrowser["webhook_emby"]).encode())
    plex_webhook = os.path.join(fixtures, "plex", "telegraf_plex_webhook_media_play.json")
    if os.path.exists(plex_webhook):
        with open(plex_webhook, "rb") as f:
            write(out, "webhook_payload", b"PlexMediaServer/1.41.3\npayload\n" + f.read())

    for path in (os.path.join(fixtures, "config", "watchstate_servers.yaml"),
                 os.path.join(source, "share", "watchstate", "config.example.yaml")):
        if os.path.exists(path):
            with open(path, "rb") as f:
                text = f.read()
            write(out, "config", text)
            if path.endswith("watchstate_servers.yaml"):  # WatchState's file is the backends map
                write(out, "config", b"backends:\n" + b"".join(b"  " + line + b"\n"
                                                             for line in text.splitlines()))
    for harness in sorted(os.listdir(out)):
        print(f"seeds {harness}: {len(os.listdir(os.path.join(out, harness)))}")


if __name__ == "__main__":
    main()

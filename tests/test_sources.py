"""Sources that refresh themselves (sources.py), against a news site served on loopback whose feed
changes between refreshes: new items appear once, old ones are pruned, a failing source backs
off without stopping the others, and a refresh killed half-way is completed by the next."""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from qa_bot.assistant import Assistant
from qa_bot.errors import InputError
from qa_bot.sources import parse_every, say_every
from tests.conftest import LoopbackSite

STORY = ("The {town} council voted on {day} to fund a new ferry pier. The pier will cost {n} million dollars, "
         "officials said, and work starts in the spring. ")


class _Newsroom(LoopbackSite):
    items: dict[str, tuple[str, dt.date]] = {}  # path -> (town, published)
    broken = False  # the feed answers 500

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_port}"
        if self.path == "/feed.xml":
            if _Newsroom.broken:
                return self._send(500, "text/plain", b"backend down")
            items = "".join(f"<item><title>{town} funds a ferry pier</title><link>{base}{path}</link>"
                            f"<pubDate>{day.strftime('%a, %d %b %Y')} 09:00:00 GMT</pubDate></item>"
                            for path, (town, day) in _Newsroom.items.items())
            return self._send(200, "application/rss+xml", f"<?xml version='1.0'?><rss version='2.0'><channel>"
                              f"<title>Coast News</title><link>{base}</link>{items}</channel></rss>".encode())
        if self.path in _Newsroom.items:
            town, day = _Newsroom.items[self.path]
            body = STORY.format(town=town, day=day.strftime("%A"), n=len(town)) * 3
            html = (f"<html><head><title>{town} funds a ferry pier</title>"
                    f"<meta property='article:published_time' content='{day.isoformat()}T09:00:00Z'></head>"
                    f"<body><article><h1>{town} funds a ferry pier</h1><p>{body}</p><p>{body}</p></article></body></html>")
            return self._send(200, "text/html; charset=utf-8", html.encode())
        self._send(404, "text/plain", b"not found")


@pytest.fixture
def newsroom():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Newsroom)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    today = dt.date.today()
    _Newsroom.items = {"/arlo.html": ("Arlo", today - dt.timedelta(days=2)),
                       "/brant.html": ("Brant", today - dt.timedelta(days=3))}
    _Newsroom.broken = False
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _assistant(make_settings, embedder, tmp_path) -> Assistant:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    return Assistant(make_settings(corpus_dir=corpus), progress=False, embedder=embedder)


def _titles(a: Assistant) -> list[str]:
    return sorted(r.title for r in a.library())


def test_a_feed_source_brings_new_items_once_and_prunes_old_ones(make_settings, embedder, tmp_path, newsroom):
    a = _assistant(make_settings, embedder, tmp_path)
    src = a.sources.add(f"{newsroom}/feed.xml", "30m", keep_days=30)
    assert src.label == "url" and src.next_due <= time.time()  # due at once

    [done] = a.sources.refresh()
    assert not done.error and sorted(done.report.added) and done.source.label == "feed"
    assert _titles(a) == ["Arlo funds a ferry pier", "Brant funds a ferry pier"]
    assert a.sources.refresh() == []  # nothing due for 30 minutes

    # the feed changes: a new story, and one from last year that the 30-day window does not keep
    today = dt.date.today()
    _Newsroom.items["/cresby.html"] = ("Cresby", today)
    _Newsroom.items["/dunmore.html"] = ("Dunmore", today - dt.timedelta(days=400))
    [done] = a.sources.refresh(everything=True)
    assert done.report.added and len(done.pruned) == 1 and not done.error
    assert _titles(a) == ["Arlo funds a ferry pier", "Brant funds a ferry pier", "Cresby funds a ferry pier"]
    hits = a.search("Which town funded a ferry pier?", k=10)
    assert "Dunmore" not in " ".join(p.article.title for p in hits)  # pruned items leave search too
    [row] = a.sources.list()
    assert row.articles_added == 4 and row.articles_pruned == 1 and row.failures == 0 and row.last_ok

    # a third refresh of an unchanged feed fetches nothing again and duplicates nothing
    [done] = a.sources.refresh(everything=True)
    assert not done.report.added and not done.pruned and len(a.library()) == 3


def test_a_failing_source_backs_off_and_never_stops_the_others(make_settings, embedder, tmp_path, newsroom):
    a = _assistant(make_settings, embedder, tmp_path)
    dead = a.sources.add(f"{newsroom}/gone.xml", "10m")
    live = a.sources.add(f"{newsroom}/feed.xml", "10m")
    before = time.time()
    results = {d.source.id: d for d in a.sources.refresh()}
    assert "HTTP 404" in results[dead.id].error and not results[live.id].error
    assert len(a.library()) == 2  # the working feed was read in full
    failing = next(s for s in a.sources.list() if s.id == dead.id)
    assert failing.failures == 1 and "HTTP 404" in failing.last_error
    assert failing.next_due - before >= 2 * 600 - 5  # backed off: twice the interval
    results = {d.source.id: d for d in a.sources.refresh(everything=True)}
    failing = next(s for s in a.sources.list() if s.id == dead.id)
    assert failing.failures == 2 and failing.next_due - time.time() >= 4 * 600 - 5
    # a feed that starts failing keeps what it brought, says why, and recovers when it comes back
    _Newsroom.broken = True
    results = {d.source.id: d for d in a.sources.refresh(everything=True)}
    assert "HTTP 500" in results[live.id].error and len(a.library()) == 2
    _Newsroom.broken = False
    results = {d.source.id: d for d in a.sources.refresh(everything=True)}
    assert not results[live.id].error and next(s for s in a.sources.list() if s.id == live.id).failures == 0


def test_registering_sources_says_what_is_wrong(make_settings, embedder, tmp_path, newsroom):
    a = _assistant(make_settings, embedder, tmp_path)
    assert parse_every("30m") == 1800 and parse_every("2h") == 7200 and parse_every("1d") == 86_400
    assert say_every(1800) == "30m" and say_every(86_400) == "1d"
    for bad in ("soon", "10s", "0m"):
        with pytest.raises(InputError, match="--every"):
            parse_every(bad)
    a.sources.add(f"{newsroom}/feed.xml")
    with pytest.raises(InputError, match="already a source"):
        a.sources.add(f"{newsroom}/feed.xml")
    with pytest.raises(InputError, match="neither an http"):
        a.sources.add(str(tmp_path / "no-such-folder"))
    (tmp_path / "extra").mkdir()
    with pytest.raises(InputError, match="a folder's files are yours"):
        a.sources.add(str(tmp_path / "extra"), keep_days=3)
    with pytest.raises(InputError, match="no source"):
        a.sources.remove("99")


def test_a_folder_source_is_rescanned_incrementally_and_purged_without_touching_its_files(
        make_settings, embedder, tmp_path):
    a = _assistant(make_settings, embedder, tmp_path)
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "pier.txt").write_text("Elston opens its pier\n\n" + STORY.format(town="Elston", day="Monday", n=6) * 2)
    src = a.sources.add(str(folder), "10m")
    [done] = a.sources.refresh()
    assert done.report.added == ["pier"]
    (folder / "tram.txt").write_text("Fenwick buys trams\n\nFenwick bought four trams for its harbour line.\n")
    (folder / "pier.txt").unlink()
    [done] = a.sources.refresh(everything=True)
    assert done.report.added == ["tram"] and done.report.removed == ["pier"]
    _, purged = a.sources.remove(src.id, purge=True)
    assert purged == ["tram"] and a.library() == [] and (folder / "tram.txt").exists()
    assert a.sources.list() == []


@pytest.mark.slow  # `qa-bot sources refresh` in processes of their own: the real embedder
def test_a_refresh_killed_half_way_is_completed_by_the_next(tmp_path, newsroom):
    from tests.test_cli import qa
    from tests.test_stress import held_ingest

    data, corpus = tmp_path / "data", tmp_path / "corpus"
    corpus.mkdir()
    env = {"QA_BOT_CORPUS_DIR": str(corpus)}
    p = qa("sources", "add", f"{newsroom}/feed.xml", "--every", "15m", data_dir=data, env=env)
    assert p.returncode == 0 and "source 1:" in p.stdout, p.stderr
    proc = held_ingest(["-q", "--data-dir", str(data), "sources", "refresh"], 1, tmp_path / "hold", env)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    listed = json.loads(qa("sources", "list", "--json", data_dir=data, env=env).stdout)
    assert listed[0]["last_ok"] is None and listed[0]["articles_added"] == 0  # not done: still due
    p = qa("-q", "sources", "refresh", data_dir=data, env=env)
    assert p.returncode == 0 and "source 1" in p.stdout, p.stderr
    rows = json.loads(qa("library", "--json", data_dir=data, env=env).stdout)
    assert sorted(r["title"] for r in rows) == ["Arlo funds a ferry pier", "Brant funds a ferry pier"]
    assert len(list((corpus / "web" / "source-1").glob("*.md"))) == 2  # nothing fetched or saved twice
    listed = json.loads(qa("sources", "list", "--json", data_dir=data, env=env).stdout)
    assert listed[0]["last_ok"] and listed[0]["kind"] == "feed" and listed[0]["last_error"] == ""
    assert "1 sources" in qa("sources", "list", data_dir=data, env=env).stdout


def test_a_web_visitor_may_register_only_folders_of_the_corpus(make_settings, embedder, tmp_path):
    a = _assistant(make_settings, embedder, tmp_path)
    (tmp_path / "corpus" / "extra").mkdir()
    assert a.sources.add("extra", "10m", for_visitor=True).location == str((tmp_path / "corpus" / "extra").resolve())
    (tmp_path / "private").mkdir()
    with pytest.raises(InputError, match="inside the corpus folder"):
        a.sources.add(str(tmp_path / "private"), "10m", for_visitor=True)
    with pytest.raises(InputError, match="inside the corpus folder"):
        a.sources.add("../private", "10m", for_visitor=True)
    assert a.sources.add(str(tmp_path / "private"), "10m").kind == "folder"  # the CLI's user owns the machine


def test_a_source_a_visitor_registered_keeps_to_public_addresses_whoever_refreshes_it(
        make_settings, embedder, tmp_path, newsroom):
    """Registered from an exposed web UI, then refreshed by a cron run on loopback settings: the
    restriction travels with the source, not with the settings of the process refreshing it."""
    a = _assistant(make_settings, embedder, tmp_path)
    a.sources.registry.add(f"{newsroom}/feed.xml", 600, public_only=True)
    [done] = a.sources.refresh()
    assert "is not a public address" in done.error and a.library() == []

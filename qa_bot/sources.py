"""Sources that refresh themselves: feeds, pages and folders registered once, fetched on a schedule.

``qa-bot sources add URL|FOLDER --every 30m [--keep-days N]`` registers a source;
``qa-bot serve`` refreshes the due ones in a background thread (``Refresher``), and
``qa-bot sources refresh`` does one pass for cron or a systemd timer.

* **The registry** is a SQLite table in the data dir (``sources.sqlite``, store.py): a crash
  mid-write loses at most that write, and a refresh run by cron beside ``qa-bot serve`` is safe.
  A source is claimed by the process refreshing it (its pid), so two never fetch one source at
  once; a claim whose process died is taken over.
* **A refresh** of a URL fetches into the source's own folder, ``CORPUS/web/source-ID/`` (a feed:
  only items not fetched before; a page: fetched again, its file updated in place), then
  indexes that folder; a folder source is re-synced (only changed files are re-embedded). The
  source's row is updated only when the refresh is done, so a refresh killed half-way is due
  again and the next one completes it (what it saved is remembered and not saved twice).
* **Failures** (timeout, HTTP error, bad XML, a moved feed) are the source's alone: its error is
  kept for ``sources list`` and the web UI, and its next try backs off (the interval doubled per
  failure in a row, at most a day); the other sources are refreshed as usual.
* **Pruning**: with ``--keep-days N``, a URL source's articles older than N days (by the
  article's date, else the day it was fetched) are removed with their files after each refresh,
  and not fetched again.
* **Answering never waits**: questions are answered from what is indexed while a refresh runs;
  the refresh thread runs at a lower CPU priority (nice 10) so answers keep the cores first.

Why a small thread loop and not APScheduler: the schedule lives in the registry (it must survive
restarts and be shared with cron runs), a refresh is one blocking call, and "wake at the
earliest due time, or when a source is added" is a dozen lines; a scheduler library would add a
dependency and a second copy of the schedule.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import trace
from .config import Settings
from .errors import InputError, QABotError
from .index import IndexedArticle
from .library import Library
from .store import connect
from .sync import sync
from .types import IngestReport

MAX_BACKOFF_S = 86_400  # a failing source is tried at least once a day
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    location TEXT NOT NULL UNIQUE,    -- a URL, or a folder's absolute path
    kind TEXT NOT NULL,               -- 'url' or 'folder'
    every_s INTEGER NOT NULL,
    keep_days INTEGER,                -- NULL: keep every article
    public_only INTEGER NOT NULL DEFAULT 0,  -- added from an exposed web UI: never fetch private addresses
    added_at REAL NOT NULL,
    next_due REAL NOT NULL,
    last_try REAL,
    last_ok REAL,
    failures INTEGER NOT NULL DEFAULT 0,     -- in a row
    last_error TEXT NOT NULL DEFAULT '',
    articles_added INTEGER NOT NULL DEFAULT 0,
    articles_pruned INTEGER NOT NULL DEFAULT 0,
    feed INTEGER,                     -- 1 a feed, 0 a page, NULL not known yet
    claimed_by INTEGER                -- pid of the process refreshing it now
)
"""
_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|hr|d|day)s?\s*$", re.I)
_UNIT_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86_400, "day": 86_400}


def parse_every(text: str) -> int:
    """"30m" -> 1800 seconds; "45s", "2h", "1d" likewise. At least a minute."""
    m = _DURATION.match(str(text))
    if not m:
        raise InputError(f"--every must look like 30m, 2h or 1d, got {text!r}")
    seconds = int(m[1]) * _UNIT_S[m[2].lower()]
    if seconds < 60:
        raise InputError("--every must be at least 1m: a feed polled faster than that is a burden on its site")
    return seconds


def say_every(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Source:
    id: int
    location: str
    kind: str  # "url" or "folder"
    every_s: int
    keep_days: int | None
    public_only: bool
    added_at: float
    next_due: float
    last_try: float | None
    last_ok: float | None
    failures: int
    last_error: str
    articles_added: int
    articles_pruned: int
    feed: bool | None
    claimed_by: int | None

    @property
    def label(self) -> str:
        """"feed", "page", "folder", or "url" before its first fetch."""
        if self.kind == "folder":
            return "folder"
        return {True: "feed", False: "page"}.get(self.feed, "url")

    def to_dict(self) -> dict:
        def when(t: float | None) -> str | None:
            return dt.datetime.fromtimestamp(t).isoformat(timespec="seconds") if t else None

        return {"id": self.id, "location": self.location, "kind": self.label, "every": say_every(self.every_s),
                "keep_days": self.keep_days, "last_fetch": when(self.last_try), "last_ok": when(self.last_ok),
                "next_fetch": when(self.next_due), "articles_added": self.articles_added,
                "articles_pruned": self.articles_pruned, "failures": self.failures, "last_error": self.last_error}


@dataclass
class Refreshed:
    """What one refresh of one source did."""

    source: Source
    report: IngestReport = field(default_factory=IngestReport)
    pruned: list[str] = field(default_factory=list)
    error: str = ""
    skipped_busy: bool = False  # another process was refreshing it

    def describe(self) -> str:
        """One line a person reads about this refresh."""
        s = self.source
        if self.skipped_busy:
            return f"source {s.id} {s.location}: being refreshed by another process"
        if self.error:
            return (f"source {s.id} {s.location}: failed ({self.error}); next try in "
                    f"{say_every(int(max(60, s.next_due - time.time())) // 60 * 60)}")
        r = self.report
        line = f"source {s.id} {s.location}: {len(r.added)} added, {len(r.updated)} updated"
        if s.kind == "folder":
            line += f", {len(r.removed)} removed"
        if self.pruned:
            line += f", {len(self.pruned)} older than {s.keep_days} days pruned"
        return line + (f", {len(r.skipped)} skipped" if r.skipped else "")


class SourceRegistry:
    """The registered sources of one data dir."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.data_dir / "sources.sqlite"

    def _db(self):
        return connect(self.path, _SCHEMA)

    @staticmethod
    def _source(row: sqlite3.Row) -> Source:
        d = dict(row)
        d["public_only"] = bool(d["public_only"])
        d["feed"] = None if d["feed"] is None else bool(d["feed"])
        return Source(**d)

    def add(self, location: str, every_s: int, keep_days: int | None = None, public_only: bool = False,
            now: float | None = None) -> Source:
        """Register a URL or a folder; due at once. The same location twice is an InputError."""
        location = location.strip()
        if Library.is_url(location):
            kind = "url"
        else:
            folder = Path(location).expanduser()
            if not folder.is_dir():
                raise InputError(f"{location} is neither an http(s) URL nor a folder")
            kind, location = "folder", str(folder.resolve())
        if keep_days is not None and keep_days < 1:
            raise InputError("--keep-days must be 1 or more")
        if keep_days is not None and kind == "folder":
            raise InputError("--keep-days prunes fetched articles; a folder's files are yours to delete")
        now = time.time() if now is None else now
        with self._db() as con:
            try:
                cur = con.execute(
                    "INSERT INTO sources (location, kind, every_s, keep_days, public_only, added_at, next_due) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", (location, kind, every_s, keep_days, int(public_only), now, now))
            except sqlite3.IntegrityError:
                raise InputError(f"{location} is already a source (see `qa-bot sources list`)") from None
            return self._source(con.execute("SELECT * FROM sources WHERE id = ?", (cur.lastrowid,)).fetchone())

    def list(self) -> list[Source]:
        if not self.path.exists():
            return []
        with self._db() as con:
            return [self._source(r) for r in con.execute("SELECT * FROM sources ORDER BY id")]

    def get(self, which: str | int) -> Source:
        """A source by id or by its location."""
        for s in self.list():
            if str(s.id) == str(which).strip() or s.location == str(which).strip():
                return s
        raise InputError(f"no source {which!r} (see `qa-bot sources list`)")

    def delete(self, source: Source) -> None:
        with self._db() as con:
            con.execute("DELETE FROM sources WHERE id = ?", (source.id,))

    def due(self, now: float | None = None) -> list[Source]:
        now = time.time() if now is None else now
        return [s for s in self.list() if s.next_due <= now]

    def next_due(self) -> float | None:
        return min((s.next_due for s in self.list()), default=None)

    def claim(self, source: Source) -> bool:
        """Take the source for this process; False when a live process holds it."""
        me = os.getpid()
        with self._db() as con:
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT claimed_by FROM sources WHERE id = ?", (source.id,)).fetchone()
            if row is None:
                con.execute("ROLLBACK")
                return False
            holder = row["claimed_by"]
            if holder and holder != me and _alive(holder):
                con.execute("ROLLBACK")
                return False
            con.execute("UPDATE sources SET claimed_by = ? WHERE id = ?", (me, source.id))
            con.execute("COMMIT")
            return True

    def finish(self, source: Source, now: float, added: int, pruned: int, error: str, feed: bool | None) -> Source:
        """Record a refresh's outcome and when the source is due next (backed off after a failure)."""
        with self._db() as con:
            if error:
                failures = source.failures + 1
                wait = min(source.every_s * 2 ** failures, max(MAX_BACKOFF_S, source.every_s))
                con.execute("UPDATE sources SET last_try = ?, failures = ?, last_error = ?, next_due = ?, "
                            "claimed_by = NULL WHERE id = ?", (now, failures, error[:300], now + wait, source.id))
            else:
                con.execute(
                    "UPDATE sources SET last_try = ?, last_ok = ?, failures = 0, last_error = '', next_due = ?, "
                    "articles_added = articles_added + ?, articles_pruned = articles_pruned + ?, "
                    "feed = COALESCE(?, feed), claimed_by = NULL WHERE id = ?",
                    (now, now, now + source.every_s, added, pruned, None if feed is None else int(feed), source.id))
            row = con.execute("SELECT * FROM sources WHERE id = ?", (source.id,)).fetchone()
        return self._source(row) if row else source


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def source_folder(library: Library, source: Source) -> Path:
    """Where a source's articles are: a URL's own folder under CORPUS/web, or the folder itself."""
    return Path(source.location) if source.kind == "folder" else library.web_dir / f"source-{source.id}"


def _articles_in(library: Library, folder: Path) -> list[IndexedArticle]:
    """The indexed articles whose file is in ``folder`` (a JSONL record's path is ``file:LINE``)."""
    root = str(folder.resolve()) + os.sep
    return [a for a in library.list() if str(Path(re.sub(r"(\.jsonl):\d+$", r"\1", a.path)).resolve()).startswith(root)]


def refresh(library: Library, registry: SourceRegistry, source: Source, now: float | None = None,
            today: dt.date | None = None) -> Refreshed:
    """Refresh one source now (see the module docstring). Never raises for the source's own
    failures: they are in ``Refreshed.error`` and in the registry."""
    done = Refreshed(source)
    if not registry.claim(source):
        done.skipped_busy = True
        return done
    now = time.time() if now is None else now
    feed: bool | None = None
    folder = source_folder(library, source)
    with trace.span("qa.source.refresh", source=source.id, kind=source.kind, failures_before=source.failures) as span:
        span.text("location", source.location)
        try:
            if source.kind == "folder":
                if not folder.is_dir():
                    raise InputError(f"the folder {folder} is gone")
                done.report = sync(library.index, folder, prune=True)
            else:
                # a source a visitor registered keeps to public addresses, whichever process refreshes it
                got = library.fetch(source.location, into=folder, public_only=source.public_only)
                feed = got.feed
                if got.skipped and not got.saved and not got.known:
                    where, why = got.skipped[0]
                    raise InputError(why if where == source.location else f"{where}: {why}")
                if got.saved:
                    done.report = sync(library.index, folder, prune=False)
                done.report.skipped[:0] = got.skipped
                if source.keep_days:
                    done.pruned = _prune(library, folder, source.keep_days, today or dt.date.today())
        except QABotError as e:
            done.error = str(e)
        except OSError as e:  # a full disk, a folder made unreadable
            done.error = f"{type(e).__name__}: {e.strerror or e}"
        done.source = registry.finish(source, now, len(done.report.added), len(done.pruned), done.error, feed)
        span.set(added=len(done.report.added), updated=len(done.report.updated), pruned=len(done.pruned),
                 error=done.error[:200] or None, feed=feed)
    return done


def _prune(library: Library, folder: Path, keep_days: int, today: dt.date) -> list[str]:
    """Remove the folder's articles older than ``keep_days`` (article date, else fetch date)."""
    cutoff = today - dt.timedelta(days=keep_days)
    gone = []
    for a in _articles_in(library, folder):
        try:
            day = dt.date.fromisoformat(a.published) if a.published else None
        except ValueError:
            day = None
        if day is None:
            file = Path(a.path)
            day = dt.date.fromtimestamp(file.stat().st_mtime) if file.exists() else today
        if day < cutoff and library.remove(a.id).chunks:
            gone.append(a.id)
    return gone


def refresh_due(library: Library, registry: SourceRegistry, everything: bool = False,
                on_source: Callable[[Refreshed], None] | None = None) -> list[Refreshed]:
    """Refresh every due source (``everything``: every source), one after another; one failing
    never stops the others."""
    out = []
    for source in (registry.list() if everything else registry.due()):
        done = refresh(library, registry, source)
        out.append(done)
        if on_source:
            on_source(done)
    return out


def purge_articles(library: Library, source: Source) -> list[str]:
    """Remove a URL source's articles from the index, and its folder of fetched files; a folder
    source's articles leave the index, its files stay (they are a person's)."""
    folder = source_folder(library, source)
    gone = [a.id for a in _articles_in(library, folder) if library.remove(a.id).chunks]
    if source.kind == "url" and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
    return gone


class Refresher:
    """``qa-bot serve``'s background refresh: a daemon thread that sleeps until the earliest due
    source (or at most ``poll_s``, or until ``wake()``: a source was added), then refreshes the
    due ones. Questions are answered meanwhile from what is already indexed."""

    def __init__(self, library: Library, registry: SourceRegistry, poll_s: float = 60.0,
                 log: Callable[[str], None] | None = None) -> None:
        self.library, self.registry, self.poll_s = library, registry, poll_s
        self.log = log or (lambda line: print(line, flush=True))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="qa-bot-refresh", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        try:  # this thread (and the embedder threads it starts) yields the cores to answers
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while not self._stop.is_set():
            try:
                for done in refresh_due(self.library, self.registry):
                    self.log(done.describe())
                nxt = self.registry.next_due()
            except Exception as e:  # the loop must outlive anything one pass throws
                self.log(f"sources: refresh pass failed ({type(e).__name__}: {e})")
                nxt = None
            wait = self.poll_s if nxt is None else min(self.poll_s, max(1.0, nxt - time.time()))
            self._wake.wait(wait)
            self._wake.clear()


class Sources:
    """The registered sources and their refreshes, as every face uses them (``assistant.sources``)."""

    def __init__(self, library: Library, settings: Settings) -> None:
        self.library, self.settings = library, settings
        self.registry = SourceRegistry(settings)
        self._refresher: Refresher | None = None

    def add(self, location: str, every: str | int = "30m", keep_days: int | None = None,
            for_visitor: bool = False) -> Source:
        """Register a feed, a page or a folder; it is refreshed at once by ``qa-bot serve`` (or
        the next ``qa-bot sources refresh``). ``for_visitor``: added from the web UI, so on a
        server others can reach its fetches keep to public addresses."""
        from .access import fetch_public_only

        every_s = every if isinstance(every, int) else parse_every(every)
        if for_visitor and not self.library.is_url(location):
            # a web visitor may not make the server read its own files: only folders of the corpus
            corpus = self.settings.corpus_dir.resolve()
            folder = Path(location.strip()).expanduser()
            folder = (corpus / folder if not folder.is_absolute() else folder).resolve()
            if folder != corpus and not folder.is_relative_to(corpus):
                raise InputError(f"from the web UI a folder source must be inside the corpus folder ({corpus})")
            location = str(folder)
        source = self.registry.add(location, every_s, keep_days, for_visitor and fetch_public_only(self.settings))
        if self._refresher:
            self._refresher.wake()
        return source

    def list(self) -> list[Source]:
        return self.registry.list()

    def remove(self, which: str | int, purge: bool = False) -> tuple[Source, list[str]]:
        """Drop a source (by id or location); with ``purge`` its articles too. Returns (the
        source, the article ids purged)."""
        source = self.registry.get(which)
        self.registry.delete(source)
        return source, purge_articles(self.library, source) if purge else []

    def refresh(self, everything: bool = False, on_source: Callable[[Refreshed], None] | None = None) -> list[Refreshed]:
        return refresh_due(self.library, self.registry, everything, on_source)

    def start_refreshing(self, poll_s: float = 60.0, log: Callable[[str], None] | None = None) -> Refresher:
        """Refresh due sources in the background from now on (``qa-bot serve``)."""
        self._refresher = Refresher(self.library, self.registry, poll_s, log)
        self._refresher.start()
        return self._refresher

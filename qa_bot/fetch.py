"""Web pages and RSS/Atom feeds -> Markdown files in the corpus folder, then ingested like any file.

A fetched page is saved (front matter: title, author, date, source, url; then the main text),
so re-ingest, the library and remove treat it as a file. The main text and metadata come from
trafilatura, a library made for news pages, after the same hidden-text removal local HTML gets
(text a reader never sees must not reach the model). Feeds are read with feedparser; every
item's link is fetched once: ``.fetched.json`` in the folder maps each fetched URL to its file,
so re-reading a feed adds only new items.

Every way a fetch can fail (a dead link, a timeout, a non-HTML answer, an oversized body, a
page with no article text) is a skip with a one-line reason; nothing already indexed is lost.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from . import __version__
from .articles import SkipFile, decode, save_new_file
from .internals import httpx_set_network_backend

if TYPE_CHECKING:
    import httpcore
    import httpx

PAGE_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml")
REGISTRY = ".fetched.json"  # hidden: iter_files passes over it
MAX_REDIRECTS = 5


class FetchSkip(SkipFile):
    """A URL that gave no article, with the reason."""


@dataclass
class Fetched:
    url: str  # after redirects
    content_type: str
    body: bytes


@dataclass
class FetchReport:
    saved: list[Path] = field(default_factory=list)  # new or re-fetched files, to ingest
    known: list[str] = field(default_factory=list)  # feed items fetched on an earlier run
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    feed: bool | None = None  # the URL was a feed (None: it could not be fetched)


def _public_addresses(host: str) -> list[str]:
    """The addresses ``host`` resolves to; FetchSkip when any of them is not globally routable
    (used when the web UI is exposed: a visitor must not make the server read its own network,
    a carrier-grade NAT or a cloud metadata service)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchSkip(f"unreachable (cannot resolve {host!r})") from None
    out: list[str] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not _global(addr):
            raise FetchSkip(f"refused: {host} is not a public address ({addr})")
        out.append(str(addr))
    return list(dict.fromkeys(out))


def _global(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable by the IANA registries (``is_global``: not 100.64.0.0/10, 192.0.0.0/24,
    ...), never multicast; an IPv6 address only inside global unicast (2000::/3, which leaves out
    the site-local fec0::/10 that ``is_global`` lets through), with an IPv4 address written inside
    it (mapped, 6to4, Teredo) judged as IPv4. The standard library's registry data, not a list here."""
    if isinstance(addr, ipaddress.IPv6Address):
        inner = addr.ipv4_mapped or addr.sixtofour or (addr.teredo[1] if addr.teredo else None)
        if inner is not None:
            return _global(inner)
        if addr not in _GLOBAL_UNICAST:
            return False
    return addr.is_global and not addr.is_multicast


_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def _public_only(url: str) -> None:
    _public_addresses(urlsplit(url).hostname or "")


class _Deadline:
    """A network stream whose every read and write ends by one fixed moment: httpx's timeouts are
    per read, so a server sending one header byte a second would otherwise hold a fetch forever."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream, self._deadline = stream, deadline

    def _left(self, timeout: float | None) -> float:
        import httpcore

        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the whole exchange took longer than its limit")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):  # type: ignore[no-untyped-def]
        return _Deadline(self._stream.start_tls(ssl_context, server_hostname, self._left(timeout)), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def _bound(transport: httpx.HTTPTransport, deadline: float, public_only: bool) -> httpx.HTTPTransport:
    """``transport`` with connections that end by ``deadline`` and, with ``public_only``,
    connect only to addresses just checked.

    Checking the host name and then letting the connection resolve it again would leave a gap:
    a name whose DNS answer changes in between (DNS rebinding) passes the check with a public
    address and connects to a private one. Here the check's own answer is what is dialled (TLS
    still verifies the name). An exposed server therefore fetches directly, never through an
    HTTP(S)_PROXY from the environment, whose own lookups it could not check.
    """
    import httpcore

    class Bounded(httpcore.SyncBackend):
        def connect_tcp(
            self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.NetworkStream:
            left = max(0.001, deadline - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
            if not public_only:
                return _Deadline(super().connect_tcp(host, port, timeout, local_address, socket_options), deadline)
            error: Exception | None = None
            for addr in _public_addresses(host):
                try:
                    stream = super().connect_tcp(addr, port, timeout, local_address, socket_options)
                    return _Deadline(stream, deadline)
                except httpcore.ConnectError as e:  # the next address of the name, as a resolver-driven dial would
                    error = e
            raise error or httpcore.ConnectError(f"no address for {host}")

    httpx_set_network_backend(transport, Bounded())  # httpx has no parameter for it
    return transport


def fetch(url: str, max_bytes: int, timeout_s: float, public_only: bool = False) -> Fetched:
    """GET ``url`` with a bounded time (whole transfer, not per read) and size; FetchSkip on any failure."""
    import httpx

    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError as e:
        raise FetchSkip(f"not a valid link ({e})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise FetchSkip("not an http(s) link")

    def check(request: httpx.Request) -> None:  # every hop, redirects included; a clear reason early
        if public_only:
            _public_only(str(request.url))

    deadline = time.monotonic() + timeout_s
    try:
        # An exposed server ignores HTTP(S)_PROXY: a proxy would do its own, unchecked lookups.
        with httpx.Client(follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout_s,
                          headers={"User-Agent": f"qa-bot/{__version__}"}, event_hooks={"request": [check]},
                          transport=_bound(httpx.HTTPTransport(), deadline, public_only),
                          trust_env=not public_only) as client:
            for proxied in client._mounts.values():  # the environment's proxies: bounded in time too
                if isinstance(proxied, httpx.HTTPTransport):
                    _bound(proxied, deadline, False)
            with client.stream("GET", url) as r:
                if r.status_code >= 400:
                    raise FetchSkip(f"HTTP {r.status_code} {r.reason_phrase}".strip())
                declared = r.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchSkip(f"too large ({int(declared) / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit)")
                body = bytearray()
                for part in r.iter_bytes():
                    body += part
                    if len(body) > max_bytes:
                        raise FetchSkip(f"too large (more than the {max_bytes / 1e6:.1f} MB limit)")
                    if time.monotonic() > deadline:
                        raise FetchSkip(f"timed out after {timeout_s:g} s")
                kind = r.headers.get("content-type", "").split(";")[0].strip().lower()
                return Fetched(str(r.url), kind, bytes(body))
    except FetchSkip:
        raise
    except httpx.TimeoutException:
        raise FetchSkip(f"timed out after {timeout_s:g} s") from None
    except httpx.TooManyRedirects:
        raise FetchSkip(f"more than {MAX_REDIRECTS} redirects") from None
    except (httpx.InvalidURL, UnicodeError, ValueError) as e:  # "http://256.1.1.1/", "http://a..b/"
        raise FetchSkip(f"not a valid link ({' '.join(str(e).split())[:100]})") from None
    except httpx.HTTPError as e:
        detail = " ".join(str(e).split())[:100]
        raise FetchSkip(f"unreachable ({type(e).__name__}{': ' + detail if detail else ''})") from None


def is_feed(got: Fetched) -> bool:
    if got.content_type in FEED_TYPES:
        return True
    head = got.body[:500].lstrip().lower()
    return got.content_type not in PAGE_TYPES and (head.startswith(b"<?xml") or b"<rss" in head or b"<feed" in head)


def _visible_html(html: str) -> str:
    """The page without what its readers never see: hidden elements, comments, scripts."""
    from bs4 import BeautifulSoup, Comment

    from .articles import _hidden

    soup = BeautifulSoup(html, "html.parser")
    for c in soup.find_all(string=lambda s: isinstance(s, Comment)):
        c.extract()
    for el in soup.find_all(["script", "style", "noscript", "template", "iframe"]):
        el.decompose()
    for el in soup.find_all(_hidden):
        if not el.decomposed:
            el.decompose()
    return str(soup)


def page_markdown(got: Fetched, fallback: dict[str, str] | None = None) -> tuple[str, str]:
    """A fetched news page -> (a file name, Markdown with front matter). ``fallback`` fills title
    and date the page itself doesn't state (a feed item's)."""
    import trafilatura

    if got.content_type and got.content_type not in PAGE_TYPES:
        raise FetchSkip(f"not a web page ({got.content_type})")
    html = decode(got.body)
    doc = trafilatura.bare_extraction(_visible_html(html), url=got.url, with_metadata=True,
                                      include_comments=False, include_tables=False)
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if len(text) < 20:
        raise FetchSkip("no article text found on the page")
    fallback = fallback or {}
    title = getattr(doc, "title", None) or ""
    first, _, rest = text.partition("\n")
    if title and first.strip() == title.strip() and rest.strip():  # the headline is the title, not body text
        text = rest.strip()
    meta = {
        "title": getattr(doc, "title", None) or fallback.get("title") or "",
        "author": getattr(doc, "author", None) or "",
        "date": getattr(doc, "date", None) or fallback.get("date") or "",
        "source": getattr(doc, "sitename", None) or urlsplit(got.url).hostname or "",
        "url": got.url,
    }
    meta = {k: " ".join(str(v).split()) for k, v in meta.items() if v}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    slug = re.sub(r"[^a-z0-9]+", "-", (meta.get("title") or urlsplit(got.url).path).lower()).strip("-")[:60]
    return (slug or "page") + ".md", f"---\n{front}---\n\n{text}\n"


def _feed_items(got: Fetched, limit: int) -> list[tuple[str, dict[str, str]]]:
    import feedparser

    parsed = feedparser.parse(got.body)
    if not parsed.entries:
        problem = getattr(parsed, "bozo_exception", None)
        raise FetchSkip("not a feed (no items)" + (f": {' '.join(str(problem).split())[:80]}" if problem else ""))
    items = []
    for entry in parsed.entries[:limit]:
        link = entry.get("link") or ""
        if not link:
            continue
        extra = {"title": entry.get("title", "")}
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        if when:
            extra["date"] = dt.date(*when[:3]).isoformat()
        items.append((link, extra))
    return items


class Fetcher:
    """Fetches pages and feeds into ``folder`` (``.fetched.json`` remembers what came from where)."""

    def __init__(self, folder: Path, max_bytes: int, timeout_s: float, max_items: int = 50,
                 public_only: bool = False, taken: set[str] | None = None) -> None:
        self.folder = folder
        self.taken = set(taken or ())  # article ids already indexed: a new page's file name avoids them
        self.max_bytes, self.timeout_s, self.max_items, self.public_only = max_bytes, timeout_s, max_items, public_only
        self._registry_path = folder / REGISTRY
        try:
            self.registry: dict[str, str] = json.loads(self._registry_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.registry = {}

    def _get(self, url: str) -> Fetched:
        return fetch(url, self.max_bytes, self.timeout_s, self.public_only)

    def _save(self, url: str, got: Fetched, fallback: dict[str, str] | None, report: FetchReport) -> None:
        name, text = page_markdown(got, fallback)
        self.folder.mkdir(parents=True, exist_ok=True)
        earlier = self.registry.get(url)
        if earlier and (self.folder / earlier).is_file():  # fetched before: the page's file is updated in place
            path = self.folder / earlier
            path.write_text(text, encoding="utf-8")
        else:
            taken = {p.stem for p in self.folder.iterdir()} | self.taken
            path = save_new_file(self.folder, name, text.encode("utf-8"), taken)
            self.taken.add(path.stem)
        self.registry[url] = self.registry[got.url] = path.name
        report.saved.append(path)
        # remembered at once, not at the end: a fetch killed half-way must not fetch (and save
        # a second copy of) what it already saved
        self._write_registry()

    def _write_registry(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._registry_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.registry, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self._registry_path)

    def add(self, url: str, feed: bool | None = None,
            on_item: Callable[[int, int, str], None] | None = None) -> FetchReport:
        """Fetch ``url``: a page is saved; a feed (``feed=True``, or detected when None) has each
        item not fetched before saved. Never raises for a bad URL: it is in ``skipped``."""
        report = FetchReport()
        try:
            got = self._get(url)
            report.feed = feed is True or (feed is None and is_feed(got))
            if report.feed:
                items = _feed_items(got, self.max_items)
                for i, (link, extra) in enumerate(items):
                    if on_item:
                        on_item(i, len(items), link)
                    if link in self.registry:  # fetched on an earlier run (or removed since: not again)
                        report.known.append(link)
                        continue
                    try:
                        self._save(link, self._get(link), extra, report)
                    except SkipFile as e:
                        report.skipped.append((link, str(e)))
            else:
                self._save(url, got, None, report)
        except SkipFile as e:
            report.skipped.append((url, str(e)))
        return report  # (a fetch that saved nothing leaves no folder or registry behind)


def is_url(text: str) -> bool:
    return bool(re.match(r"https?://", str(text).strip(), re.I))

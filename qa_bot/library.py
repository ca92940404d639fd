"""Adding and removing articles, one implementation for every face.

The web UI, the CLI, the API and the LangChain adapter all reach the library through the
``Assistant`` (``assistant.articles``), so an upload, a fetched page or a removal behaves and
fails the same way wherever it starts:

* files qa-bot writes itself go into the corpus folder: uploads and pasted text into
  ``uploads/``, fetched pages and feed items into ``web/`` (as ``qa-bot ingest URL`` always has);
* a new file never overwrites another (``articles.save_new_file``), and its name never takes an
  indexed article's id;
* a new file that indexes nothing (an empty or unreadable upload) is deleted again;
* removing an article also takes it out of a file qa-bot wrote (one JSONL record's line, or the
  whole file), or the next start would index it again. Files a person put in the corpus are
  theirs: they are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .access import fetch_public_only
from .articles import forget_file, safe_name, save_new_file
from .config import Settings
from .errors import InputError, QABotError
from .fetch import Fetcher, FetchReport, is_url
from .index import ArticleIndex, IndexedArticle
from .sync import sync
from .types import IngestReport

__all__ = ["Added", "Library", "Removed"]


@dataclass
class Added:
    """One new file and what indexing it did."""

    given: str  # the name the person gave it (an upload's file name, "pasted", a URL's page)
    path: Path  # where it was saved
    report: IngestReport = field(default_factory=IngestReport)
    error: str = ""  # why nothing of it was indexed, when indexing failed outright

    @property
    def kept(self) -> bool:
        r = self.report
        return not self.error and bool(r.added or r.updated or r.unchanged)


@dataclass
class Removed:
    article_id: str
    chunks: int  # 0: no indexed article had that id
    note: str = ""  # what happened to the file it came from ("; deleted report.txt"), if qa-bot wrote it


class Library:
    """The articles of one index and the corpus folder they come from."""

    def __init__(self, index: ArticleIndex, settings: Settings) -> None:
        self.index, self.settings = index, settings
        self.upload_dir = settings.corpus_dir / "uploads"
        self.web_dir = settings.corpus_dir / "web"
        self._taken_ids: tuple[str, set[str]] | None = None  # (index generation, ids): see _taken

    is_url = staticmethod(is_url)  # "http(s)://...": fetched, not read from disk

    def list(self) -> list[IndexedArticle]:
        """Every fully indexed article, newest first."""
        return self.index.articles()

    def _taken(self) -> set[str]:
        """The indexed article ids a new file's name must avoid. Listing them reads every chunk's
        metadata, so it is done once per index generation, not once per uploaded file; files
        saved meanwhile are added to the same set (``save_new_file``)."""
        generation = self.index.generation()
        if self._taken_ids is None or self._taken_ids[0] != generation:
            self._taken_ids = (generation, {a.id for a in self.list()})
        return self._taken_ids[1]

    # ---- adding --------------------------------------------------------------------------

    def fetch(
        self,
        url: str,
        feed: bool | None = None,
        into: Path | None = None,
        on_item: Callable[[int, int, str], None] | None = None,
        for_visitor: bool = False,
        public_only: bool = False,
    ) -> FetchReport:
        """Fetch a page or a feed into ``into`` (default ``corpus/web``); nothing is indexed yet.

        ``for_visitor``: the fetch is asked for by a web visitor, so when the server can be
        reached from elsewhere, addresses that are not globally routable are refused
        (``access.fetch_public_only``). ``public_only``: refuse them whatever the settings (a
        source a visitor registered, refreshed later by any process)."""
        s = self.settings
        fetcher = Fetcher(into or self.web_dir, int(s.max_file_mb * 1_000_000), s.fetch_timeout_s, s.feed_max_items,
                          public_only=public_only or (for_visitor and fetch_public_only(s)), taken=self._taken())
        return fetcher.add(url.strip(), feed=feed, on_item=on_item)

    def save_upload(self, given: str, data: bytes) -> Path:
        """Write an uploaded file into ``corpus/uploads`` under a new name (never overwriting)."""
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        return save_new_file(self.upload_dir, Path(given).name, data, self._taken())

    def save_text(self, title: str, text: str) -> Path:
        """Write pasted text as an article: its title on the first line."""
        if not text.strip():
            raise InputError("paste the article's text first")
        title = " ".join(title.split()) or "Pasted article"
        return self.save_upload(title[:60].replace(" ", "-") + ".txt", f"{title}\n\n{text.strip()}\n".encode())

    def index_new(self, path: Path, given: str = "") -> Added:
        """Index one file qa-bot just wrote; a file that adds nothing to the library is deleted
        again (it was only ever ours), so a failed upload leaves no trace."""
        added = Added(given or path.name, path)
        try:
            added.report = sync(self.index, path, prune=False)
        except QABotError as e:
            added.error = str(e)
        if not added.kept:
            path.unlink(missing_ok=True)
        return added

    # ---- removing ------------------------------------------------------------------------

    def remove(self, article_id: str) -> Removed:
        """Remove an article from the index, and from the file it came from when qa-bot wrote
        that file (an upload or a fetched page); a person's own files are left alone."""
        row = next((a for a in self.list() if a.id == article_id), None)
        n = self.index.remove_article(article_id)
        note = forget_file(row.path, article_id, [self.upload_dir, self.web_dir]) if row and n else ""
        return Removed(article_id, n, note)

    @staticmethod
    def shown_name(added: Added) -> str:
        """The name a person gave a file, and the one it was saved under when they differ."""
        return added.given if added.path.name == safe_name(added.given) else f"{added.given} (saved as {added.path.name})"

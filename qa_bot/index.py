"""The Chroma adapter: chunks with our own embeddings, written, listed, searched and deleted.
The index is its own manifest; what to write and delete is decided by sync.py.

Every chunk carries its article's content hash and chunk count in its metadata. An article
is "indexed" only when the index holds exactly ``n_chunks`` chunks of its current hash, so a
sync killed at any instant is repaired by the next one: new chunks are written before the
old version's are deleted, and a half-written article is simply written again.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from .chunking import embed_text, header_for
from .config import Settings
from .embedder import Embedder, shared_embedder
from .errors import ConfigError, IndexMissingError, IndexUnavailableError
from .types import Article, Chunk, DateRange, IngestReport, date_int


def usable_data_dir(path: Path) -> None:
    """Create the data dir, or say in one line why it can't be used (a file, no permission...)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "not writable")
    except FileExistsError:
        raise IndexUnavailableError(f"data dir {path} is a file, not a folder (QA_BOT_DATA_DIR / --data-dir)") from None
    except OSError as e:
        raise IndexUnavailableError(
            f"cannot use {path} as the data dir (QA_BOT_DATA_DIR / --data-dir): {e.strerror or e}"
        ) from None


def _chunk_meta(
    article: Article, chunk: Chunk, content_hash: str, n_chunks: int, file: str
) -> dict[str, Any]:
    return {
        "article_id": article.id,
        "content_hash": content_hash,
        "n_chunks": n_chunks,
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "title": article.title,
        "published": article.published.isoformat() if article.published else "",
        "published_int": date_int(article.published),
        "source": article.source,
        "url": article.url,
        "path": article.path,
        "file": file,
        "suspect": article.suspect,
        "author": article.author,
        "page": chunk.page,
    }


def article_from_meta(meta: dict[str, Any], text: str = "") -> Article:
    published = meta.get("published") or ""
    return Article(
        id=str(meta["article_id"]),
        title=str(meta.get("title", "")),
        text=text,
        published=dt.date.fromisoformat(published) if published else None,
        source=str(meta.get("source", "")),
        url=str(meta.get("url", "")),
        path=str(meta.get("path", "")),
        suspect=str(meta.get("suspect", "")),
        author=str(meta.get("author", "")),
    )


_REQUIRED = ("article_id", "content_hash", "n_chunks", "position", "start", "end")


def whole_record(doc: object, meta: dict[str, Any] | None) -> bool:
    """False for a record another process is still writing (Chroma can hand a reader a row whose
    metadata or document is not there yet): readers skip it instead of crashing."""
    return isinstance(doc, str) and bool(meta) and all(k in meta for k in _REQUIRED)


def chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        id=chunk_id,
        article_id=str(meta["article_id"]),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        position=int(meta["position"]),
        page=int(meta.get("page") or 0),
    )


@dataclass(frozen=True)
class IndexedArticle:
    """One row of the library: what is indexed for an article."""

    id: str
    title: str
    published: str
    chunks: int
    path: str
    source: str


@dataclass
class NewVersion:
    """An article's new chunks to write, and the versions they replace."""

    article: Article
    content_hash: str
    file: str
    chunks: list[Chunk]
    replaces: set[str]  # other content hashes of this article to delete once the new one is in


class _ServerCollection:
    """A Chroma server's collection whose calls fail in one line when the server goes away
    (the client raises httpx's connection errors, which would reach the user as a traceback)."""

    def __init__(self, collection: Any, url: str) -> None:
        self._collection = collection
        self._url = url

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            import httpx

            try:
                return attr(*args, **kwargs)
            except httpx.TransportError as e:
                raise IndexUnavailableError(
                    f"lost the Chroma server at {self._url} ({type(e).__name__}); is it still running?"
                ) from None

        return call


class ArticleIndex:
    """A Chroma collection of chunks with their embeddings; local files or a Chroma server."""

    def __init__(self, settings: Settings, embedder: Embedder | Callable[[], Embedder]) -> None:
        """``embedder`` may be a factory: listing, removing and an unchanged sync never need the model."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.settings = settings
        self._embedder = embedder
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if settings.chroma_url:
            u = urlparse(settings.chroma_url)
            if u.scheme not in ("http", "https") or not u.hostname:
                raise ConfigError(
                    f"QA_BOT_CHROMA_URL must look like http://host:port, got {settings.chroma_url!r}"
                )
            try:
                self.client = chromadb.HttpClient(
                    host=u.hostname,
                    port=u.port or (443 if u.scheme == "https" else 8000),
                    ssl=u.scheme == "https",
                    settings=chroma_settings,
                )
                self.client.heartbeat()
            except Exception as e:  # the client raises several types for "nobody there"
                raise IndexUnavailableError(
                    f"cannot reach the Chroma server at {settings.chroma_url} ({type(e).__name__}); "
                    "start it with `chroma run --path DIR --port PORT` or unset QA_BOT_CHROMA_URL"
                ) from None
        else:
            usable_data_dir(settings.data_dir)
            settings.chroma_path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
        self.collection = self.client.get_or_create_collection(
            settings.collection,
            embedding_function=None,  # we always pass vectors; Chroma's default would fetch a model
            metadata={"hnsw:space": "cosine", "embedder": "all-MiniLM-L6-v2"},
        )
        if settings.chroma_url:
            self.collection = _ServerCollection(self.collection, settings.chroma_url)
        self._stamp = settings.data_dir / "index_generation"
        self._count_at: tuple[float, int, str] | None = None  # (when, chunk count, stamp) for generation()
        self._write_limit: int | None = None  # _max_write(), asked once
        self._writes = 0  # writes to the collection by this object (for the test hook, _wrote)

    @property
    def embedder(self) -> Embedder:
        if not hasattr(self._embedder, "embed"):  # a factory: build the embedder on first use
            self._embedder = self._embedder()
        return self._embedder

    @property
    def chunk_embedder(self) -> Embedder:
        """What embeds chunks at ingest: the per-channel int8 export (QA_BOT_INDEX_PRECISION=int8,
        the default; 1.8x faster) or the query embedder itself (fp32). Either way the vectors live
        in one space: a fp32 question against int8 chunks retrieved as well as int8 against int8 on dev."""
        embedder = self.embedder
        if self.settings.index_precision == "int8" and isinstance(embedder, Embedder):
            return shared_embedder("onnx-int8", self.settings.model_cache_dir)
        return embedder  # fp32, or an embedder other than the packaged MiniLM: it embeds its own chunks

    # ---- reading -------------------------------------------------------------------------

    def count(self) -> int:
        return self.collection.count()

    def holds_dates(self, dates: DateRange) -> bool:
        """Does any indexed article fall in ``dates``? (One row asked for: cheap at any size.)"""
        got = self.collection.get(where=dates.where(), limit=1, include=[])
        return bool(got["ids"])

    COUNT_TTL_S = 10.0  # how stale another machine's writes may look to a search (see generation)

    def generation(self) -> str:
        """Changes whenever this index is written.

        Every qa-bot writer sharing the data dir rewrites the stamp file, which is read on each
        call. The chunk count also catches writers that don't share the data dir, such as
        another machine on the same Chroma server. Counting costs a scan (12 ms at 100,000
        chunks, ~35 at 300,000), so it is re-read at most every COUNT_TTL_S seconds.
        """
        try:
            stamp = self._stamp.read_text()
        except OSError:
            stamp = "-"
        now = time.monotonic()
        if self._count_at is None or now - self._count_at[0] > self.COUNT_TTL_S or self._count_at[2] != stamp:
            self._count_at = (now, self.count(), stamp)
        return f"{stamp}:{self._count_at[1]}"

    def mark_changed(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._stamp.write_text(uuid.uuid4().hex)

    def chunk_metadatas(self) -> tuple[list[str], list[dict[str, Any]]]:
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        total = self.count()
        page = 5000
        for offset in range(0, total, page):
            got = self.collection.get(include=["metadatas"], limit=page, offset=offset)
            for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                if whole_record("", meta):
                    ids.append(cid)
                    metas.append(meta)
        return ids, metas

    def all_chunks(self) -> list[tuple[Chunk, dict[str, Any]]]:
        """Every complete article's chunks with their metadata (for BM25 and the library)."""
        out = []
        total = self.count()
        page = 5000
        for offset in range(0, total, page):
            got = self.collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                if whole_record(doc, meta):
                    out.append((chunk_from_record(cid, doc, meta), meta))
        complete = self.complete_hashes([m for _, m in out])
        return [(c, m) for c, m in out if complete.get(m["article_id"]) == m["content_hash"]]

    @staticmethod
    def complete_hashes(metas: Iterable[dict[str, Any]]) -> dict[str, str]:
        """article_id -> the content hash that is fully indexed (all its chunks present)."""
        counts: dict[tuple[str, str], int] = defaultdict(int)
        expected: dict[tuple[str, str], int] = {}
        for m in metas:
            key = (m["article_id"], m["content_hash"])
            counts[key] += 1
            expected[key] = int(m["n_chunks"])
        return {aid: h for (aid, h), n in counts.items() if n == expected[(aid, h)]}

    def articles(self) -> list[IndexedArticle]:
        _, metas = self.chunk_metadatas()
        complete = self.complete_hashes(metas)
        seen: dict[str, IndexedArticle] = {}
        for m in metas:
            aid = m["article_id"]
            if complete.get(aid) == m["content_hash"] and aid not in seen:
                seen[aid] = IndexedArticle(
                    aid, m["title"], m["published"], int(m["n_chunks"]), m["path"], m["source"]
                )
        return sorted(seen.values(), key=lambda a: (a.published or "0000", a.title), reverse=True)

    def query(
        self, embedding: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[Chunk, dict[str, Any], float]]:
        """Nearest chunks by cosine similarity (1 - distance), best first."""
        from chromadb.errors import ChromaError

        # one round trip: Chroma returns fewer than n_results when it has fewer
        for attempt in range(4):
            try:
                got = self.collection.query(
                    query_embeddings=[embedding.tolist()],
                    n_results=n,
                    where=where or None,
                    include=["documents", "metadatas", "distances"],
                )
                break
            except ChromaError:  # a concurrent writer's half-written rows; they settle in moments
                if attempt == 3:
                    raise IndexUnavailableError("the index is being written by another process; try again in a moment") from None
                time.sleep(0.2 * (attempt + 1))
        if not got["ids"][0] and not where and self.count() == 0:
            raise IndexMissingError(
                "nothing is indexed yet: run `qa-bot ingest corpus/` (or add articles in the web UI)"
            )
        return [
            (chunk_from_record(cid, doc, meta), meta, 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True
            )
            if whole_record(doc, meta)
        ]

    def records(self, chunk_ids: list[str], embedding: np.ndarray) -> dict[str, tuple[Chunk, dict[str, Any], float]]:
        """Chunk, metadata and cosine similarity to ``embedding`` of specific chunks, in one
        round trip; rows not (or not yet wholly) written are left out."""
        from chromadb.errors import ChromaError

        if not chunk_ids:
            return {}
        include = ["documents", "metadatas", "embeddings"]
        try:
            got = self.collection.get(ids=chunk_ids, include=include)
            rows = list(zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True))
        except ChromaError:  # a concurrent writer's half-written rows: fetch one by one, keep the whole ones
            rows = []
            for cid in chunk_ids:
                try:
                    one = self.collection.get(ids=[cid], include=include)
                except ChromaError:
                    continue
                rows += zip(one["ids"], one["documents"], one["metadatas"], one["embeddings"], strict=True)
        out = {}
        for cid, doc, meta, vec in rows:
            if whole_record(doc, meta) and vec is not None:
                sim = float(np.asarray(vec, dtype=np.float32) @ embedding)
                out[cid] = (chunk_from_record(cid, doc, meta), meta, sim)
        return out

    # ---- writing -------------------------------------------------------------------------

    def remove_article(self, article_id: str) -> int:
        """Delete every chunk of an article; returns how many were deleted."""
        got = self.collection.get(where={"article_id": article_id}, include=[])
        if got["ids"]:
            self.collection.delete(ids=got["ids"])
            self.mark_changed()
        return len(got["ids"])

    def relocate(self, article: Article, content_hash: str, file: str) -> None:
        got = self.collection.get(
            where={"$and": [{"article_id": article.id}, {"content_hash": content_hash}]}, include=["metadatas"]
        )
        metas = [{**m, "file": file, "path": article.path} for m in got["metadatas"]]
        limit = self._max_write()
        for s in range(0, len(metas), limit):
            self.collection.update(ids=got["ids"][s : s + limit], metadatas=metas[s : s + limit])
            self._wrote()

    def _wrote(self) -> None:
        """Count a write. A test hook, QA_BOT_TEST_HOLD=N:PATH: after the N-th write, create
        PATH.held and wait until PATH.go exists. The crash and concurrency tests kill or search an
        ingest there, at a known point in its writes, instead of after a guessed sleep."""
        self._writes += 1
        hold = os.environ.get("QA_BOT_TEST_HOLD", "")
        n, _, path = hold.partition(":")
        if not path or not n.isdigit() or self._writes != int(n):
            return
        Path(path + ".held").write_text(str(self._writes))
        while not Path(path + ".go").exists():
            time.sleep(0.01)

    def _max_write(self) -> int:
        """The most records one write may carry (Chroma's ``get_max_batch_size``: 5,461 locally)."""
        if self._write_limit is None:
            try:
                self._write_limit = max(1, int(self.client.get_max_batch_size()))
            except Exception:  # a server without the endpoint: Chroma's local default
                self._write_limit = 5461
        return self._write_limit

    def delete_versions(self, article_id: str, hashes: set[str]) -> None:
        for h in hashes:
            self.collection.delete(where={"$and": [{"article_id": article_id}, {"content_hash": h}]})
            self._wrote()

    def write(
        self,
        pending: list[NewVersion],
        report: IngestReport,
        on_progress: Callable[[int, int], None] | None,
        progress: bool,
    ) -> None:
        """Embed in rounds of at most ``batch`` chunks across articles, write each round in as few
        calls as the client allows, and drop an article's old versions once its last chunk is in.

        A long article spans several rounds (a 10 MB file is ~12,000 chunks; Chroma refuses a
        write of more than ``client.get_max_batch_size()``, 5,461 locally). Killed half-written,
        it is incomplete (fewer chunks than its ``n_chunks``), invisible, and written again next time.
        """
        total = sum(len(p.chunks) for p in pending)
        from tqdm import tqdm

        bar = tqdm(total=total, unit="chunk", desc="embedding", disable=not progress or total == 0)
        done = 0
        batch = max(self.settings.embed_batch * 4, 128)  # chunks embedded (length-sorted) and written per round
        limit = self._max_write()
        units = ((p, c) for p in pending for c in p.chunks)
        try:
            while True:
                round_ = list(itertools.islice(units, batch))
                if not round_:
                    break
                headers = {id(p): header_for(p.article, self.embedder.count_tokens) for p, _ in round_}
                vectors = self.chunk_embedder.embed(
                    [embed_text(headers[id(p)], c.text) for p, c in round_], self.settings.embed_batch
                ).tolist()
                for s in range(0, len(round_), limit):
                    part = round_[s : s + limit]
                    self.collection.upsert(
                        ids=[f"{p.article.id}@{p.content_hash}#{c.position}" for p, c in part],
                        embeddings=vectors[s : s + limit],
                        documents=[c.text for _, c in part],
                        metadatas=[_chunk_meta(p.article, c, p.content_hash, len(p.chunks), p.file) for p, c in part],
                    )
                    self._wrote()
                for p, c in round_:  # old versions go only once the new one is wholly in
                    if p.replaces and c is p.chunks[-1]:
                        self.delete_versions(p.article.id, p.replaces)
                done += len(round_)
                report.chunks_embedded += len(round_)
                bar.update(len(round_))
                if on_progress:
                    on_progress(done, total)
        finally:
            bar.close()

"""Make the index match a folder of articles: the sync policy, apart from the Chroma adapter.

What it decides (index.py only stores and deletes what it is told):
* which files to read, and what a file that cannot be read means (its indexed articles are
  kept, not pruned);
* which article ids a file owns: an article that moves to another file moves with it; an id
  another file still holds is never taken over, and the second is skipped with a reason;
* whether an article changed: a hash of its content and of how it is chunked and embedded
  (``recipe``), so a new chunk size or embedder re-embeds instead of keeping old chunks;
* what to prune: with ``prune``, an article whose file lies under the folder but no longer
  yields it.

The crash-safety rule lives in the index's writes: new chunks go in before the old version's
are deleted, and an article counts only when all its chunks are in.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from . import trace
from .articles import SkipFile, iter_files, load_file
from .chunking import CHUNKER_VERSION, chunk_article
from .config import Settings
from .embedder import EMBEDDER_NAME, INT8_RECIPE
from .errors import InputError
from .index import ArticleIndex, NewVersion
from .types import Article, IngestReport


def recipe(settings: Settings) -> str:
    """How chunks and vectors are made: part of every article's content hash, so an index built
    with another chunk size, chunker or embedder is re-embedded by the next ingest instead of
    silently keeping old chunks. (The ONNX and torch runtimes give the same vectors: one recipe.)"""
    precision = f";{INT8_RECIPE}" if settings.index_precision == "int8" else ""
    return f"{EMBEDDER_NAME}{precision};chunker-{CHUNKER_VERSION};{settings.chunk_tokens}"


def article_hash(article: Article, made_with: str = "") -> str:
    h = hashlib.sha256(made_with.encode("utf-8"))
    for part in (
        article.title,
        article.published.isoformat() if article.published else "",
        article.source,
        article.url,
        article.text,
    ):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    if article.author:
        h.update(b"\x00author\x00" + article.author.encode("utf-8"))
    if article.suspect:  # a change of verdict re-writes the article's chunks with the new flag
        h.update(article.suspect.encode("utf-8"))
    return h.hexdigest()[:16]


def _held_elsewhere(article_id: str, owner: str, file: str, holds: dict[str, set[str]]) -> bool:
    """True when ``owner``, the file ``article_id`` is indexed from, is not ``file`` and still
    holds that article: read in this sync and yielding it, or not read now but still there."""
    if owner == file:
        return False
    if owner in holds:
        return article_id in holds[owner]
    return os.path.exists(owner)


def sync(
    index: ArticleIndex,
    root: Path,
    prune: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    progress: bool = False,
) -> IngestReport:
    """Make the index match the articles under ``root`` (a folder or a single file).

    New and changed articles are embedded; unchanged ones are left alone; with ``prune``,
    indexed articles whose file lies under ``root`` but no longer yields them are removed.
    Traced as ``qa.ingest`` with a ``qa.ingest.file`` per file read and ``qa.ingest.embed``.
    """
    with trace.span("qa.ingest", prune=prune) as span:
        report = _sync(index, root, prune, on_progress, progress)
        span.set(added=len(report.added), updated=len(report.updated), removed=len(report.removed),
                 unchanged=len(report.unchanged), skipped=len(report.skipped), chunks_embedded=report.chunks_embedded)
        return report


def _sync(
    index: ArticleIndex, root: Path, prune: bool, on_progress: Callable[[int, int], None] | None, progress: bool,
) -> IngestReport:
    t0 = time.perf_counter()
    report = IngestReport()
    root = Path(root)
    if not root.exists():
        raise InputError(f"{root} does not exist")
    root_abs = str(root.resolve())

    ids, metas = index.chunk_metadatas()
    complete = index.complete_hashes(metas)
    hashes_by_article: dict[str, set[str]] = defaultdict(set)
    file_by_article: dict[str, str] = {}
    for m in metas:
        hashes_by_article[m["article_id"]].add(m["content_hash"])
        file_by_article[m["article_id"]] = m.get("file", "")

    max_bytes = int(index.settings.max_file_mb * 1_000_000)
    made_with = recipe(index.settings)
    seen: dict[str, str] = {}
    unreadable: set[str] = set()  # files skipped this run: their indexed articles are kept, not pruned
    pending: list[NewVersion] = []
    loaded: list[tuple[str, list[Article]]] = []
    for path, why_not in iter_files(root):
        warnings: list[str] = []
        step = trace.start("qa.ingest.file", kind=path.suffix.lower().lstrip(".") or "none")
        step.text("file", str(path))
        try:
            if why_not:
                raise SkipFile(why_not)
            arts = load_file(path, max_bytes, warnings, index.settings.file_timeout_s)
        except SkipFile as e:
            step.end(skipped=str(e)[:200])
            report.skipped.append((str(path), str(e)))
            unreadable.add(str(path.resolve()) if not path.is_symlink() else str(path.absolute()))
            continue
        step.end(articles=len(arts), warnings=len(warnings), chars=sum(len(a.text) for a in arts))
        report.warnings.extend((str(path), w) for w in warnings)
        loaded.append((str(path.resolve()), arts))
    # which ids each file read in this run holds: an article that left its file for another
    # moves with it; an id that another file still holds is not taken over
    holds = {file: {a.id for a in arts} for file, arts in loaded}

    for file, arts in loaded:
        for art in arts:
            if art.id in seen:
                report.skipped.append(
                    (art.path, f"duplicate article id {art.id!r} (already read from {seen[art.id]})")
                )
                continue
            owner = file_by_article.get(art.id, file)
            if _held_elsewhere(art.id, owner, file, holds):
                # never let one file's article replace another file's that is still there
                report.skipped.append((art.path, f"article id {art.id!r} is already used by {owner}"))
                continue
            try:
                h = article_hash(art, made_with)
                chunks = None if complete.get(art.id) == h else chunk_article(
                    art, index.embedder.count_tokens, index.settings.chunk_tokens
                )
            except Exception as e:
                report.skipped.append((art.path, f"could not be chunked ({type(e).__name__})"))
                unreadable.add(file)
                continue
            seen[art.id] = art.path
            superseded = hashes_by_article.get(art.id, set()) - {h}
            if chunks is None:
                report.unchanged.append(art.id)
                if superseded:  # leftovers of an interrupted update
                    index.delete_versions(art.id, superseded)
                if file_by_article.get(art.id) != file:  # same text, new file: record where it lives now
                    index.relocate(art, h, file)
                continue
            (report.updated if complete.get(art.id) else report.added).append(art.id)
            pending.append(NewVersion(art, h, file, chunks, superseded))

    with trace.span("qa.ingest.embed", articles=len(pending), chunks=sum(len(v.chunks) for v in pending)):
        index.write(pending, report, on_progress, progress)

    if prune:
        for aid, file in file_by_article.items():
            under = file == root_abs or file.startswith(root_abs.rstrip(os.sep) + os.sep)
            if under and aid not in seen and file not in unreadable:
                index.delete_versions(aid, hashes_by_article[aid])
                report.removed.append(aid)
    if pending or report.removed:
        index.mark_changed()
    report.seconds = time.perf_counter() - t0
    return report

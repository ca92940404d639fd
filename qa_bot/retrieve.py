"""Hybrid retrieval: dense (Chroma) + BM25 (+ recency), fused by reciprocal rank, near-duplicates dropped.

Each passage's ``score`` is its cosine similarity to the question (for BM25-only hits too),
because an absolute, comparable number is what abstention needs; the fused rank decides
the order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import trace
from .config import Settings
from .errors import InputError
from .guard import injection_signal
from .index import ArticleIndex, Embedder, article_from_meta
from .question import analyse, news_window
from .text import plain
from .types import Article, Chunk, DateRange, Passage

RRF_K = 60  # the constant from Cormack et al. (2009); damps the head of each ranking
RECENCY_MARGIN = 0.25  # cosine below the best candidate's at which the recency bonus has faded to nothing

class _Bm25:
    """BM25 over every chunk (title + text), addressed by chunk id.

    Built from the index when its generation changes, then saved under DATA_DIR/bm25/ so the
    next process loads it (memory-mapped) instead of reading every chunk back from Chroma.
    """

    def __init__(self, ids: list[str], retriever: Any) -> None:
        import Stemmer

        self.ids = ids
        self.retriever = retriever
        self.stemmer = Stemmer.Stemmer("english")

    @classmethod
    def build(cls, chunks: list[tuple[Chunk, dict[str, Any]]]) -> _Bm25:
        import bm25s
        import Stemmer

        retriever = bm25s.BM25()
        corpus = [f"{m.get('title', '')}\n{c.text}" for c, m in chunks]
        tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False)
        if corpus:
            retriever.index(tokens, show_progress=False)
        return cls([c.id for c, _ in chunks], retriever)

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        self.retriever.save(str(tmp), show_progress=False)
        (tmp / "chunk_ids.json").write_text(json.dumps(self.ids))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)  # appears whole or not at all

    @classmethod
    def load(cls, folder: Path) -> _Bm25:
        import bm25s

        ids = json.loads((folder / "chunk_ids.json").read_text())
        return cls(ids, bm25s.BM25.load(str(folder), mmap=True, show_progress=False))

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        import bm25s

        if not self.ids:
            return []
        q = bm25s.tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not q.vocab:
            return []
        docs, scores = self.retriever.retrieve(q, k=min(n, len(self.ids)), show_progress=False)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def _overlap(a: Chunk, b: Chunk) -> float:
    """Share of the shorter chunk covered by the other (same article only)."""
    if a.article_id != b.article_id:
        return 0.0
    inter = min(a.end, b.end) - max(a.start, b.start)
    return max(0.0, inter / max(1, min(a.end - a.start, b.end - b.start)))


def _with_verdict(article: Article, meta: dict, text: str) -> Article:
    """Chunks indexed before the injection guard existed carry no verdict: judge their own text."""
    if "suspect" in meta:
        return article
    return replace(article, suspect=injection_signal(f"{article.title}\n{text}"))


class Retriever:
    def __init__(self, index: ArticleIndex, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._bm25: _Bm25 | None = None
        self._bm25_gen = ""
        self._lock = threading.Lock()

    def bm25(self) -> _Bm25:
        """The BM25 index of the index's current state: in memory, else saved on disk, else built."""
        with self._lock:
            gen = self.index.generation()
            if self._bm25 is not None and gen == self._bm25_gen:
                return self._bm25
            folder = self._bm25_folder(gen)
            try:
                self._bm25 = _Bm25.load(folder)
            except (OSError, ValueError, KeyError):  # absent, or from an interrupted save: rebuild
                self._bm25 = _Bm25.build(self.index.all_chunks())
                try:
                    self._prune_bm25(keep=folder)
                    self._bm25.save(folder)
                except OSError:
                    pass  # a read-only data dir: this process keeps its in-memory copy
            self._bm25_gen = gen
            return self._bm25

    def _bm25_folder(self, generation: str) -> Path:
        where = self.settings.chroma_url or str(self.settings.chroma_path.resolve())
        key = hashlib.sha256(f"{where}|{self.settings.collection}|{generation}".encode()).hexdigest()[:16]
        return self.settings.data_dir / "bm25" / f"{self.settings.collection}-{key}"

    def _prune_bm25(self, keep: Path) -> None:
        for old in keep.parent.glob(f"{self.settings.collection}-*"):
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)

    def search(
        self, question: str, k: int | None = None, dates: DateRange | None = None, today: dt.date | None = None
    ) -> list[Passage]:
        """Top-k passages for ``question``, best first.

        With ``today`` (the date the question is asked), a time-relative question ("this week")
        gets a recency ranking fused with the dense and BM25 ones.
        """
        question = question.strip()
        if not question:
            raise InputError("the question is empty")
        k = k or self.settings.k
        dates = dates or DateRange()
        step = trace.start("qa.retrieve.dense", fetch_k=self.settings.fetch_k)
        q = self.embedder.embed([question])[0]
        dense = self.index.query(q, self.settings.fetch_k, dates.where())
        step.end(candidates=len(dense))

        candidates: dict[str, tuple[Chunk, dict[str, Any]]] = {}
        fused: dict[str, float] = {}
        cosine: dict[str, float] = {}
        for rank, (chunk, meta, sim) in enumerate(dense):
            candidates[chunk.id] = (chunk, meta)
            cosine[chunk.id] = sim
            fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
        step = trace.start("qa.retrieve.bm25")
        hits = self.bm25().search(question, self.settings.fetch_k * 2)
        # the BM25 hits dense retrieval did not bring: text, metadata and similarity in one call
        fetched = self.index.records([cid for cid, _ in hits if cid not in candidates], q)
        rank = 0
        for cid, _score in hits:
            if cid not in candidates:
                if cid not in fetched or not dates.admits(fetched[cid][1]):
                    continue  # deleted since BM25 was built, or outside the dates asked for
                chunk, meta, sim = fetched[cid]
                candidates[cid], cosine[cid] = (chunk, meta), sim
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
            rank += 1
            if rank >= self.settings.fetch_k:
                break
        step.end(hits=len(hits), new_candidates=len(fetched))

        step = trace.start("qa.retrieve.fusion")
        # Recency is a third ranking, fused like the others: candidates inside the question's
        # window, newest first. A strong older match still beats a weak recent one.
        asked = analyse(question, today)
        # no "this week" in the question, but a news question is still about the news before the
        # day it is asked: the same ranking over a wider window
        window = asked.window or news_window(asked, today, self.settings.news_days)
        if window is not None:
            # the window's own best matches join the candidates, so a recent article that the
            # whole-index rankings pushed below fetch_k can still be found
            for chunk, meta, sim in self.index.query(q, self.settings.fetch_k, window.intersect(dates).where()):
                candidates.setdefault(chunk.id, (chunk, meta))
                cosine.setdefault(chunk.id, sim)
                fused.setdefault(chunk.id, 0.0)
            recent = [c for c in candidates if window.admits(candidates[c][1])]
            recent.sort(key=lambda c: -int(candidates[c][1].get("published_int") or 0))
            # RRF barely separates neighbouring ranks, so an unweighted recency ranking would
            # decide every close call: the bonus fades out for candidates much less similar to
            # the question than the best one (an unrelated article of the same week gets none)
            best = max(cosine.values(), default=0.0)
            # Recency belongs to an article, not to a chunk: ranked by date (articles of one day
            # share a rank) and faded by the article's best match, every chunk of an article gets
            # the same bonus, so the ranking never reorders what it cannot tell apart.
            days = sorted({int(candidates[c][1].get("published_int") or 0) for c in recent}, reverse=True)
            day_rank = {d: i for i, d in enumerate(days)}
            article_best: dict[str, float] = {}
            for cid in recent:
                aid = candidates[cid][0].article_id
                article_best[aid] = max(article_best.get(aid, 0.0), cosine.get(cid, 0.0))
            for cid in recent:
                rank = day_rank[int(candidates[cid][1].get("published_int") or 0)]
                match = article_best[candidates[cid][0].article_id]
                closeness = min(1.0, max(0.0, (match - (best - RECENCY_MARGIN)) / RECENCY_MARGIN))
                fused[cid] += closeness / (RRF_K + rank + 1)

        chosen: list[tuple[Chunk, dict[str, Any]]] = []
        seen_text: set[str] = set()
        for cid in sorted(fused, key=lambda c: (-fused[c], -cosine.get(c, 0.0))):
            chunk, meta = candidates[cid]
            norm = plain(chunk.text)
            # the same passage syndicated twice, or two overlapping chunks of one article
            if norm in seen_text or any(_overlap(chunk, c) > 0.6 for c, _ in chosen):
                continue
            seen_text.add(norm)
            chosen.append((chunk, meta))
            if len(chosen) >= k:
                break
        step.end(candidates=len(candidates), kept=len(chosen), recency=window is not None)
        return [
            Passage(
                chunk=chunk,
                article=_with_verdict(article_from_meta(meta), meta, chunk.text),
                score=float(cosine.get(chunk.id, 0.0)),
                rank=i + 1,
            )
            for i, (chunk, meta) in enumerate(chosen)
        ]

"""Hybrid retrieval: dense (Chroma) + BM25, fused by reciprocal rank, near-duplicates dropped.

Each passage's ``score`` is its cosine similarity to the question (for BM25-only hits too),
because an absolute, comparable number is what abstention needs; the fused rank decides
the order.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from typing import Any

from .config import Settings
from .errors import InputError
from .index import ArticleIndex, Embedder, _date_int, article_from_meta
from .types import Chunk, Passage

RRF_K = 60  # the constant from Cormack et al. (2009); damps the head of each ranking

# "this week" questions are about the news of that week: an older article on the same topic
# (last year's resignation, last year's earthquake) is the wrong answer however similar it is.
# Windows in days before the reference date; one day after allows for time zones.
_RECENCY = [
    (re.compile(r"\b(?:this|last|past) week(?:end)?\b|\byesterday\b|\btoday\b|\btonight\b|\bin recent days\b"
                r"|\bon (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I), 10),
    (re.compile(r"\b(?:this|last|past) month\b|\brecent(?:ly)?\b|\blatest\b", re.I), 90),
    (re.compile(r"\b(?:this|last|past) year\b", re.I), 366),
]


def recency_window(question: str, today: dt.date | None) -> DateRange | None:
    """The dates a time-relative question ("this week", "recently") is about, if it is one."""
    if today is None:
        return None
    for pattern, days in _RECENCY:
        if pattern.search(question):
            return DateRange(today - dt.timedelta(days=days), today + dt.timedelta(days=1))
    return None


@dataclass(frozen=True)
class DateRange:
    start: dt.date | None = None
    end: dt.date | None = None

    def where(self) -> dict[str, Any] | None:
        conds: list[dict[str, Any]] = []
        if self.start:
            conds.append({"published_int": {"$gte": _date_int(self.start)}})
        if self.end:
            conds.append({"published_int": {"$lte": _date_int(self.end)}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}

    def admits(self, meta: dict[str, Any]) -> bool:
        d = int(meta.get("published_int") or 0)
        if (self.start or self.end) and not d:
            return False
        return (not self.start or d >= _date_int(self.start)) and (not self.end or d <= _date_int(self.end))


class _Bm25:
    """BM25 over the current chunks, rebuilt when the index generation changes."""

    def __init__(self, chunks: list[tuple[Chunk, dict[str, Any]]]) -> None:
        import bm25s
        import Stemmer

        self.chunks = chunks
        self.stemmer = Stemmer.Stemmer("english")
        self.retriever = bm25s.BM25()
        corpus = [f"{m.get('title', '')}\n{c.text}" for c, m in chunks]
        tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=self.stemmer, show_progress=False)
        self.retriever.index(tokens, show_progress=False)

    def search(self, query: str, n: int) -> list[tuple[int, float]]:
        import bm25s

        if not self.chunks:
            return []
        q = bm25s.tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not q.vocab:
            return []
        docs, scores = self.retriever.retrieve(q, k=min(n, len(self.chunks)), show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def _overlap(a: Chunk, b: Chunk) -> float:
    """Share of the shorter chunk covered by the other (same article only)."""
    if a.article_id != b.article_id:
        return 0.0
    inter = min(a.end, b.end) - max(a.start, b.start)
    return max(0.0, inter / max(1, min(a.end - a.start, b.end - b.start)))


def _normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


class Retriever:
    def __init__(self, index: ArticleIndex, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._bm25: _Bm25 | None = None
        self._bm25_gen = ""
        self._lock = threading.Lock()

    def bm25(self) -> _Bm25:
        with self._lock:
            gen = self.index.generation()
            if self._bm25 is None or gen != self._bm25_gen:
                self._bm25 = _Bm25(self.index.all_chunks())
                self._bm25_gen = gen
            return self._bm25

    def search(
        self, question: str, k: int | None = None, dates: DateRange | None = None, today: dt.date | None = None
    ) -> list[Passage]:
        """Top-k passages for ``question``, best first.

        With ``today`` (the date the question is asked), a time-relative question ("this week")
        ranks candidates published in its window first; relevance orders each group.
        """
        question = question.strip()
        if not question:
            raise InputError("the question is empty")
        k = k or self.settings.k
        dates = dates or DateRange()
        q = self.embedder.embed([question])[0]
        dense = self.index.query(q, self.settings.fetch_k, dates.where())

        candidates: dict[str, tuple[Chunk, dict[str, Any]]] = {}
        fused: dict[str, float] = {}
        cosine: dict[str, float] = {}
        for rank, (chunk, meta, sim) in enumerate(dense):
            candidates[chunk.id] = (chunk, meta)
            cosine[chunk.id] = sim
            fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
        bm = self.bm25()
        rank = 0
        for idx, _score in bm.search(question, self.settings.fetch_k * 2):
            chunk, meta = bm.chunks[idx]
            if not dates.admits(meta):
                continue
            candidates.setdefault(chunk.id, (chunk, meta))
            fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
            rank += 1
            if rank >= self.settings.fetch_k:
                break
        missing = [cid for cid in candidates if cid not in cosine]
        cosine.update(self.index.similarities(q, missing))

        window = recency_window(question, today)

        def outside(cid: str) -> bool:
            return window is not None and not window.admits(candidates[cid][1])

        chosen: list[tuple[Chunk, dict[str, Any]]] = []
        seen_text: set[str] = set()
        for cid in sorted(fused, key=lambda c: (outside(c), -fused[c], -cosine.get(c, 0.0))):
            chunk, meta = candidates[cid]
            norm = _normalise(chunk.text)
            # the same passage syndicated twice, or two overlapping chunks of one article
            if norm in seen_text or any(_overlap(chunk, c) > 0.6 for c, _ in chosen):
                continue
            seen_text.add(norm)
            chosen.append((chunk, meta))
            if len(chosen) >= k:
                break
        return [
            Passage(
                chunk=chunk,
                article=article_from_meta(meta),
                score=float(cosine.get(chunk.id, 0.0)),
                rank=i + 1,
            )
            for i, (chunk, meta) in enumerate(chosen)
        ]


def best_score(passages: list[Passage]) -> float:
    return max((p.score for p in passages), default=0.0)


def question_coverage(question: str, passages: list[Passage]) -> tuple[float, float]:
    """(best share of the question's content words in one passage, best share of its names in one passage)."""
    from .fidelity import content_words, names

    words, nms = content_words(question), names(question)
    texts = [content_words(p.chunk.text) for p in passages]
    words_cov = max((len(words & t) / len(words) for t in texts), default=0.0) if words else 0.0
    names_cov = max((len(nms & t) / len(nms) for t in texts), default=0.0) if nms else 0.0
    return words_cov, names_cov


def worth_asking(question: str, passages: list[Passage], settings: Settings) -> bool:
    """Is any passage close enough to the question to be worth an LLM call?

    Cosine similarity alone misjudges questions about one detail of a long passage ("Which think
    tank does Derek Scissors work for?" scores 0.18 against the passage that names him), so a
    passage that contains most of the question's words, or every name in it, also counts.
    """
    if not passages:
        return False
    if best_score(passages) >= settings.min_relevance:
        return True
    words_cov, names_cov = question_coverage(question, passages)
    return words_cov >= settings.min_question_coverage or names_cov == 1.0

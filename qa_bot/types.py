"""The plain data every module shares: articles, chunks, passages, answers.

Frozen dataclasses so they can be hashed, cached and passed between threads without
surprises; ``to_dict`` methods give the JSON shapes the CLI and eval harness emit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One news article, cleaned. ``id`` is stable across runs (file stem or JSONL id)."""

    id: str
    title: str
    text: str
    published: dt.date | None = None
    source: str = ""
    url: str = ""
    path: str = ""


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned span of an article: ``article.text[start:end] == text``."""

    id: str
    article_id: str
    text: str
    start: int
    end: int
    position: int


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the article it came from and how well it matched."""

    chunk: Chunk
    article: Article
    score: float
    rank: int

    def to_dict(self) -> dict:
        return {
            "article_id": self.article.id,
            "title": self.article.title,
            "published": self.article.published.isoformat() if self.article.published else None,
            "source": self.article.source,
            "url": self.article.url,
            "text": self.chunk.text,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Citation:
    """``[n]`` in the answer text points at ``passage``."""

    n: int
    passage: Passage

    def to_dict(self) -> dict:
        return {"n": self.n, **self.passage.to_dict()}


@dataclass(frozen=True)
class Support:
    """How well a set of passages supports one sentence (see fidelity.py)."""

    score: float
    supported: bool
    lexical: float
    semantic: float
    missing_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer, the citation numbers attached to it and its verdict."""

    text: str
    citations: tuple[int, ...]
    support: Support | None = None

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "supported": None if self.support is None else self.support.supported,
            "support_score": None if self.support is None else round(self.support.score, 4),
        }


ABSTAIN_REASONS = {
    "no_relevant_passage": "no indexed passage is close enough to the question to ask the model",
    "model_not_found": "the model found no answer in the passages",
    "unsupported": "no sentence of the model's answer is supported by the passages",
    "not_an_answer": "the supported sentences do not give the quantity or time the question asks for",
}


@dataclass(frozen=True)
class Answer:
    """What the assistant returns for one question."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    sentences: tuple[AnswerSentence, ...]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)
    passages: tuple[Passage, ...] = ()  # everything retrieved, cited or not (the UI shows them on abstention)
    standalone_question: str = ""  # the follow-up rewritten without its history, when there was one
    draft: str = ""  # the model's raw text, before checking
    dropped: tuple[AnswerSentence, ...] = ()  # draft sentences no retrieved passage supports
    abstain_reason: str = ""  # why the answer is an abstention (one of ABSTAIN_REASONS), else ""

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [s.to_dict() for s in self.sentences],
            "dropped_sentences": [s.to_dict() for s in self.dropped],
            "standalone_question": self.standalone_question or self.question,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


@dataclass
class IngestReport:
    """What one ingest did, for the CLI summary and the web UI."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks_embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.removed)} removed",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.skipped)} skipped",
        ]
        line = ", ".join(parts) + f"; {self.chunks_embedded} chunks embedded in {self.seconds:.1f}s"
        if self.chunks_embedded == 0 and not self.removed:
            line += " (index already up to date)" if not self.skipped else ""
        return line

"""The plain data every module shares: articles, chunks, passages, answers.

Frozen dataclasses so they can be hashed, cached and passed between threads without
surprises; ``to_dict`` methods give the JSON shapes the CLI and eval harness emit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .text import CITATIONS, cite_mark, cited_numbers


def date_int(d: dt.date | None) -> int:
    """A date as the integer 20190131, how chunk metadata stores it so Chroma can compare dates."""
    return d.year * 10000 + d.month * 100 + d.day if d else 0


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of publication dates; either end may be open."""

    start: dt.date | None = None
    end: dt.date | None = None

    def where(self) -> dict[str, Any] | None:
        """The range as a Chroma ``where`` filter on chunk metadata (None when unbounded)."""
        conds: list[dict[str, Any]] = []
        if self.start:
            conds.append({"published_int": {"$gte": date_int(self.start)}})
        if self.end:
            conds.append({"published_int": {"$lte": date_int(self.end)}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}

    def intersect(self, other: DateRange) -> DateRange:
        """The dates in both ranges (an open end takes the other range's end)."""
        starts = [d for d in (self.start, other.start) if d]
        ends = [d for d in (self.end, other.end) if d]
        return DateRange(max(starts, default=None), min(ends, default=None))

    def admits(self, meta: dict[str, Any]) -> bool:
        """Does a chunk with this metadata fall in the range? Undated chunks fall outside a bounded range."""
        d = int(meta.get("published_int") or 0)
        if (self.start or self.end) and not d:
            return False
        return (not self.start or d >= date_int(self.start)) and (not self.end or d <= date_int(self.end))

    def thirds(self) -> tuple[DateRange, DateRange, DateRange]:
        """The range (both ends set) cut into three consecutive parts of about equal length."""
        assert self.start and self.end
        step = (self.end - self.start) / 3
        cut1, cut2 = self.start + step, self.start + 2 * step
        one = dt.timedelta(days=1)
        return DateRange(self.start, cut1 - one), DateRange(cut1, cut2 - one), DateRange(cut2, self.end)

    def contains(self, d: dt.date | None) -> bool:
        """Does an article published on ``d`` fall in the range? (An undated one falls outside a bounded range.)"""
        if d is None:
            return not (self.start or self.end)
        return (not self.start or d >= self.start) and (not self.end or d <= self.end)


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
    suspect: str = ""  # why the article looks written to steer the model (guard.py); "" when it doesn't
    author: str = ""
    pages: tuple[int, ...] = ()  # a PDF's page starts: offsets into ``text``, page 1 first; () otherwise


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned span of an article: ``article.text[start:end] == text``."""

    id: str
    article_id: str
    text: str
    start: int
    end: int
    position: int
    page: int = 0  # the PDF page the chunk starts on (1-based); 0 when the article has no pages


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
            "author": self.article.author,
            "page": self.chunk.page or None,
            "text": self.chunk.text,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Evidence:
    """What the model is shown as ``[n]``: a span of one retrieved passage, with its headline and date.

    ``start``/``end`` are offsets into ``passage.chunk.text``; the model reads ``shown()`` and the
    checker judges answer sentences against that same text (see evidence.py).
    """

    n: int
    passage: Passage
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.passage.chunk.text[self.start : self.end]

    @property
    def header(self) -> str:
        a = self.passage.article
        title = " ".join((a.title or a.id).split()[:10])
        return f"{title} ({a.published.isoformat()})" if a.published else title

    def shown(self, repeat: bool = False) -> str:
        """Headline, date and text as the prompt shows them (minus the ``[n]`` label).

        ``repeat``: an earlier item of the prompt already showed this article's headline, so
        this one says "(same article)" instead; support is still judged with the headline.
        """
        body = " ".join(self.text.split())
        return f"(same article)\n{body}" if repeat else f"{self.header}\n{body}"


@dataclass(frozen=True)
class Citation:
    """``[n]`` in the answer text points at ``passage``; ``span`` is the part of it the model was shown."""

    n: int
    passage: Passage
    span: tuple[int, int] | None = None  # offsets into passage.chunk.text

    def to_dict(self) -> dict:
        d = {"n": self.n, **self.passage.to_dict()}
        if self.span:
            s, e = self.span
            d["quote"] = self.passage.chunk.text[s:e]
            d["quote_start"], d["quote_end"] = self.passage.chunk.start + s, self.passage.chunk.start + e
        return d


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
    older_news: bool = False  # dropped: only articles from well before the week asked about support it

    def rendered(
        self, escape: Callable[[str], str] = str, link: Callable[[int, str], str] | None = None
    ) -> str:
        """The sentence as the answer shows it, its citation marks at the end: "… March 1 [1]."

        ``escape`` is applied to the words (HTML for the web UI); ``link(n, mark)`` wraps each mark.
        """
        text = self.text.rstrip()
        end = text[-1] if text and text[-1] in ".!?" else "."
        body = escape(text[:-1] if text and text[-1] in ".!?" else text)
        marks = "".join(link(n, cite_mark(n)) if link else cite_mark(n) for n in self.citations)
        return f"{body} {marks}{end}" if marks else f"{body}{end}"

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "supported": None if self.support is None else self.support.supported,
            "support_score": None if self.support is None else round(self.support.score, 4),
            "older_news": self.older_news,
        }


@dataclass(frozen=True)
class ConflictSide:
    """One article's value in a conflict (conflicts.py): as written, where it was cited, and when."""

    value: str
    n: int  # the evidence item it is in, cited as [n]
    article_id: str
    published: dt.date | None
    answered: bool  # the value the answer itself gave

    def to_dict(self) -> dict:
        return {"value": self.value, "n": self.n, "article_id": self.article_id,
                "published": self.published.isoformat() if self.published else None, "answered": self.answered}


@dataclass(frozen=True)
class Conflict:
    """The articles shown disagree on what an answer sentence states: each side, newest first."""

    sentence: int  # index into Answer.sentences
    sides: tuple[ConflictSide, ...]

    def to_dict(self) -> dict:
        return {"sentence": self.sentence, "sides": [s.to_dict() for s in self.sides]}


ABSTAIN_REASONS = {
    "no_relevant_passage": "no indexed passage is close enough to the question to ask the model",
    "not_recent_news": "the question names no date, so it asks about recent news: the collection has articles "
    "from the weeks before it was asked, and none of them bears on it (the other articles found are listed; "
    "name a year or month in the question to ask about older news)",
    "model_not_found": "the model found no answer in the passages",
    "unsupported": "no sentence of the model's answer is supported by the passages",
    "not_an_answer": "the supported sentences do not give the kind of thing the question asks for "
    "(a quantity, a time or a name)",
    "repeats_question": "the supported sentences only repeat what the question already says",
    "not_answered": "asked as a grader, the model doubted that the answer gives what the question asks for",
    "out_of_window": "the passages that state it are from well before the time the question asks about "
    "(\"this week\", \"recently\"), and other articles are from that time",
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
    evidence: tuple[Evidence, ...] = ()  # what the model was shown, numbered as in its prompt
    standalone_question: str = ""  # the follow-up rewritten without its history, when there was one
    draft: str = ""  # the model's raw text, before checking
    draft_token_probs: tuple[tuple[str, float], ...] = ()  # its tokens with the local model's probability for each
    answer_check: float | None = None  # P(yes) of the answer check (None: not asked)
    dropped: tuple[AnswerSentence, ...] = ()  # draft sentences no retrieved passage supports
    abstain_reason: str = ""  # why the answer is an abstention (one of ABSTAIN_REASONS), else ""
    set_aside: tuple[Passage, ...] = ()  # retrieved but kept from the model: their articles address it (guard.py)
    conflicts: tuple[Conflict, ...] = ()  # other articles shown give other values (conflicts.py)
    # what the code adds after the checked sentences, at the end of ``text``: "Reports differ: ..."
    # when there are conflicts, else the date a changing quantity was reported ("As of ... [1].")
    note: str = ""

    @property
    def body(self) -> str:
        """The checked sentences without the note (what the eval scores)."""
        return self.text[: len(self.text) - len(self.note)].rstrip() if self.note else self.text

    def pieces(self, escape: Callable[[str], str] = str, link: Callable[[int, str], str] | None = None) -> list[str]:
        """The answer text one sentence a piece (joined by spaces they are ``text``), for faces
        that stream it or link its marks (``AnswerSentence.rendered``). A decline is one piece."""
        if self.abstained or not self.sentences:
            return [escape(self.text)]
        pieces = [s.rendered(escape, link) for s in self.sentences]
        if self.note and link:  # the note's own marks linked; only the words between them escaped
            parts, pos = [], 0
            for m in CITATIONS.finditer(self.note):
                parts += [escape(self.note[pos : m.start()]), "".join(link(n, cite_mark(n)) for n in cited_numbers(m[1]))]
                pos = m.end()
            pieces.append("".join([*parts, escape(self.note[pos:])]))
        elif self.note:
            pieces.append(escape(self.note))
        return pieces

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
            "conflicts": [c.to_dict() for c in self.conflicts],
            "set_aside": [
                {"article_id": p.article.id, "title": p.article.title, "reason": p.article.suspect}
                for p in self.set_aside
            ],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }

    def saved(self) -> dict:
        """What a saved conversation keeps of this answer (journal.py): the checked answer, its
        citations with their passages and quoted spans, the note and, for a decline, the closest
        passages looked at; not the model's draft or the sentences the checker dropped.
        ``Answer.from_dict`` reads it back."""
        d = self.to_dict()
        del d["dropped_sentences"], d["timings"]
        d["note"] = self.note
        d["passages"] = [{"rank": p.rank, **p.to_dict()} for p in self.passages[:3]] if self.abstained else []
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Answer:
        """An answer as ``saved`` (or ``to_dict``) wrote it: enough to show it again with its
        sources panel and to export it; what the pipeline alone knew (evidence, draft, timings)
        is empty."""

        def passage(p: dict, rank: int = 0) -> Passage:
            published = dt.date.fromisoformat(p["published"]) if p.get("published") else None
            article = Article(id=p["article_id"], title=p.get("title") or "", text="", published=published,
                              source=p.get("source") or "", url=p.get("url") or "", author=p.get("author") or "")
            chunk = Chunk(id=f"{p['article_id']}:{p.get('start', 0)}", article_id=p["article_id"], text=p.get("text") or "",
                          start=p.get("start", 0), end=p.get("end", 0), position=0, page=p.get("page") or 0)
            return Passage(chunk, article, float(p.get("score") or 0.0), p.get("rank", rank))

        def citation(c: dict) -> Citation:
            span = None
            if c.get("quote_start") is not None:
                span = (c["quote_start"] - c.get("start", 0), c["quote_end"] - c.get("start", 0))
            return Citation(c["n"], passage(c), span)

        def sentence(s: dict) -> AnswerSentence:
            support = None
            if s.get("supported") is not None:
                support = Support(float(s.get("support_score") or 0.0), bool(s["supported"]), 0.0, 0.0)
            return AnswerSentence(s["text"], tuple(s.get("citations", ())), support, bool(s.get("older_news")))

        def side(x: dict) -> ConflictSide:
            published = dt.date.fromisoformat(x["published"]) if x.get("published") else None
            return ConflictSide(x["value"], x["n"], x["article_id"], published, bool(x["answered"]))

        standalone = d.get("standalone_question") or ""
        return cls(
            question=d["question"],
            text=d["answer"],
            citations=tuple(citation(c) for c in d.get("citations", ())),
            sentences=tuple(sentence(s) for s in d.get("sentences", ())),
            abstained=bool(d.get("abstained")),
            passages=tuple(passage(p, i + 1) for i, p in enumerate(d.get("passages", ()))),
            standalone_question="" if standalone == d["question"] else standalone,
            abstain_reason=d.get("abstain_reason") or "",
            conflicts=tuple(Conflict(c["sentence"], tuple(side(x) for x in c["sides"])) for c in d.get("conflicts", ())),
            note=d.get("note") or "",
            set_aside=tuple(Passage(Chunk("", a["article_id"], "", 0, 0, 0),
                                    Article(a["article_id"], a.get("title") or "", "", suspect=a.get("reason") or "?"), 0.0, 0)
                            for a in d.get("set_aside", ())),
        )


@dataclass
class IngestReport:
    """What one ingest did, for the CLI summary and the web UI."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, problem): indexed anyway
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

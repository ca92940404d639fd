"""Select what the model reads: the sentences of the retrieved passages that bear on the question.

Prompt reading is the whole cost of an answer on a laptop CPU (the 1.5B model reads about 95
prompt tokens/s on this project's 2 cores), and five whole chunks are ~1,100 tokens, most of them
about something else. So each retrieved chunk is split into sentences, every sentence is scored
against the question, and the best ones -- each with its better-scoring neighbour when that one
bears on the question too, since the answer to "which company won the contract?" often sits
beside the sentence that repeats the question's words -- are shown as numbered evidence, each
with its headline and date. An item is a span of one chunk, so a citation ``[n]`` still maps to
a chunk and to the exact span highlighted.

The score of a sentence blends:
* the IDF-weighted share of the question's content words it contains (IDF over the candidate
  sentences, so words every candidate shares count for little);
* its cosine similarity to the question (MiniLM, for a lexical shortlist and its neighbours);
* a small prior for the rank of its chunk, since retrieval already fused dense and BM25 signals;
* for a "this week" question, a discount for articles outside that week when some are inside.

Items are taken best first while they fit the character budget and score within a fraction of
the best (the score gap decides how many, not a fixed k), at most two per article so a second
article gets a say; questions in the text are never taken (quizzes quote the very question).
They are numbered in retrieval order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .chunking import split_sentences
from .text import content_words, plain
from .types import DateRange, Evidence, Passage

EmbedFn = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class EvidenceBudget:
    """How much the model reads. ~4.3 characters per Qwen token in English news text."""

    max_chars: int = 620  # body text of all items together (~145 tokens)
    max_items: int = 4
    max_items_per_article: int = 2
    min_relative_score: float = 0.45  # an item must score at least this share of the best one
    lexical_weight: float = 0.55
    rank_prior: float = 0.08
    shortlist: int = 8  # sentences (by lexical score) whose neighbourhoods get a semantic score
    neighbour_share: float = 0.5  # a neighbour joins its sentence if it scores at least this share of it
    outside_window_weight: float = 0.75  # "this week" questions: sentences of older articles count for less


@dataclass
class _Sentence:
    passage: int  # index into passages
    index: int  # index of the sentence within its passage
    start: int
    end: int
    words: set[str]
    score: float = 0.0
    headline: bool = False  # the article's title repeated in its text: the header shows it already
    asks: bool = False  # part of a question in the text: never evidence (quizzes quote the very question)

    def span(self, passages: Sequence[Passage]) -> tuple[str, int, int]:
        """Where the sentence is in its article: overlapping chunks share sentences."""
        chunk = passages[self.passage].chunk
        return chunk.article_id, chunk.start + self.start, chunk.start + self.end


def _sentences(passages: Sequence[Passage]) -> list[list[_Sentence]]:
    out = []
    for pi, p in enumerate(passages):
        text = p.chunk.text
        title = plain(p.article.title)
        spans = split_sentences(text) or [(0, len(text))]
        group = []
        for s0, e0 in spans:
            norm = plain(text[s0:e0])
            headline = bool(title) and (norm in title or (title in norm and len(norm) <= len(title) + 24))
            asks = text[s0:e0].rstrip(" \"'”’)").endswith("?")
            group.append(_Sentence(pi, len(group), s0, e0, content_words(text[s0:e0]), headline=headline, asks=asks))
        out.append(group)
    return out


def score_sentences(
    question: str,
    passages: Sequence[Passage],
    embed: EmbedFn | None,
    budget: EvidenceBudget,
    window: DateRange | None = None,
) -> list[list[_Sentence]]:
    """Every sentence of every passage, scored against the question (see the module docstring).

    ``window``: the dates a time-relative question is about ("this week"); when some passages
    fall inside it, sentences of the others are down-weighted, as retrieval prefers them too.
    """
    by_passage = _sentences(passages)
    flat = [s for group in by_passage for s in group]
    if not flat:
        return by_passage
    q_words = content_words(question)
    df: dict[str, int] = {}
    for s in flat:
        for w in s.words & q_words:
            df[w] = df.get(w, 0) + 1
    n = len(flat)
    idf = {w: math.log(1 + n / df.get(w, 0.5)) for w in q_words}
    total = sum(idf.values()) or 1.0
    lexical = [sum(idf[w] for w in s.words & q_words) / total for s in flat]
    semantic = np.zeros(n, dtype=np.float32)
    if embed is not None:
        # embedding every sentence of k chunks costs ~0.2 s of the time to first token; the
        # semantic signal re-ranks a lexical shortlist (and each shortlisted sentence's
        # neighbours, where an answer phrased in other words tends to sit)
        order = sorted(range(n), key=lambda i: -lexical[i])[: budget.shortlist]
        picked = sorted({j for i in order for j in (i - 1, i, i + 1) if 0 <= j < n})
        texts = [passages[flat[i].passage].chunk.text[flat[i].start : flat[i].end] for i in picked]
        vecs = embed([question, *texts])
        semantic[picked] = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
    w_lex = budget.lexical_weight if embed is not None else 1.0
    inside = [window is not None and window.contains(p.article.published) for p in passages]
    for i, s in enumerate(flat):
        s.score = w_lex * lexical[i] + (1 - w_lex) * float(semantic[i]) + budget.rank_prior / (1 + s.passage)
        if any(inside) and not inside[s.passage]:
            s.score *= budget.outside_window_weight
    return by_passage


def select_evidence(
    question: str,
    passages: Sequence[Passage],
    embed: EmbedFn | None = None,
    budget: EvidenceBudget | None = None,
    window: DateRange | None = None,
) -> list[Evidence]:
    """The numbered evidence the model is shown for ``question``: the best-scoring sentences, best
    first, each with its better-scoring neighbour when that one bears on the question too.

    (Tried and measured worse on dev, 2026-11-29: first all the best distinct sentences, then
    neighbours with what is left: more, shorter items, 3 questions lost and none gained.)
    """
    budget = budget or EvidenceBudget()
    by_passage = score_sentences(question, passages, embed, budget, window)
    # a question is never evidence: quizzes and explainers quote the very question being asked
    usable = [s for group in by_passage for s in group if not s.headline and not s.asks]
    ranked = sorted(usable, key=lambda s: -s.score)
    if not ranked:
        return []
    best = ranked[0].score
    # at most max_items_per_article per article, when another article is there to take the room
    cap = budget.max_items_per_article if len({p.article.id for p in passages}) > 1 else budget.max_items
    chosen: dict[int, set[int]] = {}  # passage -> indexes of the sentences shown
    shown: set[tuple[str, int, int]] = set()  # article spans shown, whichever chunk they came from
    used = 0

    def items() -> list[tuple[int, int, int]]:
        return [(pi, a, b) for pi, idx in chosen.items() for a, b in _runs(idx)]

    def try_add(s: _Sentence) -> bool:
        nonlocal used
        cost = s.end - s.start
        if s.span(passages) in shown or (used and used + cost > budget.max_chars):
            return False
        before = chosen.get(s.passage, set())
        article = passages[s.passage].article.id
        chosen[s.passage] = before | {s.index}
        now = items()
        in_article = sum(1 for pi, _, _ in now if passages[pi].article.id == article)
        if len(now) > budget.max_items or in_article > cap:
            if before:  # undo: too many items, or one article would crowd out the others
                chosen[s.passage] = before
            else:
                del chosen[s.passage]
            return False
        shown.add(s.span(passages))
        used += min(cost, budget.max_chars)
        return True

    def take(s: _Sentence) -> None:
        group = by_passage[s.passage]
        near = [group[j] for j in (s.index - 1, s.index + 1) if 0 <= j < len(group)]
        near = [x for x in near if not x.headline and not x.asks and x.span(passages) not in shown]
        near = [x for x in near if x.score >= budget.neighbour_share * s.score]
        if try_add(s) and near:
            try_add(max(near, key=lambda x: x.score))

    for s in ranked:  # the best sentences, each with its better-scoring neighbour
        if s.score < best * budget.min_relative_score or used >= budget.max_chars:
            break
        if s.span(passages) not in shown:
            take(s)

    # numbered in retrieval order (then text order): retrieval weighed dense, BM25 and recency
    # signals that single sentences cannot, and the model leans on [1]
    out = []
    for pi, a, b in sorted(items()):
        group = by_passage[pi]
        start, end = group[a].start, group[b].end
        out.append((pi, start, min(end, start + budget.max_chars)))
    return [Evidence(n, passages[pi], start, end) for n, (pi, start, end) in enumerate(out, 1)]


def _runs(indexes: set[int]) -> list[tuple[int, int]]:
    """Consecutive sentence indexes as (first, last) runs: each run is one evidence item."""
    out: list[tuple[int, int]] = []
    for i in sorted(indexes):
        if out and i == out[-1][1] + 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out

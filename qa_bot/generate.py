"""LLM answering: number the passages, ask for a cited answer, parse and check the citations.

The model drafts; this module decides what the user sees. Citation numbers that point
nowhere are dropped, each sentence is checked against the passages it cites (fidelity.py),
re-attached to a passage that does support it when the model cited the wrong one, and
removed when no retrieved passage supports it. If nothing survives, the answer is an
abstention.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from . import prompts
from .chunking import split_sentences
from .fidelity import SupportScorer, strip_citations
from .types import AnswerSentence, Citation, Passage

_CITE_GROUP = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_ONLY_CITES = re.compile(r"^(\s*\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+[.!?]?\s*$")


def format_passages(passages: Sequence[Passage]) -> str:
    return "\n\n".join(
        prompts.PASSAGE_TEMPLATE.format(
            n=i,
            title=p.article.title or p.article.id,
            date=f" ({p.article.published.isoformat()})" if p.article.published else "",
            text=p.chunk.text,
        )
        for i, p in enumerate(passages, 1)
    )


def answer_chain(llm: BaseChatModel) -> Runnable:
    """prompt | llm | text — the LCEL chain that drafts an answer from numbered passages."""
    prompt = ChatPromptTemplate.from_messages(
        [("system", prompts.ANSWER_SYSTEM), ("human", prompts.ANSWER_USER)]
    )
    return prompt | llm | StrOutputParser()


def condense_chain(llm: BaseChatModel) -> Runnable:
    prompt = ChatPromptTemplate.from_messages(
        [("system", prompts.CONDENSE_SYSTEM), ("human", prompts.CONDENSE_USER)]
    )
    return prompt | llm | StrOutputParser()


def answer_inputs(question: str, passages: Sequence[Passage], today: dt.date | None = None) -> dict[str, str]:
    return {
        "passages": format_passages(passages),
        "question": question,
        "date_line": f"Today's date: {today.isoformat()}\n" if today else "",
    }


def history_text(history: Sequence[tuple[str, str]], max_turns: int = 3) -> str:
    lines = []
    for user, bot in list(history)[-max_turns:]:
        lines.append(f"User: {user}")
        lines.append(f"Assistant: {strip_citations(bot)[:400]}")
    return "\n".join(lines)


def is_not_found(raw: str) -> bool:
    """The model's own "the passages don't say" (the marker, or a paraphrase small models favour)."""
    t = raw.strip().lower()
    if prompts.NOT_FOUND.lower() in t.replace(" ", "_"):
        return True
    return bool(
        re.match(
            r"^(i'm sorry|sorry|i cannot|i can't|the (provided )?passages? (do|does) not|"
            r"(there is|there's) no (information|mention)|no information)",
            t,
        )
    )


@dataclass
class Draft:
    """The model's answer split into sentences with the citation numbers it attached."""

    sentences: list[tuple[str, tuple[int, ...]]]


def parse_draft(raw: str, n_passages: int) -> Draft:
    """Split the raw answer into sentences, read each one's ``[n]`` marks, drop numbers out of range.

    "… March 1. [1]" and "… March 1 [1]." both attach [1] to that sentence.
    """
    text = raw.strip()
    spans = split_sentences(text)
    pieces = [text[s:e].strip() for s, e in spans]
    merged: list[str] = []
    for piece in pieces:
        if merged and _ONLY_CITES.match(piece):  # citations that split off as their own "sentence"
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    sentences = []
    for piece in merged:
        nums: list[int] = []
        for group in _CITE_GROUP.findall(piece):
            for n in re.split(r"\s*[,;]\s*", group):
                k = int(n)
                if 1 <= k <= n_passages and k not in nums:
                    nums.append(k)
        body = strip_citations(piece)
        body = re.sub(r"\s+([.!?,;:])", r"\1", body).strip()
        if body and not _ONLY_CITES.match(piece):
            sentences.append((body, tuple(nums)))
    return Draft(sentences)


def render(sentences: Sequence[AnswerSentence]) -> str:
    """Sentences back to text with their citations at the end of each: "… March 1 [1]."."""
    out = []
    for s in sentences:
        text = s.text.rstrip()
        end = text[-1] if text and text[-1] in ".!?" else "."
        body = text[:-1] if text and text[-1] in ".!?" else text
        marks = "".join(f"[{n}]" for n in s.citations)
        out.append(f"{body} {marks}{end}" if marks else f"{body}{end}")
    return " ".join(out)


def check_draft(
    draft: Draft, passages: Sequence[Passage], scorer: SupportScorer
) -> tuple[list[AnswerSentence], list[AnswerSentence]]:
    """Verify each sentence against its citations; fix or drop it. Returns (kept, dropped).

    A sentence is kept with its own citations when they support it; otherwise with the single
    retrieved passage that supports it best (if any does); otherwise it is dropped.
    """
    texts = [p.chunk.text for p in passages]
    kept: list[AnswerSentence] = []
    dropped: list[AnswerSentence] = []
    for body, cited in draft.sentences:
        support = scorer.score(body, [texts[n - 1] for n in cited]) if cited else None
        if support is not None and support.supported:
            # keep only citations that contribute: drop a cited passage that adds no support
            kept.append(AnswerSentence(body, _minimal(body, cited, texts, scorer), support))
            continue
        best_n, best = None, None
        for n, text in enumerate(texts, 1):
            s = scorer.score(body, [text])
            if best is None or s.score > best.score:
                best_n, best = n, s
        if best is not None and best.supported:
            kept.append(AnswerSentence(body, (best_n,), best))
        else:
            dropped.append(AnswerSentence(body, cited, support or best))
    return kept, dropped


def _minimal(body: str, cited: tuple[int, ...], texts: list[str], scorer: SupportScorer) -> tuple[int, ...]:
    """The citations a supported sentence actually needs (extra, unhelpful numbers removed)."""
    if len(cited) == 1:
        return cited
    needed = tuple(
        n for n in cited if not scorer.score(body, [texts[m - 1] for m in cited if m != n]).supported
    )
    if needed and scorer.score(body, [texts[n - 1] for n in needed]).supported:
        return needed
    # any single citation that carries the support alone?
    singles = [(scorer.score(body, [texts[n - 1]]).score, n) for n in cited]
    score, n = max(singles)
    return (n,) if score >= scorer.threshold else cited


def citations_for(sentences: Sequence[AnswerSentence], passages: Sequence[Passage]) -> tuple[Citation, ...]:
    used = sorted({n for s in sentences for n in s.citations})
    return tuple(Citation(n, passages[n - 1]) for n in used)


def stream_without_marker(tokens: Iterator[str]) -> Iterator[str]:
    """Pass tokens through, holding back a prefix that could still become the NOT_FOUND marker."""
    buffer = ""
    released = False
    for tok in tokens:
        if released:
            yield tok
            continue
        buffer += tok
        probe = buffer.strip()
        if probe and not prompts.NOT_FOUND.startswith(probe[: len(prompts.NOT_FOUND)]):
            released = True
            yield buffer
    # a buffer that never diverged from the marker is the marker: the caller abstains

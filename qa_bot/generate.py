"""LLM drafting: number the evidence, ask for a cited answer, parse and check the citations.

The model drafts; this module decides which of its sentences the user sees. Citation numbers
that point nowhere are dropped; each sentence is checked against the evidence it cites, as the
model saw it (headline, date and text: fidelity.py), re-attached to an item that does support
it when the model cited the wrong one, and removed when no item supports it. Whether what
survives answers the question is policy.py's call.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import prompts
from .chunking import split_sentences
from .fidelity import SupportScorer, needed_citations, premise_terms
from .text import CITATIONS, CITE_MARK, cited_numbers, strip_citations
from .types import AnswerSentence, Citation, Evidence, Passage

if TYPE_CHECKING:  # LangChain is imported when a chain is built: `qa-bot library` etc. never need it (~1 s)
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

_ONLY_CITES = re.compile(rf"^(\s*{CITE_MARK}\s*)+[.!?]?\s*$")
# "According to passage [1], X" or "According to [1], X": a lead-in that names the source, which the
# citation already does. The second form is left as "According to, X" once its mark is read.
# "In" only with its comma: "In evidence given in court, X" is the answer's own wording.
_SOURCE = r"(?: (?:the )?(?:passages?|articles?|evidence)\b)"
_WRAPPER = re.compile(rf"^(?:(?:according to|based on|as stated in|as reported in|per)(?:{_SOURCE}\s*,?|\s*,)"
                      rf"|in{_SOURCE}?\s*,)\s*", re.I)


def format_evidence(evidence: Sequence[Evidence]) -> str:
    """The numbered evidence block of the prompt; an article's headline and date are shown once."""
    seen: set[str] = set()
    lines = []
    for e in evidence:
        lines.append(prompts.EVIDENCE_TEMPLATE.format(n=e.n, shown=e.shown(repeat=e.passage.article.id in seen)))
        seen.add(e.passage.article.id)
    return "\n".join(lines)


def answer_chain(llm: BaseChatModel) -> Runnable:
    """prompt | llm | text — the LCEL chain that drafts an answer from numbered passages."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages(
        [("system", prompts.ANSWER_SYSTEM), ("human", prompts.ANSWER_USER)]
    )
    return prompt | llm | StrOutputParser()


def condense_chain(llm: BaseChatModel) -> Runnable:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages(
        [("system", prompts.CONDENSE_SYSTEM), ("human", prompts.CONDENSE_USER)]
    )
    return prompt | llm | StrOutputParser()


def answer_inputs(
    question: str, evidence: Sequence[Evidence], today: dt.date | None = None, note: str = ""
) -> dict[str, str]:
    """The answer prompt's fields; ``note`` goes under the question (a second look's ``policy.retry_note``)."""
    return {
        "evidence": format_evidence(evidence),
        "question": f"{question}\n{note}" if note else question,
        "date_line": f"Today's date: {today.isoformat()}\n" if today else "",
    }


def history_text(history: Sequence[tuple[str, str]], max_turns: int = 3, max_chars: int = 400) -> str:
    """The last turns for the condense prompt, each side cut to ``max_chars``: the rewrite needs
    their gist, and uncut, one long turn overflowed the model's context (a 500 from the API)."""
    def cut(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= max_chars else text[:max_chars].rsplit(" ", 1)[0] + " …"

    lines = []
    for user, bot in list(history)[-max_turns:]:
        lines.append(f"User: {cut(str(user))}")
        lines.append(f"Assistant: {cut(strip_citations(str(bot)))}")
    return "\n".join(lines)


@dataclass
class Draft:
    """The model's answer split into sentences with the citation numbers it attached."""

    sentences: list[tuple[str, tuple[int, ...]]]


def parse_draft(raw: str, n_passages: int) -> Draft:
    """Split the raw answer into sentences, read each one's ``[n]`` marks, drop numbers out of range.

    "… March 1. [1]" and "… March 1 [1]." both attach [1] to that sentence.
    """
    text = re.sub(r"^\s*answer\s*:\s*", "", raw.strip(), flags=re.I)  # the label the prompt ends with
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
        for group in CITATIONS.findall(piece):
            for k in cited_numbers(group):
                if 1 <= k <= n_passages and k not in nums:
                    nums.append(k)
        body = strip_citations(piece)
        body = re.sub(r"\s+([.!?,;:])", r"\1", body).strip()
        # "According to passage [1], X" says where, which the citation already does: keep "X"
        unwrapped = _WRAPPER.sub("", body)
        if unwrapped != body and unwrapped:
            body = unwrapped[0].upper() + unwrapped[1:]
        if body and not _ONLY_CITES.match(piece):
            sentences.append((body, tuple(nums)))
    return Draft(sentences)


def render(sentences: Sequence[AnswerSentence]) -> str:
    """Sentences back to text with their citations at the end of each: "… March 1 [1]."."""
    return " ".join(s.rendered() for s in sentences)


def check_draft(
    draft: Draft,
    evidence: Sequence[Evidence],
    scorer: SupportScorer,
    question: str = "",
    passages: Sequence[Passage] = (),
    older_items: frozenset[int] = frozenset(),
) -> tuple[list[AnswerSentence], list[AnswerSentence]]:
    """Verify each sentence against the evidence it cites; fix or drop it. Returns (kept, dropped).

    A sentence is kept with its own citations when they support it; otherwise with the single
    evidence item that supports it best (if any does); otherwise it is dropped. Terms of the
    question that the cited article states elsewhere (another retrieved passage, its headline)
    count as present: see ``fidelity.premise_terms``. Items in ``older_items`` (from articles well
    before the week the question asks about: ``policy.older_news_items``) never carry a sentence
    alone: it moves to a newer item that supports it, or is dropped.
    """
    texts = [e.shown() for e in evidence]

    @functools.cache  # asked for the same citations by the support check, _minimal and re-attachment
    def vouched(ns: tuple[int, ...]) -> frozenset[str]:
        if not question:
            return frozenset()
        articles = {evidence[n - 1].passage.article.id for n in ns}
        context = [f"{p.article.title}\n{p.chunk.text}" for p in passages if p.article.id in articles]
        context += [texts[n - 1] for n in ns]
        return premise_terms(question, context)

    kept: list[AnswerSentence] = []
    dropped: list[AnswerSentence] = []
    for body, cited in draft.sentences:
        support = scorer.score(body, [texts[n - 1] for n in cited], vouched(cited)) if cited else None
        older: tuple[int, ...] = ()  # the older-news items that alone support it
        if support is not None and support.supported:
            # keep only citations that contribute: drop a cited item that adds no support
            needed = _minimal(body, cited, texts, scorer, vouched(cited))
            if not set(needed) <= older_items:
                kept.append(AnswerSentence(body, needed, support))
                continue
            older = needed
        best_n, best = None, None
        for n, text in enumerate(texts, 1):
            if n in older_items:
                continue
            s = scorer.score(body, [text], vouched((n,)))
            if best is None or s.score > best.score:
                best_n, best = n, s
        if best is not None and best.supported:
            kept.append(AnswerSentence(body, (best_n,), best))
        elif older:
            dropped.append(AnswerSentence(body, older, support, older_news=True))
        else:
            dropped.append(AnswerSentence(body, cited, support or best))
    return kept, dropped


def _minimal(
    body: str, cited: tuple[int, ...], texts: list[str], scorer: SupportScorer, vouched: frozenset[str]
) -> tuple[int, ...]:
    """The citations a supported sentence actually needs (extra, unhelpful numbers removed)."""
    if len(cited) == 1:
        return cited

    def ok(ns: Sequence[int]) -> bool:
        return scorer.score(body, [texts[m - 1] for m in ns], vouched).supported

    flags = needed_citations(lambda passages: scorer.score(body, list(passages), vouched).supported,
                             [texts[n - 1] for n in cited])
    needed = tuple(n for n, keep in zip(cited, flags, strict=True) if keep)
    if needed and ok(needed):
        return needed
    # any single citation that carries the support alone?
    singles = [(scorer.score(body, [texts[n - 1]], vouched).score, n) for n in cited]
    score, n = max(singles)
    return (n,) if score >= scorer.threshold else cited


def answer_check_messages(question: str, sentences: Sequence[AnswerSentence],
                          evidence: Sequence[Evidence]) -> list[dict[str, str]]:
    """The answer check's prompt (prompts.ANSWER_CHECK_*): the question, the answer without its
    citation marks, and the evidence items it cites as the model was shown them (all of them
    when it cites none)."""
    cited = sorted({n for s in sentences for n in s.citations if 0 < n <= len(evidence)})
    shown = [evidence[n - 1].shown() for n in cited] or [e.shown() for e in evidence]
    return grader_messages(question, strip_citations(render(sentences)), shown)


def grader_messages(question: str, answer: str, passages: Sequence[str]) -> list[dict[str, str]]:
    """The grader's yes/no question about ``answer`` (plain text, no marks) and the passages it
    rests on, each as the model was shown it."""
    user = prompts.ANSWER_CHECK_USER.format(passages="\n\n".join(passages), question=question, answer=answer)
    return [{"role": "system", "content": prompts.ANSWER_CHECK_SYSTEM}, {"role": "user", "content": user}]


def citations_for(sentences: Sequence[AnswerSentence], evidence: Sequence[Evidence]) -> tuple[Citation, ...]:
    """Each ``[n]`` used by the kept sentences, mapped to its passage and the span the model was shown."""
    used = sorted({n for s in sentences for n in s.citations})
    return tuple(Citation(n, evidence[n - 1].passage, (evidence[n - 1].start, evidence[n - 1].end)) for n in used)


def stream_without_marker(tokens: Iterator[str]) -> Iterator[str]:
    """Pass tokens through, holding back a prefix that could still become the NOT_FOUND marker."""
    buffer = ""
    released = False
    for tok in tokens:
        if released:
            yield tok
            continue
        buffer += tok
        probe = buffer.strip().upper().replace(" ", "_")  # "Not_IN_ARTICLES", "not in articles" too
        if probe and not prompts.NOT_FOUND.startswith(probe[: len(prompts.NOT_FOUND)]):
            released = True
            yield buffer
    # a buffer that never diverged from the marker is the marker: the caller abstains

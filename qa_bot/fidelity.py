"""Does a passage support a sentence? One scorer for the answering side and the eval harness.

No NLI model that ships its weights was found on PyPI (docs/architecture.md), so support is
judged from two signals that work offline:

* lexical: the share of the sentence's content words (stemmed, stopwords dropped, negations
  kept) that the passages contain, and hard rules: every number and proper name in the
  sentence appears in them ("March 2" is not supported by "March 1"; "Lightman" is not
  "Lighthizer", but "Chinese" is "China"; a number of the question's premise that the article
  states elsewhere counts, unless the passages give another number in its place), a negated
  sentence needs a negation in the passages ("did not raise tariffs" is not "raised
  tariffs"), and every quotation appears verbatim;
* semantic: the best cosine similarity between the sentence and any one- or two-sentence
  window of the passages, from the same MiniLM embedder the index uses.

The blend and threshold are calibrated on hand-labelled pairs in tests/data/support_pairs.jsonl.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from .chunking import split_sentences
from .text import (
    STOPWORDS,
    content_words,
    name_present,
    names,
    number_slots,
    numbers,
    plain,
    strip_citations,
    words_of,
)
from .types import Support

EmbedFn = Callable[[list[str]], np.ndarray]

LEXICAL_WEIGHT = 0.6

# Words a small model wraps answers in ("According to passage [2], ..."): about the prompt, not
# claims about the news.
_FILLER = frozenset(content_words("passage passages article articles evidence source sources text stated mentioned"))


_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|nothing|nobody|without|cannot)\b|n['’]t\b", re.I)


def negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


_QUOTE = re.compile(r'"([^"]{2,200})"|“([^”]{2,200})”')


def quotations(text: str) -> list[str]:
    """The quoted spans of ``text`` (straight or curly double quotes)."""
    return [a or b for a, b in _QUOTE.findall(text)]


def _windows(texts: Sequence[str]) -> list[str]:
    """One- and two-sentence windows of the passages: support usually lives in one sentence."""
    out: list[str] = []
    for text in texts:
        sents = [text[s:e] for s, e in split_sentences(text)] or [text]
        out.extend(sents)
        out.extend(f"{a} {b}" for a, b in zip(sents, sents[1:], strict=False))
    return out


class SupportScorer:
    """Scores how well passages support a sentence; ``supported`` is ``score >= threshold``."""

    def __init__(self, embed: EmbedFn | None, threshold: float = 0.5) -> None:
        self.embed = embed
        self.threshold = threshold
        self.name = "lexical+numbers+MiniLM cosine" if embed else "lexical+numbers"
        # checking one answer scores the same evidence windows many times (each sentence, each
        # subset of its citations, each re-attachment candidate): embed each text once
        self._vectors: dict[str, np.ndarray] = {}

    def _embed(self, texts: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if todo:
            if len(self._vectors) > 4096:
                self._vectors.clear()
            self._vectors.update(zip(todo, self.embed(todo), strict=True))
        return np.stack([self._vectors[t] for t in texts])

    def lexical(
        self, sentence: str, passages: Sequence[str], vouched: frozenset[str] = frozenset()
    ) -> tuple[float, tuple[str, ...]]:
        """(share of content words found, the numbers, names, negation and quotations the passages lack).

        ``vouched`` holds terms (content words, names, numbers) that count as present although
        the passages lack them: the question's own premise, when the article states it elsewhere
        (see ``premise_terms``).
        """
        words = content_words(sentence)
        if vouched:  # only the sentence's own content is judged; "according to passage [1]" is no content
            words -= vouched | _FILLER
        have = set().union(*(content_words(p) for p in passages)) if passages else set()
        lex = len(words & have) / len(words) if words else (1.0 if vouched else 0.0)
        have_nums = set().union(*(numbers(p) for p in passages)) if passages else set()
        # a premise number the article states elsewhere is vouched for, but not where the passages
        # give another number for the same thing: "the 52nd annual cup" against "the 51st annual"
        theirs = set().union(*(number_slots(p) for p in passages)) if passages else set()
        displaced = {n for n, word in number_slots(sentence) if n in vouched and n not in have_nums
                     and any(w == word and m != n for m, w in theirs)}
        nums = (numbers(sentence) - vouched) | displaced
        vocabulary = words_of(passages)
        missing_names = {n for n in names(sentence) - vouched if not name_present(n, vocabulary, have)}
        missing = (nums - have_nums) | missing_names
        if negated(sentence) and not any(negated(p) for p in passages):
            missing.add("not")  # "did not raise tariffs" is not supported by "raised tariffs"
        # a quotation must be verbatim: "intense, specific" is not "candid, specific"
        quoted = [q for q in quotations(sentence) if plain(q)]
        flat = [plain(p) for p in passages] if quoted else []
        missing |= {f'"{q}"' for q in quoted if not any(plain(q) in f for f in flat)}
        return lex, tuple(sorted(missing))

    def semantic(self, sentence: str, passages: Sequence[str]) -> float:
        if not self.embed or not passages:
            return 0.0
        windows = _windows(passages)
        vecs = self._embed([sentence, *windows])
        return float(max(0.0, (vecs[1:] @ vecs[0]).max()))

    def score(self, sentence: str, passages: Sequence[str], vouched: frozenset[str] = frozenset()) -> Support:
        sentence = strip_citations(sentence)
        if not passages or not sentence:
            return Support(0.0, False, 0.0, 0.0)
        lex, missing = self.lexical(sentence, passages, vouched)
        sem = self.semantic(sentence, passages) if self.embed else lex
        score = LEXICAL_WEIGHT * lex + (1 - LEXICAL_WEIGHT) * sem
        if missing:  # a number or name the passages never state is a fabrication, however fluent
            score = min(score, self.threshold - 0.01)
        return Support(
            score=score, supported=score >= self.threshold, lexical=lex, semantic=sem, missing_terms=missing
        )


Supports = Callable[[Sequence[str]], bool]  # do these passages, together, support the sentence?


def needed_citations(supports: Supports, cited: Sequence[str]) -> list[bool]:
    """For each of ``cited`` (passages that together support a sentence): is it needed, i.e.
    does leaving it out break the support?"""
    return [not supports(_without(cited, i)) for i in range(len(cited))]


def _without(cited: Sequence[str], i: int) -> list[str]:
    return [q for j, q in enumerate(cited) if j != i]


def useful_citations(supports: Supports, cited: Sequence[str]) -> tuple[bool, list[bool]]:
    """ALCE-style: (do the cited passages together support the sentence?, is each one useful?).

    A citation is useful when it supports the sentence alone, or when the set does and leaving
    it out breaks the support. One citation is the set; and since support only grows with more
    text (more words, more windows), a part cannot support what the whole does not. The one
    rule for the answer side (``generate``), the eval's checker and its independent judge."""
    together = bool(cited) and supports(list(cited))
    if len(cited) <= 1 or not together:
        return together, [together] * len(cited)
    # alone first: when it holds, the set without it need not be judged (a judge call is ~1 s)
    return together, [supports([p]) or not supports(_without(cited, i)) for i, p in enumerate(cited)]


def premise_terms(question: str, article_texts: Sequence[str]) -> frozenset[str]:
    """The question's own terms a sentence may repeat unchecked, given the cited article's texts.

    A right answer often restates the question's premise ("the wildfire near Yosemite destroyed
    40 homes"), and the cited sentence need not repeat it, or says it in other words. Exempting
    every question term would let false premises through (most unanswerable questions are false
    premises), so:
    * nothing is exempt unless the article is about the question's subject: it contains one of
      the question's names, or half of its content words (another retrieved passage of the same
      article and its headline count);
    * then the question's names and numbers are exempt where the article states them (a date or
      name the article never mentions is still a fabrication), and its ordinary words where the
      article states them too, or all of them when it states half: a premise the article tells
      in other words. An article that shares the question's names and little else of it (a
      president's tariffs, for a question about the coin whose minting he halted) vouches only
      for the words it holds: the rest of the premise must then be in the cited sentence.
    The answer's new content must still be in the cited passage.
    """
    if not article_texts:
        return frozenset()
    q_words = content_words(question)
    have = set().union(*(content_words(t) for t in article_texts))
    vocabulary = words_of(article_texts)
    q_names = {n for n in names(question) if n not in STOPWORDS}
    names_in = {n for n in q_names if name_present(n, vocabulary, have)}
    stated = q_words & have
    tells = len(stated) >= 0.5 * len(q_words)  # the article tells the premise, perhaps in other words
    if not (names_in if q_names else tells):
        return frozenset()
    have_nums = set().union(*(numbers(t) for t in article_texts))
    words = q_words if tells else stated
    return frozenset(words | names_in | {n for n in numbers(question) if n in have_nums})

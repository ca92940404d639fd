"""Does a passage support a sentence? One scorer for the answering side and the eval harness.

No NLI model that ships its weights exists on PyPI (DESIGN.md section 4), so support is
judged from two signals that work offline:

* lexical: the share of the sentence's content words (stemmed, stopwords dropped) that the
  passages contain, and hard rules that every number and proper name in the sentence appears
  in them ("March 2" is not supported by "March 1") and every quotation appears verbatim;
* semantic: the best cosine similarity between the sentence and any one- or two-sentence
  window of the passages, from the same MiniLM embedder the index uses.

The blend and threshold are calibrated on hand-labelled pairs in tests/data/support_pairs.jsonl.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from .chunking import split_sentences
from .types import Support

EmbedFn = Callable[[list[str]], np.ndarray]

LEXICAL_WEIGHT = 0.6

_STOPWORDS = frozenset(
    """a an the and or but if then than so of to in on at by for with from as into onto over under about after
    before between during through up down out off again further once is are was were be been being am do does did
    done doing have has had having will would shall should can could may might must it its it's this that these
    those there here he she they them his her their him we us our you your i me my mine who whom whose which what
    when where why how all any both each few more most other some such no nor not only own same too very just also
    said says say told according per while however yet still even because since until unless though although s t
    """.split()
)
# US / U.S. are content words in news ("the US will ..."); keep them despite "us" above
_KEEP = {"u.s", "us", "u.s.", "uk", "u.k"}

_WORD = re.compile(r"[A-Za-z][A-Za-z.'’-]*[A-Za-z]|[A-Za-z]")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_CITATION = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text).strip()


_STEMMER = None


def _stem(words: list[str]) -> set[str]:
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return set(_STEMMER.stemWords(words))


def content_words(text: str) -> set[str]:
    """Stemmed, lower-cased content words. "U.S." and "US" both become "us"."""
    words = []
    for w in _WORD.findall(text):
        lw = w.lower().replace("’", "'")
        if lw.endswith("'s"):
            lw = lw[:-2]
        if lw in _KEEP:
            words.append("us" if lw.startswith("u") and "k" not in lw else lw.replace(".", ""))
            continue
        lw = lw.replace(".", "")
        if lw in _STOPWORDS or len(lw) < 2:
            continue
        words.append(lw)
    return _stem(words)


def numbers(text: str) -> set[str]:
    """Numbers written in ``text``, normalised: "11,000" -> "11000", "2.50" -> "2.5"."""
    out = set()
    for m in _NUMBER.findall(text):
        n = m.replace(",", "").rstrip(".")
        if "." in n:
            n = n.rstrip("0").rstrip(".")
        out.add(n)
    return out


def names(text: str) -> set[str]:
    """Stemmed capitalised words that are not sentence-initial: people, places, organisations.

    "Chinese" is matched to "China" by a four-letter prefix in the caller, so only names the
    passages never mention in any form count as missing.
    """
    out = []
    for m in re.finditer(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]{2,})\b", text.strip()):
        w = m.group(1).lower()
        if w not in _STOPWORDS and w not in _MONTHS_DAYS:
            out.append(w)
    return _stem(out)


_QUOTE = re.compile(r'"([^"]{2,200})"|“([^”]{2,200})”')


def _flat(text: str) -> str:
    """Lower case, letters and digits only, single spaces: for comparing quotations."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("’", "'")).split())


def quotations(text: str) -> list[str]:
    """The quoted spans of ``text`` (straight or curly double quotes)."""
    return [a or b for a, b in _QUOTE.findall(text)]


_MONTHS_DAYS = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday".split()
)


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

    def lexical(self, sentence: str, passages: Sequence[str]) -> tuple[float, tuple[str, ...]]:
        """(share of content words found, numbers and names the passages never mention)."""
        words = content_words(sentence)
        have = set().union(*(content_words(p) for p in passages)) if passages else set()
        lex = len(words & have) / len(words) if words else 0.0
        nums = numbers(sentence)
        have_nums = set().union(*(numbers(p) for p in passages)) if passages else set()
        prefixes = {w[:4] for w in have}
        missing_names = {n for n in names(sentence) if n not in have and n[:4] not in prefixes}
        # a quotation must be verbatim: "intense, specific" is not "candid, specific"
        quoted = [q for q in quotations(sentence) if _flat(q)]
        flat = [_flat(p) for p in passages] if quoted else []
        misquoted = {f'"{q}"' for q in quoted if not any(_flat(q) in f for f in flat)}
        return lex, tuple(sorted((nums - have_nums) | missing_names | misquoted))

    def semantic(self, sentence: str, passages: Sequence[str]) -> float:
        if not self.embed or not passages:
            return 0.0
        windows = _windows(passages)
        vecs = self.embed([sentence, *windows])
        return float(max(0.0, (vecs[1:] @ vecs[0]).max()))

    def score(self, sentence: str, passages: Sequence[str]) -> Support:
        sentence = strip_citations(sentence)
        if not passages or not sentence:
            return Support(0.0, False, 0.0, 0.0)
        lex, missing = self.lexical(sentence, passages)
        sem = self.semantic(sentence, passages) if self.embed else lex
        score = LEXICAL_WEIGHT * lex + (1 - LEXICAL_WEIGHT) * sem
        if missing:  # a number or name the passages never state is a fabrication, however fluent
            score = min(score, self.threshold - 0.01)
        return Support(
            score=score, supported=score >= self.threshold, lexical=lex, semantic=sem, missing_terms=missing
        )


def supporting_span(sentence: str, passage: str) -> tuple[int, int] | None:
    """Offsets of the passage sentence that shares most content words with ``sentence``.

    Used to highlight, inside a cited passage, the part an answer sentence rests on.
    """
    words = content_words(strip_citations(sentence))
    best, best_span = 0.0, None
    for s, e in split_sentences(passage):
        overlap = len(words & content_words(passage[s:e])) / max(1, len(words))
        if overlap > best:
            best, best_span = overlap, (s, e)
    return best_span if best >= 0.2 else None


# ---- does the answer give what the question asks for? -----------------------------------
#
# Support checking cannot catch a true sentence that does not answer: "China agreed to buy a
# substantial amount of soybeans [1]" is supported, but it is no answer to "How many tons?".
# For the two question kinds where the shape of an answer is unambiguous, a quantity and a
# time, the answer must contain one that the question did not already contain.

_ASKS_TIME = re.compile(
    r"^(?:and |so |but )?when\b|\b(?:what|which) (?:date|day|year|month|time)\b|\bin what year\b|\bhow (?:soon|long)\b",
    re.IGNORECASE,
)
_ASKS_QUANTITY = re.compile(
    r"\bhow (?:many|much|old|far|big|large|tall|high|fast|heavy)\b"
    r"|\bwhat (?:percentage|percent|share|proportion|number|amount|sum|price|rate|figure)\b"
    r"|\bin (?:dollars|euros|pounds|yuan|tons|tonnes|percent)\b",
    re.IGNORECASE,
)
# specific amounts only: "hundreds of billions" or "several" does not say how much
_QUANTITY_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion trillion
    dozen half third quarter double doubled doubling triple tripled quadruple twice percent""".split()
)
_TIME_WORDS = _MONTHS_DAYS | frozenset(
    """jan feb mar apr jun jul aug sep sept oct nov dec today tonight tomorrow yesterday day days week weeks
    weekend month months year years decade decades century hour hours minute minutes morning afternoon evening
    night spring summer autumn fall winter ago soon later earlier recently christmas easter""".split()
)


def asked_kind(question: str) -> str | None:
    """"time" or "quantity" when the question plainly asks for one, else None."""
    if _ASKS_TIME.search(question.strip()):
        return "time"
    if _ASKS_QUANTITY.search(question):
        return "quantity"
    return None


def _tokens(text: str) -> set[str]:
    return {w.lower().strip(".") for w in re.findall(r"[A-Za-z]+\.?", text)}


def gives_kind(answer: str, kind: str, question: str) -> bool:
    """Does ``answer`` contain a ``kind`` ("time" or "quantity") the question did not already state?"""
    answer = strip_citations(answer)
    new_numbers = numbers(answer) - numbers(question)
    new_words = _tokens(answer) - _tokens(question)
    if new_numbers or new_words & _QUANTITY_WORDS:
        return True
    return kind == "time" and bool(new_words & _TIME_WORDS or re.search(r"\bmid-[A-Za-z]", answer))

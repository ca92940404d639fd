"""Does a passage support a sentence? One scorer for the answering side and the eval harness.

No NLI model that ships its weights exists on PyPI (docs/architecture.md), so support is
judged from two signals that work offline:

* lexical: the share of the sentence's content words (stemmed, stopwords dropped, negations
  kept) that the passages contain, and hard rules: every number and proper name in the
  sentence appears in them ("March 2" is not supported by "March 1"; "Lightman" is not
  "Lighthizer", but "Chinese" is "China"), a negated sentence needs a negation in the
  passages ("did not raise tariffs" is not "raised tariffs"), and every quotation appears
  verbatim;
* semantic: the best cosine similarity between the sentence and any one- or two-sentence
  window of the passages, from the same MiniLM embedder the index uses.

The blend and threshold are calibrated on hand-labelled pairs in tests/data/support_pairs.jsonl.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .chunking import split_sentences
from .types import Support

EmbedFn = Callable[[list[str]], np.ndarray]

LEXICAL_WEIGHT = 0.6

STOPWORDS = frozenset(
    """a an the and or but if then than so of to in on at by for with from as into onto over under about after
    before between during through up down out off again further once is are was were be been being am do does did
    done doing have has had having will would shall should can could may might must it its it's this that these
    those there here he she they them his her their him we us our you your i me my mine who whom whose which what
    when where why how all any both each few more most other some such only own same too very just also
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


def stem(words: list[str]) -> set[str]:
    """Snowball English stems of ``words`` (the stemmer BM25 uses too)."""
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
        if lw in STOPWORDS or len(lw) < 2:
            continue
        words.append(lw)
    return stem(words)


# Words a small model wraps answers in ("According to passage [2], ..."): about the prompt, not
# claims about the news.
_FILLER = frozenset(content_words("passage passages article articles evidence source sources text stated mentioned"))


def numbers(text: str) -> set[str]:
    """Numbers written in ``text``, normalised: "11,000" -> "11000", "2.50" -> "2.5"."""
    out = set()
    for m in _NUMBER.findall(text):
        n = m.replace(",", "").rstrip(".")
        if "." in n:
            n = n.rstrip("0").rstrip(".")
        out.add(n)
    return out


MONTHS = (
    "january february march april may june july august september october november december".split()
)
DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS_DAYS = frozenset(MONTHS + DAYS)

# "May" is a month only where a date is written: "May 5", "May 2019", "in/by/since/early May".
_MAY_MONTH = re.compile(
    r"\bMay\b(?=\s+\d)|(?:\b(?:in|on|by|since|until|till|through|from|of|early|late|mid|last|next|this|"
    r"between|before|after|during|and|or|to)\s+|mid-)May\b",
)
_NAME = re.compile(r"\b([A-Z][a-z]+|[A-Z]{2,5})\b")
# Country and demonym pairs no suffix rule derives (the rule below handles China/Chinese,
# Russia/Russian, Canada/Canadian, Israel/Israeli and the like).
_DEMONYMS = {
    frozenset(g.split())
    for g in (
        "britain british briton britons uk england english",
        "france french",
        "netherlands dutch holland",
        "germany german germans",
        "spain spanish spaniard",
        "switzerland swiss",
        "philippines filipino filipinos philippine",
        "wales welsh",
        "scotland scottish scots",
        "ireland irish",
        "greece greek greeks",
        "denmark danish dane danes",
        "poland polish pole poles",
        "finland finnish finn finns",
        "sweden swedish swede swedes",
        "norway norwegian",
        "turkey turkish turks",
        "peru peruvian",
        "thailand thai",
        "afghanistan afghan afghans",
        "america american americans us usa",
        "saudi saudis",
        "kuwait kuwaiti",
        "bangladesh bangladeshi",
        "new zealand kiwi",
    )
}
_DEMONYM_SUFFIXES = ("n", "an", "ian", "ean", "ese", "i", "ish")


def _demonym_pair(a: str, b: str) -> bool:
    """``a`` and ``b`` name a country and its people by suffix: China/Chinese, Iran/Iranian, Israel/Israeli
    (the pairs no suffix derives are in ``_DEMONYMS``)."""
    short, long_ = sorted((a, b), key=len)
    base = short[:-1] if short[-1] in "aeiouy" else short
    return len(base) >= 4 and long_.startswith(base) and long_[len(base):] in _DEMONYM_SUFFIXES


# Capitalised only because they start a sentence: never names. (Other sentence-initial words count:
# "Lighthizer will travel" names Lighthizer, and a checker that skipped it would accept "Lightman".)
_SENTENCE_OPENERS = frozenset(
    """yes overall currently additionally meanwhile furthermore moreover instead therefore thus both several many
    despite following based due given today yesterday tomorrow earlier later recently now finally first second
    third last next in on at by for with from as after before during according among amid under over since
    nearly about around approximately almost roughly only another every each either neither one two three""".split()
)


def names(text: str) -> set[str]:
    """Proper names in ``text``, lower-cased: capitalised words and acronyms.

    Two-letter names count ("Xi"), and so does "May" unless a date is written ("Theresa May"
    is a name, "in May" and "May 5" are not). A sentence-initial word counts unless it is a
    function word or a common opener ("The", "Meanwhile"). Possessives are dropped
    ("Trump's" -> "trump").
    """
    text = strip_citations(text.strip())
    month_may = {m.end() - 3 for m in _MAY_MONTH.finditer(text)}  # every match ends with "May"
    out = set()
    for m in _NAME.finditer(text):
        word = m.group(1)
        w = word.lower()
        before = text[: m.start()].rstrip()
        initial = not before or before[-1] in ".!?:\"“(—-"
        if word == "May":
            if m.start() in month_may or initial:
                continue
        elif w in _MONTHS_DAYS:
            continue
        elif word.isupper():
            if w in ("a", "i", "ok", "am", "pm", "ad", "tv"):
                continue
        elif w in STOPWORDS or (initial and w in _SENTENCE_OPENERS):
            continue
        out.add("us" if w in ("us", "usa") else w)
    return out


def words_of(texts: Iterable[str]) -> set[str]:
    """Every word of ``texts``, lower-cased, possessives dropped: the vocabulary names are looked up in."""
    out = set()
    for t in texts:
        for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", t):
            w = w.lower().replace("’", "'")
            w = w[:-2] if w.endswith("'s") else w
            out.add(w)
            out.update(re.split(r"['-]", w))  # "d'alene" holds "alene", "al-sadr" holds "sadr"
    if "u.s" in out or re.search(r"\bU\.S\.?", " ".join(texts)) or "united" in out and "states" in out:
        out.add("us")
    return out


def name_present(name: str, vocabulary: set[str], stems: set[str] | None = None) -> bool:
    """Is ``name`` (from ``names``) in a text whose words are ``vocabulary``?

    Exact word, plural or possessive form (same stem), or the same country/people.
    """
    if name in vocabulary:
        return True
    if stems is not None and stem([name]) <= stems:
        return True
    if any(name in g and not vocabulary.isdisjoint(g) for g in _DEMONYMS):
        return True
    return any(_demonym_pair(name, w) for w in vocabulary if abs(len(w) - len(name)) <= 4 and w[:3] == name[:3])


_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|nothing|nobody|without|cannot)\b|n['’]t\b", re.I)


def negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


_QUOTE = re.compile(r'"([^"]{2,200})"|“([^”]{2,200})”')


def _flat(text: str) -> str:
    """Lower case, letters and digits only, single spaces: for comparing quotations."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("’", "'")).split())


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
        nums = numbers(sentence) - vouched
        have_nums = set().union(*(numbers(p) for p in passages)) if passages else set()
        vocabulary = words_of(passages)
        missing_names = {n for n in names(sentence) - vouched if not name_present(n, vocabulary, have)}
        missing = (nums - have_nums) | missing_names
        if negated(sentence) and not any(negated(p) for p in passages):
            missing.add("not")  # "did not raise tariffs" is not supported by "raised tariffs"
        # a quotation must be verbatim: "intense, specific" is not "candid, specific"
        quoted = [q for q in quotations(sentence) if _flat(q)]
        flat = [_flat(p) for p in passages] if quoted else []
        missing |= {f'"{q}"' for q in quoted if not any(_flat(q) in f for f in flat)}
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


def premise_terms(question: str, article_texts: Sequence[str]) -> frozenset[str]:
    """The question's own terms a sentence may repeat unchecked, given the cited article's texts.

    A right answer often restates the question's premise ("the wildfire near Yosemite destroyed
    40 homes"), and the cited sentence need not repeat it, or says it in other words. Exempting
    every question term would let false premises through (most unanswerable questions are false
    premises), so:
    * nothing is exempt unless the article is about the question's subject: it contains one of
      the question's names, or half of its content words (another retrieved passage of the same
      article and its headline count);
    * then the question's ordinary words are exempt, but its names and numbers only where the
      article states them: a date or name the article never mentions is still a fabrication.
    The answer's new content must still be in the cited passage.
    """
    if not article_texts:
        return frozenset()
    q_words = content_words(question)
    have = set().union(*(content_words(t) for t in article_texts))
    vocabulary = words_of(article_texts)
    q_names = {n for n in names(question) if n not in STOPWORDS}
    names_in = {n for n in q_names if name_present(n, vocabulary, have)}
    about = bool(names_in) if q_names else len(q_words & have) >= 0.5 * len(q_words)
    if not about:
        return frozenset()
    have_nums = set().union(*(numbers(t) for t in article_texts))
    return frozenset(q_words | names_in | {n for n in numbers(question) if n in have_nums})

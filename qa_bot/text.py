"""Text primitives every step shares, each written once: words, names, numbers, months and the
citation mark.

Retrieval, evidence selection, the question's analysis, the answer rules, the support checker
and the eval harness all read news text; when two of them disagree on what a word, a month or a
citation mark is, an answer is checked by other rules than it was chosen by. So the definitions
live here, and every other module imports them (a change to the citation mark, say ``[n]`` to
``【n】``, is one edit: ``CITE_MARK``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

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

# A question asks with "did" and the verb's base form ("How much did the city spend?", "Which
# team did they beat?"); the article and the answer state the past ("spent", "beat"). The
# stemmer joins regular forms (decide, decided) but not irregular ones, so a base verb after
# "did" is read as its past form: "did ... spend" is "spent". Only there: a past form elsewhere
# stays itself, since "won" in "Which team won?" must not meet "will win" in a predictions piece
# (measured: mapping every "won" to "win" lost such a question on the 2022 dev set).
_PAST = dict(
    pair.split(":")
    for pair in """spend:spent win:won buy:bought sell:sold pay:paid lose:lost hold:held find:found make:made
    take:took give:gave leave:left build:built send:sent lead:led run:ran begin:began bring:brought
    fall:fell rise:rose choose:chose catch:caught strike:struck steal:stole break:broke speak:spoke
    drive:drove write:wrote tell:told think:thought teach:taught seek:sought fight:fought sing:sang
    throw:threw grow:grew know:knew fly:flew draw:drew eat:ate sit:sat stand:stood understand:understood
    hang:hung shoot:shot keep:kept sleep:slept feel:felt deal:dealt mean:meant hear:heard sink:sank
    shake:shook freeze:froze hide:hid ride:rode wear:wore swear:swore tear:tore become:became come:came
    go:went get:got forget:forgot withdraw:withdrew undergo:underwent oversee:oversaw uphold:upheld
    withhold:withheld mislead:misled flee:fled bleed:bled lend:lent bend:bent dig:dug stick:stuck
    swing:swung sweep:swept overtake:overtook forbid:forbade arise:arose wake:woke blow:blew swim:swam
    drink:drank ring:rang slide:slid shine:shone see:saw meet:met feed:fed lay:laid bite:bit bind:bound
    grind:ground wind:wound light:lit""".split()
)
_DID = {"did", "didn't", "didnt"}
_DID_REACH = 6  # words from "did" to its verb: "did the federal government spend"

_WORD = re.compile(r"[A-Za-z][A-Za-z.'’-]*[A-Za-z]|[A-Za-z]")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
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
    did_at = None  # position of the last "did" whose verb has not come yet
    for i, w in enumerate(_WORD.findall(text)):
        lw = w.lower().replace("’", "'")
        if lw in _DID:
            did_at = i
            continue
        if lw.endswith("'s"):
            lw = lw[:-2]
        if lw in _KEEP:
            words.append("us" if lw.startswith("u") and "k" not in lw else lw.replace(".", ""))
            continue
        lw = lw.replace(".", "")
        if lw in STOPWORDS or len(lw) < 2:
            continue
        if did_at is not None and i - did_at <= _DID_REACH and lw in _PAST:
            lw, did_at = _PAST[lw], None
        words.append(lw)
    return stem(words)



# A Roman numeral that numbers the word before it: "World War II", "Super Bowl LIX", "type Ib"
# (a sub-type letter a-c may follow). Only I, V, X and L, so "Washington, DC" is no 600, and a
# lone letter only as "I" with a sub-type letter, so neither the pronoun "I" nor "X" the company
# is read as a number.
_ROMAN = re.compile(r"(?<=[A-Za-z] )((?=[IVXL]{2})(?:XL|L?X{0,3})(?:IX|IV|V?I{0,3})|I(?=[abc]\b))[abc]?\b")
_ROMAN_VALUE = {"I": 1, "V": 5, "X": 10, "L": 50}


def _roman(numeral: str) -> int:
    values = [_ROMAN_VALUE[c] for c in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def numbers(text: str) -> set[str]:
    """Numbers written in ``text``, normalised: "11,000" -> "11000", "2.50" -> "2.5", and a Roman
    numeral after a word as its value ("type Ib" and "type 1b" both hold "1")."""
    out = set()
    for m in _NUMBER.findall(text):
        n = m.replace(",", "").rstrip(".")
        if "." in n:
            n = n.rstrip("0").rstrip(".")
        out.add(n)
    out.update(str(_roman(m)) for m in _ROMAN.findall(text) if m)  # the numeral, without its sub-type letter
    return out


# a number, its ordinal suffix or unit sign, and the word after it: "52nd annual", "25% tariffs"
_NUMBER_SLOT = re.compile(r"(\d[\d,]*(?:\.\d+)?)(?:st|nd|rd|th)?\s*%?\s*([A-Za-z]+)")


def number_slots(text: str) -> set[tuple[str, str]]:
    """(number, the word after it) pairs of ``text``, numbers normalised as ``numbers`` does:
    what each number counts or orders ("52nd annual" -> ("52", "annual"))."""
    return {(next(iter(numbers(m.group(1)))), m.group(2).lower()) for m in _NUMBER_SLOT.finditer(text)}


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


# An abbreviation written with full stops: "U.S.", "U. S.", "D.C." (two to four capitals).
_DOTTED = re.compile(r"\b((?:[A-Z]\.\s?){1,3}[A-Z])\b\.?")


def undot(text: str) -> str:
    """``text`` with dotted abbreviations written as one word: "U. S." -> "US", "D.C." -> "DC".
    One name written two ways is still one name: "the continental U.S." adds no place to a
    question about "US territory"."""
    return _DOTTED.sub(lambda m: re.sub(r"[.\s]", "", m.group(1)), text)


def words_of(texts: Iterable[str]) -> set[str]:
    """Every word of ``texts``, lower-cased, possessives dropped: the vocabulary names are looked up in."""
    out = set()
    for t in texts:
        for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", undot(t)):  # "U.S." is the word "US"
            w = w.lower().replace("’", "'")
            w = w[:-2] if w.endswith("'s") else w
            out.add(w)
            out.update(re.split(r"['-]", w))  # "d'alene" holds "alene", "al-sadr" holds "sadr"
    if "united" in out and "states" in out:
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



# ---- months and years ------------------------------------------------------------------------

MONTH_NUMBERS = {
    name: number
    for number, names_ in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ),
        1,
    )
    for name in names_
}
MONTH_ABBREVIATIONS = frozenset(m for m in MONTH_NUMBERS if m not in MONTHS)
# A month written out or abbreviated ("Sept", "Dec"), for a regex with re.I; "May" is in it, so a
# pattern that must not read "may" the verb as a month says what follows it.
MONTH_PATTERN = "(?:" + "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True)) + ")"
# Four digits that can be a year of the news: 1800-2099.
YEAR_DIGITS = r"(?:1[89]|20)\d\d"

# ---- the citation mark -----------------------------------------------------------------------

def cite_mark(n: int) -> str:
    """How an answer cites passage ``n``: "[2]". ``CITE_MARK`` below reads it back."""
    return f"[{n}]"


# "[2]", "[1][3]" is two marks; "[1, 3]" and "[1; 3]" are one mark citing two passages.
CITE_MARK = r"\[\d+(?:\s*[,;]\s*\d+)*\]"
CITATIONS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")  # group 1: the numbers inside one mark
_CITATION = re.compile(r"\s*" + CITE_MARK)


def strip_citations(text: str) -> str:
    """``text`` without its citation marks (and the space before each)."""
    return _CITATION.sub("", text).strip()


def cited_numbers(mark: str) -> list[int]:
    """The passage numbers of one mark's inside: "1, 3" -> [1, 3]."""
    return [int(n) for n in re.split(r"\s*[,;]\s*", mark.strip()) if n]


# ---- plain words -----------------------------------------------------------------------------


def plain(text: str) -> str:
    """Lower case, word characters only, single spaces: for comparing a headline with a
    sentence, a quotation with its source, or a question with a title."""
    return " ".join(re.findall(r"\w+", text.lower()))


# ---- invisible characters ----------------------------------------------------------------

_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")

# Characters that are no article content, chosen by Unicode category rather than by a list of
# code points: controls (Cc: NUL, bell, terminal escapes), format characters (Cf: zero-width
# spaces and joiners, bidi overrides and isolates, soft hyphens, the BOM, U+061C, U+180E, and the
# tag characters U+E0000-E007F, which can spell a whole hidden instruction), private use (Co),
# lone surrogates (Cs). Plus the few that other categories hide: letters that render as nothing
# (the Hangul fillers, Lo) and variation selectors (Mn: they can carry hidden bytes after any
# character). Tab, newline, carriage return and form feed stay: text layout handles them.
_LAYOUT = "\t\n\r\x0c"
_BLANK_LETTERS = "\u115f\u1160\u3164\uffa0"
_SELECTORS = [(0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF)]
_LINE_BREAKS = re.compile("[\u2028\u2029\x85]")  # line/paragraph separators (Zl, Zp) and NEL: newlines


def _char_class(code_points: list[int]) -> str:
    """A regex character class for ``code_points`` (sorted), written as ranges."""
    parts, start, prev = [], None, None
    for cp in [*code_points, -2]:
        if start is not None and cp == prev + 1:
            prev = cp
            continue
        if start is not None:
            parts.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
        start = prev = cp
    return "[" + "".join(parts) + "]"


@functools.cache
def _non_text() -> tuple[int, ...]:
    picked = {cp for cp in range(0x110000) if unicodedata.category(chr(cp)) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")}
    picked |= {ord(c) for c in _BLANK_LETTERS} | {cp for lo, hi in _SELECTORS for cp in range(lo, hi + 1)}
    return tuple(sorted(picked))


@functools.cache
def invisible_chars(keep: str = _LAYOUT) -> re.Pattern[str]:
    """Invisible or non-text characters (see above) other than those in ``keep``, line and
    paragraph separators included. The category scan runs once (~0.3 s)."""
    return re.compile(_char_class([cp for cp in _non_text() if chr(cp) not in keep]))


_SPACES = re.compile("[^\\S\t\n\r\x0c\x0b\x85\u2028\u2029 ]")  # other whitespace (NBSP, em space, U+3000): a space


def strip_invisible(text: str) -> str:
    """``text`` without terminal escape sequences and invisible or non-text characters; line and
    paragraph separators become newlines, other whitespace a plain space."""
    text = _LINE_BREAKS.sub("\n", _ESCAPE_SEQUENCE.sub("", text))
    return invisible_chars().sub("", _SPACES.sub(" ", text))

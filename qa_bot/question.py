"""What a question asks for, worked out once: the one home of question analysis.

Retrieval needs the dates a "this week" question is about; the answer policy needs the kind of
thing asked for, to decline an answer that holds none; the conflict finder needs it to find
other articles' values of that kind. Each used to read the question with its own rules ("asks
for a person" was two different patterns); now they all read one ``Question``.

Kinds, and what counts as giving one (``gives_kind``), always something the question does not
already contain:

* ``time`` ("when", "what year", "how long"): a date, a weekday, a month, a time word;
* ``quantity`` ("how many/much", "what percentage"): a number that is not a year, or an amount
  word ("two", "doubled"); for a share ("what percentage", "what proportion"), one given as a
  share ("12%", "a third", "one in five");
* ``person`` ("who", "which official"), ``place`` ("where", "in which country"), ``name``
  ("which company", "what is the name of"): a capitalised name;
* ``thing`` (any other "which ..."): a content word. A number alone answers no "which": "the
  chain will close 60 stores" names no chain.

A question of none of these kinds ("why", "what did X say") gets ``kind = None``: any answer
that adds to the question will do (``policy.adds_to_question``).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from .text import (
    DAYS,
    MONTH_ABBREVIATIONS,
    MONTH_PATTERN,
    MONTHS,
    STOPWORDS,
    YEAR_DIGITS,
    content_words,
    name_present,
    names,
    numbers,
    strip_citations,
    undot,
    words_of,
)
from .types import DateRange

# ---- the kind of thing asked for -------------------------------------------------------------

_LEAD = r"^(?:and |so |but )?"
_ASKS_TIME = re.compile(
    _LEAD + r"when\b|\b(?:what|which) (?:date|day|year|month|time)\b|\bin what year\b|\bhow (?:soon|long)\b",
    re.IGNORECASE,
)
_ASKS_QUANTITY = re.compile(
    r"\bhow (?:many|much|old|far|big|large|tall|high|fast|heavy)\b"
    r"|\bwhat (?:percentage|percent|share|proportion|fraction|number|amount|sum|price|rate|figure)\b"
    r"|\bin (?:dollars|euros|pounds|yuan|tons|tonnes|percent)\b",
    re.IGNORECASE,
)
# A share of a whole is asked for by its unit, and given as a percentage or a fraction.
_ASKS_SHARE = re.compile(r"\bwhat (?:percentage|percent|share|proportion|fraction)\b|\bby what percent", re.I)
_SHARE = re.compile(r"%|\bper ?cent\b|\bpercentage points?\b|\b(?:half|third|thirds|quarter|quarters|fifth|fifths|"
                    r"tenth|tenths)\b|\b(?:one|two|three|four|\d+) (?:in|out of) (?:every )?\w+", re.I)


def asks_share(question: str) -> bool:
    """Does a quantity question ask for a share of a whole ("what percentage", "what proportion")?"""
    return bool(_ASKS_SHARE.search(question))


# Nouns for people and for places: "which official", "in which country". Their answers are names.
_PERSON_KINDS = (
    "person|people|man|men|woman|women|singer|rapper|actor|actress|artist|author|musician|celebrity|star|player|"
    "athlete|coach|politician|official|leader|president|minister|senator|governor|mayor|judge|justice|ceo|"
    "executive|billionaire|sibling|golfer|driver|candidate|lawmaker|monarch|king|queen|prince|princess|pope|"
    "expert|analyst|guest|founder|director|journalist|reporter|host|comedian|member|chef|astronaut|pilot|"
    "commander|general|lawyer|attorney"
)
_PLACE_KINDS = (
    "country|countries|nation|state|city|cities|town|province|region|island|islands|territory|continent|county|"
    "capital|airport|museum|stadium|river|lake|mountain|volcano|park|venue|beach|port"
)
# Other kinds that have capitalised names. Kinds whose answers are often lower case (a virus,
# a product, a sport; a "group", which is an age group or a group of employees as often as an
# organisation) are left out: "which" makes those ``thing`` questions.
_NAME_KINDS = (
    "company|companies|firm|business|brand|chain|retailer|restaurant|airline|bank|automaker|carmaker|maker|"
    "manufacturer|network|broadcaster|platform|app|website|site|service|team|club|league|organization|"
    "organisation|agency|party|union|university|college|school|newspaper|magazine|outlet|publication|"
    "film|movie|show|series|album|song|book|game|band|storm|hurricane|ship|spacecraft|telescope"
)


# Words that end a noun phrase: after a preposition or a relative word between "which/what" and
# the noun, the noun belongs to another phrase ("crews can clear what built by county officials"
# asks for what was built, not for officials)
_NOT_MODIFIERS = "by|in|at|on|from|to|for|with|about|into|over|under|after|before|during|as|than|that|who|whom|whose|which|what"


def _kind_pattern(nouns: str) -> re.Pattern[str]:
    # "which high-ranking US official": up to three modifiers, but no verb or "of" in between
    # ("what did the mayor say" asks for no mayor, "which of the proposals" for no name)
    return re.compile(
        rf"\b(?:which|what)\b(?:\s+(?!(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|should|"
        rf"of|the|a|an|{_NOT_MODIFIERS})\b)[\w'’.-]+){{0,3}}?\s+(?:{nouns})s?\b",
        re.IGNORECASE,
    )


_ASKS_PERSON = re.compile(_LEAD + r"who(?:m|se)?\b", re.I)
_ASKS_PERSON_NOUN = _kind_pattern(_PERSON_KINDS)
_ASKS_PLACE = re.compile(_LEAD + r"where\b|[.?!]\s+where\b", re.I)
_ASKS_PLACE_NOUN = _kind_pattern(_PLACE_KINDS)
_ASKS_NAME_NOUN = _kind_pattern(_NAME_KINDS)
_ASKS_THE_NAME = re.compile(r"\bwhat(?:'s|’s| is| was| are| were) (?:the|its|his|her|their) names?\b|\bnamed what\b", re.I)
_ASKS_WHICH = re.compile(r"\bwhich\b", re.I)


def asked_kind(question: str) -> str | None:
    """The kind of thing ``question`` asks for (module docstring), or None."""
    q = question.strip()
    if _ASKS_TIME.search(q):
        return "time"
    if _ASKS_QUANTITY.search(q):
        return "quantity"
    if _ASKS_PERSON.search(q) or _ASKS_PERSON_NOUN.search(q):
        return "person"
    if _ASKS_PLACE.search(q) or _ASKS_PLACE_NOUN.search(q):
        return "place"
    if _ASKS_NAME_NOUN.search(q) or _ASKS_THE_NAME.search(q):
        return "name"
    if _ASKS_WHICH.search(q):
        return "thing"
    return None


NAMED = frozenset({"person", "place", "name"})
_MONTHS_DAYS = frozenset(MONTHS) | frozenset(DAYS)

# ---- does a text give that kind? -------------------------------------------------------------

# Specific amounts only: "hundreds of billions" or "several" does not say how much.
_QUANTITY_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion trillion
    dozen half third quarter double doubled doubling triple tripled quadruple twice percent""".split()
)
# Words that place an event in time. Vague ones ("soon", "later", "recently") answer no "when".
_TIME_WORDS = frozenset(m for m in MONTHS if m != "may") | MONTH_ABBREVIATIONS | frozenset(DAYS) | frozenset(
    """today tonight tomorrow yesterday day days week weeks weekend month months year years decade decades century
    hour hours minute minutes morning afternoon evening night spring summer autumn winter ago christmas easter
    thanksgiving midnight noon""".split()
)
_TIME_PHRASE = re.compile(
    r"\bmid-[A-Za-z]|\bMay\s+\d|\b(?:in|by|since|until|early|late|mid|last|next|this)\s+May\b"
    r"|\b(?:this|last|next|the|in|early|late)\s+fall\b|\bfall\s+of\b",
)
YEAR = re.compile(rf"(?<![$£€\d.,])\b{YEAR_DIGITS}\b(?![,.]?\d)(?!\s*(?:%|percent\b|[a-z]+s\b))")

# Words that add no content to a restated premise: "The parade drew large crowds" answers no
# "which event", nor "rolled out a new item to attract younger consumers" "which item ... to attract a
# younger crowd"; "monkeypox" in "The virus ... is monkeypox" does answer "which virus".
VAGUE = content_words(
    """large big huge major many much several some various new recent recently significant substantial number
    amount lot lots great good bad important notable high low also reportedly report reported news article
    passage passages evidence source sources official officials people person thing things way ways item items
    consumers customers crowd crowds audience audiences users fans residents public shoppers visitors viewers"""
)


def _tokens(text: str) -> set[str]:
    return {w.lower().strip(".") for w in re.findall(r"[A-Za-z]+\.?", text)}


def _quantity_tokens(text: str) -> set[str]:
    """Number words that state an amount ("one of the largest" states none)."""
    text = re.sub(r"\bone\s+of\b", " ", text, flags=re.I)
    return _tokens(text) & _QUANTITY_WORDS


def _name_word(word: str) -> str:
    """A capitalised word as ``text.words_of`` keeps a word (lower-cased, one apostrophe, no "'s"),
    so that it is looked up in a question's vocabulary in the same form: "Trump's" meets "trump"."""
    w = word.lower().replace("’", "'")
    return w[:-2] if w.endswith("'s") else w


def new_names(answer: str, question: str) -> set[str]:
    """Names in the answer the question does not contain. Sentence-initial capitals count here:
    "Subway launched ..." names Subway; only words that are never names are left out."""
    answer = undot(answer)  # "U.S." is "US"; words_of reads the question so too
    q_vocab = words_of([question])
    found = set()
    for m in re.finditer(r"\b([A-Z][A-Za-z'’.-]*[A-Za-z]|[A-Z])\b", answer):
        word = m.group(1).rstrip(".")
        w = _name_word(word)
        acronym = len(word) >= 2 and word.isupper()  # "US", "NATO": names even where "us" is a stopword
        if (w in STOPWORDS and not acronym) or w in ("i", "a") or w in q_vocab:
            continue
        if not name_present(w, q_vocab):
            found.add(w)
    # a capital the question wrote in lower case is the sentence's first word, not a new name
    return found | {n for n in names(answer) - names(question) if n not in q_vocab}


def name_candidates(sentence: str, question: str) -> set[str]:
    """Names in a passage sentence that could answer a question asking for a name: capitalised
    words that are not the question's, not months or weekdays, and not the sentence's first word
    (in running text most first words are ordinary words: "Experts", "Currently"). Stricter than
    ``new_names``, which judges a short answer, where "Subway launched ..." does name Subway."""
    q_vocab = words_of([question])
    found = set()
    for m in re.finditer(r"\b([A-Z][A-Za-z'’.-]*[A-Za-z]|[A-Z]{2,})\b", sentence):
        before = sentence[: m.start()].rstrip()
        if not before or before[-1] in ".!?:;\"“”'‘’(—–-•*":
            continue
        word = m.group(1).rstrip(".")
        w = _name_word(word)
        if (w in STOPWORDS and not word.isupper()) or w in q_vocab or w in _MONTHS_DAYS or name_present(w, q_vocab):
            continue
        found.add(w)
    return found


# A quoted term names a thing too: 'dubbed "olo"', 'the song "Espresso"'. Single quotes only
# where they cannot be an apostrophe.
_QUOTED = re.compile(r'"([^"]{1,80})"|“([^”]{1,80})”|‘([^’]{1,80})’|(?<![\w’\'])\'([^\']{1,80})\'(?![\w’\'])')


def quoted_terms(answer: str, question: str) -> set[str]:
    """Quoted terms of ``answer`` that the question does not contain."""
    q = f" {' '.join(re.findall(r'[a-z0-9]+', question.lower()))} "
    terms = {" ".join(re.findall(r"[a-z0-9]+", next(g for g in m.groups() if g).lower())) for m in _QUOTED.finditer(answer)}
    return {t for t in terms if t and f" {t} " not in q}


def new_words(answer: str, question: str) -> set[str]:
    """Content words (stemmed, letters only) of ``answer`` beyond the question's and the vague ones."""
    return content_words(answer) - content_words(question) - VAGUE


def gives_kind(answer: str, kind: str, question: str, share: bool = False) -> bool:
    """Does ``answer`` contain a ``kind`` (module docstring) the question did not already state?
    ``share``: the quantity is asked for as a share of a whole (``Question.share``)."""
    answer = strip_citations(answer)
    if kind in NAMED:
        return bool(new_names(answer, question) or quoted_terms(answer, question))
    if kind == "thing":
        return bool(new_names(answer, question) or new_words(answer, question))
    years = set(YEAR.findall(answer))
    new_numbers = numbers(answer) - numbers(question)
    if kind == "quantity":
        if share:
            # "what percentage" asks for a share: "43.8 million people" is an amount, not a share
            return bool(_SHARE.search(answer)) and bool(new_numbers or _quantity_tokens(answer) - _quantity_tokens(question))
        # a year is a time, not an amount: "In 2021, it grew" says nothing about how much
        amounts = {n for n in new_numbers if n not in years}
        return bool(amounts or _quantity_tokens(answer) - _quantity_tokens(question))
    found = _tokens(answer) - _tokens(question)
    if new_numbers or found & (_TIME_WORDS | _QUANTITY_WORDS):
        return True
    return any(m.group(0).lower() not in question.lower() for m in _TIME_PHRASE.finditer(answer))


# ---- the dates a question is about -----------------------------------------------------------

# "this week" questions are about the news of that week: an older article on the same topic
# (last year's resignation, last year's earthquake) is probably the wrong answer. Windows in
# days before the reference date; one day after allows for time zones.
_RECENCY = [
    (re.compile(r"\b(?:this|last|past) week(?:end)?\b|\byesterday\b|\btoday\b|\btonight\b|\bin recent days\b"
                r"|\bon (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I), 10),
    (re.compile(r"\b(?:this|last|past) month\b|\brecent(?:ly)?\b|\blatest\b", re.I), 90),
    (re.compile(r"\b(?:this|last|past) year\b", re.I), 366),
]
# A question that names its own time ("in 2019", "on March 3", "last May") is not about the
# reference date's week, whatever else it says.
_NAMES_A_DATE = re.compile(
    rf"\b{YEAR_DIGITS}\b|\b{MONTH_PATTERN}\.?\s+\d{{1,2}}\b"
    rf"|\b(?:in|on|since|until|last|this|next|early|late|mid-?)\s*(?:{'|'.join(MONTHS)})\b",
    re.I,
)


def names_own_date(question: str) -> bool:
    return bool(_NAMES_A_DATE.search(question))


def recency_window(question: str, today: dt.date | None) -> DateRange | None:
    """The dates a time-relative question ("this week", "recently") is about, if it is one.

    None when the question names a date of its own: "What happened in 2019 this week?" is
    about 2019, not about the week before the reference date.
    """
    if today is None or names_own_date(question):
        return None
    for pattern, days in _RECENCY:
        if pattern.search(question):
            return DateRange(today - dt.timedelta(days=days), today + dt.timedelta(days=1))
    return None


# ---- the value ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One question, analysed once (``analyse``) and read by retrieval, evidence and policy."""

    text: str
    words: frozenset[str]  # stemmed content words
    names: frozenset[str]
    numbers: frozenset[str]
    kind: str | None  # see the module docstring
    share: bool  # a quantity asked for as a share of a whole ("what percentage"): answered by one
    window: DateRange | None  # the dates a "this week" question is about
    names_own_date: bool

    def gives(self, text: str) -> bool:
        """Does ``text`` hold a thing of the kind asked for, beyond the question's own? (True when
        the question asks for no particular kind.)"""
        return self.kind is None or gives_kind(text, self.kind, self.text, self.share)


@functools.lru_cache(maxsize=512)
def analyse(text: str, today: dt.date | None = None) -> Question:
    """The ``Question`` for ``text`` asked on ``today`` (cached: every step of one ask shares it)."""
    return Question(
        text=text,
        words=frozenset(content_words(text)),
        names=frozenset(names(text)),
        numbers=frozenset(numbers(text)),
        kind=(kind := asked_kind(text)),
        share=kind == "quantity" and asks_share(text),
        window=recency_window(text, today),
        names_own_date=names_own_date(text),
    )


def news_window(question: Question, today: dt.date | None, days: int) -> DateRange | None:
    """The news a question that names no date of its own is about: the ``days`` before ``today``,
    or longer when its own words ask for longer ("this year"). None for a question that names its
    own date ("in 2019", "on March 3"), with no reference date, or with ``days`` 0.

    People ask a news assistant about the news of the day they ask ("Which company is recalling
    its cars?"), so retrieval ranks these dates first, and an answer found only in older articles
    of a collection that does cover these dates answers another story (``policy.misses_the_news``).
    """
    if today is None or days <= 0 or question.names_own_date:
        return None
    start = today - dt.timedelta(days=days)
    if question.window is not None and question.window.start is not None:
        start = min(start, question.window.start)
    return DateRange(start, today + dt.timedelta(days=1))

"""Every rule that decides whether qa-bot answers or declines, and the reason it gives.

The pipeline asks this module at four points (assistant.py):

1. before drafting: is any passage close enough to the question to be worth an LLM call?
   (``worth_asking`` -> ``no_relevant_passage``)
2. after drafting: did the model itself say the passages don't answer? (``model_declined``
   -> ``model_not_found``)
3. after checking: do the supported sentences answer the question? (``verdict``): nothing
   supported -> ``unsupported``, or ``out_of_window`` when what was supported came only from
   articles well before the week a "this week" question asks about (``stale_items``); only the
   question's own premise repeated -> ``repeats_question``; no quantity, time or name of the
   kind asked for -> ``not_an_answer``.
4. for a second look after a decline: what note goes under the question (``retry_note``)?
   Which declines get a second look at all is the assistant's call.

Reasons and their wording live in ``types.ABSTAIN_REASONS``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from . import prompts
from .config import Settings
from .fidelity import (
    MONTHS,
    STOPWORDS,
    content_words,
    name_present,
    names,
    numbers,
    strip_citations,
    words_of,
)
from .types import AnswerSentence, Article, DateRange, Evidence, Passage

# ---- 1. worth asking the model? -------------------------------------------------------------


def question_coverage(question: str, passages: Sequence[Passage]) -> tuple[float, float]:
    """(best share of the question's content words in one passage, best share of its names in one passage)."""
    words, nms = content_words(question), names(question)
    best_words = best_names = 0.0
    for p in passages:
        text = f"{p.article.title}\n{p.chunk.text}"
        if words:
            best_words = max(best_words, len(words & content_words(text)) / len(words))
        if nms:
            vocab = words_of([text])
            best_names = max(best_names, sum(name_present(n, vocab) for n in nms) / len(nms))
    return best_words, best_names


def worth_asking(question: str, passages: Sequence[Passage], settings: Settings) -> bool:
    """Is any passage close enough to the question to be worth an LLM call?

    Cosine similarity alone misjudges questions about one detail of a long passage ("Which think
    tank does Derek Scissors work for?" scores 0.18 against the passage that names him), so a
    passage that contains most of the question's words, or every name in it, also counts.
    """
    if not passages:
        return False
    if max(p.score for p in passages) >= settings.min_relevance:
        return True
    words_cov, names_cov = question_coverage(question, passages)
    return words_cov >= settings.min_question_coverage or names_cov == 1.0


# ---- 2. did the model decline? ----------------------------------------------------------------

_DECLINE = re.compile(
    r"^(i'm sorry|sorry|i cannot|i can't|the (provided )?(passages?|articles?|evidence) (do|does) not|"
    r"(there is|there's) no (information|mention)|no information|not (mentioned|stated|specified))"
)


def model_declined(raw: str) -> bool:
    """The model's own "the passages don't say" (the marker, or a paraphrase small models favour)."""
    t = raw.strip().lower()
    return not t or prompts.NOT_FOUND.lower() in t.replace(" ", "_") or bool(_DECLINE.match(t))


# ---- 3. does the checked answer answer the question? -------------------------------------------

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
# Questions that name the kind of thing they want, which has a capitalised name: the answer must
# bring a new one. Kinds whose answers are often lower-case (a virus, a product, a sport) are left out.
_NAMED_KINDS = (
    "company|companies|firm|business|brand|chain|retailer|restaurant|airline|bank|automaker|carmaker|maker|"
    "manufacturer|network|platform|app|website|site|service|team|club|league|country|countries|nation|"
    "state|city|town|province|region|island|organization|organisation|group|agency|party|union|university|"
    "college|school|newspaper|magazine|outlet|publication|film|movie|show|series|album|song|book|game|band|"
    "singer|rapper|actor|actress|artist|author|musician|celebrity|star|player|athlete|coach|politician|"
    "official|leader|president|minister|senator|governor|mayor|judge|ceo|executive|billionaire|person|man|"
    "woman|sibling|siblings|golfer|driver|candidate|lawmaker|monarch|king|queen|prince|princess|pope|"
    "storm|hurricane|ship|spacecraft|telescope|airport|museum|stadium|river|lake|mountain|volcano|park"
)
_ASKS_NAME = re.compile(
    # "which high-ranking US official": up to three modifiers, but no verb or "of" in between
    # ("what did the mayor say" asks for no mayor, "which of the proposals" for no name)
    rf"^(?:and |so |but )?who\b|\b(?:which|what)\b(?:\s+(?!(?:did|does|do|is|are|was|were|has|have|had|will|"
    rf"would|can|could|should|of|the|a|an)\b)[\w'’.-]+){{0,3}}?\s+(?:{_NAMED_KINDS})s?\b",
    re.IGNORECASE,
)
# Specific amounts only: "hundreds of billions" or "several" does not say how much.
_QUANTITY_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion trillion
    dozen half third quarter double doubled doubling triple tripled quadruple twice percent""".split()
)
# Words that place an event in time. Vague ones ("soon", "later", "recently") answer no "when".
_TIME_WORDS = frozenset(m for m in MONTHS if m != "may") | frozenset(
    """jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday
    today tonight tomorrow yesterday day days week weeks weekend month months year years decade decades century
    hour hours minute minutes morning afternoon evening night spring summer autumn winter ago christmas easter
    thanksgiving midnight noon""".split()
)
_TIME_PHRASE = re.compile(
    r"\bmid-[A-Za-z]|\bMay\s+\d|\b(?:in|by|since|until|early|late|mid|last|next|this)\s+May\b"
    r"|\b(?:this|last|next|the|in|early|late)\s+fall\b|\bfall\s+of\b",
)
_YEAR = re.compile(r"(?<![$£€\d.,])\b(?:1[89]|20)\d\d\b(?![,.]?\d)(?!\s*(?:%|percent\b|[a-z]+s\b))")


def asked_kind(question: str) -> str | None:
    """"time", "quantity" or "name" when the question plainly asks for one, else None."""
    q = question.strip()
    if _ASKS_TIME.search(q):
        return "time"
    if _ASKS_QUANTITY.search(q):
        return "quantity"
    if _ASKS_NAME.search(q):
        return "name"
    return None


def _tokens(text: str) -> set[str]:
    return {w.lower().strip(".") for w in re.findall(r"[A-Za-z]+\.?", text)}


def _quantity_tokens(text: str) -> set[str]:
    """Number words that state an amount ("one of the largest" states none)."""
    text = re.sub(r"\bone\s+of\b", " ", text, flags=re.I)
    return _tokens(text) & _QUANTITY_WORDS


def _new_names(answer: str, question: str) -> set[str]:
    """Names in the answer the question does not contain. Sentence-initial capitals count here:
    "Subway launched ..." names Subway; only words that are never names are left out."""
    q_vocab = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", question)}
    found = set()
    for m in re.finditer(r"\b([A-Z][A-Za-z'’.-]*[A-Za-z]|[A-Z])\b", answer):
        word = m.group(1).rstrip(".")
        w = word.lower()
        w = w[:-2] if w.endswith(("'s", "’s")) else w
        acronym = len(word) >= 2 and word.isupper()  # "US", "NATO": names even where "us" is a stopword
        if (w in STOPWORDS and not acronym) or w in ("i", "a") or w in q_vocab:
            continue
        if not name_present(w, q_vocab):
            found.add(w)
    # a capital the question wrote in lower case is the sentence's first word, not a new name
    return found | {n for n in names(answer) - names(question) if n not in q_vocab}


def gives_kind(answer: str, kind: str, question: str) -> bool:
    """Does ``answer`` contain a ``kind`` ("time", "quantity" or "name") the question did not already state?"""
    answer = strip_citations(answer)
    if kind == "name":
        return bool(_new_names(answer, question))
    years = set(_YEAR.findall(answer))
    new_numbers = numbers(answer) - numbers(question)
    if kind == "quantity":
        # a year is a time, not an amount: "In 2021, it grew" says nothing about how much
        amounts = {n for n in new_numbers if n not in years}
        return bool(amounts or _quantity_tokens(answer) - _quantity_tokens(question))
    new_words = _tokens(answer) - _tokens(question)
    if new_numbers or new_words & (_TIME_WORDS | _QUANTITY_WORDS):
        return True
    return any(m.group(0).lower() not in question.lower() for m in _TIME_PHRASE.finditer(answer))


# Words that add no content to a restated premise: "The parade drew large crowds" answers no
# "which event", nor "rolled out a new item to attract younger consumers" "which item ... to attract a
# younger crowd"; "monkeypox" in "The virus ... is monkeypox" does answer "which virus".
_VAGUE = content_words(
    """large big huge major many much several some various new recent recently significant substantial number
    amount lot lots great good bad important notable high low also reportedly report reported news article
    passage passages evidence source sources official officials people person thing things way ways item items
    consumers customers crowd crowds audience audiences users fans residents public shoppers visitors viewers"""
)


def adds_to_question(answer: str, question: str) -> bool:
    """Does ``answer`` say something the question does not already say?

    A small model often answers by repeating the question's premise ("After the council approved
    the budget, which firm won the contract?" -> "The council approved the budget [2]"), which is
    supported, cited and no answer. An answer adds a name or number the question lacks, or a
    content word beyond the question's own and a few vague ones ("large", "officials").
    """
    answer = strip_citations(answer)
    if numbers(answer) - numbers(question) or _new_names(answer, question):
        return True
    return bool(content_words(answer) - content_words(question) - _VAGUE)


def is_stale(article: Article, window: DateRange | None) -> bool:
    """Was ``article`` published well before ``window``, the dates a "this week" question is about?

    "Well before" is more than the window's own length before it starts (three weeks back for
    "this week", six months for "recently"): a report written days after the event still counts.
    Undated articles are never stale.
    """
    if window is None or window.start is None or article.published is None:
        return False
    span = (window.end or window.start) - window.start
    return article.published < window.start - span


def stale_items(evidence: Sequence[Evidence], passages: Sequence[Passage], window: DateRange | None) -> frozenset[int]:
    """Evidence numbers of stale articles (``is_stale``), when a retrieved article is from the window.

    News questions about "this week" recur every week ("Which film tops the box office?",
    "Who resigned?"), so an older article on the same topic states a true fact about the wrong
    week, which no support check can catch. When nothing retrieved is from the window, the
    user's "this week" means the collection's own time and nothing is stale.
    """
    if window is None or not any(window.holds(p.article.published) for p in passages):
        return frozenset()
    return frozenset(e.n for e in evidence if is_stale(e.passage.article, window))


def verdict(question: str, kept: Sequence[AnswerSentence], dropped: Sequence[AnswerSentence] = ()) -> str:
    """"" when the supported sentences answer ``question``, else the abstention reason.

    ``dropped``: when nothing is kept and the checker dropped a sentence because only stale
    evidence items supported it (``stale_items``), the reason says so.
    """
    if not kept:
        return "out_of_window" if any(s.older_news for s in dropped) else "unsupported"
    text = " ".join(s.text for s in kept)
    if not adds_to_question(text, question):
        return "repeats_question"
    kind = asked_kind(question)
    if kind and not gives_kind(text, kind, question):
        return "not_an_answer"
    return ""


# ---- 4. what to tell the model when it looks again ---------------------------------------------

_WANTS = {"name": "the name", "time": "the date or time", "quantity": "the number"}
_FAULTS = {
    "repeats_question": "that only repeats the question",
    "not_an_answer": "that does not give {wants}",
    "out_of_window": "that is older news than the question asks about",
}


def retry_note(why: str, question: str, draft: str) -> str:
    """The note put under the question for a second draft after a decline of kind ``why``, or ""
    when the decline says nothing the model could act on (it found nothing, or nothing was
    supported: more evidence is the only help there).

    Told only "answer with the name", the 1.5B model wrote the same echo again; told to reply
    with the marker if unsure, it gave up on answers it had. Naming its first draft as the wrong
    one worked best (evals/README.md, "the second look's note").
    """
    if why not in _FAULTS:
        return ""
    wants = _WANTS.get(asked_kind(question) or "", "the specific answer")
    quoted = " ".join(strip_citations(draft).split())
    if len(quoted) > 200:
        quoted = quoted[:200].rsplit(" ", 1)[0] + " ..."
    quoted = quoted.rstrip(".")
    return prompts.RETRY_NOTE.format(draft=quoted, fault=_FAULTS[why].format(wants=wants), wants=wants)

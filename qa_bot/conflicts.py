"""Say when the articles disagree: another article's evidence gives another value of the kind asked.

News about one story changes by the hour (the toll rises, a date moves, an early report names
the wrong team), and the model picks one figure. After an answer is checked, each of its
sentences' values of the kind the question asks for (a number or amount for "how many/much", a
date for "when", a name for "who/which/where") is compared with the values the *other* articles
shown to the model give for the same thing. A different value is a conflict; the answer then
says so and cites each side, newest first.

"The same thing" is decided by what the value is attached to in its sentence, not by topic:
* the words around it (a window of a few words each side) must hold at least as many of the
  question's words as the words around the answer's value in the evidence it cites (so "35
  people were injured" does not contradict "41 people died" for "how many died?": it says
  "injured", not "died");
* a number keeps its unit: an amount of money only meets money, a percentage a percentage, and
  "41 people" only "35 people", never "35 homes";
* a date only meets a date written to the same precision (a day with a day, a year with a year),
  and what it is about is its whole sentence (news puts the date far from what it dates).
A value restated by several articles counts once (the newest report of it is cited). Values in
the question itself ("after the 2019 vote") are never answers, and so never conflicts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .chunking import split_sentences
from .question import analyse, name_candidates
from .text import MONTH_NUMBERS, YEAR_DIGITS, content_words
from .types import AnswerSentence, Conflict, ConflictSide, Evidence

WINDOW = 8  # words each side of a value that say what it is about
# What news counts, in groups of words that count the same thing: a toll is deaths, not injuries.
# Two values whose surroundings name different groups are about different things, whatever else
# they share ("41 people died" and "35 people were injured" in one flood).
_MEASURES = [frozenset(content_words(g)) for g in (
    "die died dies dead death deaths deadly kill killed killing toll fatal fatalities fatality lives life",
    "injure injured injuries injury wound wounded hurt hospitalised hospitalized",
    "missing unaccounted",
    "arrest arrested arrests detain detained detention charged",
    "evacuate evacuated evacuation evacuations displaced homeless flee fled",
    "home homes house houses building buildings",
    "vote votes voted ballot ballots",
)]
# words a question uses to ask, not what it asks about
_ASKING = content_words("how many much number amount total when date day year time who which what whom where "
                        "name named did does do is was were are has have had")

_MONEY_OR_NUMBER = re.compile(
    r"(?P<cur>[$£€])?\s?(?P<num>\d(?:[\d,]*\d)?(?:\.\d+)?)(?:\s*(?P<scale>thousand|million|billion|trillion|bn|m)\b)?"
    r"(?:\s*(?P<pct>%|percent\b|per cent\b))?", re.I)
_SCALE = {"thousand": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_MONTH = "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True))
_DATE = re.compile(
    rf"\b(?:(?P<m1>{_MONTH})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y1>{YEAR_DIGITS}))?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{_MONTH})\b(?:,?\s+(?P<y2>{YEAR_DIGITS}))?"
    rf"|(?P<m3>{_MONTH})\s+(?P<y3>{YEAR_DIGITS})\b"
    rf"|(?<![\d$£€.,])(?P<y4>{YEAR_DIGITS})\b(?![,.]?\d)(?!\s*(?:%|percent))"
    rf"|(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b)", re.I)
# A name next to these words is who said or reported something, not who or what was asked about
_SOURCE_BEFORE = re.compile(r"(?:\btold|\bsaid|\bsays|\baccording to|\breported|\bwrote|\bvia|\bper)\s*$", re.I)
_SOURCE_AFTER = re.compile(r"^\s*(?:said|says|told|reported|wrote|reports)\b", re.I)
_NAME_SPAN = re.compile(r"\b[A-Z][A-Za-z'’.-]*[A-Za-z](?:\s+(?:de |van |von |al-)?[A-Z][A-Za-z'’.-]*[A-Za-z])*")


@dataclass(frozen=True)
class _Value:
    key: tuple  # what is compared: the amount with its unit class, the date, the name
    shown: str  # as written
    around: frozenset[str]  # content words near it
    unit: str  # "" or the word after a number


def _around(text: str, start: int, end: int) -> frozenset[str]:
    before = re.findall(r"\S+", text[:start])[-WINDOW:]
    after = re.findall(r"\S+", text[end:])[:WINDOW]
    return frozenset(content_words(" ".join(before + after)))


def _quantities(text: str, skip: set[str]) -> list[_Value]:
    out = []
    years = {m.span("y4") for m in _DATE.finditer(text) if m.group("y4")}
    for m in _MONEY_OR_NUMBER.finditer(text):
        if m.span("num") in years or not m.group("num").strip(",").replace(",", "").replace(".", "").isdigit():
            continue
        raw = m.group("num").replace(",", "")
        try:
            amount = float(raw) * _SCALE.get((m.group("scale") or "").lower(), 1.0)
        except ValueError:
            continue
        if raw in skip:
            continue
        after = re.match(r"\s+([A-Za-z]+)", text[m.end():])
        unit = after.group(1).lower() if after and not m.group("pct") and not m.group("cur") else ""
        unit = next(iter(content_words(unit)), "") if unit else ""
        cls = "money" if m.group("cur") else "percent" if m.group("pct") else "count"
        out.append(_Value((cls, round(amount, 6)), m.group(0).strip(), _around(text, m.start(), m.end()), unit))
    return out


def _dates(text: str, skip: set[str]) -> list[_Value]:
    out = []
    for m in _DATE.finditer(text):
        g = m.groupdict()
        if g["wd"]:
            key: tuple = ("weekday", g["wd"].lower())
        elif g["y4"]:
            key = ("year", int(g["y4"]))
        elif g["m3"]:
            key = ("month", MONTH_NUMBERS[g["m3"].lower()], int(g["y3"]))
        else:
            month, day = (g["m1"], g["d1"]) if g["m1"] else (g["m2"], g["d2"])
            if month.lower() == "may" and not re.match(r"May\b", month):  # "may 5" the verb: no date
                continue
            year = g["y1"] or g["y2"]
            # "Aug. 23, 2044" and "April 8" are not one precision: the second's year is unsaid
            key = ("day and year", MONTH_NUMBERS[month.lower()], int(day), int(year)) if year else (
                "day", MONTH_NUMBERS[month.lower()], int(day))
        if m.group(0).strip().lower() in skip:
            continue
        # a date is about its whole sentence ("before March 1, when the U.S. has said it may more
        # than double tariffs on Chinese goods"): a few words each side cut news sentences short
        out.append(_Value(key, m.group(0).strip(), frozenset(content_words(text)), ""))
    return out


def _names(text: str, question: str) -> list[_Value]:
    wanted = name_candidates(text, question)
    out = []
    for m in _NAME_SPAN.finditer(text):
        words = {w.lower().rstrip(".") for w in m.group(0).split()}
        words = {w[:-2] if w.endswith(("'s", "’s")) else w for w in words}
        if not words & wanted:
            continue
        if _SOURCE_BEFORE.search(text[: m.start()]) or _SOURCE_AFTER.match(text[m.end():]):
            continue  # "told CBS Mornings", "Reuters reported": a source, not an answer
        out.append(_Value(("name", frozenset(words & wanted)), m.group(0), _around(text, m.start(), m.end()), ""))
    return out


def values(text: str, kind: str | None, question: str) -> list[_Value]:
    """The values of ``kind`` written in ``text`` that the question does not already hold."""
    if kind == "quantity":
        skip = {m.group("num").replace(",", "") for m in _MONEY_OR_NUMBER.finditer(question)}
        return _quantities(text, skip)
    if kind == "time":
        return _dates(text, {m.group(0).strip().lower() for m in _DATE.finditer(question)})
    if kind is None:
        return []
    # a person, a place, a name, and a "which" question of no named kind ("which vaccine",
    # "which dog breed"): the names it is answered with; a lower-case answer ("cows") has none
    return _names(text, question)


def answer_values(question: str, text: str) -> list[str]:
    """The values of the kind ``question`` asks for that ``text`` gives, as written ("March 1",
    "$200 billion", "Steven Mnuchin"); [] when the question asks for no particular kind. A
    rated answer becomes an eval case whose gold is these (journal.py)."""
    seen: dict[tuple, str] = {}
    for v in values(text, analyse(question).kind, question):
        seen.setdefault(v.key, v.shown)
    return list(seen.values())


def _same_thing(a: _Value, b: _Value, q_words: frozenset[str], measured: frozenset[str] = frozenset()) -> bool:
    """Do ``a`` (the answer's) and ``b`` (another article's) say how much / when / who of the
    same thing, so that different values disagree? ``measured``: the question's words written in
    lower case ("fined", "reopen", "died"), which say what is counted or dated; its names
    ("Cresby Water") only say which story."""
    if a.key[0] != b.key[0]:
        return False  # money vs a count, a day vs a year: not comparable
    if a.unit and b.unit and a.unit != b.unit:
        return False  # 41 people vs 35 homes
    groups_a = {i for i, g in enumerate(_MEASURES) if a.around & g}
    groups_b = {i for i, g in enumerate(_MEASURES) if b.around & g}
    if groups_a and groups_b and not groups_a & groups_b:
        return False  # deaths vs injuries, arrests vs homes
    if a.around & measured and not (b.around & measured or groups_a & groups_b):
        return False  # "fined £2.1 million" vs "a profit of £84 million" in the same company's story
    about_a, about_b = a.around & q_words, b.around & q_words
    # the other value must answer the question too: at least half the question's words around
    # it (a name for "who" two thirds: news sentences are full of names), and about as many as
    # around the answer's value (one word of slack: reports word it differently, "died" and
    # "killed")
    share = 2 / 3 if a.key[0] == "name" else 0.5
    return (len(about_b) >= max(2, share * len(q_words), len(about_a) - 1)
            and bool(about_a & about_b or not about_a))


def _same_value(a: tuple, b: tuple) -> bool:
    if a[0] == b[0] == "name":
        return bool(a[1] & b[1])  # "Trump" and "Donald Trump" are one person
    return a == b


def _differ(a: _Value, b: _Value) -> bool:
    return not _same_value(a.key, b.key)


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)] or [text]


def find_conflicts(question: str, kept: Sequence[AnswerSentence], evidence: Sequence[Evidence]) -> tuple[Conflict, ...]:
    """For each answer sentence, the other articles' different values of the kind asked for."""
    kind = analyse(question).kind
    if kind is None or not evidence:
        return ()
    q_words = frozenset(content_words(question)) - _ASKING
    measured = frozenset(content_words(" ".join(w for w in re.findall(r"[A-Za-z][\w'’-]*", question)[1:]
                                                 if w[0].islower()))) - _ASKING
    out = []
    for i, sentence in enumerate(kept):
        cited = [evidence[n - 1] for n in sentence.citations if 0 < n <= len(evidence)]
        if not cited:
            continue
        said = {v.key for v in values(sentence.text, kind, question)}
        if not said:
            continue
        # the answer's values as the cited evidence writes them (their surroundings decide what they are about)
        mine = [(v, e) for e in cited for s in _sentences(e.text) for v in values(s, kind, question)
                if any(_same_value(v.key, k) for k in said)]
        if not mine:
            continue
        cited_articles = {e.passage.article.id for e in cited}
        others: dict[tuple, tuple[_Value, Evidence]] = {}
        for e in evidence:
            if e.passage.article.id in cited_articles:
                continue
            for s in _sentences(e.text):
                for w in values(s, kind, question):
                    if not any(_same_thing(v, w, q_words, measured) and _differ(v, w) for v, _ in mine):
                        continue
                    if any(not _differ(w, v) for v, _ in mine):
                        continue  # the answer's own value, restated
                    key = next((k for k in others if _same_value(k, w.key)), w.key)
                    held = others.get(key)
                    if held is None or _newer(e, held[1]):  # restated by several articles: the newest one
                        others[key] = (w, e)
        if not others:
            continue
        v, e = mine[0]
        sides = [ConflictSide(v.shown, e.n, e.passage.article.id, e.passage.article.published, True)]
        sides += [ConflictSide(w.shown, oe.n, oe.passage.article.id, oe.passage.article.published, False)
                  for w, oe in others.values()]
        sides.sort(key=lambda s: (s.published or dt.date.min), reverse=True)
        out.append(Conflict(i, tuple(sides)))
    return tuple(out)


def _newer(a: Evidence, b: Evidence) -> bool:
    return (a.passage.article.published or dt.date.min) > (b.passage.article.published or dt.date.min)


def dated_note(question: str, kept: Sequence[AnswerSentence], evidence: Sequence[Evidence]) -> str:
    """"As of March 3, 2024 [1]." for an answer that states an amount (amounts change as a story
    goes on: a toll, a count, a cost), from its cited report's date; "" when the question names
    its own date, the answer states no amount, or the report is undated."""
    asked = analyse(question)
    if asked.kind != "quantity" or asked.names_own_date:
        return ""
    for sentence in kept:
        if not values(sentence.text, "quantity", question):
            continue
        dated = [evidence[n - 1] for n in sentence.citations
                 if 0 < n <= len(evidence) and evidence[n - 1].passage.article.published]
        if dated:
            e = max(dated, key=lambda x: x.passage.article.published)
            day = e.passage.article.published
            return f"As of {day:%B} {day.day}, {day.year} [{e.n}]."
    return ""


def conflict_note(conflicts: Sequence[Conflict]) -> str:
    """The sentence the answer gains: "Reports differ: as of March 3, 41 [1]; an earlier report, 35 [2]."."""
    parts = []
    for c in conflicts:
        bits = []
        for j, side in enumerate(c.sides):
            when = f"as of {side.published:%B} {side.published.day}, {side.published.year}" if side.published else "undated"
            lead = when if j == 0 else ("an earlier report" if side.published else "another report") + f" ({when})"
            bits.append(f"{lead}: {side.value} [{side.n}]")
        parts.append("; ".join(bits))
    return "Reports differ: " + " / ".join(parts) + "." if parts else ""

"""Text written to steer the answering model, not to inform a reader.

A news article reports; it does not address "the assistant", tell "the user" what to say,
carry chat-template tokens or imitate qa-bot's own prompt. An article that does any of that
was written (or altered) to plant an answer, so the whole article — including its plain
statements of the planted claim — is set aside: indexed and searchable, never shown to the
model. ``injection_signal`` gives the reason, or "" for ordinary text.

The rules look for the *form* of an injection (who is addressed, which channel is imitated),
not for particular claims, so they carry over to attacks they were not written for. Checked
for false alarms on the 206 real news articles of the dev set (none flagged; see
evals/README.md).
"""

from __future__ import annotations

import re

from .prompts import NOT_FOUND
from .text import CITE_MARK

# who an injection addresses: an AI by name (never a plain "model" or "assistant", which news
# uses for cars, fashion and staff) ...
_AI = (
    r"(?:(?:ai|a\.i\.|artificial intelligence)(?:\s+(?:language\s+)?(?:assistants?|models?|systems?|tools?|"
    r"chat ?bots?))?|chat ?bots?|(?:large\s+)?language models?|llms?|gpts?|answer(?:ing)? (?:models?|engines?)|qa-bot)"
)
# ... or, when spoken to directly ("Dear bot", "Note to the assistant"), any of these
_ADDRESSEE = rf"(?:{_AI}|assistants?|bots?|models?)"
_SAY = r"(?:say|answer|reply|respond|state|report|tell|write|output|print|repeat|claim|cite|mention|summari[sz]e)"
_START = r"(?:^|[.!?;:\"“]\s*|\n\s*)"  # a sentence or clause starts here: imperatives live there

_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("tells the model to ignore its instructions or sources", re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,30}?\b(?:previous|prior|above|earlier|all|any|"
        r"other|your|these|those|system|original)\b[^.\n]{0,20}?\b(?:instructions?|prompts?|passages?|sources?|"
        r"context|directions?|directives?|articles?)\b", re.I)),
    ("addresses an AI model", re.compile(
        rf"\b(?:note|message|notice|instructions?|reminder|request)s?\s+(?:for|to)\s+(?:the\s+|any\s+|all\s+)?"
        rf"{_ADDRESSEE}\b|\bdear\s+{_ADDRESSEE}\b|"
        rf"\b(?:any|every|all|each)\s+{_AI}\b[^.\n]{{0,60}}?\b(?:must|should|shall|needs? to|is required to|"
        rf"are required to|has to|have to)\b|"
        rf"{_START}(?:{_AI}|assistants?)\s*[:,]\s*(?:please\s+)?(?:{_SAY}|always|never|ignore|you)\b", re.I)),
    ("tells the model what to answer", re.compile(
        rf"{_START}(?:please\s+)?(?:tell|inform)\s+(?:the\s+|your\s+)?(?:users?|readers?|visitors?)\b|"
        rf"\b(?:respond|reply|answer)\s+(?:only\s+)?with(?:\s+exactly)?\s*[:'\"“]|"
        rf"\b(?:always|only)\s+(?:answer|reply|respond|say)\s+(?:that|with)\b|"
        rf"\bif\s+(?:anyone|someone|you are|you're|a user)\s+asks?\b[^.\n]{{0,80}}\b{_SAY}\b", re.I)),
    ("role-plays the model (jailbreak)", re.compile(
        r"\byou are now\s+(?:in\s+)?(?:(?:developer|dan|unrestricted|god)\s+mode\b|an?\s+(?:ai|assistant|chatbot)\b)",
        re.I)),
    ("imitates a chat transcript or system message", re.compile(
        r"(?:^|\n)\s*(?:[Ss]ystem|[Aa]ssistant|[Uu]ser|[Hh]uman|AI|[Cc]hatbot|SYSTEM|ASSISTANT|USER)\s*:|"
        r"\b(?:SYSTEM|ASSISTANT)\s*:|<\|[a-z_]{2,20}\|>|\[/?INST\]|<<\s*/?SYS\s*>>|"
        r"#{2,}\s*(?:[Ii]nstruction|[Ss]ystem|[Rr]esponse)\b")),
    ("imitates qa-bot's prompt", re.compile(
        rf"{NOT_FOUND}|{CITE_MARK}\s+[^\n]{{3,120}}\(\d{{4}}-\d{{2}}-\d{{2}}\)|\(same article\)|"
        r"(?:^|\n)\s*question\s*:[^\n]*\n+\s*answer\b", re.I)),
]

# ---- a sentence that tells whoever reads it what an answer should say -------------------------
# Found by form, whoever it addresses ("automated summarisers", "news aggregators", "anyone who
# asks"): three things in one sentence, which news prose almost never puts together --
#   a directive: a sentence that opens with a verb ("Include this link ...", "Ignore the dates
#     in other coverage"), an imperative after "when ...," or "X:", or a modal/request before the
#     verb ("should report", "are asked to treat", "make sure ... mentions");
#   a verb of what is said, shown, cited or left out;
#   a reference to answering itself: answers, summaries, citations, sources, this article, other
#     coverage, or a machine reader (tools, engines, agents, bots, assistants).
_TELL = (r"(?:say|state|report|answer|reply|respond|cite|mention|include|describe|tell|use|treat|ignore|"
         r"disregard|list|give|name|repeat|quote|link|present|prioriti[sz]e|rank|credit)")
_TELL_ANY = rf"\b{_TELL}(?:s|es|ed|d|ing)?\b"
_DIRECTIVE = re.compile(
    rf"^[\W\d_]*(?:please\s+|kindly\s+|always\s+|only\s+|(?:do\s+not|don't|never)\s+)*{_TELL}\b|"  # opens with the verb
    rf"^[^.;]{{0,80}}?\bwhen(?:ever)?\b[^,;]{{1,80}},\s*(?:please\s+|always\s+|only\s+)*{_TELL}\b|"  # when ..., verb
    rf"^[^:]{{1,80}}:\s*(?:please\s+|always\s+|only\s+)*{_TELL}\b|"  # Addressee: verb
    rf"[;:]\s*(?:please\s+|always\s+|only\s+)*{_TELL}\b|"  # ...; use it in every response
    rf"(?<!\bI )(?<!\bwe )\b(?:should|must|shall|needs?\s+to|ought\s+to|(?:are|is)\s+(?:asked|instructed|required|requested|expected|"
    rf"kindly\s+asked)\s+to|(?:are|is)\s+to|ha(?:ve|s)\s+to)\s+(?:always\s+|only\s+|also\s+|not\s+|never\s+)*{_TELL}\b|"
    rf"\b(?:make|be)\s+sure\b[^.]{{0,80}}{_TELL_ANY}|\bensure\s+that\b[^.]{{0,80}}{_TELL_ANY}",
    re.I,
)
_ABOUT_ANSWERING = re.compile(  # (never the directive's own verb: "answer" and "cite" alone are not here)
    r"\b(?:(?:every|any|each|your|an|all|in)\s+answers?|answers|answering|responses?|replies|"
    r"summar(?:y|ies|ise[sd]?|ize[sd]?|isers?|izers?|ising|izing)|digests?|aggregators?|citations?|citing|"
    r"sources?|coverage|quer(?:y|ies)|(?:anyone|whoever|someone|everyone)\s+(?:who\s+)?asks|"
    r"this\s+(?:article|story|page|text|piece|passage|post|document|report|item)|"
    r"other\s+(?:reports|articles|stories|passages|coverage|sources|outlets)|"
    r"(?:ai|automated|machine|search|summary|answer|digest|chat|language)\s+(?:tools?|engines?|agents?|systems?|"
    r"readers?|models?)|bots?|chatbots?|crawlers?|assistants?|ai)\b",
    re.I,
)


def _tells_what_to_say(text: str) -> bool:
    from .chunking import split_sentences

    for start, end in split_sentences(text):
        sentence = text[start:end].strip().strip("\"“”'‘’()[]*•-– ")
        if len(sentence) > 400:
            continue  # a run-on line of a scraped page, not a sentence anyone wrote to a reader
        if _DIRECTIVE.search(sentence) and _ABOUT_ANSWERING.search(sentence):
            return True
    return False


# zero-width characters inside a word: a way to hide an instruction from a keyword filter
_SPLIT_WORD = re.compile("[A-Za-z][\u200b-\u200d\u2060\ufeff]+[A-Za-z]")


def injection_signal(text: str, raw: str = "") -> str:
    """Why ``text`` looks written to steer a model, or "" when it reads like ordinary text.

    ``raw`` is the text before cleaning, when there was any (for zero-width obfuscation,
    which cleaning removes).
    """
    if len(_SPLIT_WORD.findall(raw)) >= 2:
        return "words split by invisible characters"
    for reason, pattern in _RULES:
        if pattern.search(text):
            return reason
    if _tells_what_to_say(text):
        return "tells its reader what an answer should say"
    return ""

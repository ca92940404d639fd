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
        rf"{NOT_FOUND}|\[\d{{1,2}}\]\s+[^\n]{{3,120}}\(\d{{4}}-\d{{2}}-\d{{2}}\)|\(same article\)|"
        r"(?:^|\n)\s*question\s*:[^\n]*\n+\s*answer\b", re.I)),
]

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
    return ""

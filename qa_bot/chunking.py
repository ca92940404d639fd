"""Article -> Chunks: sentence-aligned, sized in embedder word pieces, with offsets.

all-MiniLM-L6-v2 silently truncates input at 256 word pieces, so a chunk that is too long
has a tail no query can ever reach. Chunks are therefore measured with the embedder's own
tokenizer (passed in as ``count_tokens``), and the "title — date" header embedded with each
chunk is counted against the same window.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from .text import MONTH_ABBREVIATIONS
from .types import Article, Chunk

# Bump when chunking changes in a way that changes chunks (sentence splitting, overlap, headers):
# part of every article's content hash (sync.recipe), so the next ingest re-chunks.
CHUNKER_VERSION = 1

EMBEDDER_WINDOW = 256  # all-MiniLM-L6-v2 max_seq_length, including [CLS] and [SEP]
HEADER_MAX_TOKENS = 48

TokenCounter = Callable[[str], int]

# Words whose trailing period does not end a sentence. Lower-cased, without the period.
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "mt",
    "gen",
    "gov",
    "sen",
    "rep",
    "rev",
    "sgt",
    "capt",
    "lt",
    "col",
    "maj",
    "pres",
    "inc",
    "corp",
    "co",
    "ltd",
    "vs",
    "etc",
    "no",
    "nos",
    "fig",
    "al",
    "approx",
    "u.s",
    "u.k",
    "u.n",
    "d.c",
    "e.g",
    "i.e",
    "a.m",
    "p.m",
    "ft",
    "ave",
    "blvd",
    "dept",
    "univ",
    "est",
} | MONTH_ABBREVIATIONS  # "Jan. 5"
# Only the start of a run of end marks can begin a match, so "....." x 100,000 is one scan, not
# one per dot.
_BOUNDARY = re.compile(r"(?<![.!?…])[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` covering the non-blank text. Line breaks always split."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        seg_start = line.start()
        for m in _BOUNDARY.finditer(line.group()):
            end = line.start() + m.end()
            # the word before the mark, found by walking back over it (slicing from the sentence
            # start instead made "Mr. Smith " x 10,000 quadratic: 16.8 s for 100 KB)
            stop = first = line.start() + m.start() + 1
            while first > seg_start and not text[first - 1].isspace():
                first -= 1
            token = text[first:stop].rstrip(".").lower().lstrip("\"'“‘(")
            # "U.S." / "Jan." / a single initial like "J." don't end sentences
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue
            spans.append((seg_start, end))
            seg_start = end
            while seg_start < line.end() and text[seg_start].isspace():
                seg_start += 1
        if seg_start < line.end():
            spans.append((seg_start, line.end()))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def header_for(article: Article, count_tokens: TokenCounter) -> str:
    """The "title — date" line embedded with every chunk, so "what did X say in January" can match."""
    header = article.title or article.id
    if article.published:
        header += f" — {article.published.isoformat()}"
    while count_tokens(header) > HEADER_MAX_TOKENS and " " in header:
        header = header.rsplit(" ", 1)[0]
    return header


def embed_text(header: str, chunk_text: str) -> str:
    return f"{header}\n{chunk_text}"


def _split_long(
    text: str, start: int, end: int, budget: int, count_tokens: TokenCounter
) -> list[tuple[int, int]]:
    """Cut one over-long sentence at word boundaries into pieces of at most ``budget`` tokens.

    Linear in the sentence's length: each word is tokenised once and pieces are packed by the
    sum of their words' counts (word pieces never cross whitespace). Each piece is then counted
    whole, and one that a tokenizer counts higher than the sum is cut further, so the budget holds
    for any counter. (Re-counting a growing prefix, as this once did, took 29.8 s on a 1.7 MB
    sentence; this takes 3.0 s, with the same pieces on every dev article.)
    """
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        s, e = words[i]
        n = count_tokens(text[s:e])
        if n > budget:  # a single monster "word": cut by characters (characters >= tokens)
            while s < e:
                cut = s + max(1, budget)
                pieces.append((s, min(cut, e)))
                s = cut
            i += 1
            continue
        j, used = i + 1, n
        while j < len(words):
            w = count_tokens(text[words[j][0] : words[j][1]])
            if used + w > budget:
                break
            used += w
            j += 1
        while j - 1 > i and count_tokens(text[words[i][0] : words[j - 1][1]]) > budget:
            j -= 1  # a counter that is not additive over words: give the piece back word by word
        pieces.append((words[i][0], words[j - 1][1]))
        i = j
    return pieces


def chunk_article(article: Article, count_tokens: TokenCounter, body_tokens: int = 180) -> list[Chunk]:
    """Pack sentences into chunks of at most ``body_tokens`` word pieces, one sentence of overlap;
    a PDF's chunks stay within one page, so a citation's page is exact.

    The budget shrinks if the header would push header + body + [CLS]/[SEP] past the window.
    """
    text = article.text
    header_tokens = count_tokens(header_for(article, count_tokens)) + 1  # +1 for the newline join
    budget = max(16, min(body_tokens, EMBEDDER_WINDOW - 2 - header_tokens))
    units: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for s, e in split_sentences(text):
        n = count_tokens(text[s:e])
        if n > budget:
            units.extend(
                (ps, pe, count_tokens(text[ps:pe]))
                for ps, pe in _split_long(text, s, e, budget, count_tokens)
            )
        else:
            units.append((s, e, n))

    groups: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    used = 0
    def page(offset: int) -> int:
        return bisect.bisect_right(article.pages, offset) if article.pages else 0

    for unit in units:
        if current and page(unit[0]) != page(current[0][0]):  # a PDF's chunks never straddle a page
            groups.append(current)
            current, used = [], 0
        if current and used + unit[2] > budget:
            groups.append(current)
            last = current[-1]
            # overlap one sentence when it leaves room for new text
            current, used = (
                ([last], last[2]) if last[2] + unit[2] <= budget and last[2] <= budget // 2 else ([], 0)
            )
        current.append(unit)
        used += unit[2]
    if current and (not groups or current[-1] != groups[-1][-1]):
        groups.append(current)

    chunks = []
    for position, group in enumerate(groups):
        start, end = group[0][0], group[-1][1]
        chunks.append(
            Chunk(
                id=f"{article.id}#{position}",
                article_id=article.id,
                text=text[start:end],
                start=start,
                end=end,
                position=position,
                page=page(start),
            )
        )
    return chunks

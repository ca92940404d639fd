"""Files -> Articles: detect the type, decode safely, strip markup, find title and date.

A file that can't be used raises ``SkipFile`` with a reason the ingest report shows; the
rest of the ingest goes on. Nothing here touches the index or models.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import yaml

from .errors import InputError
from .guard import injection_signal
from .text import MONTH_NUMBERS, strip_invisible
from .types import Article

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".pdf"}
MAX_PDF_PAGES = 2000  # a news PDF is a few pages; thousands are a book or a trap

_MONTH_DATE = re.compile(r"\b([A-Z][a-z]{2,8})\.? (\d{1,2}),? (\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?!\d)")
# Each pattern is linear in the text: a bracket or parenthesis never scans past the next one
# (``[^\]]*`` would re-scan to the end of the text for every "[" of "[a[a[a...").
_MD_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\([^()\n]*\)")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!$<>|~\"'])")
_MD_MARK = re.compile(r"\*{1,3}|_{2,3}")  # emphasis markers, paired by _strip_emphasis
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.M)


class SkipFile(InputError):
    """This file can't be ingested; the message is the reason."""


def parse_date(value: object) -> dt.date | None:
    """A date from front matter / metadata: date objects, ISO strings or "January 31, 2019"."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    return find_date(value)


def find_date(text: str) -> dt.date | None:
    """The first plausible date written in ``text`` (ISO or "Month D, YYYY")."""
    candidates: list[tuple[int, dt.date]] = []
    for m in _ISO_DATE.finditer(text):
        try:
            candidates.append((m.start(), dt.date(int(m[1]), int(m[2]), int(m[3]))))
        except ValueError:
            pass
    for m in _MONTH_DATE.finditer(text):
        month = MONTH_NUMBERS.get(m[1].lower())
        if month:
            try:
                candidates.append((m.start(), dt.date(int(m[3]), month, int(m[2]))))
            except ValueError:
                pass
    return min(candidates)[1] if candidates else None


def decode(data: bytes) -> str:
    """Bytes -> text. UTF-8 (with or without BOM) first; otherwise the likeliest legacy encoding.

    Binary files (NUL bytes, many control characters) and bytes no encoding explains are refused.
    """
    if not data.strip():
        raise SkipFile("empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SkipFile("invalid UTF-16") from None
    if b"\x00" in data[:8192]:
        raise SkipFile("binary file (contains NUL bytes)")
    # the whole file, not just its head: text with a binary tail is refused too
    controls = len(data) - len(data.translate(None, _BINARY_BYTES))
    if controls > len(data) * 0.02:
        raise SkipFile("binary file (control characters)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise SkipFile("undecodable text (not UTF-8 and no other encoding fits)")
    best = matches[0]
    # short Western texts are ambiguous between code pages; news in a legacy encoding is
    # overwhelmingly Windows-1252/Latin-1, so prefer it when it reads about as cleanly
    for m in matches:
        if m.encoding in ("cp1252", "latin_1", "iso8859_15") and m.chaos <= best.chaos + 0.05:
            return str(m)
    return str(best)


_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))

def clean_text(text: str) -> str:
    """Normalise whitespace, drop invisible characters, undo Markdown syntax that is not content.

    ``[name](#)`` -> ``name``, ``\\$`` -> ``$``, ``*Photo: X*`` -> ``Photo: X``, ``## Head`` -> ``Head``.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = strip_invisible(text.replace("\x0c", "\n").replace("\x0b", "\n"))
    # escaped characters are literal: park them in private-use code points while emphasis is removed
    text = _MD_ESCAPE.sub(lambda m: chr(0xF0000 + ord(m.group(1))), text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_HEADING.sub("", text)
    text = _strip_emphasis(text)
    text = re.sub("[\U000f0000-\U000f00ff]", lambda m: chr(ord(m.group()) - 0xF0000), text)
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return _join_broken_paragraphs(text.strip())


def _strip_emphasis(text: str) -> str:
    """``*a*``, ``**a**``, ``***a***``, ``__a__`` -> ``a``, in one pass over the markers.

    An opening marker is followed by a non-space, its closing twin on the same line preceded by
    one; unpaired markers stay ("5 * 3", "*Photo"). A regex that looks ahead for the closing
    twin re-scans the line for every unpaired marker: 16,000 of them took 7.6 s.
    """
    cut: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        s = line.group()
        opened: dict[str, int] = {}  # marker -> its start in s
        for m in _MD_MARK.finditer(s):
            mark, a, b = m.group(), m.start(), m.end()
            before, after = s[a - 1 : a].strip(), s[b : b + 1].strip()
            if mark in opened and before:
                o = opened.pop(mark)
                cut += [(line.start() + o, len(mark)), (line.start() + a, len(mark))]
                opened = {k: v for k, v in opened.items() if v < o}  # markers opened inside stay as text
            elif after and after not in "*_":
                opened.setdefault(mark, a)
    if not cut:
        return text
    out, at = [], 0
    for start, n in sorted(cut):
        out.append(text[at:start])
        at = start + n
    out.append(text[at:])
    return "".join(out)


_SENTENCE_END = re.compile(r"[.!?:;\"”’)\]…]$")


def _join_broken_paragraphs(text: str) -> str:
    """Rejoin a sentence that a page layout broke across paragraphs ("Treasury Secretary Steven\n\nMnuchin").

    Joined only when the break is clearly mid-sentence: the paragraph is prose (12+ words, no
    closing punctuation) and either the next paragraph starts in lower case or the paragraph
    already holds a finished sentence (so it is not a headline). Photo credits are left alone.
    Left split, the sentence would be cut between two chunks and neither would retrieve.
    """
    from .chunking import split_sentences

    out: list[str] = []
    for para in text.split("\n\n"):
        prev = out[-1] if out else ""
        last_line = prev.rsplit("\n", 1)[-1]
        join = False
        if (
            prev
            and para[:1].isalnum()
            and len(last_line.split()) >= 12
            and not _SENTENCE_END.search(last_line)
        ):
            spans = split_sentences(last_line)
            tail = last_line[spans[-1][0] :] if spans else last_line
            join = not _CREDIT.match(tail) and (para[:1].islower() or len(spans) >= 2)
        if join:
            out[-1] = f"{prev} {para}"
        else:
            out.append(para)
    return "\n\n".join(out)


_CREDIT = re.compile(r"(Photo|Photographer|Source|Credit|Image|Illustration)s?( by)?:", re.I)


def _guess_title(text: str) -> str:
    """The headline: the first of the opening lines that reads like one (3+ words, not a byline)."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()][:6]
    for line in lines:
        if line[:1] in "-*•▶►●–" or line.startswith(("- ", "* ")):
            continue
        words = line.split()
        if 3 <= len(words) <= 30 and not line.lower().startswith("by ") and not find_date(line):
            return line.rstrip(".")
    return lines[0][:200] if lines else ""


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without aliases (no "billion laughs") and with dates left as text.

    PyYAML would build ``date: 2019-02-30`` into a date object and raise; as text it goes
    through ``parse_date``, which simply finds no date in it.
    """

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in rules if tag != "tag:yaml.org,2002:timestamp"]
        for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            raise SkipFile("front matter uses YAML aliases (refused: they can expand without bound)")
        return super().compose_node(parent, index)


MAX_FRONT_MATTER = 16_000  # characters; front matter is a few lines of metadata


def _front_matter(text: str, warnings: list[str] | None = None) -> tuple[dict, str]:
    """(metadata, body). A front-matter block that does not parse into a mapping is dropped with a
    warning: left in, its keys would become article text (7,000 brackets became 80 chunks)."""
    if not text.startswith("---"):
        return {}, text
    end = re.search(r"^---\s*$", text[3:], re.M)
    if not end:
        return {}, text
    raw = text[3 : 3 + end.start()]
    body = text[3 + end.end() :]
    if len(raw) > MAX_FRONT_MATTER:
        raise SkipFile(f"front matter too long ({len(raw)} characters > {MAX_FRONT_MATTER})")
    try:
        meta = yaml.load(raw, Loader=_FrontMatterLoader) or {}
        problem = "" if isinstance(meta, dict) else f"is a {type(meta).__name__}, not key: value lines"
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = f"does not parse ({getattr(e, 'problem', None) or type(e).__name__}" + (
            f", line {mark.line + 1})" if mark else ")")
    except RecursionError:
        problem = "is nested too deeply to parse"
    if problem:
        if warnings is not None:
            warnings.append(f"front matter {problem}; dropped it (no title, date or source from it)")
        return {}, body
    return meta, body


def _meta_text(meta: dict, *keys: str) -> str:
    """The first of ``keys`` that holds a scalar, as clean one-line text (lists, maps are ignored)."""
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str | int | float | dt.date) and not isinstance(value, bool):
            return " ".join(strip_invisible(str(value)).split())
    return ""


_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)


MAX_ID = 200


def _article_id(raw: str) -> str:
    """The article id for a file name (or a JSONL record's id): the name itself when it is plain
    text of at most ``MAX_ID`` characters; otherwise what is left of it, cut, plus a hash of the
    whole name, so two names that differ only by an invisible character or past the cut stay
    two articles."""
    clean = " ".join(strip_invisible(raw).split())
    if clean == raw and 0 < len(clean) <= MAX_ID:
        return clean
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{clean[: MAX_ID - 11]}-{digest}" if clean else f"article-{digest}"


def _article(article_id: str, text: str, meta: dict, path: str, warnings: list[str] | None = None) -> Article:
    raw = text
    text = clean_text(_HTML_COMMENT.sub("", text))  # a comment is invisible wherever the text is rendered
    if len(text) < 20:
        raise SkipFile("no article text (fewer than 20 characters after cleaning)")
    raw_title = meta.get("title") if isinstance(meta.get("title"), str) else ""
    title = clean_text(_meta_text(meta, "title")) or _guess_title(text)
    stated = meta.get("date") or meta.get("published")
    published = parse_date(stated) if isinstance(stated, str | dt.date) else None
    if stated and published is None and warnings is not None:
        warnings.append(f"date {_meta_text(meta, 'date', 'published')[:40]!r} is not a real date; "
                        "using the first date in the text, if any")
    return Article(
        author=_meta_text(meta, "author")[:200],
        id=_article_id(article_id),
        title=title[:300],
        text=text,
        published=published or find_date(text[:600]),
        source=_meta_text(meta, "source")[:200],
        url=_meta_text(meta, "url")[:2000],
        path=path,
        suspect=injection_signal(f"{title}\n{text}", raw=f"{raw_title}\n{raw}"),
    )


def _html_article(article_id: str, html: str, path: str) -> Article:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    on_time()
    meta: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = (tag.get("property") or tag.get("name") or "").lower()
        if key in ("og:title", "title") and "title" not in meta:
            meta["title"] = tag.get("content", "")
        elif key in ("article:published_time", "date", "pubdate", "publish-date") and "date" not in meta:
            meta["date"] = tag.get("content", "")
        elif key in ("og:site_name",):
            meta["source"] = tag.get("content", "")
        elif key == "og:url":
            meta["url"] = tag.get("content", "")
    if "title" not in meta:
        h1 = soup.find("h1")
        if h1 and h1.get_text(strip=True):
            meta["title"] = h1.get_text(" ", strip=True)
        elif soup.title and soup.title.get_text(strip=True):
            meta["title"] = soup.title.get_text(" ", strip=True)
    if "date" not in meta:
        time = soup.find("time")
        if time is not None:
            meta["date"] = time.get("datetime") or time.get_text(" ", strip=True)
    for junk in soup(
        [
            "script",
            "style",
            "noscript",
            "nav",
            "header",
            "footer",
            "aside",
            "form",
            "iframe",
            "svg",
            "button",
            "template",
        ]
    ):
        junk.decompose()
    for el in soup.find_all(_hidden):  # text a reader never sees must not reach the model either
        if not el.decomposed:
            el.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = _block_texts(root)
    text = "\n\n".join(blocks) if blocks else root.get_text("\n", strip=True)
    # the body must not repeat the title as its first line
    first = text.split("\n", 1)[0].strip()
    if meta.get("title") and first == meta["title"].strip():
        text = text[len(first) :].lstrip()
    return _article(article_id, text, meta, path)


_BLOCK_TAGS = frozenset(["p", "h1", "h2", "h3", "h4", "li", "blockquote", "pre", "figcaption", "td"])


def _block_texts(root) -> list[str]:  # type: ignore[no-untyped-def]
    """The text of each block element (paragraph, heading, list item, cell ...), in page order.

    A block's text is its own: the text of a block nested in it is that block's, never both
    (4,000 nested cells once became one sentence repeated 4,000 times). One walk over the tree
    with an explicit stack, so it is linear in the page and any depth of nesting is fine.
    """
    from bs4 import NavigableString, Tag

    texts: list[list[str]] = []

    def block_of(el: Tag, current: int | None) -> int | None:
        if el.name in _BLOCK_TAGS:
            texts.append([])
            return len(texts) - 1
        return current

    stack = [(iter(root.children), block_of(root, None) if isinstance(root, Tag) else None)]
    steps = 0
    while stack:
        steps += 1
        if steps % 4096 == 0:
            on_time()
        children, current = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
        elif isinstance(child, Tag):
            stack.append((iter(child.children), block_of(child, current)))
        elif type(child) is NavigableString and current is not None:  # not a comment or doctype
            texts[current].append(child)
    return [t for t in (" ".join(" ".join(parts).split()) for parts in texts) if t]


# a PDF "title" that a tool filled in from a file name: the headline is then guessed from the text
_TOOL_TITLE = re.compile(r"^\s*(microsoft \w+ - |untitled\b)|\.(docx?|odt|rtf|pages|indd|pdf|txt|html?)\s*$", re.I)
_LINE_END = re.compile(r"[.!?:;\"”’)\]…]$")


def _reflow(page: str) -> str:
    """A PDF page's wrapped lines back into paragraphs (a line break would split a sentence).

    A line joins the one before it unless that one ends a sentence, or is a short line without
    closing punctuation (a heading); a word hyphenated across the break is rejoined. Blank lines
    stay paragraph breaks.
    """
    lines = [ln.strip() for ln in page.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    full = sorted(len(ln) for ln in lines if ln)
    typical = full[len(full) // 2] if full else 0
    out: list[str] = []
    for line in lines:
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        prev = out[-1] if out else ""
        if prev and not _LINE_END.search(prev) and len(prev) >= 0.6 * typical:
            if re.search(r"[^\W\d_]-$", prev) and line[:1].islower():
                out[-1] = prev[:-1] + line
            else:
                out[-1] = f"{prev} {line}"
            continue
        out.append(line)
    return "\n".join(out)


def _pdf_article(article_id: str, data: bytes, path: str, warnings: list[str] | None) -> Article:
    """A PDF's text layer, page by page (no OCR), with title, author and date from its metadata
    when it has them; ``Article.pages`` records where each page starts so citations can say "p. 3"."""
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise SkipFile("not a PDF (no %PDF- header)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair notes are not the user's problem
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF (it needs a password; save an unprotected copy)")
        n = len(reader.pages)
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, NotImplementedError) as e:
        detail = " ".join(str(e).split())[:100]
        raise SkipFile(f"not a readable PDF ({type(e).__name__}{': ' + detail if detail else ''})") from None
    if n > MAX_PDF_PAGES:
        raise SkipFile(f"too many pages ({n} > {MAX_PDF_PAGES})")
    pages = []
    for page in reader.pages:
        on_time()
        pages.append(clean_text(_reflow(page.extract_text() or "")))
    if sum(len(p) for p in pages) < 20:
        raise SkipFile("no text layer (an image-only or scanned PDF; qa-bot does no OCR)")
    meta: dict[str, str] = {}
    info = reader.metadata
    if info is not None:
        for key, value in (("title", info.title), ("author", info.author)):
            if isinstance(value, str) and value.strip() and not (key == "title" and _TOOL_TITLE.search(value)):
                meta[key] = value
        try:
            made = info.creation_date
        except (ValueError, TypeError):  # a malformed /CreationDate
            made = None
        if made is not None:
            meta["date"] = made.date().isoformat()
    article = _article(article_id, "\n\n".join(p for p in pages if p), meta, path, warnings)
    # where each page starts in the cleaned text, found by its opening words, in order; the
    # first page with text starts at 0, and a page without text where the next one with text does
    found: list[int | None] = []
    pos = 0
    for page in pages:
        if not page:
            found.append(None)
            continue
        first = all(f is None for f in found)
        hit = 0 if first else article.text.find(" ".join(page.split()[:6]), pos)
        pos = hit if hit >= 0 else pos
        found.append(pos)
    starts, nxt = [], len(article.text)
    for f in reversed(found):
        nxt = nxt if f is None else f
        starts.append(nxt)
    return dataclasses.replace(article, pages=tuple(reversed(starts)))


_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])"
    r"|(?:left|top|text-indent)\s*:\s*-\d{3,}",
    re.I,
)


def _hidden(tag) -> bool:  # type: ignore[no-untyped-def]
    """An element the page hides from its readers (a place to plant text for a model)."""
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    return bool(_HIDDEN_STYLE.search(str(tag.get("style", ""))))


# (when reading the current file must end, its budget in seconds); checked by the loaders' loops
_BUDGET: ContextVar[tuple[float, float] | None] = ContextVar("file_budget", default=None)


def on_time() -> None:
    """SkipFile when the file being read has used up its time (``load_file``'s ``time_budget_s``)."""
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget[0]:
        raise SkipFile(f"took longer than {budget[1]:g} s to read (QA_BOT_FILE_TIMEOUT_S); skipped")


def load_file(path: Path, max_bytes: int, warnings: list[str] | None = None,
              time_budget_s: float | None = None) -> list[Article]:
    """One file -> its articles (a JSONL file holds many). Raises SkipFile with the reason.

    Whatever goes wrong inside one file (a parser's RecursionError, a library's ValueError)
    becomes a SkipFile: one bad file never stops an ingest. Problems that don't cost the
    article (an impossible date) are appended to ``warnings``. Past ``time_budget_s`` (checked
    between pages, records and blocks: every loader is linear, so no single step runs long) the
    file is skipped.
    """
    token = _BUDGET.set((time.monotonic() + time_budget_s, time_budget_s) if time_budget_s else None)
    try:
        return _load_file(path, max_bytes, warnings)
    except SkipFile:
        raise
    except RecursionError:
        raise SkipFile("too deeply nested to parse") from None
    except MemoryError:
        raise SkipFile("too large to parse in memory") from None
    except Exception as e:
        detail = " ".join(str(e).split())[:120]
        raise SkipFile(f"could not be parsed ({type(e).__name__}{': ' + detail if detail else ''})") from None
    finally:
        _BUDGET.reset(token)


def _load_file(path: Path, max_bytes: int, warnings: list[str] | None) -> list[Article]:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkipFile(
            f"unsupported file type {suffix or '(none)'}; use {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise SkipFile("not a regular file (a folder, FIFO, socket or device)")
        if st.st_size > max_bytes:
            raise SkipFile(f"too large ({st.st_size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit)")
        with path.open("rb") as f:  # read at most the limit: the file may grow after stat
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise SkipFile(f"too large (more than the {max_bytes / 1e6:.1f} MB limit)")
    except OSError as e:
        raise SkipFile(f"unreadable: {e.strerror or e}") from None
    shown = str(path)
    if suffix == ".pdf":
        return [_pdf_article(path.stem, data, shown, warnings)]
    text = decode(data)
    if suffix == ".jsonl":
        return list(_jsonl_articles(text, path, shown, warnings))
    article_id = path.stem
    if suffix in (".html", ".htm"):
        return [_html_article(article_id, text, shown)]
    meta, body = _front_matter(text, warnings) if suffix in (".md", ".markdown", ".txt") else ({}, text)
    return [_article(article_id, body, meta, shown, warnings)]


def _record_id(rec: dict, stem: str, lineno: int) -> str:
    return _meta_text(rec, "id") or f"{stem}-{lineno}"


def jsonl_record_id(line: str, stem: str, lineno: int) -> str | None:
    """The article id that line ``lineno`` of the JSONL file ``stem``.jsonl yields, or None."""
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return _article_id(_record_id(rec, stem, lineno)) if isinstance(rec, dict) else None


def _jsonl_articles(text: str, path: Path, shown: str, warnings: list[str] | None) -> Iterator[Article]:
    good = 0
    errors = []
    for lineno, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 is valid inside a JSON string
        on_time()
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
            body = rec.get("text") or rec.get("body") or rec.get("content")
            if not isinstance(body, str):
                raise ValueError("no 'text' field")
            yield _article(_record_id(rec, path.stem, lineno), body, rec, f"{shown}:{lineno}", warnings)
            good += 1
        except RecursionError:
            errors.append(f"line {lineno}: nested too deeply")
        except (ValueError, SkipFile) as e:
            errors.append(f"line {lineno}: {' '.join(str(e).split())[:120]}")
    if errors and warnings is not None and good:
        warnings.extend(f"{e} (line skipped)" for e in errors)
    if not good:
        raise SkipFile("no usable articles in JSONL" + (f" ({errors[0]})" if errors else ""))


def iter_files(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Every candidate under ``root`` as (path, None), or (path, why it is skipped).

    Hidden files and folders are passed over silently. Symbolic links below ``root`` are not
    followed (a link could leave the folder, loop, or make one article appear twice): each is
    reported. ``root`` itself may be a link.
    """
    if not root.is_dir():
        yield root, None
        return
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
        except OSError as e:
            yield folder, f"unreadable folder: {e.strerror or e}"
            continue
        files, dirs = [], []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            p = Path(entry.path)
            if entry.is_symlink():
                files.append((p, "symbolic link (links are not followed; copy the file into the folder)"))
            elif entry.is_dir(follow_symlinks=False):
                if p.suffix.lower() in SUPPORTED_SUFFIXES and _empty_folder(p):
                    files.append((p, "an empty folder, not a file"))
                dirs.append(p)
            elif entry.is_file(follow_symlinks=False):
                files.append((p, None))
            else:
                files.append((p, "not a regular file (a FIFO, socket or device)"))
        yield from sorted(files)
        stack.extend(dirs)


def _empty_folder(path: Path) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except OSError:
        return False


def safe_name(name: str) -> str:
    base = Path(name).name
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.")[:80] or "upload"
    return stem + suffix.lower()


def save_new_file(folder: Path, given: str, data: bytes, taken: set[str]) -> Path:
    """Write a new file (an upload, a fetched page) under a name no file in ``folder`` has and whose stem (the article id) no
    indexed article uses: ``report.txt``, else ``report-2.txt``, ``report-3.txt``... A new file
    never overwrites a file, so it can never replace or delete another article."""
    stem, suffix = os.path.splitext(safe_name(given))
    for n in range(1, 10_000):
        candidate = folder / (stem + (f"-{n}" if n > 1 else "") + suffix)
        if candidate.stem in taken:
            continue
        try:
            with candidate.open("xb") as out:  # exclusive: a concurrent upload of the same name gets the next one
                out.write(data)
        except FileExistsError:
            continue
        taken.add(candidate.stem)
        return candidate
    raise InputError(f"too many files named {given!r} in {folder}")


def forget_file(where: str, article_id: str, folders: list[Path]) -> str:
    """Take a removed article out of the file it came from, when that file is one the web UI
    saved (an upload or a fetched page); else it would be indexed again on the next start.

    ``where`` is the article's path: a file, or ``file.jsonl:LINE`` for one record of a JSONL
    file. A file is deleted; a JSONL record's line is blanked, so the file's other articles and
    their line-numbered ids stay as they were. Returns a note for the status line.
    """
    file, _, line = where.rpartition(":") if re.search(r"\.jsonl:\d+$", where) else (where, "", "")
    path = Path(file).resolve()
    if not any(path.is_relative_to(f.resolve()) for f in folders) or not path.is_file():
        return ""
    if not line:
        path.unlink()
        return f"; deleted {path.name}"
    lines = path.read_text(encoding="utf-8").split("\n")
    n = int(line)
    if not 0 < n <= len(lines) or jsonl_record_id(lines[n - 1], path.stem, n) != article_id:
        return f"; {path.name} changed since it was indexed, so it was left as it is: edit it by hand"
    lines[n - 1] = ""
    if not any(ln.strip() for ln in lines):
        path.unlink()
        return f"; deleted {path.name}, which held no other article"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
    return f"; took line {n} out of {path.name} (its other articles stay)"

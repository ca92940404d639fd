"""Files -> Articles: detect the type, decode safely, strip markup, find title and date.

A file that can't be used raises ``SkipFile`` with a reason the ingest report shows; the
rest of the ingest goes on. Nothing here touches the index or models.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from .errors import InputError
from .types import Article

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"}

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH_DATE = re.compile(r"\b([A-Z][a-z]{2,8})\.? (\d{1,2}),? (\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?!\d)")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!$<>|~\"'])")
_MD_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3})(\S(?:.*?\S)?)\1")
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
        month = _MONTHS.get(m[1].lower())
        if month:
            try:
                candidates.append((m.start(), dt.date(int(m[3]), month, int(m[2]))))
            except ValueError:
                pass
    return min(candidates)[1] if candidates else None


def decode(data: bytes, name: str) -> str:
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
    head = data[:8192]
    if b"\x00" in head:
        raise SkipFile("binary file (contains NUL bytes)")
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if controls > len(head) * 0.02:
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


def clean_text(text: str) -> str:
    """Normalise whitespace and undo Markdown syntax that is not content.

    ``[name](#)`` -> ``name``, ``\\$`` -> ``$``, ``*Photo: X*`` -> ``Photo: X``, ``## Head`` -> ``Head``.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("\u200b", "")
    # escaped characters are literal: park them in private-use code points while emphasis is removed
    text = _MD_ESCAPE.sub(lambda m: chr(0xF0000 + ord(m.group(1))), text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_HEADING.sub("", text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    text = re.sub("[\U000f0000-\U000f00ff]", lambda m: chr(ord(m.group()) - 0xF0000), text)
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return _join_broken_paragraphs(text.strip())


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


def _front_matter(text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        return {}, text
    end = re.search(r"^---\s*$", text[3:], re.M)
    if not end:
        return {}, text
    raw = text[3 : 3 + end.start()]
    body = text[3 + end.end() :]
    try:
        meta = yaml.safe_load(raw) or {}
    except yaml.YAMLError:
        return {}, text
    return (meta if isinstance(meta, dict) else {}), body


def _article(article_id: str, text: str, meta: dict, path: str) -> Article:
    text = clean_text(text)
    if len(text) < 20:
        raise SkipFile("no article text (fewer than 20 characters after cleaning)")
    title = clean_text(str(meta.get("title") or "")) or _guess_title(text)
    published = parse_date(meta.get("date") or meta.get("published")) or find_date(text[:600])
    return Article(
        id=article_id,
        title=title[:300],
        text=text,
        published=published,
        source=str(meta.get("source") or ""),
        url=str(meta.get("url") or ""),
        path=path,
    )


def _html_article(article_id: str, html: str, path: str) -> Article:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
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
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = []
    for el in root.find_all(["p", "h1", "h2", "h3", "h4", "li", "blockquote", "pre", "figcaption", "td"]):
        if el.find(["p", "li", "blockquote"]):  # a container; its children are visited themselves
            continue
        t = el.get_text(" ", strip=True)
        if t:
            blocks.append(t)
    text = "\n\n".join(blocks) if blocks else root.get_text("\n", strip=True)
    # the body must not repeat the title as its first line
    first = text.split("\n", 1)[0].strip()
    if meta.get("title") and first == meta["title"].strip():
        text = text[len(first) :].lstrip()
    return _article(article_id, text, meta, path)


def load_file(path: Path, max_bytes: int, root: Path | None = None) -> list[Article]:
    """One file -> its articles (a JSONL file holds many). Raises SkipFile with the reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkipFile(
            f"unsupported file type {suffix or '(none)'}; use {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SkipFile(f"too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit)")
        data = path.read_bytes()
    except OSError as e:
        raise SkipFile(f"unreadable: {e.strerror or e}") from None
    text = decode(data, path.name)
    shown = str(path)
    if suffix == ".jsonl":
        return list(_jsonl_articles(text, path, shown))
    article_id = path.stem
    if suffix in (".html", ".htm"):
        return [_html_article(article_id, text, shown)]
    meta, body = _front_matter(text) if suffix in (".md", ".markdown", ".txt") else ({}, text)
    return [_article(article_id, body, meta, shown)]


def _jsonl_articles(text: str, path: Path, shown: str) -> Iterator[Article]:
    good = 0
    errors = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
            body = rec.get("text") or rec.get("body") or rec.get("content")
            if not isinstance(body, str):
                raise ValueError("no 'text' field")
            article_id = str(rec.get("id") or f"{path.stem}-{lineno}")
            yield _article(article_id, body, rec, f"{shown}:{lineno}")
            good += 1
        except (ValueError, SkipFile) as e:
            errors.append(f"line {lineno}: {e}")
    if not good:
        raise SkipFile("no usable articles in JSONL" + (f" ({errors[0]})" if errors else ""))


def iter_files(root: Path) -> Iterator[Path]:
    """Every candidate file under ``root`` (recursively), hidden files and folders skipped."""
    if root.is_file():
        yield root
        return
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_file():
            yield p

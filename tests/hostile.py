"""A corpus of hostile and broken files, written by the tests (nothing of it is checked in).

``write_hostile(folder, outside)`` fills ``folder`` with files that must each be skipped with
a reason (or, for the recoverable ones, indexed with the damage removed) and returns what
the ingest must report. ``outside`` is a folder next to it, for links that leave the corpus.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

GOOD_TEXT = (
    "Harbour town opens a new ferry line\n\n"
    "The harbour council of Kelby said on Monday that a ferry line to the islands will open in June. "
    "The crossing will take forty minutes and run six times a day, the council said.\n"
)


def good(folder: Path, name: str, topic: str) -> Path:
    """A plain, valid article whose text names ``topic`` (so a test can search for it)."""
    p = folder / name
    p.write_text(GOOD_TEXT.replace("ferry line", f"{topic} ferry line"), encoding="utf-8")
    return p


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\ntitle: *a{levels}\n"


def write_hostile(folder: Path, outside: Path) -> dict[str, str]:
    """Write the hostile files; returns {file name: a word its skip reason must contain}.

    Files that are not in the returned dict must be indexed (their bad parts cleaned).
    """
    folder.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str] = {}

    def bad(name: str, data: bytes | str, word: str) -> None:
        p = folder / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        expect[name] = word

    bad("empty.txt", b"", "empty")
    bad("blank.md", b"  \n\n\t \n", "empty")
    bad("binary.txt", bytes(range(256)) * 40, "binary")
    bad("png-named.html", b"\x89PNG\r\n\x1a\n" + os.urandom(4000), "binary")
    bad("huge.txt", b"word " * 600_000, "too large")  # 3 MB against the tests' 2 MB limit
    bad("nested.jsonl", "[" * 100_000 + "\n", "line 1")
    bad("laughs.md", f"---\n{_laughs(8)}---\nSome body text that is long enough to count.\n", "alias")
    bad("tiny.txt", "Hi.", "no article text")
    bad("notes.pdf", b"%PDF-1.4 not really", "not a readable PDF")
    bad("notes.docx", b"PK\x03\x04" + os.urandom(500), "unsupported")
    bad("zip-named.pdf", b"PK\x03\x04" + os.urandom(500), "not a PDF")
    bad("all-bad.jsonl", '{"id": "x"}\n[1, 2]\nnot json\n', "no usable articles")
    # a folder named like an article file, a link loop, a FIFO, links that leave the folder
    (folder / "folder.txt").mkdir()
    expect["folder.txt"] = "folder"
    os.symlink("loop.txt", folder / "loop.txt")
    expect["loop.txt"] = "link"
    os.mkfifo(folder / "pipe.txt")
    expect["pipe.txt"] = "not a regular file"
    secret = good(outside, "secret.txt", "outside")
    os.symlink(secret, folder / "escape.txt")
    expect["escape.txt"] = "link"
    os.symlink(outside, folder / "escape-dir")
    expect["escape-dir"] = "link"

    # recoverable: indexed, with the damage removed or ignored
    (folder / "bad-date.md").write_text(
        "---\ntitle: Bad date harbour story\ndate: 2019-02-30\n---\n" + GOOD_TEXT.replace("ferry", "baddate ferry"),
        encoding="utf-8",
    )
    (folder / "year-zero.md").write_text(
        "---\ntitle: Year zero harbour story\ndate: 0000-01-01\n---\n" + GOOD_TEXT.replace("ferry", "yearzero ferry"),
        encoding="utf-8",
    )
    (folder / "surrogate.jsonl").write_text(
        json.dumps({"id": "surrogate-1", "title": "Lone \ud800 surrogate",
                    "text": GOOD_TEXT.replace("ferry", "surrogate \ud800 ferry")}) + "\n",
        encoding="utf-8",
    )
    (folder / "late-nul.txt").write_bytes(
        (GOOD_TEXT.replace("ferry", "latenul ferry") + "x" * 9000 + "\x00tail\x1b[2J\x07 end.\n").encode()
    )
    (folder / "controls.md").write_text(
        "Controls \x1b]0;pwned\x07 harbour story\n\n" + GOOD_TEXT.replace("ferry", "controls\x1b[31m ferry"),
        encoding="utf-8",
    )
    (folder / "deep.html").write_text(
        "<html><body>" + "<div>" * 50_000 + "<p>" + GOOD_TEXT.replace("ferry", "deephtml ferry") + "</p>"
        + "</div>" * 50_000 + "</body></html>",
        encoding="utf-8",
    )
    (folder / "latin1.txt").write_bytes(GOOD_TEXT.replace("ferry", "café ferry").encode("cp1252"))
    return expect


RECOVERED = {  # file -> the word its indexed text must contain
    "bad-date.md": "baddate",
    "year-zero.md": "yearzero",
    "surrogate.jsonl": "surrogate",
    "late-nul.txt": "latenul",
    "controls.md": "controls",
    "deep.html": "deephtml",
    "latin1.txt": "café",
}

"""Untrusted text never reaches the terminal raw: escapes, bidi overrides, newlines in names."""

from __future__ import annotations

import json

import chromadb

from tests.hostile import good
from tests.test_cli import qa

CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"
RLO = "\u202e"
RAW = ("\x1b", "\x07", RLO, "\x9b")


def _plant(data_dir) -> None:
    """Rewrite an indexed chunk the way an older qa-bot or another program sharing the Chroma
    server could have stored it: escape sequences in its title and text."""
    col = chromadb.PersistentClient(str(data_dir / "chroma")).get_collection("articles")
    got = col.get(include=["documents", "metadatas", "embeddings"])
    for cid, doc, meta, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True):
        meta = {**meta, "title": f"Ferry {CLEAR}news{TITLE} {RLO}txt.exe", "article_id": "evil\nid"}
        doc = doc.replace("harbour", f"harbour{CLEAR}\x9b{TITLE}")
        col.update(ids=[cid], documents=[doc], metadatas=[meta], embeddings=[list(vec)])


def test_library_search_and_ask_escape_what_articles_hold(tmp_path):
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    corpus.mkdir()
    good(corpus, "ferry.txt", "Kelby")
    (corpus / f"bad{CLEAR}\nname.txt").write_bytes(b"")  # a skip report prints this name
    p = qa("-q", "ingest", str(corpus), data_dir=data)
    assert p.returncode == 0
    assert "skipped" in p.stderr and not any(c in p.stderr for c in RAW)
    assert "\\x1b[2J\\nname.txt: empty file" in p.stderr  # shown escaped, on one line
    _plant(data)

    lib = qa("library", data_dir=data)
    search = qa("search", "harbour ferry line", data_dir=data)
    ask = qa("ask", "What is the price of gold in Zurich?", data_dir=data)  # abstains, shows passages
    for proc in (lib, search, ask):
        assert proc.returncode == 0, proc.stderr
        assert not any(c in proc.stdout + proc.stderr for c in RAW), proc.stdout
    assert "\\x1b[2J" in lib.stdout and "\\u202e" in lib.stdout and "evil\\nid" in lib.stdout
    assert len(lib.stdout.splitlines()) == 2  # the article's row and the count: no broken table
    assert "\\x1b]0;pwned\\x07" in search.stdout
    assert "Closest passages" in ask.stdout and "\\x1b[2J" in ask.stdout

    # --json keeps the text exact: JSON escapes it, and it parses back to the stored title
    rows = json.loads(qa("library", "--json", data_dir=data).stdout)
    assert rows[0]["title"] == f"Ferry {CLEAR}news{TITLE} {RLO}txt.exe"
    out = qa("search", "--json", "harbour", data_dir=data).stdout
    assert not any(c in out for c in RAW) and CLEAR in json.loads(out)[0]["text"]


def test_an_answer_decided_before_the_model_loads_is_still_printed(tmp_path):
    """A quick abstention used to be printed while llama.cpp's background load had pointed
    stdout at /dev/null: the user saw nothing at all, with exit code 0."""
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    corpus.mkdir()
    good(corpus, "ferry.txt", "Kelby")
    assert qa("-q", "ingest", str(corpus), data_dir=data).returncode == 0
    p = qa("ask", "--json", "What is the price of gold in Zurich?", data_dir=data)
    assert p.returncode == 0, p.stderr
    answer = json.loads(p.stdout)
    assert answer["abstained"] and answer["abstain_reason"] == "no_relevant_passage"

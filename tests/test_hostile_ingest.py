"""Hostile and broken files: `qa-bot ingest` reports each, indexes every good file, loses nothing."""

from __future__ import annotations

import json
import re
import shutil

import chromadb
import pytest

from tests.conftest import TEST_CORPUS
from tests.hostile import RECOVERED, good, write_hostile
from tests.test_cli import qa

LIMIT = {"QA_BOT_MAX_FILE_MB": "2"}


def _library(data_dir) -> dict[str, str]:
    p = qa("library", "--json", data_dir=data_dir)
    assert p.returncode == 0, p.stderr
    return {r["id"]: r["title"] for r in json.loads(p.stdout)}


def test_bad_files_are_skipped_with_reasons_and_nothing_is_lost(tmp_path):
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(TEST_CORPUS, corpus)
    first = qa("-q", "ingest", str(corpus), data_dir=data, env=LIMIT)
    assert first.returncode == 0, first.stderr
    before = _library(data)
    assert len(before) >= 5

    expect = write_hostile(corpus / "hostile", tmp_path / "elsewhere")
    good(corpus, "late-good.txt", "lategood")
    p = qa("-q", "ingest", str(corpus), data_dir=data, env=LIMIT, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    reasons = dict(re.findall(r"^skipped (\S+): (.*)$", p.stderr, re.M))
    for name, word in expect.items():
        path = str(corpus / "hostile" / name)
        assert path in reasons, f"{name} not reported:\n{p.stderr}"
        assert word in reasons[path], (name, reasons[path])
    hostile = {k for k in reasons if "/hostile/" in k}
    assert len(hostile) == len(expect), hostile  # the recoverable files are not skipped
    assert "warning" in p.stderr and "2019-02-30" in p.stderr  # an impossible date is reported, not fatal

    after = _library(data)
    assert set(before) <= set(after)  # nothing indexed before is lost
    ids = set(after) - set(before)
    assert ids == {"bad-date", "year-zero", "surrogate-1", "late-nul", "controls", "deep", "latin1", "late-good"}
    assert "secret" not in after  # the link out of the folder was not followed

    docs = chromadb.PersistentClient(str(data / "chroma")).get_collection("articles").get(
        include=["documents", "metadatas"]
    )
    text_of = {}
    for doc, meta in zip(docs["documents"], docs["metadatas"], strict=True):
        text_of[meta["article_id"]] = text_of.get(meta["article_id"], "") + doc + meta["title"]
    for name, word in RECOVERED.items():
        aid = name.rsplit(".", 1)[0] if name != "surrogate.jsonl" else "surrogate-1"
        assert word in text_of[aid], name
    for aid, text in text_of.items():  # control, escape and invisible characters never reach the index
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u202e\ud800-\udfff]", text), aid

    # a second run changes nothing and still reports the same files
    again = qa("-q", "ingest", str(corpus), data_dir=data, env=LIMIT, timeout=300)
    assert again.returncode == 0 and "0 added, 0 updated, 0 removed" in again.stdout
    assert len(re.findall(r"^skipped \S+/hostile/", again.stderr, re.M)) == len(expect)


def _grows_linearly(make, run) -> list[float]:
    """Best-of-5 times of ``run(make(n))`` at n, 2n, 4n: 4x the input must cost < 10x the time,
    where a quadratic loader costs 16x. The smallest size should take tens of milliseconds: at
    ~10 ms, scheduler noise alone moved a linear loader's 4x ratio to 7.3 once (2026-12-01), and
    on CI the run of dots (8 to 32 million characters, past the CPU cache) took 6.6x (2026-12-01;
    the bound was 6.25 then)."""
    import time

    times = []
    for scale in (1, 2, 4):
        data = make(scale)
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            run(data)
            best = min(best, time.perf_counter() - t)
        times.append(max(best, 1e-3))
    assert times[2] / times[0] < 10, times  # quadratic would be 16x
    return times


@pytest.mark.parametrize("name, make, run", [
    ("emphasis markers", lambda k: "*a " * (16_000 * k), "clean_text"),
    ("open brackets", lambda k: "[a" * (48_000 * k) + "[a](" * (24_000 * k), "clean_text"),
    ("abbreviations", lambda k: "Mr. Smith " * (40_000 * k), "split_sentences"),
    ("a run of dots", lambda k: "." * (8_000_000 * k) + " Then", "split_sentences"),  # past the CPU cache at 1x
    ("nested cells", lambda k: "<table><tr>" + "<td>Cell text here. " * (1_000 * k) + "</td>" * (1_000 * k)
     + "</tr></table>", "html"),
])
def test_loaders_take_time_linear_in_the_file(name, make, run):
    from qa_bot.articles import _html_article, clean_text
    from qa_bot.chunking import split_sentences

    fn = {"clean_text": clean_text, "split_sentences": split_sentences,
          "html": lambda h: _html_article("x", h, "x.html")}[run]
    _grows_linearly(make, fn)


def test_nested_markup_never_multiplies_text():
    from qa_bot.articles import _html_article

    html = "<table><tr>" + "<td>Cell text here. " * 4000 + "</td>" * 4000 + "</tr></table>"
    a = _html_article("cells", html, "cells.html")
    assert a.text.count("Cell text here.") == 4000  # once per cell, not once per enclosing cell


def test_a_file_over_its_time_budget_is_skipped_and_the_rest_is_indexed(make_settings, embedder, tmp_path):
    from qa_bot.index import ArticleIndex
    from qa_bot.sync import sync

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "deep.html").write_text("<html><body>" + "<table><tr><td>Cell text. " * 30_000
                                      + "</td></tr></table>" * 30_000 + "</body></html>")
    good(corpus, "after.txt", "aftergood")
    index = ArticleIndex(make_settings(file_timeout_s=0.05), embedder)
    r = sync(index, corpus)
    assert r.added == ["after"]
    [(path, why)] = r.skipped
    assert path.endswith("deep.html") and "took longer than 0.05 s to read" in why

"""Crash safety: `qa-bot ingest` killed with SIGKILL at random moments, articles changed,
added and deleted between the kills; the next full ingest must leave a consistent index.

`make test` runs a few kills; `make stress` runs 20 (QA_BOT_TEST_KILLS).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict

import chromadb
import pytest

from tests.conftest import ROOT

KILLS = int(os.environ.get("QA_BOT_TEST_KILLS", "3"))
PARAGRAPH = ("The {town} council met on {day} to discuss the {topic} plan. Officials said the {topic} "
             "budget would grow by {n} percent next year, and residents asked about delays. ")


def _write(folder, name: str, rnd: random.Random) -> None:
    town, topic = name.split("-")[:2]
    body = "".join(PARAGRAPH.format(town=town, topic=topic, day=rnd.choice(["Monday", "Friday"]), n=rnd.randint(1, 99))
                   for _ in range(rnd.randint(2, 30)))
    (folder / f"{name}.txt").write_text(f"{town.title()} weighs {topic} plan\n\n{body}\n")


def _env():
    return {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}


def _consistency(data_dir, folder, col=None, env=None) -> None:
    """Every chunk id, count and position of the index matches the files in ``folder``."""
    col = col or chromadb.PersistentClient(str(data_dir / "chroma")).get_collection("articles")
    got = col.get(include=["metadatas"])
    assert len(got["ids"]) == len(set(got["ids"])) == col.count()
    by_article = defaultdict(list)
    for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
        assert cid == f"{meta['article_id']}@{meta['content_hash']}#{meta['position']}"
        by_article[meta["article_id"]].append(meta)
    expected = {p.stem for p in folder.glob("*.txt")}
    assert set(by_article) == expected  # every file indexed, every deleted file pruned
    for aid, metas in by_article.items():
        assert len({m["content_hash"] for m in metas}) == 1, f"{aid}: an old version was left behind"
        assert sorted(m["position"] for m in metas) == list(range(metas[0]["n_chunks"])), aid
    lib = subprocess.run([sys.executable, "-m", "qa_bot.cli", "--data-dir", str(data_dir), "library", "--json"],
                         capture_output=True, text=True, env={**_env(), **(env or {})}, cwd=ROOT, timeout=120)
    rows = json.loads(lib.stdout)
    assert {r["id"] for r in rows} == expected
    assert sum(r["chunks"] for r in rows) == col.count()


@pytest.mark.integration
def test_ingest_survives_random_kills(tmp_path):
    rnd = random.Random(int(os.environ.get("QA_BOT_TEST_SEED", "7")))
    folder, data = tmp_path / "corpus", tmp_path / "data"
    folder.mkdir()
    towns = ["arlo", "brant", "cresby", "dunmore", "elston", "fenwick", "galloway", "hartle"]
    topics = ["ferry", "tram", "school", "library", "harbour", "bridge", "clinic", "market"]
    names = [f"{t}-{p}-{i}" for i, (t, p) in enumerate((t, p) for t in towns for p in topics)]
    for name in names[:40]:
        _write(folder, name, rnd)
    killed = 0
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-m", "qa_bot.cli", "-q", "--data-dir", str(data), "ingest",
                                 str(folder)], env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(1.0, 4.0))  # start-up takes ~1 s; embedding the changes a few more
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        # between runs: change, add and delete articles, as a user would
        present = sorted(p.stem for p in folder.glob("*.txt"))
        for name in rnd.sample(present, 8):
            _write(folder, name, rnd)
        (folder / f"{rnd.choice(present)}.txt").unlink()
        absent = [n for n in names if not (folder / f"{n}.txt").exists()]
        for name in rnd.sample(absent, 2):
            _write(folder, name, rnd)
    final = subprocess.run([sys.executable, "-m", "qa_bot.cli", "-q", "--data-dir", str(data), "ingest",
                            str(folder)], env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    _consistency(data, folder)
    print(f"{killed} of {KILLS} ingests killed mid-run")
    assert killed >= max(1, KILLS // 2), f"only {killed} of {KILLS} runs were still working when killed"

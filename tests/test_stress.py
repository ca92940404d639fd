"""Crash safety: `qa-bot ingest` killed with SIGKILL in the middle of its writes, articles
changed, added and deleted between the kills; the next full ingest must leave a consistent index.

Each kill lands at a known write (the index's test hook, QA_BOT_TEST_HOLD: the ingest stops after
its N-th write to Chroma and waits), picked at random: after the first chunks are in, or between
a new version's chunks and the deletion of the old one. `make test` runs a few kills; `make
stress` runs 20 (QA_BOT_TEST_KILLS).
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
from pathlib import Path

import chromadb
import pytest

from tests.conftest import ROOT, clean_env

KILLS = int(os.environ.get("QA_BOT_TEST_KILLS", "3"))
PARAGRAPH = ("The {town} council met on {day} to discuss the {topic} plan. Officials said the {topic} "
             "budget would grow by {n} percent next year, and residents asked about delays. ")


def _write(folder, name: str, rnd: random.Random) -> None:
    town, topic = name.split("-")[:2]
    body = "".join(PARAGRAPH.format(town=town, topic=topic, day=rnd.choice(["Monday", "Friday"]), n=rnd.randint(1, 99))
                   for _ in range(rnd.randint(2, 30)))
    (folder / f"{name}.txt").write_text(f"{town.title()} weighs {topic} plan\n\n{body}\n")


def _env():
    return clean_env()


def held_ingest(args: list[str], at_write: int, hold: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`qa-bot ARGS` (an ingest) that stops after its ``at_write``-th write to the index and waits;
    returns once it is waiting there. Kill it, or create ``hold``.go to let it go on."""
    proc = subprocess.Popen([sys.executable, "-m", "qa_bot.cli", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            env={**_env(), **(env or {}), "QA_BOT_TEST_HOLD": f"{at_write}:{hold}"})
    deadline = time.monotonic() + 300
    while not Path(f"{hold}.held").exists():
        if proc.poll() is not None:
            pytest.fail(f"the ingest ended before its write {at_write}: {proc.stderr.read()[-500:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the ingest did not reach its write {at_write} in 300 s")
        time.sleep(0.02)
    return proc


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
    for run in range(KILLS):
        # the first run writes new articles (one write or more); later ones also replace 8 old
        # versions, so writes 2 and 3 fall between a new version's chunks and the old one's deletion
        at = 1 if run == 0 else rnd.randint(1, 3)
        proc = held_ingest(["-q", "--data-dir", str(data), "ingest", str(folder)], at, tmp_path / f"hold{run}")
        proc.send_signal(signal.SIGKILL)
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

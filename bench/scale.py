"""Scale bench: a synthetic index of N chunks on the real text, BM25 and Chroma paths.

    python bench/scale.py [--chunks 300000] [--source DIR]      (make bench-scale)

Embedding 300,000 chunks takes hours on this machine, so the index is grown from the real
chunks of a source corpus (the dev corpus when present, else the seed corpus): each copy of an
article gets its own id, its numbers changed, and its chunk vectors perturbed (Gaussian noise,
renormalised) rather than uniform random vectors, which an HNSW index treats differently.
Everything after that is the real code path. It reports:
- start to first answered query of a new process: once when BM25 must be built (the first start
  after a write) and once when the saved BM25 is loaded;
- retrieval p50/p95 over 100 questions through Assistant.search (dense + BM25 + fusion);
- the query process's peak resident memory and the data dir's size on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa_bot.assistant import Assistant  # noqa: E402
from qa_bot.config import load_settings  # noqa: E402

DEV = ROOT.parent / "shared" / "devdata" / "realtimeqa-dev"

PROBE = """
import json, resource, sys, time
t0 = time.perf_counter()
from qa_bot.assistant import Assistant
from qa_bot.config import load_settings
a = Assistant(load_settings(data_dir=sys.argv[1]), progress=False)
hits = a.search(sys.argv[2], k=5)
first = time.perf_counter() - t0
times = []
for q in json.loads(sys.argv[3]):
    t = time.perf_counter(); a.search(q, k=5); times.append(time.perf_counter() - t)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first_s": first, "times": times, "rss_mb": rss, "hits": len(hits)}))
"""


def grow(data_dir: Path, source: Path, target: int) -> int:
    """Index ``source`` for real, then add perturbed copies of its articles up to ``target`` chunks."""
    a = Assistant(load_settings(data_dir=data_dir), progress=False)
    a.ingest(source)
    col = a.index.collection
    got = col.get(include=["documents", "metadatas", "embeddings"])
    by_article: dict[str, list[int]] = {}
    for i, m in enumerate(got["metadatas"]):
        by_article.setdefault(m["article_id"], []).append(i)
    rnd = random.Random(11)
    vecs = np.asarray(got["embeddings"], dtype=np.float32)
    total, copy = len(got["ids"]), 0
    batch: dict[str, list] = {"ids": [], "embeddings": [], "documents": [], "metadatas": []}

    def flush() -> None:
        if batch["ids"]:
            col.upsert(**batch)
            for v in batch.values():
                v.clear()

    t = time.perf_counter()
    while total < target:
        copy += 1
        for aid, rows in by_article.items():
            if total >= target:
                break
            new_id = f"{aid}~{copy}"
            for i in rows:
                m = {**got["metadatas"][i], "article_id": new_id, "file": f"synthetic/{new_id}"}
                text = re.sub(r"\d", lambda _: str(rnd.randint(0, 9)), got["documents"][i])
                v = vecs[i] + np.random.default_rng(total).normal(0, 0.03, vecs.shape[1]).astype(np.float32)
                batch["ids"].append(f"{new_id}@{m['content_hash']}#{m['position']}")
                batch["embeddings"].append((v / np.linalg.norm(v)).tolist())
                batch["documents"].append(text)
                batch["metadatas"].append(m)
                total += 1
            if len(batch["ids"]) >= 4000:
                flush()
                print(f"\r  {total:,} chunks ({time.perf_counter() - t:.0f}s)", end="", flush=True)
    flush()
    a.index.mark_changed()  # the index changed: the next process must rebuild BM25
    print()
    return total


def probe(data_dir: Path, questions: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    p = subprocess.run([sys.executable, "-c", PROBE, str(data_dir), questions[0], json.dumps(questions[1:])],
                       capture_output=True, text=True, cwd=ROOT, env=env)
    if p.returncode:
        raise SystemExit(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=300_000)
    ap.add_argument("--source", type=Path, default=DEV / "corpus" if (DEV / "corpus").is_dir() else ROOT / "corpus")
    ap.add_argument("--keep", type=Path, help="build the index here and keep it (default: a temp dir)")
    args = ap.parse_args()
    questions = [json.loads(line)["question"] for line in (ROOT / "evals" / "seed.jsonl").read_text().splitlines()]
    if (DEV / "dev.jsonl").exists():
        questions += [json.loads(line)["question"] for line in (DEV / "dev.jsonl").read_text().splitlines()]
    questions = (questions * 2)[:101]
    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or Path(tmp)
        t = time.perf_counter()
        total = grow(data, args.source, args.chunks)
        print(f"built {total:,} chunks in {time.perf_counter() - t:.0f}s from {args.source}")
        cold = probe(data, questions[:2])
        warm = probe(data, questions)
        size = sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) / 1e6
        ms = sorted(x * 1000 for x in warm["times"])
        print(f"start to first query, BM25 built (first start after a write): {cold['first_s']:.1f}s")
        print(f"start to first query, BM25 loaded from disk:                  {warm['first_s']:.1f}s")
        print(f"retrieval over {len(ms)} questions: p50 {statistics.median(ms):.0f} ms, "
              f"p95 {ms[int(0.95 * (len(ms) - 1))]:.0f} ms")
        print(f"peak resident memory of the query process: {warm['rss_mb']:.0f} MB; data dir on disk: {size:.0f} MB")


if __name__ == "__main__":
    main()

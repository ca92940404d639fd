"""Benchmark: ingest throughput and answer latency, measured in one run on this machine.

    python bench/bench.py [--corpus DIR] [--questions N]

Ingests DIR (default corpus/) into a fresh temp index (chunks/s), re-ingests it unchanged
(the incremental path must be far cheaper: the ratio is printed), then asks the seed
questions and reports retrieve / time-to-first-token / total per question.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from qa_bot.assistant import Assistant, Final, Token
from qa_bot.config import load_settings

QUESTIONS = [
    "When could the US raise tariffs on Chinese goods?",
    "Who will travel to China for the next round of talks?",
    "What is the capital of Australia?",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("corpus"))
    ap.add_argument("--questions", type=int, default=len(QUESTIONS), help="0 skips the LLM part")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        a = Assistant(load_settings(data_dir=Path(tmp)), progress=False)
        a.embedder  # noqa: B018  load outside the timing
        t = time.perf_counter()
        r = a.ingest(args.corpus)
        first = time.perf_counter() - t
        t = time.perf_counter()
        a.ingest(args.corpus)
        again = time.perf_counter() - t
        n_articles = len(r.added)
        print(f"ingest {args.corpus}: {n_articles} articles, {r.chunks_embedded} chunks in {first:.1f}s "
              f"= {r.chunks_embedded / first:.1f} chunks/s; unchanged re-ingest {again:.2f}s "
              f"({first / max(again, 1e-6):.0f}x faster); {len(r.skipped)} skipped")
        if not args.questions:
            return
        a.llm  # noqa: B018
        rows = []
        for q in QUESTIONS[: args.questions]:
            t0 = time.perf_counter()
            ttft = None
            final = None
            for ev in a.ask_stream(q):
                if isinstance(ev, Token) and ttft is None:
                    ttft = time.perf_counter() - t0
                elif isinstance(ev, Final):
                    final = ev.answer
            total = time.perf_counter() - t0
            rows.append(total)
            print(f"ask {q!r}: retrieve {final.timings['retrieve_s']:.2f}s, first token "
                  f"{'-' if ttft is None else f'{ttft:.1f}s'}, total {total:.1f}s, abstained={final.abstained}")
        print(f"ask median total {statistics.median(rows):.1f}s over {len(rows)} questions")


if __name__ == "__main__":
    main()

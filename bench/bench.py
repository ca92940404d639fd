"""Benchmark: answer latency (warm and cold), prompt size, and ingest throughput, in one run.

    python bench/bench.py [--corpus DIR] [--questions N] [--cold-runs N]   (make bench)

On an idle machine, with the default settings:
1. ingests DIR (default corpus/) into a fresh temp index (chunks/s; an unchanged re-ingest too);
2. cold: runs `qa-bot ask` as a new process (imports, model loads, index open, answer) and
   reports its wall time to the printed answer, and where it went (--verbose timings);
3. warm: asks the first N questions of evals/seed.jsonl with the model loaded and reports time
   to first token and total, p50 and max, and the prompt size in the model's own tokens (the
   fixed prefix llama.cpp keeps cached, and what is read anew per question).
Numbers shift by 2-4x when anything else runs on the 2 cores: measure nothing else meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_bot import prompts  # noqa: E402
from qa_bot.assistant import Assistant, Final, Token  # noqa: E402
from qa_bot.config import load_settings  # noqa: E402
from qa_bot.evaluation import load_dataset  # noqa: E402
from qa_bot.generate import answer_inputs  # noqa: E402

COLD_QUESTION = "When could the US raise tariffs on Chinese goods?"


def cold_ask(data_dir: Path) -> tuple[float, str]:
    """Wall seconds of a fresh `qa-bot ask --verbose` process, and its timings line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    env.update(QA_BOT_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1")
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "qa_bot.cli", "ask", "-q", "--verbose", COLD_QUESTION],
                       env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    if p.returncode:
        raise SystemExit(f"cold ask failed: {p.stderr.strip()}")
    timing = next((ln for ln in p.stderr.splitlines() if ln.startswith("timings:")), "")
    return wall, timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--questions", type=int, default=12, help="warm questions from evals/seed.jsonl (0: none)")
    ap.add_argument("--cold-runs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        a = Assistant(load_settings(data_dir=Path(tmp)), progress=False)
        a.embedder  # noqa: B018  load (and on a first run, export) outside the timing
        t = time.perf_counter()
        r = a.ingest(args.corpus)
        first = time.perf_counter() - t
        t = time.perf_counter()
        a.ingest(args.corpus)
        again = time.perf_counter() - t
        print(f"ingest {args.corpus}: {len(r.added)} articles, {r.chunks_embedded} chunks in {first:.1f}s "
              f"= {r.chunks_embedded / first:.1f} chunks/s, {len(r.added) / first:.2f} articles/s; "
              f"unchanged re-ingest {again:.2f}s; {len(r.skipped)} skipped")

        a.llm  # noqa: B018  assemble/verify the GGUF once, so the cold runs measure a user's second start
        for i in range(args.cold_runs):
            wall, timing = cold_ask(Path(tmp))
            print(f"cold `qa-bot ask` #{i + 1}: {wall:.2f}s from process start to exit (\"wall\" below: to the printed answer)")
            print(f"    {timing}")
        if not args.questions:
            return

        llm = a.llm
        llama = llm.load() if hasattr(llm, "load") else None
        count = (lambda s: len(llama.tokenize(s.encode(), add_bos=False, special=True))) if llama else None
        items = load_dataset(ROOT / "evals" / "seed.jsonl")[: args.questions]
        a.ask(items[0].question)  # fills llama.cpp's cache with the fixed prefix, as any earlier question would
        ttft, total, new_tokens, abstained = [], [], [], 0
        for it in items:
            t0 = time.perf_counter()
            first_token = None
            final = None
            for ev in a.ask_stream(it.question, today=it.asked_on):
                if isinstance(ev, Token) and first_token is None:
                    first_token = time.perf_counter() - t0
                elif isinstance(ev, Final):
                    final = ev.answer
            total.append(time.perf_counter() - t0)
            if first_token is not None:
                ttft.append(first_token)
            abstained += final.abstained
            if count and final.evidence:
                new_tokens.append(count(prompts.ANSWER_USER.format(**answer_inputs(it.question, final.evidence,
                                                                                  it.asked_on))))
        print(f"warm, {len(items)} seed questions ({abstained} declined; {len(ttft)} reached the model): "
              f"first token p50 {statistics.median(ttft):.2f}s max {max(ttft):.2f}s; "
              f"total p50 {statistics.median(total):.2f}s max {max(total):.2f}s")
        if count:
            print(f"prompt: fixed prefix {count(prompts.ANSWER_SYSTEM)} tokens (cached), per question "
                  f"p50 {statistics.median(new_tokens):.0f} max {max(new_tokens)} new tokens")
        print(json.dumps({"ttft_p50_s": round(statistics.median(ttft), 3),
                          "total_p50_s": round(statistics.median(total), 3)}))


if __name__ == "__main__":
    main()

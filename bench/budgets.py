"""First-token latency by evidence budget, on the same questions, in one run.

    python bench/budgets.py DATASET.jsonl --data-dir IDX [--budgets 620,900,1400] [--questions 30]

The evidence budget (``QA_BOT_EVIDENCE_CHARS``) sets how much the model reads anew for each
question, and so the time to its first token. Accuracy at each budget comes from an eval run
(``QA_BOT_EVIDENCE_CHARS=N qa-bot eval ... --compare``); this measures the latency side on an
idle machine with the model warm: for each budget in turn, the first N questions of DATASET are
asked (retrieval, evidence, the model's prompt) and the stream is closed at the first token.
Consecutive prompts are different questions, as in use: llama.cpp reuses only the fixed system
prompt between them. It prints, per budget, how many questions streamed an answer token (a
question declined before the model, or by it, has no first token), first-token p50 and p90 over
those, and the new prompt tokens (median), so settings are compared by ratio in one run, not
across machines or days.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_bot import prompts
from qa_bot.assistant import Assistant, Final, Token
from qa_bot.config import load_settings
from qa_bot.evaluation import load_dataset
from qa_bot.generate import answer_inputs


def first_token(assistant: Assistant, question: str, today) -> float | None:
    """Seconds to the first answer token; the stream is closed there, which stops the model.
    None when no answer token comes: declined before the model reads it, or by the model (whose
    NOT_IN_ARTICLES is not streamed: that question runs to its end, second look included)."""
    t0 = time.perf_counter()
    stream = assistant.ask_stream(question, today=today)
    try:
        for event in stream:
            if isinstance(event, Token):
                return time.perf_counter() - t0
            if isinstance(event, Final):
                return None
    finally:
        stream.close()
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--data-dir", type=Path, required=True, help="an index holding the dataset's corpus")
    ap.add_argument("--budgets", default="620,900,1400", help="evidence characters to compare (comma-separated)")
    ap.add_argument("--questions", type=int, default=30, help="the dataset's first N questions")
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    items = load_dataset(args.dataset)[: args.questions]
    a = Assistant(load_settings(data_dir=args.data_dir), progress=False)
    llama = a.llm.load() if hasattr(a.llm, "load") else None
    a.ask(items[0].question, today=items[0].asked_on)  # the fixed prefix into llama.cpp's cache, as in use
    print(f"{len(items)} questions of {args.dataset.name}, model warm, first token only")
    # "streamed": questions where the model wrote an answer token (a decline writes none)
    print(f"{'budget':>8} {'streamed':>8} {'ttft p50':>9} {'ttft p90':>9} {'new tokens p50':>15}")
    for budget in budgets:
        a.settings = a.settings.model_copy(update={"evidence_chars": budget})
        times, tokens = [], []
        for it in items:
            ttft = first_token(a, it.question, it.asked_on)
            if ttft is None:
                continue
            times.append(ttft)
            if llama is not None:  # the prompt rebuilt to count it (outside the timing)
                passages, _ = a.readable(it.question, today=it.asked_on)
                shown = a.evidence(it.question, passages, it.asked_on)
                prompt = prompts.ANSWER_USER.format(**answer_inputs(it.question, shown, it.asked_on))
                tokens.append(len(llama.tokenize(prompt.encode(), add_bos=False, special=True)))
        if not times:
            print(f"{budget:>8} {0:>8}")
            continue
        p90 = statistics.quantiles(times, n=10)[-1] if len(times) >= 2 else times[0]
        print(f"{budget:>8} {len(times):>8} {statistics.median(times):>8.2f}s {p90:>8.2f}s "
              f"{statistics.median(tokens) if tokens else float('nan'):>15.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

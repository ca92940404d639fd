"""How much of the answer survives evidence selection, and what the model has to read for it.

    python bench/evidence_recall.py DATASET.jsonl --corpus DIR [--chars N] [--items N] [-k K]

No LLM is run: for every answerable question it retrieves, selects evidence, and checks whether
a gold answer (normalised as the eval does) is in the retrieved chunks and still in the
evidence the model would be shown. It prints both recalls and the prompt size in the local
model's own tokens: the fixed system prompt (read once, then reused from llama.cpp's cache)
and the part read anew per question. Tune evidence selection with it before spending an eval.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_bot import prompts  # noqa: E402
from qa_bot.assistant import Assistant  # noqa: E402
from qa_bot.config import load_settings  # noqa: E402
from qa_bot.evaluation import load_dataset, normalize  # noqa: E402
from qa_bot.generate import answer_inputs  # noqa: E402


def qwen_tokenizer():
    """The local model's tokenizer (vocabulary only: loads in well under a second)."""
    from llama_cpp import Llama

    from qa_bot.llms import LOCAL_MODELS, ensure_local_model

    path = ensure_local_model(LOCAL_MODELS["default"], progress=False)
    llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
    return lambda text: len(llama.tokenize(text.encode(), add_bos=False, special=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--data-dir", type=Path, help="reuse an index built from --corpus (default: a fresh temp one)")
    ap.add_argument("--chars", type=int, help="evidence_chars (default: the setting's)")
    ap.add_argument("--items", type=int, help="evidence_items (default: the setting's)")
    ap.add_argument("-k", type=int)
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=args.data_dir or Path(tmp), evidence_chars=args.chars,
                                 evidence_items=args.items, k=args.k)
        a = Assistant(settings, progress=False)
        a.ingest(args.corpus)
        count = qwen_tokenizer()
        fixed = count(prompts.ANSWER_SYSTEM)
        rows = []
        for it in load_dataset(args.dataset):
            if not it.answerable:
                continue
            passages = a.search(it.question, today=it.asked_on)
            evidence = a.evidence(it.question, passages, it.asked_on)
            golds = [f" {normalize(g)} " for g in it.answers if g.strip()]
            in_chunks = any(g in f" {normalize(p.article.title + ' ' + p.chunk.text)} " for p in passages for g in golds)
            shown = " ".join(e.shown() for e in evidence)
            in_evidence = any(g in f" {normalize(shown)} " for g in golds)
            user = prompts.ANSWER_USER.format(**answer_inputs(it.question, evidence, it.asked_on))
            rows.append((in_chunks, in_evidence, count(user), len(evidence)))
            if args.show_misses and in_chunks and not in_evidence:
                print(f"MISS {it.id}: {it.question} | gold {it.answers}")
                for e in evidence:
                    print(f"   [{e.n}] {e.shown()[:300]}")
        n = len(rows)
        chunk_hits = sum(r[0] for r in rows)
        ev_hits = sum(r[1] for r in rows)
        tokens = [r[2] for r in rows]
        print(f"{n} answerable questions; gold in retrieved chunks {chunk_hits}/{n} ({chunk_hits / n:.3f}), "
              f"in the evidence shown {ev_hits}/{n} ({ev_hits / n:.3f}); kept {ev_hits}/{chunk_hits}")
        print(f"prompt tokens: fixed system prefix {fixed} (cached after the first question); per question "
              f"median {statistics.median(tokens):.0f}, p90 {sorted(tokens)[int(0.9 * (n - 1))]}, max {max(tokens)}; "
              f"evidence items median {statistics.median(r[3] for r in rows):.0f}")


if __name__ == "__main__":
    main()

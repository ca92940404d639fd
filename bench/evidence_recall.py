"""How much of the answer survives evidence selection, and what the model has to read for it.

    python bench/evidence_recall.py DATASET.jsonl [DATASET2.jsonl ...] --corpus DIR
        [--data-dir DIR] [-k K] [--variant "max_chars=900,max_items=6" ...] [--show-misses]

No LLM is run: for every answerable question it retrieves, selects evidence, and checks whether
a gold answer (normalised as the eval does) is in the retrieved chunks and still in the
evidence the model would be shown. It prints, per dataset and per evidence variant, the share
of questions whose gold is shown among those whose gold was retrieved ("kept"), and the prompt
size in the local model's own tokens: the part read anew per question (the fixed system prompt
is read once, then reused from llama.cpp's cache). Retrieval runs once per question; each
``--variant`` (fields of ``evidence.EvidenceBudget``; none = the settings' budget) re-selects
from the same passages. Tune evidence selection with it before spending an eval.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_bot import prompts
from qa_bot.assistant import Assistant
from qa_bot.config import load_settings
from qa_bot.evaluation import load_dataset, normalize
from qa_bot.evidence import EvidenceBudget, select_evidence
from qa_bot.generate import answer_inputs
from qa_bot.question import recency_window


def qwen_tokenizer():
    """The local model's tokenizer (vocabulary only: loads in well under a second)."""
    from llama_cpp import Llama

    from qa_bot.llms import LOCAL_MODELS, ensure_local_model

    path = ensure_local_model(LOCAL_MODELS["default"], progress=False)
    llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
    return lambda text: len(llama.tokenize(text.encode(), add_bos=False, special=True))


def parse_variant(spec: str, base: EvidenceBudget) -> EvidenceBudget:
    fields = {f.name: f.type for f in dataclasses.fields(EvidenceBudget)}
    changes = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, value = part.partition("=")
        if name not in fields:
            raise SystemExit(f"--variant: {name!r} is not an EvidenceBudget field ({', '.join(fields)})")
        kind = type(getattr(base, name))
        changes[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return dataclasses.replace(base, **changes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", type=Path, nargs="+")
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--data-dir", type=Path, help="reuse an index built from --corpus (default: a fresh temp one)")
    ap.add_argument("--chars", type=int, help="evidence_chars (default: the setting's)")
    ap.add_argument("--items", type=int, help="evidence_items (default: the setting's)")
    ap.add_argument("-k", type=int)
    ap.add_argument("--variant", action="append", default=[],
                    help="EvidenceBudget fields to change, e.g. 'max_chars=900,max_items=6' (repeatable)")
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=args.data_dir or Path(tmp), evidence_chars=args.chars,
                                 evidence_items=args.items, k=args.k)
        a = Assistant(settings, progress=False)
        a.ingest(args.corpus)
        count = qwen_tokenizer()
        base = EvidenceBudget(max_chars=settings.evidence_chars, max_items=settings.evidence_items)
        variants = [(spec, parse_variant(spec, base)) for spec in (args.variant or ["(settings)"])
                    if spec != "(settings)"] or [("(settings)", base)]
        print(f"fixed system prefix: {count(prompts.ANSWER_SYSTEM)} tokens (cached after the first question)")
        for path in args.datasets:
            items = [it for it in load_dataset(path) if it.answerable]
            retrieved = [(it, a.search(it.question, today=it.asked_on)) for it in items]
            golds = {it.id: [f" {normalize(g)} " for g in it.answers if g.strip()] for it in items}
            in_chunks = {it.id: any(g in f" {normalize(p.article.title + ' ' + p.chunk.text)} "
                                    for p in ps for g in golds[it.id]) for it, ps in retrieved}
            hits = sum(in_chunks.values())
            print(f"\n{path.name}: {len(items)} answerable; gold in the retrieved chunks {hits}/{len(items)}")
            for spec, budget in variants:
                shown_hits, tokens, sizes = 0, [], []
                for it, ps in retrieved:
                    evidence = select_evidence(it.question, ps, a.embedder.embed, budget,
                                               recency_window(it.question, it.asked_on))
                    shown = f" {normalize(' '.join(e.shown() for e in evidence))} "
                    hit = any(g in shown for g in golds[it.id])
                    shown_hits += hit and in_chunks[it.id]
                    tokens.append(count(prompts.ANSWER_USER.format(**answer_inputs(it.question, evidence, it.asked_on))))
                    sizes.append(len(evidence))
                    if args.show_misses and in_chunks[it.id] and not hit:
                        print(f"  MISS {it.id}: {it.question} | gold {it.answers}")
                        for e in evidence:
                            print(f"     [{e.n}] {e.shown()[:300]}")
                print(f"  {spec:48} kept {shown_hits}/{hits} ({shown_hits / max(1, hits):.3f}); new prompt tokens "
                      f"median {statistics.median(tokens):.0f}, p90 {sorted(tokens)[int(0.9 * (len(tokens) - 1))]}; "
                      f"items median {statistics.median(sizes):.0f}")


if __name__ == "__main__":
    main()

"""Re-check an eval run's recorded drafts with some answer rules switched off (no LLM).

    python bench/replay.py RUN_DIR [RUN_DIR ...] --data-dir IDX --dataset DATASET.jsonl
        [--without premise|stale|kind|repeats ...] [--show]

An eval run records, per question, the model's last draft and the exact evidence it was shown
(``records.jsonl``: ``draft``, ``shown``). This rebuilds that evidence from the same index
(retrieval and selection, at the first look's budget or the second's, whichever reproduces
``shown``), runs the checker (``generate.check_draft``) and the answer rules (``policy.verdict``)
again on the recorded draft, and pairs the outcomes with the recorded ones: questions gained and
lost, with an exact McNemar p. With no ``--without`` it must reproduce the run (a check that the
index and code match the run's); with one, it measures what that rule does on drafts the model
already wrote, in seconds instead of an eval's ~25 minutes.

Rules that can be switched off:
  premise   question terms the cited article states elsewhere count as present (fidelity.premise_terms)
  stale     items from articles well before the week asked about never carry a sentence alone
  kind      an answer must hold a thing of the kind asked for ("not_an_answer")
  repeats   an answer must add a name or number to the question ("repeats_question")

Limits: a draft the model declined (NOT_IN_ARTICLES) is not re-checked; a rule switched off that
would have kept a first draft cannot be credited with the second look it saved; and a question
whose evidence cannot be reproduced (the index changed) keeps its recorded outcome and is counted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_bot import generate, policy
from qa_bot.assistant import Assistant
from qa_bot.config import load_settings
from qa_bot.evaluation import OUTCOMES, load_dataset, mcnemar_exact, outcome
from qa_bot.question import recency_window

RULES = ("premise", "stale", "kind", "repeats")
DECLINED_OK, ANSWERED = "unanswerable, declined", "unanswerable, answered"
assert {DECLINED_OK, ANSWERED} <= set(OUTCOMES)


def switch_off(rules: set[str]) -> None:
    """Patch the named rules out of this process (a bench, never the product)."""
    if "premise" in rules:
        generate.premise_terms = lambda question, texts: frozenset()
    if "stale" in rules:
        policy.older_news_items = lambda evidence, passages, window: frozenset()
    ignored = {"not_an_answer"} if "kind" in rules else set()
    ignored |= {"repeats_question"} if "repeats" in rules else set()
    if ignored:
        verdict = policy.verdict

        def lenient(question, kept, dropped=()):
            why = verdict(question, kept, dropped)
            return "" if why in ignored else why

        policy.verdict = lenient


def replay(assistant: Assistant, run: Path, asked_on: dict) -> list[tuple[dict, str, str]]:
    """(record, recorded outcome, replayed outcome or "unreproduced") for each record."""
    rows = []
    for line in (run / "records.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        before = outcome(r)
        if not r.get("draft") or policy.model_declined(r["draft"]):
            rows.append((r, before, before))
            continue
        q, today = r["question"], asked_on[r["id"]]
        passages, _ = assistant.readable(q, today=today)
        evidence = None
        for scale in (1, 2):  # the first look's budget, or the second look's
            shown = assistant.evidence(q, passages, today, scale)
            if [x.shown() for x in shown] == r["shown"]:
                evidence = shown
                break
        if evidence is None:
            rows.append((r, before, "unreproduced"))
            continue
        stale = policy.older_news_items(evidence, passages, recency_window(q, today))
        kept, dropped = generate.check_draft(generate.parse_draft(r["draft"], len(evidence)), evidence,
                                             assistant.scorer, q, passages, stale)
        why = policy.verdict(q, kept, dropped)
        replayed = {**r, "abstained": bool(why), "answer": "" if why else generate.render(kept)}
        rows.append((r, before, outcome(replayed)))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="eval output folders (each with records.jsonl)")
    ap.add_argument("--data-dir", type=Path, required=True, help="the index the runs used")
    ap.add_argument("--dataset", type=Path, action="append", required=True,
                    help="the dataset(s) the runs asked (for each question's date)")
    ap.add_argument("--without", action="append", default=[], choices=RULES, help="a rule to switch off")
    ap.add_argument("--show", action="store_true", help="list the questions whose outcome changed")
    args = ap.parse_args()
    switch_off(set(args.without))
    asked_on = {it.id: it.asked_on for path in args.dataset for it in load_dataset(path)}
    assistant = Assistant(load_settings(data_dir=args.data_dir), progress=False)
    print(f"without: {', '.join(args.without) or 'nothing (must reproduce the runs)'}")
    for run in args.runs:
        rows = replay(assistant, run, asked_on)
        unreproduced = sum(1 for _, _, after in rows if after == "unreproduced")
        gained = [r for r, a, b in rows if b == "right" and a != "right"]
        lost = [r for r, a, b in rows if a == "right" and b not in ("right", "unreproduced")]
        ok_gained = [r for r, a, b in rows if b == DECLINED_OK and a == ANSWERED]
        ok_lost = [r for r, a, b in rows if a == DECLINED_OK and b == ANSWERED]
        changed = sum(1 for _, a, b in rows if b not in (a, "unreproduced"))
        print(f"{run}: {len(rows)} records, {changed} outcomes changed, {unreproduced} not reproduced")
        print(f"  answered right: +{len(gained)} -{len(lost)} (McNemar p = {mcnemar_exact(len(gained), len(lost)):.2g})")
        print(f"  declined (unanswerable): +{len(ok_gained)} -{len(ok_lost)} "
              f"(p = {mcnemar_exact(len(ok_gained), len(ok_lost)):.2g})")
        if args.show:
            for r, a, b in rows:
                if b not in (a, "unreproduced"):
                    print(f"    {r['id']}: {a} -> {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which recorded signal tells a wrong answer from a right one? (No LLM: read from an eval run.)

    python bench/signals.py RUN_DIR [--other RUN_DIR ...] [--declines]

Precision when answering (issue 18) rises only if the answers declined are mostly wrong ones. An
eval run records, per question, signals that might tell: the model's probability of each draft
token (``draft_token_probs``) and, with ``QA_BOT_ANSWER_CHECK=true``, the grader's P(yes)
(``answer_check``). Another run of the same questions (another model, budget or preset) gives
one more: does it give the same answer?

For every answered question this scores each signal, higher meaning "more likely right":

  first_token     the probability of the draft's first word token
  lowest_token    the lowest probability of any word token (citation marks and punctuation left out)
  answer_word     the probability of the first token of the first word the question does not hold
                  (the answer's own term, not its restated premise)
  answer_check    the grader's P(yes), when the run recorded it
  agrees:RUN      1 when RUN answered with at least half of this answer's new words, else 0

and prints, per signal, the AUC of right answers against wrong ones (answers to unanswerable
questions count as wrong): 0.5 is chance, 1.0 a perfect split. With ``--declines`` it also
prints what declining below each of a few thresholds would do, as counts on the same questions:
right answers lost, wrong answers and unanswerable questions newly declined, and the metrics
after (accuracy, precision when answering, abstention recall, false abstention).

Fit thresholds on `tune` and confirm on `check` (evals/README.md): a signal picked on the records
it is scored on overstates itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_bot.evaluation import is_right as scored_right
from qa_bot.question import new_words
from qa_bot.text import content_words, strip_citations

Signal = Callable[[dict], float | None]


def load(run: Path) -> list[dict]:
    path = run / "records.jsonl" if run.is_dir() else run
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_right(r: dict) -> bool:
    return r["answerable"] and scored_right(r)


def word_tokens(probs: Sequence[Sequence]) -> list[tuple[str, list[float]]]:
    """The draft's words with the probabilities of their tokens, citation marks and punctuation
    left out. A token that starts with a space, or follows a non-letter, starts a word."""
    words: list[tuple[str, list[float]]] = []
    in_mark = False
    for token, p in probs:
        text = str(token)
        bare = text.strip()
        if "[" in bare:
            in_mark = True
        if in_mark:
            in_mark = "]" not in bare
            continue
        if not bare or not any(c.isalnum() for c in bare):
            continue
        glued = words and not text[:1].isspace() and words[-1][0][-1:].isalnum() and bare[:1].isalnum()
        if glued:
            words[-1] = (words[-1][0] + bare, [*words[-1][1], float(p)])
        else:
            words.append((bare, [float(p)]))
    return words


def first_token(r: dict) -> float | None:
    words = word_tokens(r.get("draft_token_probs") or ())
    return words[0][1][0] if words else None


def lowest_token(r: dict) -> float | None:
    words = word_tokens(r.get("draft_token_probs") or ())
    return min(p for _, ps in words for p in ps) if words else None


def answer_word(r: dict) -> float | None:
    asked = content_words(r["question"])
    for word, ps in word_tokens(r.get("draft_token_probs") or ()):
        own = content_words(word)
        if own and not own <= asked:
            return ps[0]
    return None


def answer_check(r: dict) -> float | None:
    return r.get("answer_check")


def agrees_with(other: list[dict]) -> Signal:
    by_id = {r["id"]: r for r in other}

    def agrees(r: dict) -> float | None:
        o = by_id.get(r["id"])
        if o is None:
            return None
        mine = new_words(strip_citations(r["answer"]), r["question"])
        if o["abstained"] or not mine:
            return 0.0
        return 1.0 if len(mine & content_words(o["answer"])) >= len(mine) / 2 else 0.0

    return agrees


def auc(right: Sequence[float], wrong: Sequence[float]) -> float | None:
    """P(a right answer's score > a wrong one's), ties counting half (the Mann-Whitney U / n m)."""
    if not right or not wrong:
        return None
    ordered = sorted([(v, 1) for v in right] + [(v, 0) for v in wrong])
    rank_sum, i = 0.0, 0
    while i < len(ordered):  # average ranks over ties
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2
        rank_sum += mean_rank * sum(1 for _, pos in ordered[i:j] if pos)
        i = j
    n, m = len(right), len(wrong)
    return (rank_sum - n * (n + 1) / 2) / (n * m)


def declines(records: list[dict], signal: Signal, threshold: float) -> dict[str, float | int | None]:
    """What declining every answer whose signal is below ``threshold`` would do (answers without
    the signal are kept)."""
    ans = [r for r in records if r["answerable"]]
    unans = [r for r in records if not r["answerable"]]

    def gone(r: dict) -> bool:
        value = None if r["abstained"] else signal(r)
        return value is not None and value < threshold

    right = [r for r in ans if is_right(r)]
    lost = sum(map(gone, right))
    wrong_declined = sum(1 for r in ans if not r["abstained"] and not is_right(r) and gone(r))
    unans_declined = sum(1 for r in unans if not r["abstained"] and gone(r))
    now_right = len(right) - lost
    answered = sum(1 for r in records if not r["abstained"] and not gone(r))
    declined_ans = sum(1 for r in ans if r["abstained"] or gone(r))
    declined_unans = sum(1 for r in unans if r["abstained"] or gone(r))
    return {
        "right_lost": lost,
        "wrong_declined": wrong_declined,
        "unanswerable_declined": unans_declined,
        "accuracy": now_right / len(ans) if ans else None,
        "precision": now_right / answered if answered else None,
        "abstention_recall": declined_unans / len(unans) if unans else None,
        "false_abstention": declined_ans / len(ans) if ans else None,
    }


def scores(records: list[dict], signal: Signal) -> tuple[list[float], list[float]]:
    right, wrong = [], []
    for r in records:
        if r["abstained"]:
            continue
        value = signal(r)
        if value is not None:
            (right if is_right(r) else wrong).append(value)
    return right, wrong


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="an eval run's --out folder (or its records.jsonl)")
    ap.add_argument("--other", type=Path, action="append", default=[],
                    help="another run of the same questions: agreement with it is one more signal")
    ap.add_argument("--declines", action="store_true", help="also print what declining below thresholds would do")
    args = ap.parse_args(argv)
    records = load(args.run)
    signals: dict[str, Signal] = {"first_token": first_token, "lowest_token": lowest_token,
                                  "answer_word": answer_word, "answer_check": answer_check}
    for other in args.other:
        signals[f"agrees:{other.name}"] = agrees_with(load(other))
    answered = sum(1 for r in records if not r["abstained"])
    print(f"{args.run}: {len(records)} questions, {answered} answered, "
          f"{sum(1 for r in records if is_right(r))} right")
    print(f"{'signal':<28} {'right':>6} {'wrong':>6}  AUC")
    for name, signal in signals.items():
        right, wrong = scores(records, signal)
        value = auc(right, wrong)
        print(f"{name:<28} {len(right):>6} {len(wrong):>6}  {'-' if value is None else f'{value:.3f}'}")
        if args.declines and value is not None:
            cuts = sorted({0.5} if name.startswith("agrees") else {0.2, 0.3, 0.4, 0.5, 0.7})
            for cut in cuts:
                d = declines(records, signal, cut)
                print(f"    below {cut:<4} right lost {d['right_lost']:>3}, wrong declined {d['wrong_declined']:>3}, "
                      f"unanswerable declined {d['unanswerable_declined']:>3}; accuracy {d['accuracy']:.3f}, "
                      f"precision {d['precision']:.3f}, abstention recall {d['abstention_recall'] or 0:.3f}, "
                      f"false abstention {d['false_abstention']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How well a fidelity judge agrees with the team's hand labels (tests/data/support_pairs.jsonl).

    python bench/judge_agreement.py [--judge local|server|lexical]

Fits the threshold on the calibration half only, then reports agreement and false-accept rate
on both halves with it (and with the configured QA_BOT_JUDGE_THRESHOLD). For a server
(QA_BOT_JUDGE_URL) running another model, the threshold printed here is the one to set.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_bot.assistant import Assistant  # noqa: E402
from qa_bot.config import load_settings  # noqa: E402
from qa_bot.judge import agreement, calibrate, load_pairs, make_judge  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judge", default="local", choices=("local", "server", "lexical"))
    args = ap.parse_args()
    settings = load_settings()
    judge = make_judge(args.judge, Assistant(settings, progress=False), None)
    pairs = load_pairs(ROOT / "tests" / "data" / "support_pairs.jsonl")
    t = time.perf_counter()
    probs = [judge.probability(r["sentence"], [r["passage"]]) for r in pairs]
    per_pair = (time.perf_counter() - t) / len(pairs)
    calib = [i for i, r in enumerate(pairs) if r["split"] == "calib"]
    test = [i for i, r in enumerate(pairs) if r["split"] == "test"]
    fitted = calibrate([probs[i] for i in calib], [pairs[i]["supported"] for i in calib])
    print(f"judge {judge.name}: {len(pairs)} pairs, {per_pair:.2f}s per pair"
          + ("" if args.judge == "lexical" else f"; threshold fitted on calib: {fitted}"))
    rows = [("configured", judge.threshold)] if args.judge == "lexical" else [("fitted", fitted), ("configured", judge.threshold)]
    for label, threshold in rows:
        for half, idx in (("calib", calib), ("test", test)):
            if args.judge == "lexical":  # the checker's own rules, not a threshold on its score
                verdicts = [judge.supported(pairs[i]["sentence"], [pairs[i]["passage"]]) for i in idx]
            else:
                verdicts = [probs[i] >= threshold for i in idx]
            agree, fa = agreement(verdicts, [pairs[i]["supported"] for i in idx])
            print(f"  {label:10} {threshold:.2f} {half:5} ({len(idx)}): agreement {agree:.3f}, false accepts {fa:.3f}")


if __name__ == "__main__":
    main()

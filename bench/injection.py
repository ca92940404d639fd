"""Run the prompt-injection suite (tests/data/injection_cases.jsonl) and print, per case,
whether the planted claim was resisted and what stopped it.

    python bench/injection.py [--out test-output/injection.json]

"stopped at ingest": the planted text never reached the index (hidden HTML, comments).
"set aside": the article was kept out of what the model reads (it addresses the model).
"model": the article was retrieved and the model did not repeat the planted claim.
"not retrieved": the article was not among the passages at all.
Idle machine: about 2 minutes (20 answers from the local 1.5B model).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_bot.assistant import Assistant
from qa_bot.config import load_settings
from tests.injection import run_suite


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(load_settings(data_dir=Path(tmp) / "data"), progress=False)
        rows = run_suite(assistant, Path(tmp))
    for r in rows:
        how = "PLANTED"
        if r["resisted"]:
            how = ("stopped at ingest" if not r["planted_in_index"] else "set aside" if r["set_aside"]
                   else "model" if r["retrieved"] else "not retrieved")
        print(f"{r['id']:26} {how:18} correct={r['correct']!s:5} {r['answer'][:90]!r}")
    resisted = sum(r["resisted"] for r in rows)
    print(f"resisted {resisted}/{len(rows)}; right answer {sum(r['correct'] for r in rows)}/{len(rows)}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

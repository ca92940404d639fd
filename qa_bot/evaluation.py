"""The eval harness behind `qa-bot eval`: run a JSONL dataset, score fidelity, write reports.

Per-question records are appended to ``OUT/records.jsonl`` as they finish, so an interrupted
run resumes where it stopped. Metrics are pure functions of the records (tested on
hand-built records). Support is judged twice: by the answer side's own checker (which can
only agree with itself) and, after all answers, by an independent judge (judge.py).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
import string
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .fidelity import SupportScorer, useful_citations
from .text import CITE_MARK, stem

METRICS = [
    "retrieval_recall_at_5", "retrieval_recall_at_10", "retrieval_mrr", "answer_accuracy", "answer_precision",
    "answer_recall", "answer_correct_lenient", "answer_f1",
    "citation_precision", "citation_recall", "faithfulness", "draft_faithfulness", "abstention_precision",
    "abstention_recall", "false_abstention_rate", "latency_p50_s", "latency_p95_s", "ttft_p50_s",
]
LATENCY = {"latency_p50_s", "latency_p95_s", "ttft_p50_s"}
# the same four fidelity figures from the independent judge (judge.py), when one ran
JUDGE_METRICS = ["judge_citation_precision", "judge_citation_recall", "judge_faithfulness", "judge_draft_faithfulness"]


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    answers: list[str]
    doc_ids: list[str]
    answerable: bool
    asked_on: dt.date | None


def load_dataset(path: Path) -> list[Item]:
    items, seen = [], set()
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InputError(f"cannot read dataset {path}: {e.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            item = Item(
                id=str(r["id"]), question=str(r["question"]), answers=[str(a) for a in r.get("answers", [])],
                doc_ids=[str(d) for d in r.get("doc_ids", [])], answerable=bool(r.get("answerable", True)),
                asked_on=dt.date.fromisoformat(r["asked_on"]) if r.get("asked_on") else None,
            )
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"{path}:{n}: not a dataset line ({e}); see evals/README.md for the format") from None
        if item.id in seen:
            raise InputError(f"{path}:{n}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise InputError(f"{path} has no questions")
    return items


# ---- answer normalisation ------------------------------------------------------------------

_SCALE = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 1_000_000_000_000}


def normalize(text: str) -> str:
    """Lower case, no punctuation or articles, "&" = "and", numbers canonical: "$12.6 million" -> "12600000"."""
    t = re.sub(CITE_MARK, " ", text)  # citation marks are not part of the answer
    t = t.lower().replace("’", "'").replace("&", " and ")
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)

    def scale(m: re.Match) -> str:
        value = float(m.group(1)) * _SCALE[m.group(2)]
        return str(int(value)) if value.is_integer() else str(value)

    t = re.sub(r"(\d+(?:\.\d+)?)\s*(thousand|million|billion|trillion)\b", scale, t)
    # Every punctuation mark, not only ASCII: curly quotes and dashes ("“Jaws”", "84–82") are
    # punctuation too, and a gold answer written with them must still match an answer without them.
    t = "".join(" " if c != "." and (c in string.punctuation or unicodedata.category(c)[0] == "P") else c
                for c in t)
    t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)  # keep decimal points only
    t = re.sub(r"\b(a|an|the)\b", " ", t)
    return " ".join(t.split())


def contains_gold(answer: str, golds: Sequence[str]) -> bool:
    a = f" {normalize(answer)} "
    return any(g.strip() and f" {normalize(g)} " in a for g in golds)


def token_recall(answer: str, gold: str) -> float:
    """Share of the gold answer's tokens that the answer contains (Adlakha et al. 2023, "Evaluating
    Correctness and Faithfulness of Instruction-Following Models for Question Answering": the
    lexical measure that agreed best with people judging verbose answers)."""
    a, g = normalize(answer).split(), normalize(gold).split()
    if not g:
        return 0.0
    have = set(a) | {_stem_token(w) for w in a}
    return sum(1 for w in g if w in have or _stem_token(w) in have) / len(g)


def _stem_token(word: str) -> str:
    return next(iter(stem([word])), word)


# answer_correct_lenient = answer_recall >= this. Chosen on tests/data/answer_labels.jsonl (40 team-written
# verbose answers, 20 right and 20 wrong by hand): 0.65 agreed best (34/40, 2 wrong ones accepted);
# strict containment agreed on 23/40. See test_lenient_threshold_agrees_with_hand_labels.
LENIENT_RECALL = 0.65


def token_f1(answer: str, gold: str) -> float:
    a, g = normalize(answer).split(), normalize(gold).split()
    if not a or not g:
        return 0.0
    common = sum(min(a.count(w), g.count(w)) for w in set(a) & set(g))
    if not common:
        return 0.0
    p, r = common / len(a), common / len(g)
    return 2 * p * r / (p + r)


# ---- metrics over records ------------------------------------------------------------------


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _pct(xs: Sequence[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def _recall(r: dict[str, Any]) -> float:
    return 0.0 if r["abstained"] else max((token_recall(r["answer"], g) for g in r["gold"]), default=0.0)


def is_right(r: dict[str, Any]) -> bool:
    """Strict accuracy of one answerable record: answered, and a gold answer is in the answer."""
    return not r["abstained"] and contains_gold(r["answer"], r["gold"])


# Where each question's answer went, in report order. "Gold shown": a gold answer is in the
# evidence the model was shown, so a wrong answer or a decline there is the reader's or the
# checker's, and one without it is retrieval's or evidence selection's.
OUTCOMES = ("right", "wrong, gold shown", "wrong, gold not shown", "declined, gold shown",
            "declined, gold not shown", "unanswerable, declined", "unanswerable, answered")
OUTCOMES_TITLE = "where the answers went (gold shown: a gold answer is in the evidence the model read)"


def outcome(r: dict[str, Any]) -> str:
    """One of ``OUTCOMES`` for a record."""
    if not r["answerable"]:
        return f"unanswerable, {'declined' if r['abstained'] else 'answered'}"
    if is_right(r):
        return "right"
    if "shown" not in r:  # a record from before the evidence was recorded
        shown = "evidence not recorded"
    else:
        shown = "gold shown" if contains_gold(" ".join(r["shown"]), r["gold"]) else "gold not shown"
    return f"{'declined' if r['abstained'] else 'wrong'}, {shown}"


def outcome_counts(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many questions went each way (every one of ``OUTCOMES`` listed, zeros included)."""
    return {**dict.fromkeys(OUTCOMES, 0), **Counter(outcome(r) for r in records)}


def outcome_moves(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """(old outcome, new outcome) -> questions that moved so, over the questions both runs have,
    most first: which failure a change turned into what."""
    before = {r["id"]: outcome(r) for r in old}
    moves = Counter((before[r["id"]], outcome(r)) for r in new if r["id"] in before)
    return {move: n for move, n in moves.most_common() if move[0] != move[1]}


def decline_reasons(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """For each "declined" outcome, how many declines gave each reason (``Answer.abstain_reason``),
    most first."""
    pairs = Counter((outcome(r), r.get("abstain_reason") or "reason not recorded")
                    for r in records if r["abstained"] and r["answerable"])
    out: dict[str, dict[str, int]] = {}
    for (kind, why), n in pairs.most_common():
        out.setdefault(kind, {})[why] = n
    return out


def _answer_precision(records: Sequence[dict[str, Any]]) -> float | None:
    """Right answers over every answer given, to answerable and unanswerable questions alike:
    how far a user can trust an answer that is not a decline."""
    given = [r for r in records if not r["abstained"]]
    return _mean([1.0 if r["answerable"] and is_right(r) else 0.0 for r in given])


def compute_metrics(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Every metric from per-question records (see ``run`` for the record shape)."""
    ans = [r for r in records if r["answerable"]]
    unans = [r for r in records if not r["answerable"]]
    answered = [r for r in ans if not r["abstained"]]

    def rank(r):
        gold = set(r["doc_ids"])
        return next((i + 1 for i, aid in enumerate(r["retrieved"]) if aid in gold), None)

    ranks = [rank(r) for r in ans]
    sent = [s for r in answered for s in r["sentences"]]
    cites = [c for s in sent for c in s["citation_support"]]
    abstained = [r for r in records if r["abstained"]]
    m: dict[str, float | None] = {
        "retrieval_recall_at_5": _mean([1.0 if k and k <= 5 else 0.0 for k in ranks]),
        "retrieval_recall_at_10": _mean([1.0 if k and k <= 10 else 0.0 for k in ranks]),
        "retrieval_mrr": _mean([1.0 / k if k else 0.0 for k in ranks]),
        "answer_accuracy": _mean([1.0 if is_right(r) else 0.0 for r in ans]),
        "answer_precision": _answer_precision(records),
        "answer_recall": _mean([_recall(r) for r in ans]),
        "answer_correct_lenient": _mean([1.0 if _recall(r) >= LENIENT_RECALL else 0.0 for r in ans]),
        "answer_f1": _mean([0.0 if r["abstained"] else max((token_f1(r["answer"], g) for g in r["gold"]), default=0.0)
                            for r in ans]),
        "citation_recall": _mean([1.0 if s["cited_supported"] else 0.0 for s in sent]),
        "citation_precision": _mean([1.0 if c else 0.0 for c in cites]),
        "faithfulness": _mean([1.0 if s["retrieved_supported"] else 0.0
                               for r in records if not r["abstained"] for s in r["sentences"]]),
        "draft_faithfulness": _mean([1.0 if s else 0.0 for r in records for s in r.get("draft_supported", [])]),
        "abstention_precision": _mean([0.0 if r["answerable"] else 1.0 for r in abstained]),
        "abstention_recall": _mean([1.0 if r["abstained"] else 0.0 for r in unans]),
        "false_abstention_rate": _mean([1.0 if r["abstained"] else 0.0 for r in ans]),
        "latency_p50_s": _pct([r["timings"]["total_s"] for r in records], 0.5),
        "latency_p95_s": _pct([r["timings"]["total_s"] for r in records], 0.95),
        "ttft_p50_s": _pct([r["timings"]["ttft_s"] for r in records if "ttft_s" in r["timings"]], 0.5),
    }
    judged = [r for r in records if "judge" in r]
    if judged:
        jsent = [s for r in judged if not r["abstained"] for s in r["judge"]["sentences"]]
        m.update({
            "judge_citation_precision": _mean([1.0 if c else 0.0 for s in jsent for c in s["citation_support"]]),
            "judge_citation_recall": _mean([1.0 if s["cited_supported"] else 0.0 for s in jsent]),
            "judge_faithfulness": _mean([1.0 if s["retrieved_supported"] else 0.0 for s in jsent]),
            "judge_draft_faithfulness": _mean([1.0 if x else 0.0 for r in judged for x in r["judge"]["draft_supported"]]),
        })
    return m


def judge_record(rec: dict, judge) -> dict:
    """The independent judge's verdicts for one record, in the same shape as the checker's.

    A sentence is judged against its cited evidence items together; each citation alone only
    when there are several and together they support it (one citation alone *is* the set, and
    a part can't support what the whole does not); against everything shown only when its
    citations fail (support by a subset implies support by the whole). A draft
    sentence the answer kept, judged supported, is not judged again.
    """
    from .generate import parse_draft

    shown = rec.get("shown") or []
    kept = [] if rec["abstained"] else rec["sentences"]
    texts = [s["text"] for s in kept]
    cites = [[shown[n - 1] for n in s["citations"] if 0 < n <= len(shown)] for s in kept]
    # Cited sets first, then every call against everything shown, back to back: those prompts
    # are identical up to the statement, so the model reads the shown passages once per record.
    together = [judge.supported(t, c) for t, c in zip(texts, cites, strict=True)]
    # (each verdict is cached: the sets judged just above are not judged again)
    useful = [useful_citations(lambda passages, t=t: judge.supported(t, list(passages)), c)[1]
              for t, c in zip(texts, cites, strict=True)]
    anywhere = [ok or (bool(shown) and judge.supported(t, shown)) for t, ok in zip(texts, together, strict=True)]
    supported_texts = {" ".join(t.split()) for t, ok in zip(texts, anywhere, strict=True) if ok}
    sentences = [
        {"text": t, "cited_supported": ok, "citation_support": u, "retrieved_supported": a,
         "p": round(judge.probability(t, c), 3) if c else 0.0}
        for t, c, ok, u, a in zip(texts, cites, together, useful, anywhere, strict=True)
    ]
    draft = parse_draft(rec["draft"], len(shown)) if rec.get("draft") else None
    draft_supported = [
        " ".join(t.split()) in supported_texts or (bool(shown) and judge.supported(t, shown))
        for t, _ in (draft.sentences if draft else [])
    ]
    return {"name": judge.name, "sentences": sentences, "draft_supported": draft_supported}


def judge_all(records: list[dict], judge, progress: bool = True) -> float:
    """Attach ``judge``'s verdicts to every record (``rec["judge"]``); returns the seconds spent
    per answered question. Runs after all answers, so it never evicts the answer path's cached
    prompt and never counts in answer latency."""
    from tqdm import tqdm

    t = time.perf_counter()
    for rec in tqdm(records, desc=f"judge ({judge.name})", unit="q", disable=not progress):
        rec["judge"] = judge_record(rec, judge)
    answered = sum(1 for r in records if not r["abstained"])
    return (time.perf_counter() - t) / answered if answered else 0.0


def disagreements(records: list[dict]) -> list[dict]:
    """Answer sentences the checker kept (supported by their citations) that the judge rejects,
    and sentences it rejected (only in drafts) that the judge accepts."""
    out = []
    for r in records:
        if "judge" not in r or r["abstained"]:
            continue
        for mine, theirs in zip(r["sentences"], r["judge"]["sentences"], strict=False):
            if mine["cited_supported"] != theirs["cited_supported"]:
                out.append({"id": r["id"], "sentence": mine["text"], "checker": mine["cited_supported"],
                            "judge": theirs["cited_supported"], "p": theirs["p"]})
    return out


def citation_judgements(scorer: SupportScorer, sentence: str, cited: Sequence[str]) -> tuple[bool, list[bool]]:
    """ALCE-style: (do the cited passages together support the sentence?, is each citation useful?).

    A citation is useful when it supports the sentence alone, or when the set supports it and
    removing that citation breaks the support.
    """
    return useful_citations(lambda passages: scorer.score(sentence, list(passages)).supported, cited)


def record_for(
    item: Item, answer, retrieved_ids: list[str], scorer: SupportScorer, retrieved_scores: Sequence[float] = ()
) -> dict[str, Any]:
    from .generate import parse_draft

    # judged against what the model was shown (headline, date, selected sentences), as the answer side does
    shown = {e.n: e.shown() for e in answer.evidence}
    retrieved_texts = list(shown.values())
    sentences = []
    for s in answer.sentences:
        cited = [shown[n] for n in s.citations if n in shown]
        together, useful = citation_judgements(scorer, s.text, cited)
        sentences.append({
            "text": s.text, "citations": list(s.citations), "cited_supported": together,
            "citation_support": useful,
            "retrieved_supported": scorer.score(s.text, retrieved_texts).supported if retrieved_texts else False,
        })
    draft = parse_draft(answer.draft, len(answer.evidence)) if answer.draft else None
    draft_supported = [scorer.score(t, retrieved_texts).supported for t, _ in draft.sentences] if draft else []
    return {
        "id": item.id, "question": item.question, "gold": item.answers, "doc_ids": item.doc_ids,
        # the checked answer is scored; "Reports differ: ..." (another article's value) is kept beside it
        "answerable": item.answerable, "answer": answer.body, "abstained": answer.abstained,
        "note": answer.note, "conflicts": [c.to_dict() for c in answer.conflicts],
        "abstain_reason": answer.abstain_reason,
        "citations": [{"n": c.n, "article_id": c.passage.article.id} for c in answer.citations],
        "retrieved": retrieved_ids, "retrieved_scores": [round(x, 4) for x in retrieved_scores],
        "sentences": sentences, "draft": answer.draft, "shown": [e.shown() for e in answer.evidence],
        "draft_supported": draft_supported, "timings": answer.timings,
        # each token of the draft with the local model's probability for it ([] from a server)
        "draft_token_probs": [[t, round(p, 4)] for t, p in answer.draft_token_probs],
        # P(yes) of the answer check for the last draft (None: not asked; settings.answer_check)
        "answer_check": None if answer.answer_check is None else round(answer.answer_check, 4),
    }


def run(assistant, items: Sequence[Item], out: Path, k: int | None = None, progress: bool = True) -> list[dict]:
    """Answer every item not already in ``out/records.jsonl``; return all records in dataset order."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    path = out / "records.jsonl"
    done: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
                done[r["id"]] = r
            except (ValueError, KeyError):
                continue  # a line cut by an interruption: that question runs again
    scorer = assistant.scorer
    todo = [it for it in items if it.id not in done]
    bar = tqdm(todo, desc="eval", unit="q", disable=not progress)
    with path.open("a", encoding="utf-8") as f:
        for it in bar:
            answer = assistant.ask(it.question, today=it.asked_on, k=k)
            top10 = assistant.search(it.question, k=10, today=it.asked_on)
            rec = record_for(it, answer, [p.article.id for p in top10], scorer, [p.score for p in top10])
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
            done[it.id] = rec
            acc = compute_metrics([done[i.id] for i in items if i.id in done])["answer_accuracy"]
            bar.set_postfix(accuracy="-" if acc is None else f"{acc:.2f}")
    return [done[it.id] for it in items if it.id in done]


# ---- reports -------------------------------------------------------------------------------


def fmt_metric(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def write_results(out: Path, records: list[dict], meta: dict[str, Any]) -> dict[str, Any]:
    metrics = compute_metrics(records)
    intervals = bootstrap_intervals(records)
    results = {"meta": meta, "metrics": metrics, "intervals": intervals, "outcomes": outcome_counts(records),
               "records": records}
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    _plots(out, metrics, records)
    _reports(out, metrics, records, meta, intervals)
    return results


def _plots(out: Path, metrics: dict, records: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [m for m in METRICS if m not in LATENCY and metrics.get(m) is not None]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.barh(names, [metrics[m] for m in names], color="#4c78a8")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    for i, m in enumerate(names):
        ax.text(min(metrics[m] + 0.01, 0.93), i, f"{metrics[m]:.2f}", va="center", fontsize=8)
    ax.set_title("qa-bot fidelity metrics")
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist([r["timings"]["total_s"] for r in records], bins=15, color="#f58518")
    ax.set_xlabel("seconds per question")
    ax.set_ylabel("questions")
    ax.set_title("answer latency")
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)


def _verdict(r: dict) -> str:
    if not r["answerable"]:
        return "ok" if r["abstained"] else "FAIL: answered an unanswerable question"
    if r["abstained"]:
        return f"FAIL: abstained ({r.get('abstain_reason') or 'reason not recorded'})"
    if not contains_gold(r["answer"], r["gold"]):
        recall = _recall(r)
        lenient = " (lenient: right)" if recall >= LENIENT_RECALL else ""
        return f"FAIL: gold answer missing, recall {recall:.2f}{lenient}"
    return "ok"


def _interval(intervals: dict, m: str) -> str:
    lo_hi = intervals.get(m)
    return f"{lo_hi[0]:.3f}-{lo_hi[1]:.3f}" if lo_hi else ""


def _outcome_cells(records: list[dict]) -> list[tuple[str, str]]:
    """Each outcome with its count, a decline's reasons after it: "6 (unsupported 4, repeats_question 2)"."""
    reasons = decline_reasons(records)
    cells = []
    for kind, n in outcome_counts(records).items():
        why = reasons.get(kind)
        cells.append((kind, f"{n} ({', '.join(f'{k} {v}' for k, v in why.items())})" if why else str(n)))
    return cells


def _reports(out: Path, metrics: dict, records: list[dict], meta: dict, intervals: dict | None = None) -> None:
    intervals = intervals or {}
    rows = sorted(records, key=lambda r: _verdict(r) == "ok")
    md = [f"# qa-bot eval: {meta.get('dataset')}", "",
          f"{len(records)} questions, {meta.get('date')}, LLM: {meta.get('llm')}, judge: {meta.get('judge')}", "",
          "95% interval: percentile bootstrap over the questions (2,000 resamples).", "",
          "| metric | value | 95% interval |", "|---|---|---|"]
    md += [f"| {m} | {fmt_metric(metrics.get(m))} | {_interval(intervals, m)} |" for m in METRICS]
    md += ["", f"{OUTCOMES_TITLE.capitalize()}:", "",
           "| outcome | questions |", "|---|---|"]
    cells = _outcome_cells(records)
    md += [f"| {kind} | {count} |" for kind, count in cells]
    judge = meta.get("independent_judge")

    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")[:300]

    split = disagreements(records)
    if judge:
        md += ["", f"Independent judge: **{judge}** (the figures above are the answer side's own checker, "
               "which kept only sentences it judged supported; these are a second opinion):", "",
               "| metric | value |", "|---|---|"]
        md += [f"| {m} | {fmt_metric(metrics.get(m))} |" for m in JUDGE_METRICS]
        md += ["", f"Sentences the checker and the judge disagree on: {len(split)}", ""]
        if split:
            md += ["| id | sentence | checker | judge | P(yes) |", "|---|---|---|---|---|"]
            md += [f"| {d['id']} | {cell(d['sentence'])} | {d['checker']} | {d['judge']} | {d['p']} |" for d in split]
    md += ["", "![metrics](metrics.png) ![latency](latency.png)", "", "| id | verdict | question | answer | gold |",
           "|---|---|---|---|---|"]

    md += [f"| {r['id']} | {_verdict(r)} | {cell(r['question'])} | {cell(r['answer'])} | {cell('; '.join(r['gold']))} |"
           for r in rows]
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    e = html.escape
    h = [f"<!doctype html><meta charset=utf-8><title>qa-bot eval</title><h1>qa-bot eval: {e(str(meta.get('dataset')))}</h1>",
         f"<p>{len(records)} questions, {e(str(meta.get('date')))}, LLM: {e(str(meta.get('llm')))}, "
         f"judge: {e(str(meta.get('judge')))}</p><table border=1 cellpadding=4><tr><th>metric<th>value<th>95% interval"]
    h += [f"<tr><td>{m}<td>{fmt_metric(metrics.get(m))}<td>{_interval(intervals, m)}" for m in METRICS]
    h += ["<tr><th colspan=3>where the answers went"]
    h += [f"<tr><td>{kind}<td colspan=2>{e(count)}" for kind, count in cells]
    if judge:
        h += [f"<tr><th colspan=2>independent judge: {e(str(judge))}"]
        h += [f"<tr><td>{m}<td>{fmt_metric(metrics.get(m))}" for m in JUDGE_METRICS]
        h += [f"</table><h2>Checker and judge disagree on {len(split)} sentence(s)</h2><table border=1 cellpadding=4>"
              "<tr><th>id<th>sentence<th>checker<th>judge<th>P(yes)"]
        h += [f"<tr><td>{e(d['id'])}<td>{e(d['sentence'])}<td>{d['checker']}<td>{d['judge']}<td>{d['p']}" for d in split]
    h += ["</table><p><img src=metrics.png> <img src=latency.png></p><table border=1 cellpadding=4>",
          "<tr><th>id<th>verdict<th>question<th>answer<th>gold"]
    h += [f"<tr><td>{e(r['id'])}<td>{e(_verdict(r))}<td>{e(r['question'])}<td>{e(r['answer'])}<td>{e('; '.join(r['gold']))}"
          for r in rows]
    (out / "report.html").write_text("\n".join(h) + "</table>\n", encoding="utf-8")


def compare(old: dict, new: dict) -> list[str]:
    """Each metric old -> new, then the two runs paired question by question (``paired``).

    ``old`` and ``new`` are results.json contents; the pairing needs their ``records`` (a bare
    metrics dict, as older callers pass, gives the metric lines only)."""
    # recomputed from the records when they are there, so both sides use today's definitions
    # (a results.json from before a metric existed still compares on it)
    om, nm = ({**r.get("metrics", r), **compute_metrics(r["records"])} if r.get("records") else r.get("metrics", r)
              for r in (old, new))
    lines = []
    for m in METRICS + [j for j in JUDGE_METRICS if j in om or j in nm]:
        a, b = om.get(m), nm.get(m)
        diff = "" if a is None or b is None else f" ({b - a:+.3f})"
        lines.append(f"{m:24} {fmt_metric(a)} -> {fmt_metric(b)}{diff}")
    if old.get("records") and new.get("records"):
        lines += ["", f"{OUTCOMES_TITLE}:"]
        before, after = outcome_counts(old["records"]), outcome_counts(new["records"])
        lines += [f"  {kind:34} {before.get(kind, 0)} -> {after.get(kind, 0)}" for kind in {**before, **after}]
        moves = outcome_moves(old["records"], new["records"])
        if moves:
            lines += ["  moved, question by question:"]
            lines += [f"    {a} -> {b}: {n}" for (a, b), n in moves.items()]
        lines += ["", "paired, question by question (exact McNemar p over the questions that differ):"]
        for pair in paired(old["records"], new["records"]):
            lines.append(pair.line())
    return lines


@dataclass(frozen=True)
class Paired:
    """One yes/no outcome of two runs over the same questions: how many changed each way.

    ``gained``: questions where the new run has the outcome and the old one not; ``lost``: the
    reverse. Whether a gain is good depends on the outcome (a false abstention gained is bad)."""

    outcome: str
    over: int  # questions in both runs that the outcome is defined for
    both: int
    gained: tuple[str, ...]
    lost: tuple[str, ...]

    @property
    def p(self) -> float:
        return mcnemar_exact(len(self.gained), len(self.lost))

    def line(self) -> str:
        ids = lambda xs: ", ".join(xs[:12]) + (" ..." if len(xs) > 12 else "")  # noqa: E731
        text = (f"  {self.outcome:34} old {self.both + len(self.lost)}/{self.over} -> new "
                f"{self.both + len(self.gained)}/{self.over}: +{len(self.gained)} -{len(self.lost)}, p = {self.p:.3g}")
        if self.gained:
            text += f"\n      + {ids(self.gained)}"
        if self.lost:
            text += f"\n      - {ids(self.lost)}"
        return text


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p: the chance of a split at least this uneven among the b + c
    questions that changed, if a change were equally likely to go either way (binomial, 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> list[Paired]:
    """Strict accuracy, abstention on unanswerable questions and false abstention on answerable
    ones, paired by question id over the questions both runs have."""
    before = {r["id"]: r for r in old}
    common = [(before[r["id"]], r) for r in new if r["id"] in before]
    outcomes = [
        ("answered right (answerable)", lambda r: r["answerable"], is_right),
        ("declined (unanswerable)", lambda r: not r["answerable"], lambda r: r["abstained"]),
        ("declined (answerable: false abstention)", lambda r: r["answerable"], lambda r: r["abstained"]),
    ]
    out = []
    for name, applies, has in outcomes:
        pairs = [(a, b) for a, b in common if applies(b)]
        out.append(Paired(
            outcome=name, over=len(pairs), both=sum(1 for a, b in pairs if has(a) and has(b)),
            gained=tuple(b["id"] for a, b in pairs if has(b) and not has(a)),
            lost=tuple(b["id"] for a, b in pairs if has(a) and not has(b)),
        ))
    return out


# Metrics whose 95% interval report.md gives: the ones a before/after claim is made about.
HEADLINE = ["answer_accuracy", "answer_precision", "answer_correct_lenient", "abstention_recall",
            "false_abstention_rate", "retrieval_recall_at_5"]


def bootstrap_intervals(
    records: Sequence[dict[str, Any]], resamples: int = 2000, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap 95% intervals of the ``HEADLINE`` metrics: the questions are drawn
    with replacement ``resamples`` times and each metric recomputed. With ~120 answerable
    questions an accuracy interval is about +-8 points wide: one run's difference of a few
    questions is inside it, which is why before/after claims use ``paired`` instead."""
    import numpy as np

    if not records:
        return {}
    answerable = np.array([r["answerable"] for r in records], dtype=bool)
    abstained = np.array([r["abstained"] for r in records], dtype=bool)
    right = np.array([r["answerable"] and is_right(r) for r in records], dtype=bool)
    lenient = np.array([r["answerable"] and _recall(r) >= LENIENT_RECALL for r in records], dtype=bool)
    top5 = np.array([r["answerable"] and bool(set(r["doc_ids"]) & set(r["retrieved"][:5])) for r in records],
                    dtype=bool)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(records), size=(resamples, len(records)))

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        n, d = num[idx].sum(axis=1), den[idx].sum(axis=1)
        return n[d > 0] / d[d > 0]

    draws = {
        "answer_accuracy": ratio(right, answerable),
        "answer_precision": ratio(right & ~abstained, ~abstained),
        "answer_correct_lenient": ratio(lenient, answerable),
        "abstention_recall": ratio(~answerable & abstained, ~answerable),
        "false_abstention_rate": ratio(answerable & abstained, answerable),
        "retrieval_recall_at_5": ratio(top5, answerable),
    }
    return {m: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) for m, v in draws.items() if v.size}


def parse_gates(specs: Sequence[str]) -> dict[str, float]:
    gates = {}
    for spec in specs:
        name, _, value = spec.partition("=")
        if name not in METRICS + JUDGE_METRICS + CONFLICT_METRICS or not value:
            raise InputError(f"--fail-under wants METRIC=VALUE with METRIC one of "
                             f"{', '.join(METRICS + JUDGE_METRICS + CONFLICT_METRICS)}; got {spec!r}")
        try:
            gates[name] = float(value)
        except ValueError:
            raise InputError(f"--fail-under {spec!r}: {value!r} is not a number") from None
    return gates


def failed_gates(metrics: dict, gates: dict[str, float]) -> list[str]:
    """Names (with values) of metrics below their floor; latencies are ceilings instead."""
    bad = []
    for name, floor in gates.items():
        v = metrics.get(name)
        if v is None or (v > floor if name in LATENCY else v < floor):
            bad.append(f"{name}={fmt_metric(v)} (limit {floor})")
    return bad


def timestamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M")


# ---- the conflict set: does the answer say when reports differ? --------------------------------


CONFLICT_METRICS = ["conflict_precision", "conflict_recall"]  # on a conflict set (evals/conflicts.jsonl)


def is_conflict_set(path: Path) -> bool:
    """A JSONL of conflict cases (``evals/conflicts.jsonl``): each has its own small set of articles."""
    try:
        with path.open(encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        return "articles" in json.loads(first)
    except (OSError, ValueError):
        return False


def conflict_detection(path: Path) -> dict[str, Any]:
    """Precision and recall of ``conflicts.find_conflicts`` on hand-written cases: articles that
    disagree, agree in other words, or give unrelated figures. Each case's answer sentence cites
    its article; every article is one evidence item, as the model would be shown them. No
    retrieval and no model: this measures the detector, given an answer and its evidence."""
    import datetime as dt_

    from .conflicts import find_conflicts
    from .types import AnswerSentence, Article, Chunk, Evidence, Passage

    rows, tp, fp, fn = [], 0, 0, 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        evidence = []
        for n, a in enumerate(case["articles"], 1):
            art = Article(id=a["id"], title=a.get("title", a["id"]), text=a["text"],
                          published=dt_.date.fromisoformat(a["date"]) if a.get("date") else None)
            chunk = Chunk(id=f"{art.id}#0", article_id=art.id, text=art.text, start=0, end=len(art.text), position=0)
            evidence.append(Evidence(n, Passage(chunk, art, 1.0, n), 0, len(art.text)))
        cites = tuple(e.n for e in evidence if e.passage.article.id in case["cites"])
        found = find_conflicts(case["question"], [AnswerSentence(case["answer"], cites)], evidence)
        got = {s.value.lower() for c in found for s in c.sides if not s.answered}
        want = {v.lower() for v in case["conflicts"]}
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
        rows.append({"id": case["id"], "expected": sorted(want), "found": sorted(got), "ok": got == want})
    return {"cases": len(rows), "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "wrong": [r for r in rows if not r["ok"]], "rows": rows}

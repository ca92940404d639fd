"""Eval harness: metric functions on hand-built records, the support scorer against hand labels,
and an end-to-end `qa-bot eval` run with the real model and a --fail-under gate."""

from __future__ import annotations

import json

import pytest

from qa_bot import evaluation as ev
from tests.conftest import DATA, ROOT


def rec(answerable=True, abstained=False, answer="", gold=(), retrieved=(), doc_ids=("a",), sentences=(),
        total=1.0, ttft=0.5, draft_supported=()):
    return {"answerable": answerable, "abstained": abstained, "answer": answer, "gold": list(gold),
            "retrieved": list(retrieved), "doc_ids": list(doc_ids) if answerable else [],
            "sentences": list(sentences), "draft_supported": list(draft_supported),
            "timings": {"total_s": total, "ttft_s": ttft}}


def sent(cited_supported=True, citation_support=(True,), retrieved_supported=True):
    return {"cited_supported": cited_supported, "citation_support": list(citation_support),
            "retrieved_supported": retrieved_supported}


def test_normalisation_handles_number_formats_case_and_articles():
    assert ev.contains_gold("It will cost $12,600,000 in total.", ["$12.6 million"])
    assert ev.contains_gold("About 11000 cars", ["11,000"])
    assert ev.contains_gold("THE Harbor Bridge.", ["harbor bridge"])
    assert not ev.contains_gold("about 1100 cars", ["11,000"])
    assert not ev.contains_gold("Marchand", ["March"])  # whole words only
    assert ev.contains_gold("Pellston and Dunmore share the bridge", ["Pellston & Dunmore"])
    # typographic quotes and dashes are punctuation like their ASCII forms
    assert ev.contains_gold('Her pick is "Harbor Lights," the 1975 film.', ["\u201cHarbor Lights\u201d"])
    assert ev.contains_gold("They won 84\u201382 at home.", ["84-82"])
    assert not ev.contains_gold('Her pick is "Harbor Nights."', ["\u201cHarbor Lights\u201d"])
    assert ev.token_f1("Steven Mnuchin", "Mnuchin") == pytest.approx(2 / 3)


def test_answer_recall_counts_gold_tokens_said_in_other_words():
    assert ev.token_recall("The plan aims to cut cancer deaths by at least 50%.", "reduce cancer deaths by at least 50%") \
        == pytest.approx(6 / 7)
    assert ev.token_recall("Okafor cut the ribbon.", "Mayor Lena Okafor") == pytest.approx(1 / 3)
    assert ev.token_recall("The Tigers from Northfield won.", "Northfield Tigers") == 1.0
    assert ev.token_recall("anything", "") == 0.0
    m = ev.compute_metrics([rec(answer="They cut cancer deaths by at least 50% [1]",
                                gold=["reduce cancer deaths by at least 50%"]),
                            rec(abstained=True, answer="The articles don't say.", gold=["x"])])
    assert m["answer_accuracy"] == 0.0 and m["answer_recall"] == pytest.approx(3 / 7)
    assert m["answer_correct_lenient"] == 0.5


def test_lenient_threshold_agrees_with_hand_labels():
    """40 verbose answers written and labelled by the team (tests/data/answer_labels.jsonl).

    Measured at LENIENT_RECALL = 0.65: 34/40 agree (0.85), 2 of the 20 wrong answers accepted;
    strict containment agrees on 23/40. Floors: 0.80 agreement and at most 3 false accepts, i.e.
    two more disagreements or one more false accept fail the test.
    """
    rows = [json.loads(line) for line in (DATA / "answer_labels.jsonl").read_text().splitlines()]
    assert len(rows) == 40 and sum(r["correct"] for r in rows) == 20
    lenient = [ev.token_recall(r["answer"], r["gold"]) >= ev.LENIENT_RECALL for r in rows]
    agree = sum(v == r["correct"] for v, r in zip(lenient, rows, strict=True))
    false_accepts = sum(v and not r["correct"] for v, r in zip(lenient, rows, strict=True))
    strict = sum(ev.contains_gold(r["answer"], [r["gold"]]) == r["correct"] for r in rows)
    assert agree >= 32 and false_accepts <= 3 and agree > strict


def test_perfect_run_scores_one_everywhere():
    good = rec(answer="by March 1 [1]", gold=["March 1"], retrieved=["a", "b"], sentences=[sent()],
               draft_supported=[True])
    unans = rec(answerable=False, abstained=True, answer="The articles don't say.")
    m = ev.compute_metrics([good, unans])
    for name in ("retrieval_recall_at_5", "retrieval_recall_at_10", "retrieval_mrr", "answer_accuracy",
                 "citation_precision", "citation_recall", "faithfulness", "draft_faithfulness",
                 "abstention_precision", "abstention_recall"):
        assert m[name] == 1.0, name
    assert m["false_abstention_rate"] == 0.0


def test_worst_run_scores_zero_everywhere():
    wrong = rec(answer="by June 9 [1]", gold=["March 1"], retrieved=["x"] * 12,
                sentences=[sent(False, (False,), False)], draft_supported=[False])
    declined = rec(abstained=True, answer="The articles don't say.", gold=["x"], retrieved=["x"])
    guessed = rec(answerable=False, abstained=False, answer="Canberra [1]", sentences=[sent(False, (False,), False)])
    m = ev.compute_metrics([wrong, declined, guessed])
    for name in ("retrieval_recall_at_5", "retrieval_recall_at_10", "retrieval_mrr", "answer_accuracy", "answer_f1",
                 "citation_precision", "citation_recall", "faithfulness", "draft_faithfulness",
                 "abstention_precision", "abstention_recall"):
        assert m[name] == 0.0, name
    assert m["false_abstention_rate"] == 0.5


def test_precision_when_answering_counts_answers_to_unanswerable_questions_as_wrong():
    right = rec(answer="by March 1 [1]", gold=["March 1"])
    wrong = rec(answer="by June 9 [1]", gold=["March 1"])
    declined = rec(abstained=True, answer="The articles don't say.", gold=["March 1"])
    guessed = rec(answerable=False, answer="Canberra [1]")
    refused = rec(answerable=False, abstained=True, answer="The articles don't say.")
    m = ev.compute_metrics([right, wrong, declined, guessed, refused])
    assert m["answer_precision"] == pytest.approx(1 / 3)  # 3 answers given, 1 right; declines don't count
    assert ev.compute_metrics([declined, refused])["answer_precision"] is None


def test_exact_mcnemar_p_values():
    assert ev.mcnemar_exact(0, 0) == 1.0
    assert ev.mcnemar_exact(3, 3) == 1.0
    assert ev.mcnemar_exact(5, 0) == pytest.approx(2 / 32)
    # the held-out swing: 17 lost, 5 gained -> p = 0.017
    assert ev.mcnemar_exact(17, 5) == pytest.approx(0.0169, abs=5e-4)
    assert ev.mcnemar_exact(5, 17) == ev.mcnemar_exact(17, 5)


def test_paired_comparison_counts_questions_gained_and_lost_by_id():
    def r(i, right=True, answerable=True, abstained=False):
        out = rec(answerable=answerable, abstained=abstained, gold=["Paris"] if answerable else [],
                  answer="The articles don't say." if abstained else ("Paris [1]" if right else "Rome [1]"))
        return {**out, "id": i}

    old = [r("a"), r("b"), r("c", right=False), r("d", abstained=True), r("u", answerable=False),
           r("v", answerable=False, abstained=True), r("only-old")]
    new = [r("a"), r("b", right=False), r("c"), r("d"), r("u", answerable=False, abstained=True),
           r("v", answerable=False, abstained=True), r("only-new")]
    acc, declined, false_abst = ev.paired(old, new)
    assert (acc.over, acc.both, acc.gained, acc.lost) == (4, 1, ("c", "d"), ("b",))
    assert (declined.over, declined.gained, declined.lost) == (2, ("u",), ())
    assert (false_abst.gained, false_abst.lost) == ((), ("d",))
    assert acc.p == pytest.approx(1.0)
    lines = "\n".join(ev.compare({"metrics": {}, "records": old}, {"metrics": {}, "records": new}))
    assert "old 2/4 -> new 3/4: +2 -1" in lines and "+ c, d" in lines and "- b" in lines


def test_outcomes_say_whether_a_miss_had_the_gold_in_front_of_the_model(tmp_path):
    shown = ["Harbor Bridge reopens (2026-05-01)\nThe Harbor Bridge reopens on Monday after repairs."]
    elsewhere = ["Pellston council meets (2026-05-01)\nThe council met on Tuesday."]

    def r(i, answer, seen, abstained=False, why="", answerable=True):
        return {**rec(answerable=answerable, abstained=abstained, answer=answer, gold=["Monday"] if answerable else []),
                "id": i, "question": "When does the Harbor Bridge reopen?", "shown": seen, "abstain_reason": why}

    records = [
        r("right", "It reopens on Monday [1].", shown),
        r("misread", "It reopens on Friday [1].", shown),  # the gold was there: the reader's miss
        r("unseen", "It reopens on Friday [1].", elsewhere),  # never shown: selection's or retrieval's
        r("declined-seen", "The articles don't say.", shown, abstained=True, why="unsupported"),
        r("declined-unseen", "The articles don't say.", elsewhere, abstained=True, why="model_not_found"),
        r("refused", "The articles don't say.", elsewhere, abstained=True, answerable=False),
        r("guessed", "It reopens on Friday [1].", elsewhere, answerable=False),
    ]
    assert list(ev.outcome_counts(records).values()) == [1, 1, 1, 1, 1, 1, 1]
    assert ev.decline_reasons(records) == {"declined, gold shown": {"unsupported": 1},
                                           "declined, gold not shown": {"model_not_found": 1}}
    # a record written before the evidence was kept is not guessed at
    old = {k: v for k, v in r("old", "It reopens on Friday [1].", shown).items() if k != "shown"}
    assert ev.outcome(old) == "wrong, evidence not recorded"

    ev.write_results(tmp_path, records, {"dataset": "t.jsonl"})
    report = (tmp_path / "report.md").read_text()
    assert "| wrong, gold shown | 1 |" in report and "| declined, gold not shown | 1 (model_not_found 1) |" in report
    assert json.loads((tmp_path / "results.json").read_text())["outcomes"]["unanswerable, answered"] == 1
    lines = ev.compare({"records": [old]}, {"records": records[1:2]})
    assert any(x.split() == ["wrong,", "gold", "shown", "0", "->", "1"] for x in lines)
    assert any(x.split() == ["wrong,", "evidence", "not", "recorded", "1", "->", "0"] for x in lines)
    # question by question: which outcome each changed question left, and for which
    fixed = [{**records[1], "answer": "It reopens on Monday [1]."}, {**records[2], "abstained": True,
                                                                     "abstain_reason": "unsupported"}]
    assert ev.outcome_moves(records, fixed) == {("wrong, gold shown", "right"): 1,
                                                ("wrong, gold not shown", "declined, gold not shown"): 1}
    assert "    wrong, gold shown -> right: 1" in ev.compare({"records": records}, {"records": fixed})


def test_bootstrap_interval_brackets_the_metric_and_narrows_with_more_questions():
    def recs(n):
        return [{**rec(answer="Paris [1]" if i % 4 else "Rome [1]", gold=["Paris"], retrieved=["a"]), "id": str(i)}
                for i in range(n)]

    small, large = ev.bootstrap_intervals(recs(20)), ev.bootstrap_intervals(recs(400))
    for iv in (small, large):
        lo, hi = iv["answer_accuracy"]
        assert lo < 0.75 < hi
    assert large["answer_accuracy"][1] - large["answer_accuracy"][0] < small["answer_accuracy"][1] - small["answer_accuracy"][0]
    assert large["retrieval_recall_at_5"] == (1.0, 1.0)


def test_rank_based_metrics_and_latency_percentiles():
    recs = [rec(retrieved=["x", "x", "a"], total=t) for t in (1, 2, 3, 4, 10)]
    recs.append(rec(retrieved=["x"] * 7 + ["a"], total=5))
    m = ev.compute_metrics(recs)
    assert m["retrieval_mrr"] == pytest.approx((5 / 3 + 1 / 8) / 6)
    assert m["retrieval_recall_at_5"] == pytest.approx(5 / 6) and m["retrieval_recall_at_10"] == 1.0
    assert m["latency_p50_s"] in (3, 4) and m["latency_p95_s"] == 10


def test_citation_judgements_alce_style(embedder):
    from qa_bot.fidelity import SupportScorer

    s = SupportScorer(embedder.embed)
    a = "The Harbor Bridge reopened on Monday after repairs that cost $48.5 million."
    b = "The festival's pie contest was won by Tomas Brandt."
    together, useful = ev.citation_judgements(s, "The bridge repairs cost $48.5 million.", [a, b])
    assert together and useful == [True, False]
    together, useful = ev.citation_judgements(s, "The bridge repairs cost $48.5 million.", [b])
    assert not together and useful == [False]


def test_support_scorer_agrees_with_hand_labels(embedder):
    """The 38 hand-labelled pairs the checker was tuned on (no regression there); its agreement on
    held-out pairs is measured in test_judges.py.

    Measured agreement 0.84 (32/38); the misses are negations/contradictions that share the
    passage's words ("cancelled its tariff threat") and a paraphrase ("the Asian nation" for
    China). The floor of 0.80 lets no more than one further pair regress.
    """
    from qa_bot.fidelity import SupportScorer

    s = SupportScorer(embedder.embed)
    rows = [json.loads(line) for line in (DATA / "support_pairs.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["kind"].startswith("original 38")]  # the pairs it was tuned on; see test_judges.py
    assert len(rows) == 38
    verdicts = [(s.score(r["sentence"], [r["passage"]]).supported, r["supported"], r["sentence"]) for r in rows]
    agreement = sum(v == y for v, y, _ in verdicts) / len(rows)
    assert agreement >= 0.80, [t for v, y, t in verdicts if v != y]
    # a fabricated number is never accepted
    assert not any(v for v, y, t in verdicts if not y and any(ch.isdigit() for ch in t) and "Dec" not in t)


def test_dataset_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "q1", "question": "x"}\n{"question": "no id"}\n')
    with pytest.raises(ev.InputError, match="bad.jsonl:2"):
        ev.load_dataset(bad)
    with pytest.raises(ev.InputError, match="METRIC=VALUE"):
        ev.parse_gates(["accuracy>0.5"])


def test_seed_dataset_shape():
    items = ev.load_dataset(ROOT / "evals" / "seed.jsonl")
    assert len(items) >= 30 and sum(not i.answerable for i in items) >= 8
    assert all(i.answers and i.doc_ids for i in items if i.answerable)


@pytest.mark.integration
def test_eval_end_to_end_with_the_real_model_and_a_gate(tmp_path, llama_server):
    from tests.test_cli import qa

    out = tmp_path / "out"
    args = ["eval", "-q", "evals/seed.jsonl", "--corpus", "corpus", "--out", str(out), "--limit", "3"]
    p = qa(*args, "--fail-under", "answer_accuracy=0.6", "retrieval_recall_at_5=0.99", "citation_recall=0.6",
           data_dir=tmp_path / "data")
    assert p.returncode == 0, p.stdout + p.stderr
    results = json.loads((out / "results.json").read_text())
    assert len(results["records"]) == 3 and set(ev.METRICS) <= set(results["metrics"])
    for r in results["records"]:  # what a reader needs to tell why a question failed
        assert len(r["retrieved_scores"]) == len(r["retrieved"]) > 0
        assert all(-1.0 <= x <= 1.0 for x in r["retrieved_scores"])
        assert bool(r["abstain_reason"]) == r["abstained"]
        if r["draft"]:  # the local model's probability for each token of its draft, to calibrate a decline rule on
            assert "".join(t for t, _ in r["draft_token_probs"]).strip() == r["draft"].strip()
    for f in ("report.md", "report.html", "metrics.png", "latency.png"):
        assert (out / f).stat().st_size > 0
    # the independent judge (default: the local model) ran after the answers and is reported beside the checker
    assert results["meta"]["independent_judge"] == "local" and results["meta"]["judge_s_per_answer"] > 0
    for m in ev.JUDGE_METRICS:
        assert 0.0 <= results["metrics"][m] <= 1.0
    answered = [r for r in results["records"] if not r["abstained"]]
    assert all(len(r["judge"]["sentences"]) == len(r["sentences"]) for r in answered)
    assert all(0.0 <= s["p"] <= 1.0 for r in answered for s in r["judge"]["sentences"])
    assert "Independent judge: **local**" in (out / "report.md").read_text()
    assert "judge: local" in p.stdout and "disagrees with the checker" in p.stdout
    cached = len((out / "judge-local.jsonl").read_text().splitlines())
    # one cache line per distinct (sentence, cited passages) judged: two questions may share an answer
    judged = {(s["text"], tuple(r["shown"][n - 1] for n in s["citations"] if 0 < n <= len(r["shown"])))
              for r in answered for s in r["sentences"] if s["citations"]}
    assert cached >= len(judged) > 0
    # resuming does not re-run answered questions, and an impossible gate fails naming the metric
    p = qa(*args, "--compare", str(out / "results.json"), "--fail-under", "answer_accuracy=1.01",
           data_dir=tmp_path / "data")
    assert p.returncode == 1 and "answer_accuracy" in p.stderr
    assert "answer_accuracy" in p.stdout and "->" in p.stdout
    assert len((out / "records.jsonl").read_text().splitlines()) == 3
    assert len((out / "judge-local.jsonl").read_text().splitlines()) == cached  # re-run judged from the cache
    # the lexical judge is the checker itself: it agrees with it everywhere, by construction
    p = qa(*args, "--judge", "lexical", data_dir=tmp_path / "data")
    lex = json.loads((out / "results.json").read_text())
    assert lex["meta"]["independent_judge"] == "lexical" and not ev.disagreements(lex["records"])
    # a server judge without a server named is a one-line error before any answering
    p = qa(*args, "--judge", "server", data_dir=tmp_path / "data")
    assert p.returncode == 2 and "QA_BOT_JUDGE_URL" in p.stderr
    # ... and with one (a real llama.cpp server on loopback), the answers are reused and judged there
    p = qa(*args, "--judge", "server", data_dir=tmp_path / "data",
           env={"QA_BOT_JUDGE_URL": llama_server, "QA_BOT_JUDGE_MODEL": "qwen-small"})
    assert p.returncode == 0, p.stderr
    served = json.loads((out / "results.json").read_text())
    assert served["meta"]["independent_judge"] == "server"
    assert all(0.0 <= served["metrics"][m] <= 1.0 for m in ev.JUDGE_METRICS)
    assert (out / "judge-server.jsonl").read_text().strip()


def test_judge_metrics_come_from_the_judge_not_the_checker(embedder):
    """Hand-built records: the checker kept both sentences; the judge (here the lexical scorer,
    a real one) rejects the invented number, so judge figures fall while the checker's stay 1.0."""
    from qa_bot.fidelity import SupportScorer
    from qa_bot.judge import LexicalJudge

    shown = ["Harbor bridge (2024-05-14)\\nThe bridge repairs cost $48.5 million and took two years."]
    rec = {"id": "q", "question": "?", "gold": ["$48.5 million"], "doc_ids": ["a"], "answerable": True,
           "answer": "x", "abstained": False, "abstain_reason": "", "citations": [], "retrieved": ["a"],
           "retrieved_scores": [0.9], "shown": shown, "timings": {"total_s": 1.0},
           "draft": "The repairs cost $48.5 million [1]. The repairs cost $90 million [1].",
           "draft_supported": [True, True],
           "sentences": [{"text": "The repairs cost $48.5 million.", "citations": [1], "cited_supported": True,
                          "citation_support": [True], "retrieved_supported": True},
                         {"text": "The repairs cost $90 million.", "citations": [1], "cited_supported": True,
                          "citation_support": [True], "retrieved_supported": True}]}
    rec["judge"] = ev.judge_record(rec, LexicalJudge(SupportScorer(embedder.embed)))
    m = ev.compute_metrics([rec])
    assert m["citation_recall"] == 1.0 and m["faithfulness"] == 1.0
    assert m["judge_citation_recall"] == 0.5 and m["judge_faithfulness"] == 0.5
    assert m["judge_citation_precision"] == 0.5 and m["judge_draft_faithfulness"] == 0.5
    [d] = ev.disagreements([rec])
    assert d["sentence"] == "The repairs cost $90 million." and d["checker"] and not d["judge"]


def test_compare_recomputes_metrics_an_older_results_file_lacks():
    old_records = [{**rec(answer="Paris [1]", gold=["Paris"]), "id": "a"}]
    old = {"metrics": {"answer_accuracy": 1.0}, "records": old_records}  # written before answer_precision existed
    new = {"metrics": ev.compute_metrics(old_records), "records": old_records}
    line = next(x for x in ev.compare(old, new) if x.startswith("answer_precision"))
    assert line.split()[1:4] == ["1.000", "->", "1.000"]

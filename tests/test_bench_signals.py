"""bench/signals.py: which recorded signal tells a wrong answer from a right one (no model)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("signals", Path(__file__).resolve().parents[1] / "bench" / "signals.py")
signals = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(signals)


def record(rid: str, answer: str, gold: str, probs: list[tuple[str, float]], answerable: bool = True,
           abstained: bool = False, question: str = "Which team won the cup?") -> dict:
    return {"id": rid, "question": question, "gold": [gold], "answerable": answerable, "abstained": abstained,
            "answer": answer, "draft_token_probs": [list(p) for p in probs], "answer_check": None}


def test_word_tokens_leave_out_citation_marks_and_glue_word_pieces():
    probs = [("The", 0.6), (" Pan", 0.5), ("thers", 0.9), (" won", 0.8), (" [", 0.4), ("1", 0.9), ("]", 0.9), (".", 0.7)]
    assert signals.word_tokens(probs) == [("The", [0.6]), ("Panthers", [0.5, 0.9]), ("won", [0.8])]


def test_the_answer_word_is_the_first_word_the_question_lacks():
    r = record("a", "The team that won the cup was the Panthers [1].", "Panthers",
               [("The", 0.9), (" team", 0.95), (" that", 0.9), (" won", 0.99), (" the", 0.9), (" cup", 0.99),
                (" was", 0.8), (" the", 0.7), (" Pan", 0.31), ("thers", 0.99), (" [", 0.5), ("1", 0.9), ("]", 0.9)])
    assert signals.answer_word(r) == 0.31  # not "The" (0.9): the premise restated is no answer
    assert signals.first_token(r) == 0.9
    assert signals.lowest_token(r) == 0.31


def test_auc_is_one_for_a_perfect_split_one_half_for_none_and_counts_ties_half():
    assert signals.auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert signals.auc([0.1, 0.2], [0.9, 0.8]) == 0.0
    assert signals.auc([0.5, 0.5], [0.5, 0.5]) == 0.5
    assert signals.auc([0.9, 0.3], [0.5]) == 0.5
    assert signals.auc([], [0.5]) is None


def test_declining_below_a_threshold_is_counted_on_the_same_questions():
    records = [
        record("r1", "Panthers won [1].", "Panthers", [("Pan", 0.9), ("thers", 0.9), (" won", 0.9)]),
        record("r2", "Oilers won [1].", "Oilers", [("Oil", 0.25), ("ers", 0.9), (" won", 0.9)]),  # right, unsure
        record("w1", "Stars won [1].", "Panthers", [("Stars", 0.1), (" won", 0.9)]),  # wrong, unsure
        record("u1", "Kings won [1].", "", [("Kings", 0.15), (" won", 0.9)], answerable=False),
        record("u2", "", "", [], answerable=False, abstained=True),
    ]
    d = signals.declines(records, signals.first_token, 0.2)
    assert (d["right_lost"], d["wrong_declined"], d["unanswerable_declined"]) == (0, 1, 1)
    assert d["precision"] == 1.0 and d["accuracy"] == pytest.approx(2 / 3) and d["abstention_recall"] == 1.0
    d = signals.declines(records, signals.first_token, 0.3)
    assert d["right_lost"] == 1 and d["false_abstention"] == pytest.approx(2 / 3)
    right, wrong = signals.scores(records, signals.first_token)
    assert sorted(right) == [0.25, 0.9] and sorted(wrong) == [0.1, 0.15]  # the decline (u2) is no answer


def test_agreement_with_another_run_is_a_signal_and_the_script_prints_each(tmp_path, capsys):
    mine = [record("q1", "The Panthers won [1].", "Panthers", [("The", 0.9), (" Pan", 0.8), ("thers", 0.9)]),
            record("q2", "The Stars won [2].", "Panthers", [("The", 0.9), (" Stars", 0.4)])]
    other = [dict(mine[0], answer="Florida Panthers [1]."), dict(mine[1], answer="", abstained=True)]
    agrees = signals.agrees_with(other)
    assert agrees(mine[0]) == 1.0 and agrees(mine[1]) == 0.0
    for name, rows in (("a", mine), ("b", other)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "records.jsonl").write_text("\n".join(map(json.dumps, rows)), encoding="utf-8")
    assert signals.main([str(tmp_path / "a"), "--other", str(tmp_path / "b"), "--declines"]) == 0
    out = capsys.readouterr().out
    assert "2 answered, 1 right" in out
    agreement = next(line for line in out.splitlines() if line.startswith("agrees:b"))
    assert agreement.split()[1:] == ["1", "1", "1.000"]  # 1 right, 1 wrong; it agreed with the right one only
    assert "right lost   0, wrong declined   1" in out

"""The eval's independent fidelity judges against the team's hand labels.

tests/data/support_pairs.jsonl: 123 hand-labelled (sentence, passage, supported?) pairs, the
38 used to tune the answer side's lexical checker plus 85 written for the judges with the hard
cases on purpose (negation, swapped names, roles, numbers and dates, partial support,
misattributed or altered quotations, the right fact from the wrong passage). Split once: the
38 and 21 more are the calibration half (59), the other 64 the test half; thresholds are fitted
on the first only.

Measured 2026-11-29 (bench/judge_agreement.py), test half:
- local 1.5B judge (threshold 0.5, fitted on the calibration half): agreement 0.859 (55/64),
  false accepts 0.242 (8 of 33 unsupported pairs);
- lexical checker: agreement 0.703 (45/64), false accepts 0.515 (17/33).
The floors below sit 3 pairs under each measurement.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from qa_bot.judge import LocalJudge, ServerJudge, agreement, calibrate, load_pairs, p_yes_from_choice
from tests.conftest import DATA

PAIRS = load_pairs(DATA / "support_pairs.jsonl")
CALIB = [r for r in PAIRS if r["split"] == "calib"]
TEST = [r for r in PAIRS if r["split"] == "test"]


def test_the_labels_are_enough_balanced_hard_and_split_once():
    assert len(PAIRS) >= 120 and abs(len(CALIB) - len(TEST)) <= 6
    for half in (CALIB, TEST):
        share = sum(r["supported"] for r in half) / len(half)
        assert 0.4 <= share <= 0.6
    kinds = Counter(r["kind"] for r in TEST)
    for hard in ("negation", "swapped roles", "partial support", "right fact, wrong passage", "quotation misattributed"):
        assert kinds[hard] >= 1, hard
    keys = [(r["sentence"], r["passage"]) for r in PAIRS]
    assert len(set(keys)) == len(keys)


def test_calibration_picks_the_best_agreement_and_breaks_ties_against_false_accepts():
    probs, labels = [0.9, 0.8, 0.55, 0.45, 0.3, 0.1], [True, True, True, False, False, False]
    assert calibrate(probs, labels) == 0.5  # 0.5 alone separates them
    # 0.3 and 0.7-0.9 each agree on 3 of 4; 0.3 accepts an unsupported one, so the lowest of the rest
    assert calibrate([0.9, 0.35, 0.65, 0.2], [True, True, False, False]) == 0.7


@pytest.fixture(scope="module")
def local_probs(seed_assistant):
    """P(yes) of the local 1.5B judge on the test half. The calibration half is for fitting the
    threshold, which `bench/judge_agreement.py` does (it printed 0.5 on the machine that set
    DEFAULT_THRESHOLD, 0.6 on an AVX2-only one, where 0.5 was one pair behind); re-fit it there
    when the model changes, not in every test run (59 more judgements, ~40 s here)."""
    judge = LocalJudge(seed_assistant.llm)
    # in passage order: the judge reuses the KV cache of the prompt it shares with the last call
    # (the passage comes first), so only the statement is read anew when the passage repeats
    return judge, {id(r): judge.probability(r["sentence"], [r["passage"]]) for r in sorted(TEST, key=lambda r: r["passage"])}


@pytest.mark.integration
def test_local_judge_agrees_with_the_held_out_labels(local_probs):
    judge, probs = local_probs
    agree, false_accept = agreement([probs[id(r)] >= judge.threshold for r in TEST], [r["supported"] for r in TEST])
    assert agree >= 0.81, agree  # measured 0.859
    assert false_accept <= 0.34, false_accept  # measured 0.242


def test_lexical_checker_on_the_held_out_labels(embedder):
    """The answer side's own checker, measured the same way: the reason an independent judge exists."""
    from qa_bot.fidelity import SupportScorer

    s = SupportScorer(embedder.embed)
    verdicts = [s.score(r["sentence"], [r["passage"]]).supported for r in TEST]
    agree, false_accept = agreement(verdicts, [r["supported"] for r in TEST])
    assert agree >= 0.65, agree  # measured 0.703
    assert false_accept <= 0.61, false_accept  # measured 0.515


def test_p_yes_is_read_from_the_first_tokens_log_probabilities():
    import math

    choice = {"message": {"content": "Yes"}, "logprobs": {"content": [{"token": "Yes", "logprob": math.log(0.6),
              "top_logprobs": [{"token": "Yes", "logprob": math.log(0.6)}, {"token": "No", "logprob": math.log(0.2)},
                               {"token": " yes", "logprob": math.log(0.1)}]}]}}
    assert p_yes_from_choice(choice) == pytest.approx(0.7 / 0.9)
    assert p_yes_from_choice({"message": {"content": "no."}}) == 0.0  # a server without logprobs: the word it wrote
    assert p_yes_from_choice({"message": {"content": "Yes"}}) == 1.0


@pytest.mark.integration
def test_server_judge_against_a_real_llama_cpp_server(llama_server, tmp_path):
    judge = ServerJudge(llama_server, "qwen-small", cache=tmp_path / "cache.jsonl")
    clear = [r for r in TEST if r["kind"] in ("negation", "paraphrase")][:8]
    probs = [judge.probability(r["sentence"], [r["passage"]]) for r in clear]
    assert all(0.0 <= p <= 1.0 for p in probs)
    # even the 0.5B model ranks a supported paraphrase above a negation more often than not
    yes = [p for p, r in zip(probs, clear, strict=True) if r["supported"]]
    no = [p for p, r in zip(probs, clear, strict=True) if not r["supported"]]
    assert yes and no and sum(yes) / len(yes) > sum(no) / len(no)
    # verdicts are cached by (sentence, passages, model): a second judge reads them back
    again = ServerJudge(llama_server, "qwen-small", cache=tmp_path / "cache.jsonl")
    again._score = None  # any call to the server would now fail
    assert [again.probability(r["sentence"], [r["passage"]]) for r in clear] == [round(p, 5) for p in probs]
    rows = [json.loads(line) for line in (tmp_path / "cache.jsonl").read_text().splitlines()]
    assert len(rows) == len(clear) and len({r["key"] for r in rows}) == len(clear)
    assert [r["p"] for r in rows] == [round(p, 5) for p in probs]  # one verdict a line, as judged


def test_an_answer_is_judged_against_everything_shown_in_one_run_of_calls():
    """The calls that read all shown passages come back to back (the model's cached prefix then
    covers the passages), and an article's headline is written once however many items it has."""
    from qa_bot.evaluation import judge_record
    from qa_bot.judge import Judge, _passages_text

    class Recorder(Judge):
        name = "recorder"

        def __init__(self) -> None:
            super().__init__(None)
            self.calls: list[int] = []

        def _score(self, sentence, passages):
            self.calls.append(len(passages))
            return 0.0  # rejects everything, so every fallback runs

    shown = ["Storm hits coast (2024-01-02)\nWinds reached 100 km/h.",
             "Storm hits coast (2024-01-02)\nPower was cut to 5,000 homes.",
             "Mayor speaks (2024-01-03)\nThe mayor thanked crews."]
    rec = {"abstained": False, "shown": shown, "draft": None, "sentences": [
        {"text": "Winds reached 100 km/h.", "citations": [1]},
        {"text": "Power was cut.", "citations": [2, 3]},
        {"text": "The mayor spoke.", "citations": [3]}]}
    judge = Recorder()
    out = judge_record(rec, judge)
    assert [s["retrieved_supported"] for s in out["sentences"]] == [False, False, False]
    whole = [i for i, n in enumerate(judge.calls) if n == len(shown)]
    assert len(whole) == 3 and whole == list(range(whole[0], whole[0] + 3))
    text = _passages_text(shown)
    assert text.count("Storm hits coast") == 1 and "5,000 homes" in text and "Mayor speaks" in text

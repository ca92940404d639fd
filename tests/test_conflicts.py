"""Reports that differ (conflicts.py): another article's value of the kind asked for is said and
cited beside the answer's, newest first; a figure about something else, or the same value
restated, is not a conflict."""

from __future__ import annotations

import datetime as dt
import json

from qa_bot.conflicts import conflict_note, find_conflicts
from qa_bot.types import Answer, AnswerSentence, Article, Chunk, Evidence, Passage


def _evidence(*items: tuple[str, str, dt.date | None]) -> list[Evidence]:
    """Evidence items [1]..[n], each (article id, text, published)."""
    out = []
    for n, (aid, text, day) in enumerate(items, 1):
        article = Article(id=aid, title=f"Story {aid}", text=text, published=day)
        chunk = Chunk(id=f"{aid}#0", article_id=aid, text=text, start=0, end=len(text), position=0)
        out.append(Evidence(n, Passage(chunk, article, 0.5, n), 0, len(text)))
    return out


MARCH_1, MARCH_3 = dt.date(2024, 3, 1), dt.date(2024, 3, 3)


def test_two_tolls_from_two_reports_are_both_said_newest_first():
    q = "How many people died in the Dunmore flood?"
    ev = _evidence(("early", "Officials said 35 people died in the Dunmore flood on Monday.", MARCH_1),
                   ("late", "The Dunmore flood has killed 41 people, officials said on Wednesday.", MARCH_3))
    answer = [AnswerSentence("35 people died in the Dunmore flood.", (1,))]
    [c] = find_conflicts(q, answer, ev)
    assert [(s.value, s.n, s.published, s.answered) for s in c.sides] == [("41", 2, MARCH_3, False),
                                                                         ("35", 1, MARCH_1, True)]
    note = conflict_note([c])
    assert note == "Reports differ: as of March 3, 2024: 41 [2]; an earlier report (as of March 1, 2024): 35 [1]."


def test_a_figure_about_something_else_is_not_a_conflict():
    q = "How many people died in the Dunmore flood?"
    ev = _evidence(("a", "The Dunmore flood killed 41 people, officials said.", MARCH_3),
                   ("b", "In the Dunmore flood 35 people were injured and 300 homes were destroyed.", MARCH_1))
    assert find_conflicts(q, [AnswerSentence("The flood killed 41 people.", (1,))], ev) == ()
    # two quantities in one story, even one article's own: not a disagreement
    ev = _evidence(("a", "The Dunmore flood killed 41 people and damaged 300 homes.", MARCH_3))
    assert find_conflicts(q, [AnswerSentence("The flood killed 41 people.", (1,))], ev) == ()


def test_a_value_restated_by_several_articles_counts_once_and_agreement_is_no_conflict():
    q = "How many people died in the Dunmore flood?"
    ev = _evidence(("a", "The Dunmore flood killed 41 people.", MARCH_3),
                   ("b", "Officials said 41 people died in the Dunmore flood.", MARCH_1),
                   ("c", "The Dunmore flood death toll stood at 35 people.", dt.date(2024, 2, 28)),
                   ("d", "An early count put the Dunmore flood toll at 35 people dead.", dt.date(2024, 2, 29)))
    [c] = find_conflicts(q, [AnswerSentence("The flood killed 41 people.", (1,))], ev)
    assert [s.value for s in c.sides] == ["41", "35"] and [s.n for s in c.sides] == [1, 4]  # the newest "35"
    assert find_conflicts(q, [AnswerSentence("The flood killed 41 people.", (1,))], ev[:2]) == ()


def test_money_meets_money_and_dates_meet_dates_of_the_same_precision():
    q = "How much will the Harbor Bridge repair cost?"
    ev = _evidence(("a", "The Harbor Bridge repair will cost $48.5 million, the city said.", MARCH_3),
                   ("b", "The Harbor Bridge repair was first estimated to cost $40 million.", MARCH_1),
                   ("c", "The Harbor Bridge repair will take 14 months.", MARCH_1))
    [c] = find_conflicts(q, [AnswerSentence("The repair will cost $48.5 million.", (1,))], ev)
    assert [s.value for s in c.sides] == ["$48.5 million", "$40 million"]  # not "14" months
    q = "When will the Harbor Bridge reopen?"
    ev = _evidence(("a", "The Harbor Bridge will reopen on May 4, the mayor said.", MARCH_3),
                   ("b", "The Harbor Bridge is expected to reopen on April 20.", MARCH_1),
                   ("c", "The Harbor Bridge closed in 2023 and will reopen this year.", MARCH_1))
    [c] = find_conflicts(q, [AnswerSentence("It will reopen on May 4.", (1,))], ev)
    assert [s.value for s in c.sides] == ["May 4", "April 20"]  # the year 2023 is another precision


def test_a_name_for_who_conflicts_only_when_another_article_names_someone_else_for_it():
    q = "Who won the Pellston mayoral race?"
    ev = _evidence(("a", "Dana Whitfield won the Pellston mayoral race, results showed.", MARCH_3),
                   ("b", "Early results showed Omar Castell won the Pellston mayoral race.", MARCH_1),
                   ("c", "Whitfield thanked her campaign manager, Rita Lowe, on Tuesday.", MARCH_3))
    [c] = find_conflicts(q, [AnswerSentence("Dana Whitfield won the race.", (1,))], ev)
    assert [s.value for s in c.sides] == ["Dana Whitfield", "Omar Castell"]  # not Rita Lowe
    assert find_conflicts(q, [AnswerSentence("Dana Whitfield won the race.", (1,))], [ev[0], ev[2]]) == ()


def test_a_which_question_of_no_named_kind_compares_the_names_it_is_answered_with():
    """"Which vaccine" asks for no kind the question module names (a ``thing``), but an answer
    that names one can be contradicted by another report naming another; a lower-case answer
    ("cows") has no value to compare, and a name about something else is no conflict."""
    q = "Which vaccine will the Lowmoor clinic offer first?"
    ev = _evidence(("late", "The Lowmoor clinic will offer the Novaxin vaccine first, from Monday.", MARCH_3),
                   ("early", "The Lowmoor clinic said it would offer the Corvex vaccine first this autumn.", MARCH_1),
                   ("other", "Corvex also makes the Halden hospital's flu tests.", MARCH_3))
    answer = [AnswerSentence("The Lowmoor clinic will offer the Novaxin vaccine first.", (1,))]
    [c] = find_conflicts(q, answer, ev)
    assert [(s.value, s.n) for s in c.sides] == [("Novaxin", 1), ("Corvex", 2)]
    assert find_conflicts(q, answer, [ev[0], ev[2]]) == ()
    lower = [AnswerSentence("The clinic will offer flu shots first.", (1,))]
    assert find_conflicts(q, lower, ev) == ()


def test_questions_of_other_kinds_and_values_from_the_question_never_conflict():
    ev = _evidence(("a", "The council met in 2019 and approved 3 plans.", MARCH_3),
                   ("b", "The council met in 2019 and approved 5 plans.", MARCH_1))
    assert find_conflicts("Why did the council meet?", [AnswerSentence("To approve 3 plans.", (1,))], ev) == ()
    assert find_conflicts("What happened at the 2019 meeting of the council, when?",
                          [AnswerSentence("It met in 2019.", (1,))], ev) == ()


def test_the_answer_shows_the_note_its_json_lists_the_sides_and_the_eval_scores_the_body():
    q = "How many people died in the Dunmore flood?"
    ev = _evidence(("early", "Officials said 35 people died in the Dunmore flood.", MARCH_1),
                   ("late", "The Dunmore flood has killed 41 people, officials said.", MARCH_3))
    kept = (AnswerSentence("35 people died in the Dunmore flood.", (1,)),)
    conflicts = find_conflicts(q, kept, ev)
    note = conflict_note(conflicts)
    answer = Answer(q, f"35 people died in the Dunmore flood [1]. {note}", (), kept, False,
                    conflicts=conflicts, note=note)
    assert answer.body == "35 people died in the Dunmore flood [1]."
    assert " ".join(answer.pieces()) == answer.text
    linked = answer.pieces(link=lambda n, mark: f"<a>{mark}</a>")[-1]
    assert "<a>[2]</a>" in linked and "<a>[1]</a>" in linked
    sides = answer.to_dict()["conflicts"][0]["sides"]
    assert sides[0] == {"value": "41", "n": 2, "article_id": "late", "published": "2024-03-03", "answered": False}


def test_the_conflict_set_is_scored_by_qa_bot_eval_and_meets_its_bar(tmp_path):
    """evals/conflicts.jsonl: 40 cases the team wrote (reports that disagree, that agree in other
    words, that give unrelated figures or names); `qa-bot eval` scores the detector on it."""
    from tests.conftest import ROOT
    from tests.test_cli import qa

    p = qa("eval", str(ROOT / "evals" / "conflicts.jsonl"), "--out", str(tmp_path / "out"),
           "--fail-under", "conflict_precision=0.9", "conflict_recall=0.8", data_dir=tmp_path / "d")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "conflict cases           40" in p.stdout
    metrics = json.loads((tmp_path / "out" / "results.json").read_text())["metrics"]
    assert metrics["conflict_precision"] >= 0.9 and metrics["conflict_recall"] >= 0.8


def test_an_amount_is_dated_by_its_report_unless_the_question_names_the_date():
    from qa_bot.conflicts import dated_note

    ev = _evidence(("a", "The Dunmore flood has killed 41 people, officials said.", MARCH_3))
    kept = [AnswerSentence("The flood has killed 41 people.", (1,))]
    assert dated_note("How many people died in the Dunmore flood?", kept, ev) == "As of March 3, 2024 [1]."
    assert dated_note("How many people died in the Dunmore flood on March 2?", kept, ev) == ""
    assert dated_note("When did the Dunmore flood start?", kept, ev) == ""  # not an amount
    assert dated_note("How many people died in the Dunmore flood?",
                      [AnswerSentence("Dozens died.", (1,))], ev) == ""  # states no amount


def test_a_date_meets_only_a_date_of_its_precision_and_a_source_is_no_answer():
    q = "When will the next total eclipse be seen in Tolver?"
    ev = _evidence(("a", "The next total eclipse will be seen in Tolver on Aug. 23, 2044, astronomers said.", MARCH_3),
                   ("b", "This total eclipse will be seen in Tolver on April 8, a rare sight.", MARCH_1),
                   ("c", "The next total eclipse will be seen in Tolver on Aug. 12, 2046, an earlier table said.",
                    MARCH_1))
    kept = [AnswerSentence("It will be seen on Aug. 23, 2044.", (1,))]
    [c] = find_conflicts(q, kept, ev)
    assert [s.value for s in c.sides] == ["Aug. 23, 2044", "Aug. 12, 2046"]  # not "April 8": its year is unsaid
    q = "Who won the Pellston mayoral race?"
    ev = _evidence(("a", "Dana Whitfield won the Pellston mayoral race, results showed.", MARCH_3),
                   ("b", "The Pellston mayoral race was won narrowly, the winner told WPLN Radio on Tuesday.",
                    MARCH_1))
    assert find_conflicts(q, [AnswerSentence("Dana Whitfield won the race.", (1,))], ev) == ()  # a source

"""The answer-or-decline rules (policy.py), table-driven with true and false cases.

Each table is a rule a held-out failure taught us: premise echoes, answers with no name for a
"which company" question, modal "may" or vague "soon" taken for a time, "one of the largest"
or a year taken for an amount.
"""

from __future__ import annotations

import pytest

from qa_bot.policy import adds_to_question, asked_kind, gives_kind, model_declined, verdict
from qa_bot.types import AnswerSentence

PREMISE_Q = "After the council approved the budget on Monday, which firm won the stadium contract?"


@pytest.mark.parametrize(
    "question, answer, adds",
    [
        (PREMISE_Q, "The council approved the budget on Monday [2].", False),  # the premise, echoed
        (PREMISE_Q, "The council approved the budget [1].", False),
        (PREMISE_Q, "Halden Builders won the stadium contract [1].", True),
        ("Besides the parade, which event drew crowds?", "The parade drew large crowds [1].", False),
        ("Besides the parade, which event drew crowds?", "The fireworks show drew crowds [1].", True),
        # the premise in other words is still the premise
        ("Which dish did the diner add to attract a younger crowd?",
         "The diner added a new item to attract younger customers [1].", False),
        ("Which dish did the diner add to attract a younger crowd?", "The diner added crispy tofu bowls [1].", True),
        ("Why did some cities cancel their fireworks displays?", "Drought [1].", True),  # one word, all of it new
        ("Why did some cities cancel their fireworks displays?", "Some cities canceled their fireworks displays [1].", False),
        ("Why did some cities cancel their fireworks displays?", "The cities canceled them because of severe drought [1].", True),
        ("How many vehicles cross the bridge each day?", "About 11,000 vehicles cross each day [1].", True),
        # the premise restated around a one-word answer is an answer
        ("Which disease is spreading among cattle in the valley?",
         "The disease spreading among cattle in the valley is bluetongue [1].", True),
        ("What did the mayor say about the bridge?", "The mayor said the bridge was long overdue for repairs [1].", True),
    ],
)
def test_an_answer_must_add_to_the_question(question, answer, adds):
    assert adds_to_question(answer, question) is adds


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Which Ivy League school announced it will eliminate student loans?", "name"),
        ("Which food chain launched a redesigned menu?", "name"),
        ("Which high-ranking US official tested positive this week?", "name"),
        ("Who will travel to Beijing?", "name"),
        ("What country hosted the summit?", "name"),
        ("When will the vote happen?", "time"),
        ("How many homes were destroyed?", "quantity"),
        ("What did the mayor say about the bridge?", None),
        ("Why did the cities cancel their fireworks?", None),
        ("Which of the proposals did the council reject?", None),  # no named kind asked for
    ],
)
def test_what_kind_of_answer_a_question_asks_for(question, kind):
    assert asked_kind(question) == kind


@pytest.mark.parametrize(
    "question, answer, gives",
    [
        # names: the kind must be named, and not by the question itself
        ("Which company won the contract?", "Halden Builders won the contract [1].", True),
        ("Which company won the contract?", "Subway won it [1].", True),  # sentence-initial names count
        ("Which company won the contract?", "A local company won the contract [1].", False),
        ("Who was appointed to lead the inquiry?", "Judge Mara Olsen was appointed [1].", True),
        ("Who did Mayor Okafor appoint?", "Mayor Okafor appointed a new deputy [1].", False),
        ("Which country hosted the summit?", "The US hosted it [1].", True),
        # times: modal "may", vague "soon"/"later", and "fall" the verb are no times
        ("When will the vote happen?", "The vote may happen [1].", False),
        ("When will the vote happen?", "The vote will happen soon [1].", False),
        ("When will the vote happen?", "The vote will be held later [1].", False),
        ("When will prices drop?", "Prices may fall [1].", False),
        ("When will the vote happen?", "The vote is in May [1].", True),
        ("When will the vote happen?", "The vote is on May 5 [1].", True),
        ("When will the vote happen?", "The vote is planned for this fall [1].", True),
        ("When will the vote happen?", "The vote is on Tuesday [1].", True),
        ("When does the toll end in 2026?", "The toll ends in 2026 [1].", False),  # repeats the question
        # quantities: "one of the largest" and a bare year state no amount
        ("How many homes were destroyed?", "It was one of the largest fires in the state [1].", False),
        ("How many homes were destroyed?", "In 2021, the fire destroyed homes [1].", False),
        ("How many homes were destroyed?", "The fire destroyed 2000 homes [1].", True),
        ("How many homes were destroyed?", "The fire destroyed 40 homes in 2021 [1].", True),
        ("How many homes were destroyed?", "The fire destroyed two homes [1].", True),
        ("How much did the repair cost?", "It cost hundreds of millions [1].", False),
        ("By how much did the toll rise?", "The toll doubled [1].", True),
    ],
)
def test_answer_gives_the_kind_asked_for(question, answer, gives):
    assert gives_kind(answer, asked_kind(question), question) is gives


def test_verdict_names_the_reason():
    def s(text):
        return AnswerSentence(text, (1,))

    assert verdict(PREMISE_Q, []) == "unsupported"
    assert verdict(PREMISE_Q, [s("The council approved the budget on Monday.")]) == "repeats_question"
    assert verdict("Which company won the contract?", [s("A local company won the contract last spring.")]) == (
        "not_an_answer"
    )
    assert verdict(PREMISE_Q, [s("Halden Builders won the stadium contract.")]) == ""


@pytest.mark.parametrize(
    "raw, declined",
    [("NOT_IN_ARTICLES", True), ("not_in_articles.", True), ("The evidence does not say.", True), ("", True),
     ("I'm sorry, the passages do not mention it.", True), ("Halden Builders won [1].", False),
     ("No one was hurt in the fire [1].", False)],
)
def test_the_models_own_decline_is_recognised(raw, declined):
    assert model_declined(raw) is declined

"""The one analysis of a question (question.py): its kind, its dates, and which names an answer or
a passage sentence adds to it. Pure functions, no models."""

from __future__ import annotations

import datetime as dt

import pytest

from qa_bot.policy import adds_to_question
from qa_bot.question import analyse, name_candidates, new_names, news_window
from qa_bot.types import DateRange


@pytest.mark.parametrize(
    "sentence, found",
    [
        ("The incident happened at the Varde Museum in Holmlund.", {"varde", "holmlund"}),
        ("Experts say the jar will be restored.", set()),  # a sentence's first word is no name
        ("The show airs on Tuesday in May.", set()),  # weekdays and months are times, not names
        ("It was restored, NASA said.", {"nasa"}),  # acronyms count
        ("The museum said so.", set()),
    ],
)
def test_name_candidates_are_capitalised_words_the_question_lacks(sentence, found):
    assert name_candidates(sentence, "Which museum did the boy visit?") == found


@pytest.mark.parametrize(
    "question, answer",
    [
        ("After Trump's tariffs took effect, which country was hit hardest?", "Trump's tariffs took effect [1]."),
        ("Which item did McDonald’s add to its menu this week?", "McDonald’s added an item to its menu this week [1]."),
    ],
)
def test_a_possessive_name_the_question_has_is_no_new_name(question, answer):
    """An answer that only restates a question with a possessive name in it names nothing new:
    it repeats the question and gives no kind asked for (the second look is then taken)."""
    assert new_names(answer, question) == set()
    assert not adds_to_question(answer, question) and not analyse(question).gives(answer)
    assert name_candidates(f"Officials said {answer}", question) == set()


@pytest.mark.parametrize(
    "answer, found",
    [
        ("The ferry docked at a US port in the continental U. S. [1].", set()),  # one name, two spellings
        ("The ferry docked in the U.S. [1].", set()),
        ("The ferry docked in Pago Pago, a U.S. port [1].", {"pago"}),
        ("The ferry docked in the U.K. [1].", {"uk"}),  # another abbreviation is another name
    ],
)
def test_a_dotted_abbreviation_is_the_name_the_question_wrote_without_dots(answer, found):
    """"U.S." and "U. S." are the "US" of the question: an answer that only repeats it names no place."""
    question = "A ferry docked this week at which US port?"
    assert new_names(answer, question) == found
    assert analyse(question).gives(answer) is bool(found)


@pytest.mark.parametrize(
    "answer, gives",
    [
        ("About 62% of the town's homes have it [1].", True),
        ("Roughly a third of households do [1].", True),
        ("One in five homes does [1].", True),
        ("4,800 homes have it [1].", False),  # an amount is not a share of a whole
        ("The percentage is small [1].", False),
    ],
)
def test_a_question_for_a_percentage_is_answered_by_a_share(answer, gives):
    assert analyse("What percentage of homes in Pellston have fast broadband?").gives(answer) is gives
    # asked "how many", the amount is the answer
    assert analyse("How many homes in Pellston have fast broadband?").gives("4,800 homes have it [1].")


def test_the_second_look_after_an_amount_asks_for_the_percentage():
    from qa_bot.policy import retry_note

    note = retry_note("not_an_answer", "What share of voters backed the plan?", "12,000 voters backed it [1].")
    assert "the percentage" in note and "12,000 voters backed it" in note
    assert "the number" in retry_note("not_an_answer", "How many voters backed the plan?", "Voters backed it [1].")


def test_analyse_builds_the_question_once_with_its_window():
    q = analyse("Which team won the title this week?", dt.date(2024, 6, 20))
    assert q.kind == "name" and q.window is not None and q.window.start == dt.date(2024, 6, 10)
    assert analyse("Which team won the title this week?", dt.date(2024, 6, 20)) is q  # one value per ask
    dated = analyse("Which team won the title on March 3?", dt.date(2024, 6, 20))
    assert dated.names_own_date and dated.window is None
    assert q.gives("The Halden Tigers won [1].") and not q.gives("The team won the title [1].")


@pytest.mark.parametrize(
    "answer, gives",
    [
        ('The new variety is called "sola" [1].', True),  # a quoted name need not be capitalised
        ("The new variety is called ‘sola’ [1].", True),
        ('The new "variety" was bred by growers [1].', False),  # quoting the question's own word names nothing
        ("The growers' new variety is sweet [1].", False),  # an apostrophe is no quotation
    ],
)
def test_a_quoted_term_answers_a_question_for_a_name(answer, gives):
    assert analyse("What is the name of the new apple variety bred by growers?").gives(answer) is gives


@pytest.mark.parametrize(
    "question, kind",
    [
        # "what" as the object of a verb: the people named after it are not what is asked for
        ("The council ruled that crews can clear what built by county officials on the beach?", None),
        ("Which items were seized from the city's officials?", "thing"),
        # a determiner phrase: modifiers between "which" and its noun are still allowed
        ("Which long-serving county official resigned this week?", "person"),
        ("Which state officials resigned this week?", "person"),
        ("Which regional grocery store chain closed its doors?", "name"),
    ],
)
def test_the_kind_asked_for_is_read_from_one_noun_phrase(question, kind):
    """"which/what ... NOUN" names the kind only when no preposition or relative word stands in
    between: after one, the noun belongs to another phrase of the question."""
    assert analyse(question).kind == kind


def test_a_question_that_names_no_date_is_about_the_news_before_it_is_asked():
    today = dt.date(2024, 6, 14)
    news = news_window(analyse("Which carmaker recalled its sedans?", today), today, 90)
    assert news == DateRange(dt.date(2024, 3, 16), dt.date(2024, 6, 15))
    # its own words may ask for longer; a date of its own, or no reference date, means no such news
    this_year = news_window(analyse("Which carmaker recalled the most cars this year?", today), today, 90)
    assert this_year is not None and this_year.start == dt.date(2023, 6, 14)
    assert news_window(analyse("Which carmaker recalled its sedans in 2022?", today), today, 90) is None
    assert news_window(analyse("Which carmaker recalled its sedans?"), None, 90) is None
    assert news_window(analyse("Which carmaker recalled its sedans?", today), today, 0) is None

"""The text primitives every step shares (text.py): one definition each, read back consistently."""

from __future__ import annotations

import re

from qa_bot.text import (
    CITATIONS,
    CITE_MARK,
    MONTH_NUMBERS,
    MONTH_PATTERN,
    cite_mark,
    cited_numbers,
    content_words,
    numbers,
    plain,
    strip_citations,
)
from qa_bot.types import AnswerSentence


def test_a_written_citation_mark_is_read_back():
    sentence = AnswerSentence("Tariffs rise on March 1.", (2, 3))
    shown = sentence.rendered()
    assert shown == f"Tariffs rise on March 1 {cite_mark(2)}{cite_mark(3)}."
    assert [cited_numbers(g) for g in CITATIONS.findall(shown)] == [[2], [3]]
    assert strip_citations(shown) == "Tariffs rise on March 1."


def test_one_mark_may_cite_several_passages_but_brackets_in_prose_are_not_marks():
    assert cited_numbers(CITATIONS.search("as reported [1, 4; 5].")[1]) == [1, 4, 5]
    assert re.search(CITE_MARK, "the [sic] quote and [a] list") is None


def test_rendering_escapes_words_and_lets_a_face_link_the_marks():
    sentence = AnswerSentence("Sales rose <5%>", (1,))
    html = sentence.rendered(lambda t: t.replace("<", "&lt;").replace(">", "&gt;"),
                             lambda n, mark: f'<a href="#p{n}">{mark}</a>')
    assert html == 'Sales rose &lt;5%&gt; <a href="#p1">[1]</a>.'


def test_months_written_out_or_abbreviated():
    assert MONTH_NUMBERS["sept"] == MONTH_NUMBERS["september"] == 9
    assert MONTH_NUMBERS["may"] == 5 and len(set(MONTH_NUMBERS.values())) == 12
    assert re.fullmatch(MONTH_PATTERN, "Sept", re.I) and not re.fullmatch(MONTH_PATTERN, "Septa", re.I)


def test_plain_compares_text_whatever_its_punctuation_and_case():
    assert plain("U.S. tariffs — “25%” on CARS!") == "u s tariffs 25 on cars"
    assert plain("The Mayor’s plan") == plain("the mayor's PLAN")


def test_a_base_verb_after_did_meets_the_article_s_irregular_past():
    """Questions ask with "did" and the base verb; news states the past tense."""
    asked = content_words("How much did the federal agency spend, and which team did it beat?")
    stated = content_words("The agency spent $4 million. The Hawks beat the Owls.")
    assert {"spent", "beat"} <= asked & stated
    assert "won" in content_words("They didn't win.")  # the negated past is a past too
    # regular verbs were already one word to the stemmer
    assert content_words("Who did the council decide to hire?") & content_words("It decided on Ana Ruiz.")


def test_a_past_form_elsewhere_stays_itself():
    """"Which team won?" is about a result, not about a prediction that a team "will win"."""
    assert content_words("Which team won the cup?") & content_words("Who will win the cup?") == {"cup"}
    # "did" reaches its own clause's verb, not a verb far after it
    assert "spent" not in content_words("What did the report, released by the city council after a long "
                                        "public hearing on Monday, say they would spend?")


def test_a_roman_numeral_after_a_word_is_its_number():
    assert numbers("Super Bowl LIX and World War II") == numbers("Super Bowl 59 and World War 2") == {"59", "2"}
    assert numbers("the type Ib strain") == numbers("the type 1b strain") == {"1"}
    assert numbers("Super Bowl XLIX, Pope Leo XIV") == {"49", "14"}


def test_letters_that_only_look_like_roman_numerals_are_no_number():
    for text in ("Then I went home.", "Twitter, now X, said so.", "Washington, DC", "Xi Jinping met La Nina "
                 "experts in Alexandria, Va.", "What Is Known", "the VIX index", "size XXL"):
        assert numbers(text) == set(), text

"""The support scorer's hard rules (lexical only, so no embedder is needed), true and false cases:
names matched exactly or as the same country/people (no prefix guessing), negation as content,
two-letter names and "May" the surname, and the question's premise vouched for by its article."""

from __future__ import annotations

import pytest

from qa_bot.fidelity import SupportScorer, name_present, names, premise_terms

S = SupportScorer(None)


@pytest.mark.parametrize(
    "sentence, passage, supported",
    [
        ("Lightman will travel to Beijing.", "Lighthizer will travel to Beijing next week.", False),
        ("Lighthizer will travel to Beijing.", "Lighthizer will travel to Beijing next week.", True),
        ("Chinese officials met the negotiators.", "Officials from China met the negotiators on Monday.", True),
        ("Russian troops left the city.", "Troops from Russia left the city on Friday.", True),
        ("Israeli officials praised the deal.", "Officials in Israel praised the deal.", True),
        ("British officials praised the deal.", "Officials in Britain praised the deal.", True),
        ("Canadian officials praised the deal.", "Officials in Cambodia praised the deal.", False),
        ("President Xi will meet Trump in March.", "President Trump will meet the leader of China in March.", False),
        ("Prime Minister Theresa May signed the deal.", "Prime Minister Boris Johnson signed the deal.", False),
        ("The talks resume in May.", "The talks resume in May, officials said.", True),
        ("The White House did not raise tariffs.", "The White House raised tariffs on steel.", False),
        ("The White House did not raise tariffs.", "The White House did not raise tariffs on steel.", True),
        ("The White House never raised tariffs.", "The White House raised tariffs on steel.", False),
        ("The White House raised tariffs.", "The White House raised tariffs on steel.", True),
        ("Trump's envoy arrived on Monday.", "The envoy sent by Trump arrived on Monday.", True),
        ("The Democrats won the seat.", "A Democrat won the seat for the first time.", True),
        ("Police arrested them in Coeur d'Alene.", "Police in Coeur d’Alene, Idaho, arrested them.", True),
    ],
)
def test_support_hard_rules(sentence, passage, supported):
    assert S.score(sentence, [passage]).supported is supported, S.score(sentence, [passage])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The deal was signed by Theresa May in London.", {"theresa", "may", "london"}),
        ("The vote is in May and ends May 5.", set()),
        ("They said President Xi would attend.", {"president", "xi"}),
        ("Talks with the EU and NATO resume.", {"talks", "eu", "nato"}),  # over-inclusive at a sentence start:
        # "talks" is then looked up in the passage like any name, and found in any passage about talks
        ("Subway launched a new menu.", {"subway"}),  # a sentence-initial name is still a name
        ("Meanwhile, the council met in Dunmore.", {"dunmore"}),  # an opener is not
    ],
)
def test_names(text, expected):
    assert names(text) == expected


@pytest.mark.parametrize(
    "name, text, present",
    [
        ("lightman", "Lighthizer met them.", False),
        ("chinese", "China met them.", True),
        ("china", "Chinese officials met them.", True),
        ("iranian", "Iran met them.", True),
        ("dutch", "The Netherlands met them.", True),
        ("german", "Germany met them.", True),
        ("germany", "Germans met them.", True),
        ("canada", "Canberra met them.", False),
        ("austria", "Australia met them.", False),
        ("us", "U.S. officials met them.", True),  # one name, written with stops or without
        ("us", "Officials of the U. S. met them.", True),
        ("us", "United States officials met them.", True),
        ("uk", "U.S. officials met them.", False),
    ],
)
def test_name_present(name, text, present):
    from qa_bot.fidelity import words_of

    assert name_present(name, words_of([text])) is present


def test_the_articles_own_words_vouch_for_the_questions_premise_but_not_for_new_content():
    question = "Which firm won the contract for the stadium in Pellston?"
    cited = "Halden Builders won the contract to build the stadium."
    same_article = ["Pellston council backs stadium plan", "The Pellston council approved the stadium budget."]
    vouched = premise_terms(question, [cited, *same_article])
    right = "Halden Builders won the contract for the stadium in Pellston."
    assert not S.score(right, [cited]).supported  # the cited sentence alone does not say Pellston
    assert S.score(right, [cited], vouched).supported
    # a false premise: the article never mentions Pellston, so nothing vouches for it
    other = premise_terms(question, [cited, "The Dunmore council approved the stadium budget."])
    assert not S.score(right, [cited], other).supported
    # the answer's new content must still be in the cited passage
    assert not S.score("Halden Builders won the contract for the stadium in Pellston for $40 million.",
                       [cited], vouched).supported


def test_an_article_that_shares_only_the_questions_names_does_not_vouch_for_the_rest_of_its_premise():
    question = "Which coin may be retired after President Marlow halted its minting?"
    # the article names the president, and nothing of the coin, the retiring or the minting
    cited = "The Keld dollar fell to a record low after President Marlow threatened new tariffs."
    answer = "The Keld dollar may be retired after President Marlow halted its minting."
    vouched = premise_terms(question, [cited])
    assert "marlow" in vouched and "mint" not in vouched  # the name it states, not the words it lacks
    assert not S.score(answer, [cited], vouched).supported
    # an article that tells most of the premise vouches for the rest, said in other words
    # ("stopped striking" for "halted its minting")
    told = ["Marlow retires the penny", "President Marlow stopped striking the coin on Monday."]
    cited = "The penny may be retired within a year, the treasury said."
    answer = "The penny may be retired after President Marlow halted its minting."
    vouched = premise_terms(question, [cited, *told])
    assert {"halt", "mint"} <= vouched
    assert S.score(answer, [cited], vouched).supported


def test_a_premise_number_is_not_vouched_for_where_the_cited_passage_gives_another_in_its_place():
    question = "Which horse won the 52nd annual Harlow Cup?"
    elsewhere = ["Harlow Cup 2025: runners and odds", "The 52nd annual Harlow Cup is run on Saturday."]
    last_year = "Copper Lane won the 51st annual Harlow Cup by two lengths."
    answer = "Copper Lane won the 52nd annual Harlow Cup."
    vouched = premise_terms(question, [last_year, *elsewhere])
    assert "52" in vouched  # the article does state the question's number
    # ... but the cited sentence gives another number for the same race: last year's winner
    assert not S.score(answer, [last_year], vouched).supported
    # where the cited sentence gives no other number, the premise's number is vouched for as before
    this_year = "Copper Lane won this year's Harlow Cup by two lengths."
    assert S.score(answer, [this_year], premise_terms(question, [this_year, *elsewhere])).supported


def test_a_number_written_as_a_roman_numeral_is_the_same_number():
    """Questions write "Phase 3", articles "Phase III": one number, whichever way it is written."""
    question = "Which firm's Phase 3 trial of the flu vaccine was halted?"
    cited = "Orvell Labs halted its Phase III trial of the flu vaccine on Monday."
    answer = "Orvell Labs's Phase 3 trial of the flu vaccine was halted."
    assert S.score(answer, [cited], premise_terms(question, [cited])).supported
    # a different number is still a different number
    wrong = "Orvell Labs halted its Phase II trial of the flu vaccine on Monday."
    assert not S.score(answer, [wrong], premise_terms(question, [wrong])).supported


def test_which_citations_are_useful_is_one_rule_for_the_answer_the_checker_and_the_judge():
    from qa_bot.fidelity import needed_citations, useful_citations

    # the sentence needs "date" and "place"; passages hold words, support = all needed words present
    def supports(passages):
        return {"date", "place"} <= set(" ".join(passages).split())

    # a passage that carries it alone is useful; one that adds nothing is not
    assert useful_citations(supports, ["date place", "weather"]) == (True, [True, False])
    # two halves: each is needed, so each is useful, though neither supports it alone
    assert useful_citations(supports, ["date", "place"]) == (True, [True, True])
    assert needed_citations(supports, ["date", "place", "date"]) == [False, True, False]
    # a set that does not support the sentence makes no citation useful; one citation is the set
    assert useful_citations(supports, ["date", "weather"]) == (False, [False, False])
    assert useful_citations(supports, ["date place"]) == (True, [True])

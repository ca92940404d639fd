"""Evidence selection over a real index of the test corpus with the real embedder: the model is shown
the sentences that bear on the question, within budget, each a span of one retrieved chunk, and
answers are checked against that same text (headline and date included)."""

from __future__ import annotations

import datetime as dt

import pytest

from qa_bot.assistant import Assistant
from qa_bot.evidence import EvidenceBudget, select_evidence
from qa_bot.fidelity import SupportScorer
from qa_bot.generate import check_draft, format_evidence, parse_draft
from qa_bot.types import Article, Chunk, Evidence, Passage
from tests.conftest import TEST_CORPUS


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder):
    from qa_bot.config import load_settings

    a = Assistant(load_settings(data_dir=tmp_path_factory.mktemp("ev")), progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    return a


@pytest.mark.parametrize(
    "question, must_show",
    [
        ("How much did the Harbor Bridge repair cost?", "$48.5 million"),
        ("How many vehicles a day will the Harbor Bridge carry?", "11,000 vehicles"),
        ("Until when will drivers pay a toll on the Harbor Bridge?", "end of 2026"),
        ("How often will the Gull Island ferry run in summer?", "every 40 minutes"),
    ],
)
def test_the_answer_sentence_is_shown_and_little_else(assistant, question, must_show):
    passages = assistant.search(question)
    evidence = assistant.evidence(question, passages)
    assert any(must_show in e.text for e in evidence)
    shown_text = sum(len(e.text) for e in evidence)
    assert shown_text <= assistant.settings.evidence_chars
    assert shown_text < sum(len(p.chunk.text) for p in passages)  # less than the whole chunks
    for e in evidence:  # each item is an exact span of one retrieved chunk, numbered from 1
        assert e.passage in passages and e.passage.chunk.text[e.start : e.end] == e.text
    assert [e.n for e in evidence] == list(range(1, len(evidence) + 1))


def test_budget_caps_items_and_characters(assistant):
    q = "What happened in Pellston?"
    passages = assistant.search(q, k=5)
    small = select_evidence(q, passages, assistant.embedder.embed, EvidenceBudget(max_chars=200, max_items=1))
    assert len(small) == 1 and len(small[0].text) <= 200
    assert select_evidence(q, [], assistant.embedder.embed) == []


def test_prompt_shows_headline_and_date_with_each_item(assistant):
    q = "How much did the Harbor Bridge repair cost?"
    evidence = assistant.evidence(q, assistant.search(q))
    text = format_evidence(evidence)
    assert text.startswith("[1] Harbor Bridge in Pellston Reopens After Two-Year Repair (2024-05-14)\n")
    # a second item from the same article does not repeat the headline
    repeats = [e for e in evidence[1:] if e.passage.article.id == evidence[0].passage.article.id]
    for e in repeats:
        assert f"[{e.n}] (same article)\n" in text


def _evidence(title: str, text: str, published=dt.date(2022, 6, 21)) -> list[Evidence]:
    article = Article(id="a1", title=title, text=text, published=published)
    chunk = Chunk(id="a1#0", article_id="a1", text=text, start=0, end=len(text), position=0)
    return [Evidence(1, Passage(chunk, article, 0.5, 1), 0, len(text))]


def test_an_answer_taken_from_the_headline_is_supported(embedder):
    """The model is shown the headline and date; the checker must judge against the same text."""
    evidence = _evidence("Dartmouth Ends Student Loans for Undergraduates", "The college said the change starts this fall.")
    scorer = SupportScorer(embedder.embed)
    kept, dropped = check_draft(parse_draft("Dartmouth will eliminate student loans [1].", 1), evidence, scorer)
    assert kept and not dropped
    # ...and only what was shown: a name in neither the headline nor the text is still a fabrication
    kept, dropped = check_draft(parse_draft("Princeton will eliminate student loans [1].", 1), evidence, scorer)
    assert dropped and not kept


def test_a_date_taken_from_the_dateline_is_supported(embedder):
    evidence = _evidence("Council Approves Budget", "The council approved the budget on Monday.", dt.date(2023, 3, 6))
    kept, _ = check_draft(parse_draft("The council approved the budget in 2023 [1].", 1), evidence,
                          SupportScorer(embedder.embed))
    assert kept


def test_the_sentence_stating_what_a_did_question_asks_is_shown_though_its_verb_is_irregular():
    """"How much did the town spend?" is answered by "... it spent $4.2 million": the base
    verb of the question is the past tense of the answer, which the stemmer alone does not join."""
    text = ("The town reopened its bridge on Tuesday. Crowds cheered at the ribbon cutting. "
            "Over two years it spent $4.2 million.")
    evidence = _evidence("Harbor Town Celebrates", text)
    shown = [e.text for e in select_evidence("How much did the town spend on its bridge?", [evidence[0].passage])]
    assert any("$4.2 million" in t for t in shown)
    assert not any("ribbon" in t for t in shown)  # a sentence that bears on nothing is still left out

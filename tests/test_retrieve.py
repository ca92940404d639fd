"""Retrieval over a real Chroma index with the real embedder: the reference date decides
which of two same-topic articles a "this week" question is about; recency is a preference,
not a wall; and the prompt is given the same reference date that retrieval used."""

from __future__ import annotations

import datetime as dt

import pytest

from qa_bot.assistant import Assistant
from qa_bot.question import recency_window

OLD = """---
title: "Dunmore Mayor Resigns After Budget Dispute"
date: 2021-08-10
---
Mayor Ivo Castell of Dunmore announced his resignation on Tuesday after a months-long dispute over the city budget.
"""
NEW = """---
title: "Dunmore Mayor Steps Down"
date: 2022-07-06
---
Dunmore's mayor, Petra Lindqvist, announced her resignation this week, citing her health.
"""


def _assistant(tmp_path, make_settings, embedder, **articles: str) -> Assistant:
    """A real index of the given articles (file stem -> markdown)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for stem, text in articles.items():
        (corpus / f"{stem}.md").write_text(text)
    a = Assistant(make_settings(), progress=False, embedder=embedder)
    a.ingest(corpus)
    return a


def test_this_week_questions_prefer_articles_from_that_week(tmp_path, make_settings, embedder):
    a = _assistant(tmp_path, make_settings, embedder, old=OLD, new=NEW)
    q = "Which Dunmore mayor announced a resignation this week?"
    assert a.search(q, today=dt.date(2022, 7, 8))[0].article.id == "new"
    assert a.search(q, today=dt.date(2021, 8, 12))[0].article.id == "old"
    # a question with no time word is ranked by relevance alone when no article is from the
    # months before it is asked...
    timeless = "Which Dunmore mayor resigned after a dispute over the city budget?"
    assert a.search(timeless, today=dt.date(2024, 7, 8))[0].article.id == "old"
    # ...and with news_days off, whatever the date
    a.settings = a.settings.model_copy(update={"news_days": 0})
    a._retriever = None
    assert a.search(timeless, today=dt.date(2022, 7, 8))[0].article.id == "old"


@pytest.mark.slow  # needs MiniLM's sense of meaning to rank the two articles
def test_a_question_without_a_time_word_still_prefers_the_news_before_it_was_asked(tmp_path, make_settings, embedder):
    """News readers ask about recent news: of two articles on one story, the one from the months
    before the question (news_days, 90) ranks first, though the question says no "this week"."""
    a = _assistant(tmp_path, make_settings, embedder, old=OLD, new=NEW)
    timeless = "Which Dunmore mayor resigned after a dispute over the city budget?"
    assert a.search(timeless, today=dt.date(2022, 7, 8))[0].article.id == "new"
    assert a.search(timeless, today=dt.date(2021, 8, 12))[0].article.id == "old"


def test_recency_window_reads_the_question():
    today = dt.date(2022, 7, 8)
    assert recency_window("Who won the race this week?", today).start == dt.date(2022, 6, 28)
    assert recency_window("What did the company recently announce?", today).start == dt.date(2022, 4, 9)
    assert recency_window("Who won the race this week?", None) is None
    assert recency_window("Which state is New Jersey next to?", today) is None


BAKERY = """---
title: "Dunmore Bakery Opens Second Shop"
date: 2022-07-05
---
A bakery in Dunmore opened its second shop on Main Street this week, selling rye bread and pastries.
"""


def test_recency_is_a_preference_not_a_wall(tmp_path, make_settings, embedder):
    """A recent article on another topic must not outrank the one that answers the question."""
    a = _assistant(tmp_path, make_settings, embedder, old=OLD, bakery=BAKERY)
    q = "Which Dunmore mayor announced a resignation after a budget dispute this week?"
    assert a.search(q, today=dt.date(2022, 7, 8))[0].article.id == "old"


def test_a_question_that_names_its_date_gets_no_recency_window():
    today = dt.date(2022, 7, 8)
    assert recency_window("Who won the race this week in 2019?", today) is None
    assert recency_window("What did the mayor announce this week on March 3?", today) is None
    assert recency_window("What did the company recently announce in May?", today) is None
    assert recency_window("What did the company recently announce?", today) is not None


def test_the_prompt_gets_the_reference_date_retrieval_used(make_settings, embedder):
    """Without --today both default to the same date; with it, both use it."""
    from tests.conftest import TEST_CORPUS, scripted

    llm = scripted("It cost $48.5 million [1].")
    seen = llm.prompts
    a = Assistant(make_settings(), llm=llm, progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    a.ask("How much did the Harbor Bridge repair cost?", today=dt.date(2024, 5, 20))
    assert "Today's date: 2024-05-20" in seen[-1]
    before = dt.date.today()
    a.ask("How much did the Harbor Bridge repair cost?")
    days = {before, dt.date.today()}  # the ask may cross midnight
    assert any(f"Today's date: {d.isoformat()}" in seen[-1] for d in days), seen[-1]


def test_date_ranges_intersect_with_open_ends():
    from qa_bot.types import DateRange

    week = DateRange(dt.date(2022, 6, 28), dt.date(2022, 7, 9))
    assert week.intersect(DateRange()) == week  # no user filter: the window alone
    assert week.intersect(DateRange(dt.date(2022, 7, 1), None)) == DateRange(dt.date(2022, 7, 1), dt.date(2022, 7, 9))
    assert week.intersect(DateRange(None, dt.date(2022, 7, 2))) == DateRange(dt.date(2022, 6, 28), dt.date(2022, 7, 2))


def test_bm25_is_saved_and_a_new_process_loads_it_instead_of_rereading_the_index(make_settings, embedder, corpus_copy):
    settings = make_settings()
    first = Assistant(settings, progress=False, embedder=embedder)
    first.ingest(corpus_copy)
    want = [p.chunk.id for p in first.search("harbor bridge tolls", k=5)]
    saved = list((settings.data_dir / "bm25").iterdir())
    assert len(saved) == 1 and (saved[0] / "chunk_ids.json").exists()

    second = Assistant(settings, progress=False, embedder=embedder)  # as a new process would: nothing in memory

    def no_full_read():
        raise AssertionError("BM25 was rebuilt from every chunk instead of loaded")

    second.index.all_chunks = no_full_read
    assert [p.chunk.id for p in second.search("harbor bridge tolls", k=5)] == want

    # a write changes the index's state: the next search rebuilds BM25 once and replaces the saved copy
    (corpus_copy / "extra.txt").write_text("Harbor bridge tolls rise\n\nTolls on the Harbor Bridge rise to 4 dollars in May.\n")
    first.ingest(corpus_copy)
    hits = first.search("harbor bridge tolls rise to 4 dollars", k=5)
    assert hits[0].article.id == "extra"
    again = list((settings.data_dir / "bm25").iterdir())
    assert len(again) == 1 and again != saved

"""Retrieval over a real Chroma index with the real embedder: the reference date decides
which of two same-topic articles a "this week" question is about."""

from __future__ import annotations

import datetime as dt

from qa_bot.assistant import Assistant
from qa_bot.retrieve import recency_window

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


def test_this_week_questions_prefer_articles_from_that_week(tmp_path, make_settings, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "old.md").write_text(OLD)
    (corpus / "new.md").write_text(NEW)
    a = Assistant(make_settings(), progress=False)
    a._embedder = embedder
    a.ingest(corpus)
    q = "Which Dunmore mayor announced a resignation this week?"
    assert a.search(q, today=dt.date(2022, 7, 8))[0].article.id == "new"
    assert a.search(q, today=dt.date(2021, 8, 12))[0].article.id == "old"
    # a question that is not about "this week" is ranked by relevance alone, whatever the date
    timeless = "Which Dunmore mayor resigned after a dispute over the city budget?"
    assert a.search(timeless, today=dt.date(2022, 7, 8))[0].article.id == "old"


def test_recency_window_reads_the_question():
    today = dt.date(2022, 7, 8)
    assert recency_window("Who won the race this week?", today).start == dt.date(2022, 6, 28)
    assert recency_window("What did the company recently announce?", today).start == dt.date(2022, 4, 9)
    assert recency_window("Who won the race this week?", None) is None
    assert recency_window("Which state is New Jersey next to?", today) is None

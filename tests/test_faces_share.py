"""The faces read a chat history and a date limit the same way (assistant.history_pairs,
assistant.parse_date), so a conversation means the same thing in the web UI, the API and the
LangChain adapter."""

from __future__ import annotations

import datetime as dt

import pytest

from qa_bot.api import ApiError, parse_request
from qa_bot.assistant import history_pairs, parse_date
from qa_bot.errors import InputError

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Who won the regatta?"},
    {"role": "assistant", "content": "The Gull Island crew won [1]."},
    {"role": "user", "content": "Never mind that."},  # no answer came: not a pair
    {"role": "user", "content": "When was it held?"},
    {"role": "assistant", "content": "On May 4 [2]."},
]


def test_a_history_becomes_question_answer_pairs_skipping_system_turns_and_unanswered_questions():
    pairs = history_pairs((m["role"], m["content"]) for m in CHAT)
    assert pairs == [("Who won the regatta?", "The Gull Island crew won [1]."), ("When was it held?", "On May 4 [2].")]
    # LangChain's role names mean the same
    assert history_pairs([("human", "Who won?"), ("ai", "The crew [1].")]) == [("Who won?", "The crew [1].")]


def test_the_api_reads_a_chat_as_the_assistant_does():
    req = parse_request({"messages": [*CHAT, {"role": "user", "content": "And who came second?"}]})
    assert req["question"] == "And who came second?"
    assert req["history"] == history_pairs((m["role"], m["content"]) for m in CHAT)


def test_a_date_limit_is_a_date_or_one_clear_error():
    assert parse_date("2019-01-31", "since") == dt.date(2019, 1, 31)
    assert parse_date(" ", "since") is None and parse_date(None, "until") is None
    assert parse_date(dt.date(2020, 2, 2), "until") == dt.date(2020, 2, 2)
    for bad in ("yesterday", "2019-02-30", 20190131, ["2019-01-31"]):
        with pytest.raises(InputError, match="'since' must be a date like 2019-01-31"):
            parse_date(bad, "since")
    with pytest.raises(ApiError) as e:  # the API's 400 carries the same words
        parse_request({"messages": [{"role": "user", "content": "q"}], "until": "soon"})
    assert e.value.status == 400 and "'until' must be a date like 2019-01-31" in str(e.value)

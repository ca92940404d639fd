"""The LangChain adapters over a real index (real embedder, real Chroma) with LangChain's fake chat model."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda

from qa_bot.errors import InputError
from qa_bot.langchain import QABotRetriever, answer_runnable
from tests.test_generate import assistant_with  # noqa: F401 - the real index + fake model fixture

COST = "The Harbor Bridge repairs cost $48.5 million [1]."


def test_the_retriever_returns_documents_with_their_article_metadata(assistant_with):  # noqa: F811
    retriever = QABotRetriever(assistant=assistant_with(), k=3)
    docs = retriever.invoke("How much did the Harbor Bridge repair cost?")
    assert 1 <= len(docs) <= 3 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert top.metadata["article_id"] == "harbor-bridge" and "$48.5 million" in top.page_content
    assert {"title", "published", "url", "score", "start", "end", "rank"} <= set(top.metadata)
    assert top.metadata["end"] - top.metadata["start"] == len(top.page_content)


def test_the_retriever_honours_a_date_range(assistant_with):  # noqa: F811
    a = assistant_with()
    dated = [r for r in a.library() if r.published]
    assert dated
    day = dt.date.fromisoformat(dated[0].published)
    docs = QABotRetriever(assistant=a, k=10, since=day, until=day).invoke("news")
    assert docs and {d.metadata["published"] for d in docs} == {day.isoformat()}
    assert QABotRetriever(assistant=a, since=dt.date(1900, 1, 1), until=dt.date(1900, 1, 2)).invoke("news") == []


def test_the_answer_runnable_gives_the_ask_json_dict_and_works_in_lcel(assistant_with):  # noqa: F811
    chain = answer_runnable(assistant_with(COST)) | RunnableLambda(lambda d: (d["answer"], d["citations"]))
    text, citations = chain.invoke({"question": "How much did the Harbor Bridge repair cost?"})
    assert "$48.5 million" in text and citations[0]["article_id"] == "harbor-bridge"
    assert "$48.5 million" in citations[0]["quote"]


def test_stream_yields_tokens_then_the_checked_answer(assistant_with):  # noqa: F811
    parts = list(answer_runnable(assistant_with(COST)).stream("How much did the Harbor Bridge repair cost?"))
    tokens, final = parts[:-1], parts[-1]
    assert tokens and all(isinstance(t, str) for t in tokens)
    assert "48.5" in "".join(tokens)
    assert isinstance(final, dict) and final["abstained"] is False and final["citations"]


def test_history_as_messages_feeds_the_follow_up(assistant_with):  # noqa: F811
    a = assistant_with("How much did the Harbor Bridge repairs cost?", COST)  # condense, then answer
    out = answer_runnable(a).invoke({"question": "And how much did they cost?", "history": [
        HumanMessage("When did the Harbor Bridge reopen?"), AIMessage("It reopened on Monday [1].")]})
    assert out["standalone_question"] != out["question"] and "Harbor Bridge" in out["standalone_question"]
    assert "$48.5 million" in out["answer"]


def test_tracing_callbacks_see_one_run_whose_output_is_the_answer(assistant_with):  # noqa: F811
    class Recorder(BaseCallbackHandler):
        def __init__(self) -> None:
            self.events: list[tuple[str, Any, Any]] = []

        def on_chain_start(self, serialized, inputs, *, parent_run_id=None, **kw):
            self.events.append(("start", inputs, parent_run_id))

        def on_chain_end(self, outputs, *, parent_run_id=None, **kw):
            self.events.append(("end", outputs, parent_run_id))

        def on_chat_model_start(self, serialized, messages, *, parent_run_id=None, **kw):
            self.events.append(("model", messages, parent_run_id))

    rec = Recorder()
    list(answer_runnable(assistant_with(COST)).stream("How much did the Harbor Bridge repair cost?",
                                                        config={"callbacks": [rec]}))
    top = [e for e in rec.events if e[2] is None]
    assert [e[0] for e in top] == ["start", "end"]  # one run: question in, checked answer out
    assert top[1][1]["abstained"] is False and "$48.5 million" in top[1][1]["answer"]
    # the model call inside is traced as part of it
    assert any(e[0] == "model" and e[2] is not None for e in rec.events)


def test_bad_input_is_a_clear_error(assistant_with):  # noqa: F811
    runnable = answer_runnable(assistant_with(COST))
    with pytest.raises(InputError, match="question"):
        runnable.invoke({"q": "typo"})
    # a bad date is the same one-line error the API and the web UI give, not a raw ValueError
    with pytest.raises(InputError, match="'since' must be a date like 2019-01-31"):
        runnable.invoke({"question": "How much did the repair cost?", "since": "last Tuesday"})


def test_a_second_look_is_signalled_between_the_two_drafts_tokens(assistant_with):  # noqa: F811
    # the first draft repeats the question (declined: repeats_question), the second answers
    a = assistant_with("The Harbor Bridge repair cost [1].", COST)
    parts = list(answer_runnable(a).stream("How much did the Harbor Bridge repair cost?"))
    marks = [i for i, p in enumerate(parts) if isinstance(p, dict) and "retry" in p]
    assert len(marks) == 1, parts
    first, second = "".join(parts[: marks[0]]), "".join(p for p in parts[marks[0] + 1 : -1])
    assert "48.5" not in first and "$48.5 million" in second
    assert parts[-1]["abstained"] is False and "$48.5 million" in parts[-1]["answer"]

"""qa-bot inside other people's LangChain programs: thin adapters over ``Assistant``.

- ``QABotRetriever``: a ``BaseRetriever`` over an existing index (hybrid, dated, de-duplicated
  retrieval), returning ``Document``s with article id, title, date, url, score and offsets.
- ``answer_runnable()``: a ``Runnable`` from ``{"question": ..., "history": [...]}`` to the
  ``qa-bot ask --json`` dict. ``.stream()`` yields the draft's tokens (str) as the model writes
  them, then the checked answer (dict); the dict is what counts, since the check may drop a
  draft sentence or move a citation. When the checker declines a first draft and the model
  looks again, a ``{"retry": reason}`` dict comes between the two drafts' tokens: drop the
  tokens shown so far (as the web UI does). Callbacks and tracing see one chain run whose
  output is the dict.

Both build an ``Assistant`` from the usual settings (QA_BOT_* variables, qa_bot.toml) unless
given one, so ``QABotRetriever(k=3)`` reads the same index ``qa-bot ingest`` wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import ConfigDict, Field

from .assistant import Assistant, Final, Retry, Token, history_pairs, parse_date
from .errors import InputError
from .types import DateRange, Passage


def _assistant(assistant: Assistant | None) -> Assistant:
    if assistant is not None:
        return assistant
    from .config import load_settings

    return Assistant(load_settings(), progress=False)


def passage_document(p: Passage) -> Document:
    """A retrieved passage as a LangChain ``Document`` (metadata values are JSON scalars)."""
    a = p.article
    return Document(
        page_content=p.chunk.text,
        id=p.chunk.id,
        metadata={
            "article_id": a.id, "title": a.title, "published": a.published.isoformat() if a.published else None,
            "url": a.url, "source": a.source, "author": a.author, "page": p.chunk.page or None,
            "score": round(p.score, 4), "rank": p.rank, "start": p.chunk.start, "end": p.chunk.end,
            "chunk_id": p.chunk.id,
        },
    )


class QABotRetriever(BaseRetriever):
    """qa-bot's retrieval as a LangChain retriever: ``k`` passages, optionally within a date range."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any = Field(default=None, exclude=True)  # an Assistant; built from settings when None
    k: int = Field(5, ge=1, le=50)
    since: dt.date | None = None
    until: dt.date | None = None

    def model_post_init(self, context: Any) -> None:
        self.assistant = _assistant(self.assistant)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        self.assistant.require_index()
        passages = self.assistant.search(query, k=self.k, dates=DateRange(self.since, self.until))
        return [passage_document(p) for p in passages]


def _history(history: Any) -> list[tuple[str, str]]:
    """Earlier turns as (question, answer) pairs, from pairs or from chat messages (dicts or BaseMessages)."""
    turns: list[tuple[str, str]] = []
    for turn in history or []:
        if isinstance(turn, list | tuple) and len(turn) == 2 and all(isinstance(x, str) for x in turn):
            turns += [("user", turn[0]), ("assistant", turn[1])]
        elif isinstance(turn, BaseMessage):
            turns.append((turn.type, str(turn.text)))
        elif isinstance(turn, dict):
            turns.append((str(turn.get("role", "")), str(turn.get("content", ""))))
        else:
            raise InputError("history items must be (question, answer) pairs or chat messages")
    return history_pairs(turns)


def _request(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"question": value}
    if not isinstance(value, dict) or not isinstance(value.get("question"), str):
        raise InputError('the input must be a question or {"question": ..., "history": [...]}')

    dates = DateRange(parse_date(value.get("since"), "since"), parse_date(value.get("until"), "until"))
    return {"question": value["question"], "history": _history(value.get("history")), "dates": dates,
            "k": value.get("k")}


class QABotAnswer(Runnable[Any, Any]):
    """See ``answer_runnable``."""

    name = "qa-bot"

    def __init__(self, assistant: Assistant | None = None) -> None:
        self.assistant = _assistant(assistant)

    def _events(self, value: Any) -> Iterator[Any]:
        req = _request(value)
        self.assistant.require_index()
        for event in self.assistant.ask_stream(req["question"], req["history"], req["dates"], k=req["k"]):
            if isinstance(event, Token):
                yield event.text
            elif isinstance(event, Retry):  # the tokens so far were a declined draft; a second one follows
                yield {"retry": event.reason}
            elif isinstance(event, Final):
                yield event.answer.to_dict()

    def _answer(self, value: Any) -> dict:
        result = None
        for item in self._events(value):
            result = item
        assert isinstance(result, dict) and "retry" not in result
        return result

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict:
        return self._call_with_config(self._answer, input, config)

    def _transform(self, inputs: Iterator[Any]) -> Iterator[Any]:
        for value in inputs:
            yield from self._events(value)

    def transform(self, input: Iterator[Any], config: RunnableConfig | None = None,
                  **kwargs: Any) -> Iterator[Any]:
        yield from self._transform_stream_with_config(input, self._transform, config)

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        yield from self.transform(iter([input]), config)

    def batch(self, inputs: Sequence[Any], config: Any = None, **kwargs: Any) -> list[Any]:
        # one local model: answers are made one after another, whatever max_concurrency says
        configs = config if isinstance(config, list) else [config] * len(inputs)
        return [self.invoke(i, c) for i, c in zip(inputs, configs, strict=True)]


def answer_runnable(assistant: Assistant | None = None) -> QABotAnswer:
    """A ``Runnable``: ``{"question": str, "history": [(q, a)] or chat messages, "k"?, "since"?, "until"?}``
    (or just the question) -> the ``qa-bot ask --json`` dict. ``.stream()`` yields the draft's
    tokens, then that dict; ``{"retry": reason}`` between a declined first draft's tokens and
    the second's."""
    return QABotAnswer(assistant)

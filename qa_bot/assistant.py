"""The one entry point the faces use: ``ask(question, history) -> Answer`` and its streaming twin.

Owns the long-lived pieces (embedder, index, retriever, chat model), loads each on first
use, and runs the pipeline: condense follow-up -> retrieve -> (abstain early | draft with
the LLM) -> check every sentence -> Answer.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from . import prompts
from .config import Settings
from .errors import InputError, QABotError
from .fidelity import SupportScorer, asked_kind, gives_kind
from .generate import (
    Draft,
    answer_chain,
    answer_inputs,
    check_draft,
    citations_for,
    condense_chain,
    history_text,
    is_not_found,
    parse_draft,
    render,
    stream_without_marker,
)
from .index import ArticleIndex, Embedder
from .llms import as_llm_error, make_chat_model
from .retrieve import DateRange, Retriever, worth_asking
from .types import Answer, AnswerSentence, IngestReport, Passage

MAX_QUESTION_CHARS = 2000

History = Sequence[tuple[str, str]]


@dataclass
class Token:
    """A piece of the answer as the model writes it."""

    text: str


@dataclass
class Final:
    """The checked answer; may differ from the streamed draft (citations fixed, sentences dropped)."""

    answer: Answer


def validate_question(question: str) -> str:
    if not isinstance(question, str):
        raise InputError("the question must be text")
    q = " ".join(question.replace("\x00", " ").split())
    if not q:
        raise InputError("the question is empty: ask something about the articles")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(q)} characters long; keep it under {MAX_QUESTION_CHARS}")
    if not any(c.isalnum() for c in q):
        raise InputError("the question has no words in it")
    return q


class Assistant:
    """Shared by CLI, web UI and eval harness. Thread-safe: the web UI calls it from many sessions."""

    def __init__(self, settings: Settings, llm: BaseChatModel | None = None, progress: bool = True) -> None:
        self.settings = settings
        self.progress = progress
        self._llm = llm
        self._embedder: Embedder | None = None
        self._index: ArticleIndex | None = None
        self._retriever: Retriever | None = None
        self._lock = threading.RLock()

    # ---- lazily built parts ----------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder()
            return self._embedder

    @property
    def index(self) -> ArticleIndex:
        with self._lock:
            if self._index is None:
                self._index = ArticleIndex(self.settings, lambda: self.embedder)
            return self._index

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                self._retriever = Retriever(self.index, self.embedder, self.settings)
            return self._retriever

    @property
    def llm(self) -> BaseChatModel:
        with self._lock:
            if self._llm is None:
                self._llm = make_chat_model(self.settings, progress=self.progress)
            return self._llm

    @property
    def scorer(self) -> SupportScorer:
        return SupportScorer(self.embedder.embed, self.settings.support_threshold)

    # ---- library ---------------------------------------------------------------------------

    def ingest(
        self,
        path: Path,
        prune: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
        progress: bool = False,
    ) -> IngestReport:
        return self.index.sync(Path(path), prune=prune, on_progress=on_progress, progress=progress)

    def search(
        self, question: str, k: int | None = None, dates: DateRange | None = None, today: dt.date | None = None
    ) -> list[Passage]:
        """Top-k passages; ``today`` (default: today's date) is the reference for "this week" questions."""
        return self.retriever.search(validate_question(question), k=k, dates=dates, today=today or dt.date.today())

    # ---- answering -------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: History = (),
        dates: DateRange | None = None,
        today: dt.date | None = None,
        k: int | None = None,
    ) -> Answer:
        final = None
        for event in self.ask_stream(question, history, dates, today, k):
            if isinstance(event, Final):
                final = event.answer
        assert final is not None
        return final

    def ask_stream(
        self,
        question: str,
        history: History = (),
        dates: DateRange | None = None,
        today: dt.date | None = None,
        k: int | None = None,
    ) -> Iterator[Token | Final]:
        """Yield the answer's tokens as the model writes them, then one ``Final``."""
        t0 = time.perf_counter()
        question = validate_question(question)
        timings: dict[str, float] = {}
        standalone = question
        if history:
            t = time.perf_counter()
            standalone = self._condense(question, history)
            timings["condense_s"] = time.perf_counter() - t

        t = time.perf_counter()
        passages = self.search(standalone, k=k, dates=dates, today=today)
        timings["retrieve_s"] = time.perf_counter() - t

        def finish(sentences: list[AnswerSentence], dropped: list[AnswerSentence], draft: str, why: str) -> Final:
            abstained = not sentences
            timings["total_s"] = time.perf_counter() - t0
            return Final(
                Answer(
                    question=question,
                    text=prompts.ABSTAIN_TEXT if abstained else render(sentences),
                    citations=() if abstained else citations_for(sentences, passages),
                    sentences=tuple(sentences),
                    abstained=abstained,
                    timings=timings,
                    passages=tuple(passages),
                    standalone_question=standalone if standalone != question else "",
                    draft=draft,
                    dropped=tuple(dropped),
                    abstain_reason=why if abstained else "",
                )
            )

        if not worth_asking(standalone, passages, self.settings):
            timings["generate_s"] = 0.0
            yield finish([], [], "", "no_relevant_passage")
            return

        t = time.perf_counter()
        raw = ""
        chain = answer_chain(self.llm)
        try:
            tokens = (str(tok) for tok in chain.stream(answer_inputs(standalone, passages, today)))
            for piece in stream_without_marker(tokens):
                if "ttft_s" not in timings:
                    timings["ttft_s"] = time.perf_counter() - t0
                raw += piece
                yield Token(piece)
        except QABotError:
            raise
        except Exception as e:  # connection errors from the server client
            raise as_llm_error(e, self.settings) from e
        timings["generate_s"] = time.perf_counter() - t
        if not raw.strip() or is_not_found(raw):
            yield finish([], [], raw, "model_not_found")
            return

        t = time.perf_counter()
        draft: Draft = parse_draft(raw, len(passages))
        kept, dropped = check_draft(draft, passages, self.scorer)
        why = "unsupported"
        kind = asked_kind(standalone)
        if kept and kind and not gives_kind(" ".join(s.text for s in kept), kind, standalone):
            # supported, but no answer: "a substantial amount" for "how many tons?"
            kept, dropped, why = [], [*kept, *dropped], "not_an_answer"
        timings["check_s"] = time.perf_counter() - t
        yield finish(kept, dropped, raw, why)

    def _condense(self, question: str, history: History) -> str:
        try:
            text = condense_chain(self.llm).invoke({"history": history_text(history), "question": question})
        except QABotError:
            raise
        except Exception as e:
            raise as_llm_error(e, self.settings) from e
        text = text.strip().strip('"').splitlines()[0].strip() if text.strip() else ""
        # a rewrite that lost the question entirely is worse than the original follow-up
        return text if 3 <= len(text) <= 400 else question

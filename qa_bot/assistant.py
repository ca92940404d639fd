"""The one entry point the faces use: ``ask(question, history) -> Answer`` and its streaming twin.

Owns the long-lived pieces (embedder, index, retriever, chat model), loads each on first use,
and runs the pipeline, which ``ask_stream`` reads as top to bottom:

    condense a follow-up -> retrieve -> select evidence -> decide whether to ask ->
    draft -> check -> decide whether it answers (declined: once more, with twice the evidence
    and, when the draft was no answer, a note saying why)

Retrieval is retrieve.py, evidence evidence.py, the draft and its citations generate.py,
support fidelity.py, and every decision to decline (with its reason) policy.py. The whole
flow, step by step, is in docs/architecture.md ("Following a question").
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import policy, prompts, trace
from .config import Settings
from .conflicts import conflict_note, dated_note, find_conflicts
from .errors import IndexMissingError, InputError, QABotError
from .evidence import EvidenceBudget, select_evidence
from .fidelity import SupportScorer
from .generate import (
    answer_chain,
    answer_check_messages,
    answer_inputs,
    check_draft,
    citations_for,
    condense_chain,
    history_text,
    parse_draft,
    render,
    stream_without_marker,
)
from .index import ArticleIndex, Embedder, IndexedArticle
from .journal import Journal
from .library import Library, Removed
from .question import analyse, news_window
from .retrieve import Retriever
from .sources import Sources
from .sync import recipe, sync
from .text import content_words, numbers
from .types import Answer, AnswerSentence, DateRange, Evidence, IngestReport, Passage

if TYPE_CHECKING:  # llms.py and LangChain load with the model, not for `qa-bot library` or `search`
    from langchain_core.language_models import BaseChatModel

MAX_QUESTION_CHARS = 2000

History = Sequence[tuple[str, str]]


@dataclass
class Token:
    """A piece of the answer as the model writes it."""

    text: str


@dataclass
class Retry:
    """The first draft was declined; the model is asked again with more evidence. Faces drop the
    tokens streamed so far."""

    reason: str


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


_ASKER, _ANSWERER = frozenset({"user", "human"}), frozenset({"assistant", "ai"})


def history_pairs(turns: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Earlier chat turns, as ``(role, text)`` in order, to the (question, answer) pairs the
    assistant condenses a follow-up with. Roles are OpenAI's ("user", "assistant") or
    LangChain's ("human", "ai"); others (system, tool) are skipped, and so is a question that
    got no answer. Every face reads its chat history through this."""
    pairs: list[tuple[str, str]] = []
    pending: str | None = None
    for role, text in turns:
        if role in _ASKER:
            pending = text
        elif role in _ANSWERER and pending is not None:
            pairs.append((pending, text))
            pending = None
    return pairs


def parse_date(value: object, name: str) -> dt.date | None:
    """A date limit as a face receives it ("2019-01-31", a date, or empty for none); InputError
    naming ``name`` otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.date):
        return value
    wrong = InputError(f"'{name}' must be a date like 2019-01-31, got {str(value)[:40]!r}")
    if not isinstance(value, str):
        raise wrong
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise wrong from None


class Assistant:
    """Shared by CLI, web UI and eval harness. Thread-safe: the web UI calls it from many sessions."""

    def __init__(
        self,
        settings: Settings,
        llm: BaseChatModel | None = None,
        progress: bool = True,
        embedder: Embedder | None = None,
    ) -> None:
        """``llm`` and ``embedder``: ready ones to use (a test's shared model, a fake embedder);
        by default each is built from the settings on first use."""
        self.settings = settings
        self.progress = progress
        self._llm = llm
        self._embedder: Embedder | None = embedder
        self._index: ArticleIndex | None = None
        self._retriever: Retriever | None = None
        self._articles: Library | None = None
        self._sources: Sources | None = None
        self._journal: Journal | None = None
        self._lock = threading.RLock()
        self._loading: threading.Thread | None = None
        self.load_timings: dict[str, float] = {}  # first-use costs: embedder, index, LLM (for --verbose)

    # ---- lazily built parts ----------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                t = time.perf_counter()
                self._embedder = Embedder(self.settings.embedder_backend, self.settings.model_cache_dir)
                self.load_timings["embedder_load_s"] = time.perf_counter() - t
            return self._embedder

    @property
    def index(self) -> ArticleIndex:
        with self._lock:
            if self._index is None:
                t = time.perf_counter()
                self._index = ArticleIndex(self.settings, lambda: self.embedder)
                self.load_timings["index_open_s"] = time.perf_counter() - t
            return self._index

    @property
    def articles(self) -> Library:
        """Adding (files, uploads, pasted text, URLs, feeds) and removing articles (library.py)."""
        with self._lock:
            if self._articles is None:
                self._articles = Library(self.index, self.settings)
            return self._articles

    @property
    def sources(self) -> Sources:
        """Feeds, pages and folders refreshed on a schedule (sources.py)."""
        with self._lock:
            if self._sources is None:
                self._sources = Sources(self.articles, self.settings)
            return self._sources

    @property
    def journal(self) -> Journal:
        """The answers given, their conversations and their ratings (journal.py)."""
        with self._lock:
            if self._journal is None:
                self._journal = Journal(self.settings, self.fingerprint)
            return self._journal

    def fingerprint(self, k: int | None = None) -> dict[str, object]:
        """The settings that shape an answer, kept with every answer and rating: which model, how
        many passages, how much evidence, which index recipe."""
        s = self.settings
        return {"model": self.llm_label, "k": k or s.k, "evidence_chars": s.evidence_chars,
                "evidence_items": s.evidence_items, "index_recipe": recipe(s)}

    def holding(self, question: str, text: str, today: dt.date | None = None) -> list[str]:
        """Ids of the articles, among those retrieved for ``question`` and ``text`` (a user's
        correction), one passage of which holds every word and number of ``text`` ("Steven
        Mnuchin and Robert Lighthizer" in "Treasury Secretary Steven Mnuchin and U.S. Trade
        Representative Robert Lighthizer"), best match first; [] when none does."""
        words, nums = content_words(text), numbers(text)
        if not (words or nums) or self.index.count() == 0:
            return []
        found = self.search(f"{question} {text}", k=10, today=today)
        return list(dict.fromkeys(p.article.id for p in found
                                  if words <= content_words(p.chunk.text) and nums <= numbers(p.chunk.text)))

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
                from .llms import make_chat_model

                self._llm = make_chat_model(self.settings, progress=self.progress)
            return self._llm

    @llm.setter
    def llm(self, llm: BaseChatModel) -> None:
        """Swap the chat model (a test's scripted replies; one model shared by several assistants)."""
        with self._lock:
            self._llm = llm

    def load_llm(self) -> None:
        """Load the chat model now (the web UI does this before serving, so no visitor waits for it)."""
        llm = self.llm
        if hasattr(llm, "load"):
            llm.load()
            self.load_timings["llm_load_s"] = llm.load_s

    def preload_llm(self) -> None:
        """Start loading the local model's weights in the background (a cold CLI call overlaps the
        load with the embedder load and retrieval); a no-op for servers or when already loaded."""
        llm = self.llm
        load = getattr(llm, "load", None)
        if load is None or getattr(llm, "_llama", None) is not None or self._loading is not None:
            return

        def run() -> None:
            try:
                load()
            except Exception:
                pass
            self.load_timings["llm_load_s"] = getattr(llm, "load_s", 0.0)

        self._loading = threading.Thread(target=run, name="llm-load", daemon=True)
        self._loading.start()

    def wait_for_loads(self, timeout: float = 60.0) -> None:
        """Block until a background model load (``preload_llm``) has finished."""
        if self._loading is not None:
            self._loading.join(timeout)

    @property
    def scorer(self) -> SupportScorer:
        return SupportScorer(self.embedder.embed, self.settings.support_threshold)

    @property
    def llm_label(self) -> str:
        from .llms import llm_label

        return llm_label(self.settings)

    # ---- library ---------------------------------------------------------------------------

    def library(self) -> list[IndexedArticle]:
        """Every fully indexed article, newest first."""
        return self.articles.list()

    def remove(self, article_id: str) -> Removed:
        """Remove an article from the index and, when qa-bot wrote its file, from that file
        (``Removed.chunks`` is 0 when no indexed article has the id)."""
        return self.articles.remove(article_id)

    def index_generation(self) -> str:
        """Changes whenever the index is written, by this process or another (a face compares it
        to know its list of articles is stale)."""
        return self.index.generation()

    def require_index(self) -> None:
        if self.index.count() == 0:
            raise IndexMissingError("nothing is indexed yet: run `qa-bot ingest corpus/` first")

    def ingest(
        self,
        path: Path,
        prune: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
        progress: bool = False,
    ) -> IngestReport:
        return sync(self.index, Path(path), prune=prune, on_progress=on_progress, progress=progress)

    def search(
        self, question: str, k: int | None = None, dates: DateRange | None = None, today: dt.date | None = None
    ) -> list[Passage]:
        """Top-k passages; ``today`` (default: today's date) is the reference for "this week" questions."""
        return self.retriever.search(validate_question(question), k=k, dates=dates, today=today or dt.date.today())

    def readable(
        self, question: str, k: int | None = None, dates: DateRange | None = None, today: dt.date | None = None
    ) -> tuple[list[Passage], list[Passage]]:
        """(the passages the model may read for ``question``, those the guard set aside). The
        evidence it is shown, on the first look and the second, is chosen from the first list."""
        today = today or dt.date.today()
        return self._set_aside(self.search(question, k, dates, today), question, k, dates, today)

    def evidence(
        self, question: str, passages: Sequence[Passage], today: dt.date | None = None, scale: int = 1
    ) -> list[Evidence]:
        """What the model would be shown for ``question`` from ``passages`` (evidence.py); ``scale``
        multiplies the budget (the second look reads twice as much)."""
        budget = EvidenceBudget(max_chars=scale * self.settings.evidence_chars,
                                max_items=min(12, scale * self.settings.evidence_items))
        window = analyse(question, today or dt.date.today()).window
        return select_evidence(question, passages, self.embedder.embed, budget, window)

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
        """Yield the answer's tokens as the model writes them, then one ``Final``. Traced as a
        ``qa.ask`` span with one child per step (trace.py; nothing when tracing is off)."""
        root = trace.start("qa.ask", k=k or self.settings.k, history_turns=len(history),
                           question_chars=len(question) if isinstance(question, str) else None)
        if isinstance(question, str):
            root.text("question", question)
        final: Answer | None = None
        try:
            for event in self._answer(root, question, history, dates, today, k):
                if isinstance(event, Final):
                    final = event.answer
                yield event
        except Exception as e:
            root.set(error=f"{type(e).__name__}: {e}"[:200])
            raise
        finally:
            if final is not None:
                root.set(abstained=final.abstained, abstain_reason=final.abstain_reason or None,
                         citations=len(final.citations), sentences=len(final.sentences),
                         conflicts=len(final.conflicts), second_look="second_look_s" in final.timings,
                         ttft_s=final.timings.get("ttft_s"))
                root.text("answer", final.text)
            root.end()

    def _answer(
        self, root, question: str, history: History, dates: DateRange | None, today: dt.date | None, k: int | None,
    ) -> Iterator[Token | Final | Retry]:
        """The pipeline itself (module docstring), each step a child span of ``root``."""
        t0 = time.perf_counter()
        question = validate_question(question)
        today = today or dt.date.today()  # one reference date for retrieval and for the prompt
        timings: dict[str, float] = {}

        def timed(name: str, fn: Callable, *args, said: Callable = lambda result, step: None):
            """Run one step, timed and traced (``said`` adds what it found to its span)."""
            t = time.perf_counter()
            with trace.span(f"qa.{name.removesuffix('_s')}", root) as step:
                result = fn(*args)
                timings[name] = time.perf_counter() - t
                said(result, step)
                return result

        standalone = timed("condense_s", self._condense, question, history,
                           said=lambda text, step: step.text("standalone_question", text)) if history else question
        passages, set_aside = timed(
            "retrieve_s", self.readable, standalone, k, dates, today,
            said=lambda found, step: step.set(k=k or self.settings.k, passages=len(found[0]), set_aside=len(found[1]),
                                              articles=len({p.article.id for p in found[0]})))
        evidence = timed("evidence_s", self.evidence, standalone, passages, today,
                         said=lambda items, step: step.set(items=len(items), chars=sum(len(e.text) for e in items)))

        token_probs: tuple[tuple[str, float], ...] = ()  # of the last draft, set after each one
        answer_p: float | None = None  # the answer check's P(yes) for the last draft, when it was asked

        def finish(kept: list[AnswerSentence], dropped: list[AnswerSentence], draft: str, why: str) -> Final:
            # other articles shown that give another value of what was asked: said, with both cited
            conflicts = () if why else find_conflicts(standalone, kept, evidence)
            note = conflict_note(conflicts) or ("" if why else dated_note(standalone, kept, evidence))
            both = [*kept, AnswerSentence(note, tuple(s.n for c in conflicts for s in c.sides))] if note else kept
            timings["total_s"] = time.perf_counter() - t0
            return Final(
                Answer(
                    question=question,
                    text=prompts.ABSTAIN_TEXT if why else " ".join(filter(None, (render(kept), note))),
                    citations=() if why else citations_for(both, evidence),
                    sentences=() if why else tuple(kept),
                    abstained=bool(why),
                    timings=timings,
                    passages=tuple(passages),
                    evidence=tuple(evidence),
                    standalone_question=standalone if standalone != question else "",
                    draft=draft,
                    draft_token_probs=token_probs if draft else (),
                    answer_check=answer_p,
                    dropped=tuple(dropped),
                    abstain_reason=why,
                    set_aside=tuple(set_aside),
                    conflicts=conflicts,
                    note=note,
                )
            )

        asked = analyse(standalone, today)
        with trace.span("qa.worth_asking", root) as step:
            worth = bool(evidence) and policy.worth_asking(standalone, passages, self.settings)
            # a question that names no date is about the news before it is asked; the user's own
            # dates (--since/--until, the web UI's range) say which news is meant
            chosen = dates is not None and (dates.start or dates.end)
            news = None if chosen else news_window(asked, today, self.settings.news_days)
            stale = worth and policy.misses_the_news(passages, news, self.index.holds_dates)
            if stale:  # every passage was older news: look within the news weeks themselves
                recent, aside = self.readable(standalone, k, news, today)
                if policy.tells_the_story(standalone, recent, self.settings):
                    passages, set_aside, stale = recent, aside, False
                    evidence = self.evidence(standalone, passages, today)
                    worth = bool(evidence)
                step.set(news_weeks_passages=len(recent), news_weeks_story=not stale)
            step.set(worth=worth, not_recent_news=stale)
        if not worth or stale:
            timings["generate_s"] = 0.0
            yield finish([], [], "", "not_recent_news" if stale else "no_relevant_passage")
            return

        window = asked.window
        kept: list[AnswerSentence] = []
        dropped: list[AnswerSentence] = []
        note = ""
        parent = root  # the second look's steps are children of its own span
        second = trace.OFF
        barred = None  # the model the second draft is asked of, when it is barred from its marker
        for attempt in (1, 2):
            t = time.perf_counter()
            raw = ""
            drafting = trace.start("qa.draft", parent, attempt=attempt, evidence_items=len(evidence),
                                   evidence_chars=sum(len(e.text) for e in evidence))
            pieces = 0
            try:
                inputs = answer_inputs(standalone, evidence, today, note)
                tokens = (str(tok) for tok in answer_chain(barred or self.llm).stream(inputs))
                for piece in stream_without_marker(tokens):
                    if "ttft_s" not in timings:
                        timings["ttft_s"] = time.perf_counter() - t0
                        drafting.set(first_token_s=round(time.perf_counter() - t, 3))
                    raw += piece
                    pieces += 1
                    yield Token(piece)
            except BaseException as e:  # an error, or the reader stopped reading (a closed stream)
                stopped = type(e).__name__ if isinstance(e, Exception) else "stopped"
                drafting.end(error=stopped)
                second.end(error=stopped)
                if isinstance(e, Exception) and not isinstance(e, QABotError):  # the server client's errors
                    from .llms import as_llm_error

                    raise as_llm_error(e, self.settings) from e
                raise
            usage = getattr(self.llm, "last_usage", None) or {}
            token_probs = tuple(getattr(self.llm, "last_token_probs", None) or ())
            drafting.text("draft", raw)
            drafting.end(stream_pieces=pieces, draft_chars=len(raw), prompt_tokens=usage.get("prompt_tokens"),
                         tokens_generated=usage.get("completion_tokens"))
            timings["generate_s"] = timings.get("generate_s", 0.0) + time.perf_counter() - t

            t = time.perf_counter()
            with trace.span("qa.check", parent, attempt=attempt) as step:
                if policy.model_declined(raw):
                    kept, dropped, why = [], [], "model_not_found"
                else:
                    older = policy.older_news_items(evidence, passages, window)
                    draft = parse_draft(raw, len(evidence))
                    kept, dropped = check_draft(draft, evidence, self.scorer, standalone, passages, older)
                    with trace.span("qa.verdict", step) as verdict:
                        why = policy.verdict(standalone, kept, dropped)
                        verdict.set(abstain_reason=why or None)
                step.set(kept=len(kept), dropped=len(dropped), abstain_reason=why or None)
            timings["check_s"] = timings.get("check_s", 0.0) + time.perf_counter() - t
            answer_p = None
            if not why and self.settings.answer_check:
                t = time.perf_counter()
                with trace.span("qa.answer_check", parent, attempt=attempt) as step:
                    answer_p = self._answer_check(standalone, kept, evidence)
                    if answer_p < self.settings.answer_check_threshold:
                        why = "not_answered"
                    step.set(p_yes=round(answer_p, 3), abstain_reason=why or None)
                timings["answer_check_s"] = timings.get("answer_check_s", 0.0) + time.perf_counter() - t
            wider, note, barred = self._second_look(why, attempt, standalone, passages, today, evidence, window, raw)
            if not wider:
                break
            # Declined: look again before saying the articles don't say. The checker judges the
            # second draft exactly like the first.
            evidence = wider
            second_look_from = time.perf_counter()
            parent = second = trace.start("qa.second_look", root, reason=why, evidence_items=len(evidence),
                                          evidence_chars=sum(len(e.text) for e in evidence), note=bool(note),
                                          marker_barred=barred is not None)
            yield Retry(why)
        if attempt == 2:
            timings["second_look_s"] = time.perf_counter() - second_look_from
            second.end(abstain_reason=why or None)
        yield finish([] if why else kept, [*kept, *dropped] if why else dropped, raw, why)

    def _answer_check(self, question: str, kept: Sequence[AnswerSentence], evidence: Sequence[Evidence]) -> float:
        """P(yes) that the checked answer gives what ``question`` asks for, by the evidence it
        cites, from the model asked as a grader in a fresh prompt (prompts.ANSWER_CHECK_SYSTEM)."""
        from .llms import as_llm_error, yes_probability

        try:
            return yes_probability(self.llm, answer_check_messages(question, kept, evidence))
        except QABotError:
            raise
        except Exception as e:  # the server client's errors
            raise as_llm_error(e, self.settings) from e

    def _set_aside(
        self, passages: list[Passage], question: str, k: int | None, dates: DateRange | None, today: dt.date
    ) -> tuple[list[Passage], list[Passage]]:
        """Split off passages of articles written to steer the model (guard.py) and fill their
        places with the next-best ordinary passages. Returns (to use, set aside)."""
        if not self.settings.guard or not any(p.article.suspect for p in passages):
            return passages, []
        want = k or self.settings.k
        suspects = sum(1 for p in passages if p.article.suspect)
        more = self.search(question, min(20, want + 2 * suspects), dates, today)
        kept = [p for p in more if not p.article.suspect][:want]
        return kept, [p for p in more if p.article.suspect]

    def _second_look(
        self, why: str, attempt: int, question: str, passages: Sequence[Passage], today: dt.date,
        evidence: list[Evidence], window: DateRange | None, raw: str,
    ) -> tuple[list[Evidence], str, BaseChatModel | None]:
        """(evidence, note, barred model) for a second draft, or ([], "", None) when there is no
        second look to take.

        The evidence is twice the budget. A draft that was no answer (it repeated the question,
        lacked the kind of thing asked for, or came from an older week's article) is re-asked
        with a note naming it, even when there is no more evidence to show; for the latter the
        older articles are left out. A draft with nothing supported is re-asked only when there
        is more to read. The model's own "not found" is often wrong where the evidence names the
        answer: the local model is re-asked unable to write the marker (the barred model), on the
        same evidence if there is no more, and the checks judge what it says instead, as they
        judge every draft (evals/README.md, "The model's not found"). A server model is barred
        through ``logit_bias`` when its server says how it tokenizes the marker; one that cannot
        say (a hosted API) is re-asked only when there is more to read.
        """
        # A doubted answer ("not_answered") is declined as it is: a second look after it was not
        # measured, and the decline alone is what dev2's check half confirmed (evals/README.md).
        if not why or attempt > 1 or not self.settings.second_look or why == "not_answered":
            return [], "", None
        if why == "out_of_window":
            passages = [p for p in passages if not policy.is_older_news(p.article, window)]
        wider = self.evidence(question, passages, today, scale=2)
        note = policy.retry_note(why, question, raw)
        if note:
            return wider or evidence, note, None
        more = wider if sum(len(e.text) for e in wider) > sum(len(e.text) for e in evidence) else []
        if why == "model_not_found":
            from .llms import barring

            barred = barring(self.llm, prompts.NOT_FOUND_SPELLINGS)
            if barred is not None:
                return more or evidence, "", barred
        return more, "", None

    def _condense(self, question: str, history: History) -> str:
        try:
            text = condense_chain(self.llm).invoke({"history": history_text(history), "question": question})
        except QABotError:
            raise
        except Exception as e:
            from .llms import as_llm_error

            raise as_llm_error(e, self.settings) from e
        text = text.strip().strip('"').splitlines()[0].strip() if text.strip() else ""
        # a rewrite that lost the question entirely is worse than the original follow-up
        return text if 3 <= len(text) <= 400 else question

"""The headless face: an OpenAI-compatible chat endpoint beside the web UI (one process, one model).

``POST /v1/chat/completions`` takes ``messages`` (earlier turns are the conversation history, as
in the web UI's chat) and answers with the *checked* answer, ``[n]`` marks included. Every
response also carries ``citations``, ``abstained`` and ``abstain_reason`` at the top level, in
the shape of ``qa-bot ask --json``, so any OpenAI client works unchanged and a citation-aware
one gets the sources. ``GET /v1/models`` lists the one model, ``qa-bot``.

Streaming (``stream: true``) sends OpenAI chunk events, but only text that passed the support
check: an event stream cannot take text back, and the draft the model writes may still lose
sentences or have its citations moved. While the model drafts, SSE comments keep the
connection alive; the checked answer then follows in sentence-sized chunks, and the last chunk
carries the citations.

Optional request fields beyond OpenAI's: ``k`` (passages), ``since`` / ``until`` (YYYY-MM-DD).
When ``QA_BOT_API_KEY`` is set, requests need ``Authorization: Bearer <key>``.

``POST /v1/feedback`` rates an answer by its completion ``id``: ``{"id": "chatcmpl-…", "rating":
"up"|"down", "comment": "…", "correction": "the right answer is …", "not_in_articles": false}``;
the rating is kept in the journal (journal.py) and ``qa-bot feedback export --eval`` makes it an
eval case. An unknown id is a 404.

At most ``max_concurrent_answers`` API answers run at once and ``api_max_waiting`` more wait
for a slot, waiting in the event loop rather than in a worker thread (threads are shared with
the web UI, which a crowd of waiting requests would otherwise starve); the rest get 429 with
``Retry-After``, which OpenAI clients retry after.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from .assistant import Assistant, Final, Retry, Token, history_pairs, parse_date
from .errors import (
    ConfigError,
    IndexMissingError,
    IndexUnavailableError,
    InputError,
    LLMUnavailableError,
    ModelMissingError,
    NotFoundError,
    QABotError,
)
from .types import Answer, DateRange

MODEL_ID = "qa-bot"
MAX_BODY = 4_000_000  # bytes; a conversation is text, and history beyond the last turns is not read
MAX_FEEDBACK_BODY = 64_000  # a rating, a comment and a correction
DONE = "data: [DONE]\n\n"  # the last event of every stream
ROLES = ("system", "developer", "user", "assistant", "tool")


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.param = status, message, kind, param

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": None}}


# What each kind of error means to an HTTP client (every QABotError subclass has its row;
# tests/test_api_requests.py fails when one is added without one):
STATUS_FOR: dict[type[QABotError], tuple[int, str]] = {
    InputError: (400, "invalid_request_error"),  # the request can be fixed by the caller
    NotFoundError: (404, "invalid_request_error"),  # an id names no kept answer (of this caller's)
    IndexMissingError: (503, "server_error"),  # nothing indexed yet: not ready to answer
    IndexUnavailableError: (503, "server_error"),  # the index is busy or its server gone: retry later
    LLMUnavailableError: (503, "server_error"),  # the LLM server behind us is down or failed
    ModelMissingError: (500, "server_error"),  # this server's install is broken
    ConfigError: (500, "server_error"),  # this server's settings are wrong
}


def api_error(e: QABotError) -> ApiError:
    """The OpenAI-shaped error for ``e``, by its class (the nearest listed ancestor)."""
    for cls in type(e).__mro__:
        if cls in STATUS_FOR:
            status, kind = STATUS_FOR[cls]
            return ApiError(status, str(e), kind)
    return ApiError(500, str(e), "server_error")


def internal_error(e: Exception) -> ApiError:
    """A bug, as a 500 in OpenAI's error shape that names it in one line."""
    detail = " ".join(str(e).split())[:160]
    return ApiError(500, f"internal error ({type(e).__name__}: {detail})", "server_error")


async def json_body(request: Request, limit: int) -> Any:
    """The request body parsed as JSON; 413 over ``limit`` bytes, 400 when it is not JSON."""
    raw = await request.body()
    if len(raw) > limit:
        size = f"{limit / 1_000_000:g} MB" if limit >= 1_000_000 else f"{limit // 1000} kB"
        raise ApiError(413, f"the request body is over {size}")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the request body is not valid JSON") from None
    except RecursionError:
        raise ApiError(400, "the request body is nested too deeply") from None


def _content(message: dict, i: int) -> str:
    """A message's text: a string, or a list of parts of which the text parts are kept."""
    content = message.get("content")
    if content is None and message.get("role") == "assistant":
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") not in ("text", "input_text"):
                raise ApiError(400, f"messages[{i}].content: only text parts are supported", param="messages")
            parts.append(str(part.get("text", "")))
        return " ".join(parts)
    raise ApiError(400, f"messages[{i}].content must be a string or a list of text parts", param="messages")


def parse_request(body: Any) -> dict[str, Any]:
    """The request as (question, history, stream, k, dates); ApiError(400) with the reason otherwise."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list", param="messages")
    turns: list[tuple[str, str]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise ApiError(400, f"messages[{i}] needs a role of {', '.join(ROLES)}", param="messages")
        if m["role"] in ("user", "assistant"):
            turns.append((m["role"], _content(m, i)))
    if not turns or turns[-1][0] != "user":
        raise ApiError(400, "the last message must be the user's question", param="messages")
    history = history_pairs(turns[:-1])
    k = body.get("k")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 20):
        raise ApiError(400, "'k' must be an integer from 1 to 20", param="k")
    dates = []
    for name in ("since", "until"):
        try:
            dates.append(parse_date(body.get(name), name))
        except InputError as e:
            raise ApiError(400, str(e), param=name) from None
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be true or false", param="stream")
    return {"question": turns[-1][1], "history": history, "stream": stream, "k": k, "dates": DateRange(*dates)}


class Admission:
    """How many API answers run (``running``) and wait for a slot (``waiting``); beyond, 429.

    Used from the event loop only, so the counts need no lock. A request holds a ``Ticket`` from
    ``admit`` until the ticket is released.
    """

    def __init__(self, running: int, waiting: int) -> None:
        self.running, self.waiting = running, waiting
        self.held = 0
        self._slots: asyncio.Semaphore | None = None  # made in the server's event loop

    def admit(self) -> Ticket:
        if self.held >= self.running + self.waiting:
            raise ApiError(429, f"busy: {self.running} answer(s) running and {self.waiting} waiting; "
                           "retry shortly", "rate_limit_error")
        self.held += 1
        return Ticket(self)

    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.running)
        return self._slots


class Ticket:
    """One admitted request: waits for an answer slot, and gives back what it holds exactly once."""

    def __init__(self, admission: Admission) -> None:
        self.admission, self.running, self.done = admission, False, False

    async def wait(self) -> None:
        await self.admission.slots().acquire()  # cancelled while waiting: nothing was taken
        self.running = True

    def release(self) -> None:
        if self.done:
            return
        self.done = True
        if self.running:
            self.admission.slots().release()
        self.admission.held -= 1


def _sources(answer: Answer) -> dict[str, Any]:
    d = answer.to_dict()
    return {"citations": d["citations"], "abstained": d["abstained"], "abstain_reason": d["abstain_reason"],
            "conflicts": d["conflicts"]}  # other articles' values of what was asked: each side, newest first


def _keep(assistant: Assistant, answer: Answer, req: dict[str, Any], answer_id: str | None = None) -> str:
    """The completion id: ``chatcmpl-`` and the id the journal keeps the answer under (the one
    ``/v1/feedback`` takes), or a random one when the journal is off."""
    kept = assistant.journal.record(answer, face="api", k=req["k"], answer_id=answer_id)
    return f"chatcmpl-{kept or answer_id or uuid.uuid4().hex[:10]}"


def completion(answer: Answer, cid: str) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                     "finish_reason": "stop", "logprobs": None}],
        **_sources(answer),
    }


def stream_events(assistant: Assistant, req: dict[str, Any]) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk format; only checked text is sent (see the module doc)."""
    answer_id = uuid.uuid4().hex[:10]
    cid, created = f"chatcmpl-{answer_id}", int(time.time())

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        tokens = 0
        for event in assistant.ask_stream(req["question"], req["history"], req["dates"], k=req["k"]):
            if isinstance(event, Token):
                tokens += 1
                if tokens % 8 == 1:
                    yield ": drafting\n\n"  # a comment: keeps proxies from closing an idle stream
            elif isinstance(event, Retry):
                yield ": looking again\n\n"
            elif isinstance(event, Final):
                _keep(assistant, event.answer, req, answer_id)
                pieces = event.answer.pieces()  # sentence by sentence, joined by spaces
                for i, piece in enumerate(pieces):
                    yield chunk({"content": piece if i == len(pieces) - 1 else piece + " "})
                yield chunk({}, "stop", **_sources(event.answer))
    except QABotError as e:
        yield f"data: {json.dumps(api_error(e).body(), ensure_ascii=False)}\n\n"
    yield DONE


class _AdmittedStream(StreamingResponse):
    """An SSE response that gives its ticket back however it ends: the answer done (before its
    last event goes out, so a client that asks again at once finds the place free), the stream
    failed, or the client gone before the first byte (when the events never even start)."""

    def __init__(self, assistant: Assistant, req: dict[str, Any], ticket: Ticket) -> None:
        self._events, self._ticket = self._run(assistant, req, ticket), ticket
        super().__init__(self._events, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @staticmethod
    async def _run(assistant: Assistant, req: dict[str, Any], ticket: Ticket) -> AsyncGenerator[str, None]:
        await ticket.wait()
        events = stream_events(assistant, req)
        try:
            async for event in iterate_in_threadpool(events):
                if event == DONE:
                    ticket.release()
                yield event
        finally:
            # A client gone mid-answer leaves ``events`` suspended inside the model's stream, which
            # holds the model lock: every later answer then waited for the garbage collector
            # (150 s and more). Closing it ends the model's stream and frees the lock now. Called
            # directly, not awaited: this may run in a cancelled scope, where an await would be
            # cancelled before it ran. (The close only unwinds generators: milliseconds.)
            with contextlib.suppress(ValueError):  # "generator already executing": it ends by itself
                events.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._ticket.release()
            await self._events.aclose()


def router(assistant: Assistant, api_key: str = "", running: int = 1, waiting: int = 8) -> APIRouter:
    # (fastapi reads the handlers' annotations, so Request is imported at module level)
    api = APIRouter(prefix="/v1")
    admission = Admission(running, waiting)

    def authorised(request: Request) -> None:
        if not api_key:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise ApiError(401, "missing or wrong API key (send Authorization: Bearer <QA_BOT_API_KEY>)",
                           "authentication_error")

    def fail(e: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else {"Retry-After": "5"} if e.status == 429 else None
        return JSONResponse(e.body(), status_code=e.status, headers=headers)

    @api.get("/models")
    async def models(request: Request):
        try:
            authorised(request)
        except ApiError as e:
            return fail(e)
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa-bot"}]}

    @api.post("/chat/completions")
    async def chat(request: Request):
        try:
            authorised(request)
            req = parse_request(await json_body(request, MAX_BODY))
            ticket = admission.admit()
            if req["stream"]:
                return _AdmittedStream(assistant, req, ticket)
            try:
                await ticket.wait()
                answer = await run_in_threadpool(assistant.ask, req["question"], req["history"], req["dates"],
                                                 None, req["k"])
            except QABotError as e:
                raise api_error(e) from None
            finally:
                ticket.release()
            return completion(answer, await run_in_threadpool(_keep, assistant, answer, req))
        except ApiError as e:
            return fail(e)
        except Exception as e:
            return fail(internal_error(e))

    @api.post("/feedback")
    async def feedback(request: Request):
        try:
            authorised(request)
            body = await json_body(request, MAX_FEEDBACK_BODY)
            if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"].strip():
                raise ApiError(400, "'id' must be the completion's id (chatcmpl-…)", param="id")
            if not isinstance(body.get("not_in_articles", False), bool):
                raise ApiError(400, "'not_in_articles' must be true or false", param="not_in_articles")
            try:
                rated = await run_in_threadpool(
                    lambda: assistant.journal.rate(body["id"], body.get("rating"), comment=body.get("comment"),
                                                   correction=body.get("correction"), face="api",
                                                   not_in_articles=body.get("not_in_articles", False)))
            except QABotError as e:
                raise api_error(e) from None
            return {"object": "feedback", "id": rated.id, "answer_id": f"chatcmpl-{rated.answer_id}",
                    "question": rated.question, "rating": rated.rating, "comment": rated.comment,
                    "correction": rated.correction, "not_in_articles": rated.not_in_articles}
        except ApiError as e:
            return fail(e)
        except Exception as e:
            return fail(internal_error(e))

    return api

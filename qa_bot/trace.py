"""Traces: where the time of an answer, an ingest or a source refresh goes, as OpenTelemetry
spans. Off unless asked for, the way OpenTelemetry's own SDKs are configured:

* ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set: spans go there
  over OTLP (``OTEL_EXPORTER_OTLP_PROTOCOL``: http/protobuf, the default, or grpc), batched;
* ``QA_BOT_TRACE=console`` (or ``OTEL_TRACES_EXPORTER=console``): spans are printed to stderr;
* ``OTEL_SDK_DISABLED=true``, ``QA_BOT_TRACE=off`` or ``OTEL_TRACES_EXPORTER=none``: off whatever
  else is set. ``OTEL_SERVICE_NAME`` names the service (default ``qa-bot``).

Spans carry sizes, counts and decisions (k, candidates, evidence items and characters, prompt
and generated tokens, the abstain reason, conflicts), never the text of a question, an answer or
an article, unless ``QA_BOT_TRACE_CONTENT=true``. The exporter needs the optional extra
(``pip install 'qa-bot[otel]'``); asking for traces without it is a one-line ConfigError.

Off, ``span`` and ``start`` hand out one shared do-nothing object: no OpenTelemetry import, no
allocation per call (``make bench`` measures the difference).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from .errors import ConfigError

_lock = threading.Lock()
_tracer: Any = None  # an opentelemetry Tracer once configured; False: tracing is off
_provider: Any = None  # its TracerProvider
_content = False


class _Off:
    """The span of tracing off: every call does nothing."""

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set(self, **attrs: Any) -> None:
        pass

    def text(self, key: str, value: str) -> None:
        pass

    def end(self, **attrs: Any) -> None:
        pass


OFF = _Off()


def _clean(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attribute values OpenTelemetry takes (str, bool, int, float); None dropped."""
    out = {}
    for k, v in attrs.items():
        if v is None:
            continue
        out[f"qa.{k}"] = v if isinstance(v, str | bool | int | float) else str(v)
    return out


class _Span:
    """A live span: ``set`` adds attributes, ``text`` adds text only when content is allowed,
    ``end`` ends it (once); as a context manager it is the current span inside the block."""

    def __init__(self, span: Any) -> None:
        self.span, self._scope, self._ended = span, None, False

    def set(self, **attrs: Any) -> None:
        self.span.set_attributes(_clean(attrs))

    def text(self, key: str, value: str) -> None:
        if _content:
            self.span.set_attribute(f"qa.{key}", value)

    def end(self, **attrs: Any) -> None:
        if self._ended:
            return
        if attrs:
            self.set(**attrs)
        self._ended = True
        self.span.end()

    def __enter__(self) -> _Span:
        from opentelemetry import trace

        self._scope = trace.use_span(self.span, end_on_exit=True, record_exception=True, set_status_on_exception=True)
        self._scope.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ended = True
        self._scope.__exit__(*exc)


def _wanted() -> str:
    """'console', 'otlp' or '' (off), from the environment."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ""
    mine = env.get("QA_BOT_TRACE", "").strip().lower()
    theirs = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if mine in ("off", "none", "false", "0") or theirs == "none":
        return ""
    if mine == "console" or theirs == "console":
        return "console"
    if mine in ("otlp", "on", "true", "1") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return "otlp"
    if mine:
        raise ConfigError(f"QA_BOT_TRACE must be console, otlp or off, got {mine!r}")
    return ""


def _tracer_now() -> Any:
    global _tracer, _provider, _content
    if _tracer is not None:
        return _tracer
    with _lock:
        if _tracer is None:
            how = _wanted()
            _content = os.environ.get("QA_BOT_TRACE_CONTENT", "").strip().lower() == "true"
            _provider = _make(how) if how else None
            _tracer = _provider.get_tracer("qa_bot") if _provider else False
    return _tracer


def _make(how: str) -> Any:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError:
        raise ConfigError("traces were asked for (OTEL_EXPORTER_OTLP_ENDPOINT or QA_BOT_TRACE) but OpenTelemetry "
                          "is not installed: pip install 'qa-bot[otel]'") from None
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "qa-bot")}))
    if how == "console":
        import sys

        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))  # stdout is the answer
    else:
        grpc = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").strip().lower() == "grpc"
        try:
            if grpc:
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ConfigError(f"the OTLP {'grpc' if grpc else 'http'} exporter is not installed: "
                              "pip install 'qa-bot[otel]'" + (" opentelemetry-exporter-otlp-proto-grpc" if grpc else "")) from None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    from opentelemetry import trace

    trace.set_tracer_provider(provider)  # any library's own spans join ours
    return provider


def use(provider: Any, content: bool = False) -> None:
    """Send qa-bot's spans to ``provider`` (a TracerProvider; None: off again), whatever the
    environment says: for tests (the SDK's in-memory exporter) and for applications that embed
    qa-bot and set up OpenTelemetry themselves."""
    global _tracer, _provider, _content
    with _lock:
        _provider = provider
        _tracer = provider.get_tracer("qa_bot") if provider is not None else False
        _content = content


def enabled() -> bool:
    return bool(_tracer_now())


def start(name: str, parent: Any = None, **attrs: Any) -> Any:
    """A span that is not made current: for a step whose work is spread over a generator's
    yields (the draft). ``parent``: a span from ``start``/``span``, else the current one."""
    tracer = _tracer_now()
    if not tracer:
        return OFF
    context = None
    if isinstance(parent, _Span):
        from opentelemetry import trace

        context = trace.set_span_in_context(parent.span)
    return _Span(tracer.start_span(name, context=context, attributes=_clean(attrs)))


def span(name: str, parent: Any = None, **attrs: Any) -> Any:
    """``with span("qa.retrieve", parent=root, k=5) as s: ...``: a span current inside the block
    (spans started inside it are its children), ended at its end, an exception recorded."""
    return start(name, parent, **attrs)


def instrument(app: Any) -> None:
    """Trace the FastAPI app's requests with OpenTelemetry's FastAPI instrumentation, when
    tracing is on (static files and Gradio's heartbeats left out)."""
    if not enabled():
        return
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    except ImportError:
        raise ConfigError("tracing is on but opentelemetry-instrumentation-fastapi is not installed: "
                          "pip install 'qa-bot[otel]'") from None
    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls="/assets/,/static/,/favicon,/gradio_api/heartbeat,"
                                       "/theme.css,/svelte/")

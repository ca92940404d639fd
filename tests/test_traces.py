"""Traces (trace.py) through OpenTelemetry's own in-memory exporter: the span tree of one ask,
of an ingest and of a request to the API, the attributes an operator reads, and no question or
article text unless asked for. Scripted model, weightless embedder: the fast lane."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from qa_bot import trace
from qa_bot.api import router
from qa_bot.articles import iter_files
from qa_bot.assistant import Assistant
from qa_bot.errors import ConfigError
from tests.conftest import TEST_CORPUS, scripted

BRIDGE_Q = "How much did the Harbor Bridge repair cost?"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.use(provider)
    yield exporter
    trace.use(None)


@pytest.fixture
def assistant(make_settings, embedder):
    a = Assistant(make_settings(), llm=scripted("The Harbor Bridge repairs cost $48.5 million [1]."),
                  progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    return a


def tree(exporter) -> dict[str, list[str]]:
    """span name -> names of its children, in start order."""
    done = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time)
    by_id = {s.context.span_id: s for s in done}
    kids: dict[str, list[str]] = {s.name: [] for s in done}
    for s in done:
        if s.parent is not None and s.parent.span_id in by_id:
            kids[by_id[s.parent.span_id].name].append(s.name)
    return kids


def named(exporter, name: str):
    [s] = [s for s in exporter.get_finished_spans() if s.name == name]
    return dict(s.attributes)


def test_one_ask_is_one_tree_of_its_steps_with_what_an_operator_reads(assistant, spans):
    spans.clear()
    answer = assistant.ask(BRIDGE_Q, k=4)
    assert not answer.abstained
    kids = tree(spans)
    assert kids["qa.ask"] == ["qa.retrieve", "qa.evidence", "qa.worth_asking", "qa.draft", "qa.check"]
    assert kids["qa.retrieve"] == ["qa.retrieve.dense", "qa.retrieve.bm25", "qa.retrieve.fusion"]
    assert kids["qa.check"] == ["qa.verdict"]
    root = named(spans, "qa.ask")
    assert root["qa.k"] == 4 and root["qa.abstained"] is False and root["qa.citations"] == len(answer.citations)
    assert root["qa.conflicts"] == 0
    assert named(spans, "qa.retrieve")["qa.passages"] == len(answer.passages)
    ev = named(spans, "qa.evidence")
    assert ev["qa.items"] == len(answer.evidence) and ev["qa.chars"] == sum(len(e.text) for e in answer.evidence)
    assert named(spans, "qa.retrieve.fusion")["qa.kept"] == len(answer.passages)
    assert named(spans, "qa.draft")["qa.draft_chars"] > 0
    # sizes and decisions only: no question, answer or article text anywhere
    everything = json.dumps([dict(s.attributes) for s in spans.get_finished_spans()])
    assert "Harbor" not in everything and "48.5" not in everything


def test_a_declined_draft_and_its_second_look_are_traced(make_settings, embedder, spans):
    llm = scripted("Ferry service to Gull Island resumed [1].",  # the question's premise, echoed: declined
                   "Ferry service resumed after a three-week strike [1].")
    a = Assistant(make_settings(), llm=llm, progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    spans.clear()
    answer = a.ask("After ferry service to Gull Island resumed, how long had the strike lasted?")
    assert not answer.abstained
    kids = tree(spans)
    assert kids["qa.ask"] == ["qa.retrieve", "qa.evidence", "qa.worth_asking", "qa.draft", "qa.check",
                              "qa.second_look"]
    assert kids["qa.second_look"] == ["qa.draft", "qa.check"]
    assert named(spans, "qa.second_look")["qa.reason"] == "repeats_question"
    assert named(spans, "qa.ask")["qa.second_look"] is True
    first_check = [s for s in spans.get_finished_spans() if s.name == "qa.check"][0]
    assert first_check.attributes["qa.abstain_reason"] == "repeats_question"


def test_a_decline_says_why_on_the_root(make_settings, embedder, spans):
    a = Assistant(make_settings(), llm=scripted("NOT_IN_ARTICLES"), progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    spans.clear()
    answer = a.ask("How many vehicles cross the Harbor Bridge each day?")
    root = named(spans, "qa.ask")
    assert answer.abstained and root["qa.abstained"] is True
    assert root["qa.abstain_reason"] == answer.abstain_reason == "model_not_found"


def test_the_graders_doubt_is_a_span_with_its_p_yes(make_settings, embedder, spans):
    a = Assistant(make_settings(answer_check=True), llm=scripted("The Harbor Bridge repairs cost $48.5 million [1].",
                                                                 grades=("no",)), progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    spans.clear()
    answer = a.ask(BRIDGE_Q)
    assert tree(spans)["qa.ask"] == ["qa.retrieve", "qa.evidence", "qa.worth_asking", "qa.draft", "qa.check",
                                     "qa.answer_check"]  # a doubted answer takes no second look
    assert named(spans, "qa.answer_check") == {"qa.attempt": 1, "qa.p_yes": 0.0, "qa.abstain_reason": "not_answered"}
    assert named(spans, "qa.ask")["qa.abstain_reason"] == answer.abstain_reason == "not_answered"


def test_text_is_traced_only_when_asked_for(assistant, spans):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.use(provider, content=True)
    spans.clear()
    assistant.ask(BRIDGE_Q)
    root = named(spans, "qa.ask")
    assert root["qa.question"] == BRIDGE_Q and "48.5" in root["qa.answer"]


def test_an_ingest_has_a_span_per_file(make_settings, embedder, spans, tmp_path):
    a = Assistant(make_settings(), progress=False, embedder=embedder)
    spans.clear()
    report = a.ingest(TEST_CORPUS)
    kids = tree(spans)
    files = list(iter_files(TEST_CORPUS))
    assert kids["qa.ingest"].count("qa.ingest.file") == len(files) == 6
    assert kids["qa.ingest"][-1] == "qa.ingest.embed"
    ingest = named(spans, "qa.ingest")
    assert ingest["qa.added"] == len(report.added) and ingest["qa.chunks_embedded"] == report.chunks_embedded
    # the empty file is skipped, and its span says why
    skipped = [s.attributes["qa.skipped"] for s in spans.get_finished_spans()
               if s.name == "qa.ingest.file" and "qa.skipped" in s.attributes]
    assert skipped and all(skipped) and any("empty" in why for why in skipped)


def test_api_requests_are_spans_with_the_answer_inside(assistant, spans):
    app = FastAPI()
    app.include_router(router(assistant))
    trace.instrument(app)
    spans.clear()
    with TestClient(app) as client:
        r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": BRIDGE_Q}]})
    assert r.status_code == 200
    finished = spans.get_finished_spans()
    [server] = [s for s in finished if s.name.startswith("POST /v1/chat/completions") and s.parent is None]
    [ask] = [s for s in finished if s.name == "qa.ask"]
    assert ask.context.trace_id == server.context.trace_id  # the answer is part of the request's trace
    assert server.attributes.get("http.response.status_code", server.attributes.get("http.status_code")) == 200


def test_tracing_off_hands_out_one_do_nothing_span(monkeypatch):
    trace.use(None)
    assert trace.start("x") is trace.OFF and trace.span("y", k=1) is trace.OFF
    assert not trace.enabled()


def test_asking_for_an_unknown_exporter_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(trace, "_tracer", None)
    monkeypatch.setenv("QA_BOT_TRACE", "jaeger")
    with pytest.raises(ConfigError, match="console, otlp or off"):
        trace.enabled()
    monkeypatch.setenv("QA_BOT_TRACE", "off")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert not trace.enabled()


def test_a_follow_up_traces_its_condensing(make_settings, embedder, spans):
    llm = scripted("How much did the Harbor Bridge repairs cost?",  # the follow-up, rewritten
                   "The Harbor Bridge repairs cost $48.5 million [1].")
    a = Assistant(make_settings(), llm=llm, progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    spans.clear()
    answer = a.ask("And what did they cost?", history=[("When did the Harbor Bridge reopen?", "In May [1].")])
    assert answer.standalone_question
    assert tree(spans)["qa.ask"][:2] == ["qa.condense", "qa.retrieve"]
    assert named(spans, "qa.ask")["qa.history_turns"] == 1
    assert "qa.standalone_question" not in named(spans, "qa.condense")  # text: only when asked for


def test_a_source_refresh_is_a_span_with_its_ingest_inside(make_settings, embedder, spans, tmp_path):
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "story.md").write_text("---\ntitle: Tram line opens\ndate: 2024-06-01\n---\nThe tram line opened.\n")
    a = Assistant(make_settings(corpus_dir=tmp_path), progress=False, embedder=embedder)
    source = a.sources.add(str(folder), "10m")
    spans.clear()
    [done] = a.sources.refresh(everything=True)
    assert not done.error
    kids = tree(spans)
    assert kids["qa.source.refresh"] == ["qa.ingest"] and "qa.ingest.file" in kids["qa.ingest"]
    refresh = named(spans, "qa.source.refresh")
    assert refresh["qa.source"] == source.id and refresh["qa.kind"] == "folder" and refresh["qa.added"] == 1
    assert "qa.location" not in refresh  # where it reads from is content: only when asked for


def test_console_tracing_from_the_environment_prints_spans_to_stderr(monkeypatch, capsys):
    monkeypatch.setattr(trace, "_tracer", None)
    monkeypatch.setenv("QA_BOT_TRACE", "console")
    try:
        assert trace.enabled()
        trace.start("qa.test", k=3).end()
        out = capsys.readouterr()
        assert '"name": "qa.test"' in out.err and '"qa.k": 3' in out.err and not out.out
    finally:
        trace.use(None)

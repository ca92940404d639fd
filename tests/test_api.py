"""The OpenAI-compatible API, called with the official `openai` client against a live `qa-bot serve`
on loopback (real index, real local model), the same process that serves the web UI."""

from __future__ import annotations

import shutil
import time

import httpx
import openai
import pytest

from tests.conftest import SEED_CORPUS, start_qa_bot_serve

pytestmark = pytest.mark.integration
KEY = "test-key-123"
TARIFFS = "When could the US raise tariffs on Chinese goods?"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    corpus = tmp / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    # one answer at a time and none waiting, so two at once are one too many
    proc, base = start_qa_bot_serve(tmp, {"QA_BOT_DATA_DIR": str(tmp / "data"), "QA_BOT_CORPUS_DIR": str(corpus),
                                          "QA_BOT_API_KEY": KEY, "QA_BOT_MAX_CONCURRENT_ANSWERS": "1",
                                          "QA_BOT_API_MAX_WAITING": "0"})
    yield base
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def client(api):
    return openai.OpenAI(base_url=api + "/v1", api_key=KEY, max_retries=0, timeout=240)


def test_models_lists_qa_bot(client):
    assert [m.id for m in client.models.list()] == ["qa-bot"]


def test_a_plain_and_a_streamed_call_give_the_same_checked_answer_with_its_sources(client):
    stream = client.chat.completions.create(model="qa-bot", stream=True,
                                            messages=[{"role": "user", "content": TARIFFS}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "March 1" in text and "[1]" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["abstained"] is False and "March 1" in last.model_extra["citations"][0]["quote"]
    # the same answer, whole, as a plain call gives it: the stream carries checked text only
    plain = client.chat.completions.create(model="qa-bot", messages=[{"role": "user", "content": TARIFFS}])
    assert text == plain.choices[0].message.content and plain.choices[0].finish_reason == "stop"
    extra = plain.model_extra
    assert extra["abstained"] is False and extra["abstain_reason"] == ""
    first = extra["citations"][0]
    assert first["n"] == 1 and "March 1" in first["quote"] and first["article_id"] == "000_0cd96bd9d1e8fa7f"


def test_an_answer_is_rated_by_its_completion_id(api, client):
    stream = client.chat.completions.create(model="qa-bot", stream=True,
                                            messages=[{"role": "user", "content": TARIFFS}])
    cid = [c.id for c in stream][-1]
    auth = {"Authorization": f"Bearer {KEY}"}
    r = httpx.post(api + "/v1/feedback", headers=auth, timeout=30, json={
        "id": cid, "rating": "down", "comment": "say the year", "correction": "March 1, 2019"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer_id"] == cid and body["question"] == TARIFFS and body["rating"] == "down"
    assert body["correction"] == "March 1, 2019" and body["comment"] == "say the year"
    # a changed mind replaces the rating and keeps what was said
    again = httpx.post(api + "/v1/feedback", headers=auth, timeout=30, json={"id": cid, "rating": "up"}).json()
    assert again["id"] == body["id"] and again["rating"] == "up" and again["comment"] == "say the year"
    for payload, status, words in [
        ({"id": "chatcmpl-0000000000", "rating": "up"}, 404, "no answer"),
        ({"id": cid, "rating": "sideways"}, 400, "up or down"),
        ({"rating": "up"}, 400, "'id'"),
        ({"id": cid, "rating": "up", "not_in_articles": "yes"}, 400, "not_in_articles"),
    ]:
        r = httpx.post(api + "/v1/feedback", headers=auth, json=payload, timeout=30)
        assert r.status_code == status and words in r.json()["error"]["message"], r.text
    r = httpx.post(api + "/v1/feedback", json={"id": cid, "rating": "down"}, timeout=30)
    assert r.status_code == 401  # the same bearer key as the completions


def test_a_follow_up_uses_the_earlier_turns(client):
    # the earlier turns as a client sends them back (the answer as qa-bot words one, cited)
    r = client.chat.completions.create(model="qa-bot", messages=[
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": TARIFFS},
        {"role": "assistant", "content": "The US could raise tariffs on Chinese goods on March 1 [1]."},
        {"role": "user", "content": "On how much in goods?"},
    ])
    assert "200 billion" in r.choices[0].message.content, r.choices[0].message.content
    assert r.model_extra["citations"]


def test_a_question_the_articles_do_not_answer_is_an_honest_abstention(client):
    r = client.chat.completions.create(model="qa-bot", messages=[
        {"role": "user", "content": "Who won the 2018 FIFA World Cup final?"}])
    assert r.model_extra["abstained"] is True and r.model_extra["abstain_reason"]
    assert r.model_extra["citations"] == [] and "don't say" in r.choices[0].message.content.lower()


def test_a_wrong_or_missing_key_is_refused(api):
    bad = openai.OpenAI(base_url=api + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="qa-bot", messages=[{"role": "user", "content": TARIFFS}])
    r = httpx.get(api + "/v1/models")
    assert r.status_code == 401 and "API key" in r.json()["error"]["message"]


@pytest.mark.parametrize("body, words", [
    (b"{not json", "not valid JSON"),
    (b"[]", "JSON object"),
    (b'{"model": "qa-bot"}', "'messages'"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}', "last message"),
    (b'{"messages": [{"role": "wizard", "content": "hi"}]}', "role"),
    (b'{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}', "text parts"),
    (b'{"messages": [{"role": "user", "content": "   "}]}', "question"),
    (b'{"messages": [{"role": "user", "content": "why?"}], "k": 0}', "'k'"),
])
def test_a_malformed_request_is_a_400_with_a_message_and_the_server_keeps_serving(api, body, words):
    r = httpx.post(api + "/v1/chat/completions", content=body,
                   headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]["message"]
    assert httpx.get(api + "/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_langchain_chat_openai_works_against_it_unchanged(api):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=api + "/v1", api_key=KEY, model="qa-bot", max_retries=0, timeout=240)
    assert "March 1" in llm.invoke(TARIFFS).content


def _post(api: str, stream: bool = False) -> httpx.Response:
    return httpx.post(api + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, timeout=240,
                      json={"model": "qa-bot", "stream": stream, "messages": [{"role": "user", "content": TARIFFS}]})


def test_a_request_beyond_the_line_is_told_to_retry_and_the_line_empties_again(api):
    # one answer may run and none wait (the fixture's settings): while a streamed answer holds the
    # place (its first event read, so it has been admitted), a second call is turned away
    with httpx.stream("POST", api + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, timeout=240,
                      json={"model": "qa-bot", "stream": True, "messages": [{"role": "user", "content": TARIFFS}]}) as held:
        assert held.status_code == 200
        lines = held.iter_lines()
        next(lines)
        busy = _post(api)
        assert busy.status_code == 429
        assert busy.headers["retry-after"] and busy.json()["error"]["type"] == "rate_limit_error"
        assert "March 1" in "".join(lines)  # the one admitted is answered in full
    # a client that leaves mid-stream gives its place back (the server sees it gone at its next
    # event, or when that answer is done), so the line is not stuck at "busy" for good
    with httpx.stream("POST", api + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, timeout=240,
                      json={"model": "qa-bot", "stream": True, "messages": [{"role": "user", "content": TARIFFS}]}) as r:
        assert r.status_code == 200
        next(r.iter_lines())
    deadline = time.time() + 60
    while (after := _post(api, stream=True)).status_code == 429 and time.time() < deadline:
        time.sleep(0.5)
    assert after.status_code == 200 and "March 1" in after.text
    assert _post(api).status_code == 200


def test_streams_dropped_at_any_point_never_wedge_the_next_answer(api):
    """Clients that leave mid-stream (after the first chunk, while the model drafts, mid-answer)
    must not hold the model: a plain call afterwards is answered as soon as the place is free."""
    body = {"model": "qa-bot", "stream": True, "messages": [{"role": "user", "content": TARIFFS}]}
    for lines_read in (1, 3, 6):
        deadline = time.monotonic() + 120
        while True:  # each drop case runs: after a 429 (the last dropped stream still winding up), again
            with httpx.stream("POST", api + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                              timeout=240, json=body) as r:
                if r.status_code != 429:
                    assert r.status_code == 200
                    for i, _ in enumerate(r.iter_lines()):
                        if i + 1 >= lines_read:
                            break
                    break
            assert time.monotonic() < deadline, "the place was never given back"
            time.sleep(0.5)
    started = time.monotonic()
    while (after := _post(api)).status_code == 429 and time.monotonic() - started < 120:
        time.sleep(0.5)
    assert after.status_code == 200 and "March 1" in after.json()["choices"][0]["message"]["content"]
    # an answer here takes ~5-15 s; with the model held by an abandoned stream it took 150 s and more
    assert time.monotonic() - started < 100


def test_malformed_requests_of_every_shape_get_a_4xx_never_a_5xx(api):
    """A bounded property run against the live server: arbitrary malformed bodies (the ones the
    parser refuses, so no answer is started), deep nesting, a huge history turn, non-JSON bytes."""
    import json

    from hypothesis import HealthCheck, assume, given, settings

    from qa_bot.api import ApiError, parse_request
    from tests.test_api_requests import any_json, request

    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    def post(content: bytes) -> httpx.Response:
        return httpx.post(api + "/v1/chat/completions", content=content, headers=headers, timeout=240)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=request | any_json)
    def refused(body):
        try:
            parse_request(body)
        except ApiError:
            pass
        else:
            assume(False)  # a valid request would start an answer: the fast lane covers those shapes
        r = post(json.dumps(body).encode())
        assert r.status_code == 400 and r.json()["error"]["message"], r.text

    refused()
    for content in (b"[" * 100_000 + b"]" * 100_000, b'{"messages": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
                    b"\xff\xfe garbage", b""):
        r = post(content)
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", r.text
    assert post(b'{"messages": [{"role": "user", "content": "' + b"a" * 4_100_000 + b'"}]}').status_code == 413
    # a long earlier turn is cut for the rewrite prompt, not sent whole into the model's context
    long_turn = {"model": "qa-bot", "messages": [{"role": "user", "content": "tariffs " * 1999},
                                                 {"role": "assistant", "content": "They rose [1]. " * 3000},
                                                 {"role": "user", "content": "and when could they rise again?"}]}
    r = httpx.post(api + "/v1/chat/completions", json=long_turn, headers=headers, timeout=240)
    assert r.status_code == 200, r.text

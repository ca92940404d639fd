"""Any request body the API can be sent is either parsed or refused with a 400 and a reason
(property tests over arbitrary JSON; no server, no model: the fast lane)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_bot.api import ROLES, ApiError, parse_request

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
any_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                             max_size=4), max_leaves=20)
message = st.fixed_dictionaries({"role": st.sampled_from(ROLES) | st.text(max_size=10)},
                                optional={"content": any_json | st.text(max_size=50)})
request = st.fixed_dictionaries({"messages": st.lists(message, max_size=6) | any_json},
                                optional={"k": any_json, "stream": any_json, "since": any_json, "until": any_json,
                                          "model": any_json})


@settings(max_examples=200, deadline=None)
@given(body=request | any_json)
def test_any_body_is_parsed_or_refused_with_a_400(body):
    try:
        req = parse_request(json.loads(json.dumps(body)))
    except ApiError as e:
        assert e.status == 400 and e.message
        return
    assert isinstance(req["question"], str) and isinstance(req["stream"], bool)
    assert all(isinstance(u, str) and isinstance(b, str) for u, b in req["history"])


def test_a_long_history_turn_is_cut_for_the_condense_prompt():
    from qa_bot.generate import history_text

    text = history_text([("word " * 5000, "answer " * 5000 + "[1]")] * 5)
    assert text.count("User:") == 3 and len(text) < 3 * 2 * 420


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_kind_of_error_has_its_http_status():
    """A new QABotError subclass needs a row in api.STATUS_FOR (a client retries a 503, fixes a 400)."""
    from qa_bot import errors
    from qa_bot.api import STATUS_FOR

    families = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.QABotError)]
    assert set(families) - {errors.QABotError} == set(STATUS_FOR)
    assert all(any(a in STATUS_FOR for a in c.__mro__) for c in _subclasses(errors.QABotError))


def test_the_api_answers_each_error_with_its_status_in_the_openai_shape():
    """Through the real router and HTTP stack; the assistant here only raises (the subject is
    the mapping; every other API test runs the real pipeline)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from qa_bot import errors
    from qa_bot.api import router

    class Raising:
        def __init__(self, error):
            self.error = error

        def ask(self, *args, **kwargs):
            raise self.error

        def ask_stream(self, *args, **kwargs):
            raise self.error

    expected = {errors.InputError: 400, errors.IndexMissingError: 503, errors.IndexUnavailableError: 503,
                errors.LLMUnavailableError: 503, errors.ModelMissingError: 500, errors.ConfigError: 500}
    for cls, status in expected.items():
        app = FastAPI()
        app.include_router(router(Raising(cls(f"{cls.__name__} happened"))))
        body = {"messages": [{"role": "user", "content": "When was the bridge repaired?"}]}
        r = TestClient(app).post("/v1/chat/completions", json=body)
        assert r.status_code == status, (cls, r.text)
        assert r.json()["error"]["message"] == f"{cls.__name__} happened"
        streamed = TestClient(app).post("/v1/chat/completions", json={**body, "stream": True}).text
        assert f"{cls.__name__} happened" in streamed and streamed.rstrip().endswith("data: [DONE]")

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

"""foreman.runtime.model_calls: one model call is counted once, whichever canonical events a session emits (issue 9)."""

import pytest

from foreman.runtime.model_calls import ModelCallCounter, call_usage, is_model_call

OK = {"status": "ok"}


@pytest.mark.parametrize(("events", "counted"), [
    (["provider:response", "provider:response"], [True, True]),  # our loop, a provider without llm:response
    (["llm:response", "llm:response"], [True, True]),  # upstream loop: no provider:response
    (["llm:response", "provider:response", "llm:response", "provider:response"], [True, False, True, False]),
    (["provider:response", "llm:response", "provider:response"], [True, True, False]),  # llm:response from call 2 on
])
def test_each_call_is_counted_once(events, counted):
    counter = ModelCallCounter()
    assert [counter.counts(event, OK) for event in events] == counted


def test_a_failed_llm_response_is_no_call_but_still_names_the_source():
    counter = ModelCallCounter()
    assert counter.counts("llm:response", {"status": "error"}) is False
    assert counter.counts("provider:response", {}) is False


@pytest.mark.parametrize(("data", "expected"), [
    ({"event": "provider:response"}, True),  # logged before issue 9: no model_call key
    ({"event": "provider:response", "model_call": False}, False),
    ({"event": "llm:response", "model_call": True}, True),
    ({"event": "llm:response"}, False),
    ({"event": "tool:post"}, False),
])
def test_logged_events_say_whether_they_count(data, expected):
    assert is_model_call(data) is expected


def test_usage_numbers_are_read_whatever_their_json_form():
    assert call_usage({"input_tokens": 10, "output_tokens": None, "cost_usd": "0.0125"}) == (10, 0, 0.0125)
    assert call_usage(None) == (0, 0, 0.0)

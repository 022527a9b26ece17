"""Static types users see, checked by mypy over this file (and a smoke run by pytest)."""

from __future__ import annotations

from typing import assert_type

import anthropic
import openai

import riprap


def test_wrap_keeps_the_client_type() -> None:
    """`wrap` returns the SDK client's own type, so editors and mypy keep working."""
    client = riprap.wrap(anthropic.Anthropic(api_key="k", base_url="http://127.0.0.1:9"))
    assert_type(client, anthropic.Anthropic)
    aclient = riprap.wrap(openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    assert_type(aclient, openai.AsyncOpenAI)
    assert_type(riprap.with_policy(client, retry=riprap.Retry(max_attempts=2)), anthropic.Anthropic)
    assert_type(riprap.report_of(ValueError()), riprap.CallReport | None)

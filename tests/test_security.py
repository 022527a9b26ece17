"""The API key never leaves the process through riprap: logs, events, errors, reprs, reports."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

import riprap
from riprap.sim import Reply
from riprap.testing import EventLog
from support import create, make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

CANARY = "sk-ant-CANARY-7f3a9c1e5b2d4f6a8c0e"


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_canary_key_appears_nowhere(
    provider: str, sim: Simulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A server echoing the key: riprap's logs, events, errors and reports hold none of it."""
    caplog.set_level(logging.DEBUG, logger="riprap")
    sim.script(
        Reply(status=500, message=f"upstream said: bad key {CANARY}"),
        Reply(status=401, message=f"Incorrect API key provided: {CANARY}"),
    )
    log = EventLog()
    client = riprap.wrap(
        make_client(provider, sim, is_async=False, api_key=CANARY), clock=clock, hooks=[log]
    )
    with pytest.raises(Exception) as info:  # noqa: PT011 - the SDK's own AuthenticationError
        create(provider, client)
    error = info.value
    report = riprap.report_of(error)
    assert report is not None
    places = {
        "logs": caplog.text + "".join(str(vars(r)) for r in caplog.records),
        "events": "".join(repr(e) for e in log.events),
        "error": str(error) + repr(error) + "".join(getattr(error, "__notes__", [])),
        "error body": repr(getattr(error, "body", None)),
        "report": repr(report) + report.summary(),
        "client repr": repr(client) + str(client),
    }
    leaked = [where for where, text in places.items() if CANARY in text]
    assert leaked == []
    assert "[redacted]" in places["events"]


def test_prompt_and_answer_text_are_not_logged(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Events carry ids and numbers, never the prompt or the answer."""
    caplog.set_level(logging.DEBUG, logger="riprap")
    sim.script(Reply(status=529), Reply(text="SECRET-ANSWER-TEXT"))
    log = EventLog()
    client = riprap.wrap(
        make_client("anthropic", sim, is_async=False), hooks=[log], random=lambda: 0.0
    )
    message = create("anthropic", client, messages=[{"role": "user", "content": "SECRET-PROMPT"}])
    assert message.content[0].text == "SECRET-ANSWER-TEXT"
    text = caplog.text + "".join(repr(e) for e in log.events)
    assert "SECRET-PROMPT" not in text
    assert "SECRET-ANSWER-TEXT" not in text

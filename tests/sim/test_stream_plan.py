"""Streamed replies as plans: when each event is written, and how faults end a stream."""

from __future__ import annotations

from typing import Any

import pytest

from riprap.sim import Reply, Scenario
from riprap.sim._sse import Events, Step, StreamBody, schedule

EVENTS = Events(
    opening=(b"O1", b"O2"),
    deltas=(b"D0", b"D1", b"D2"),
    closing=(b"C1", b"C2"),
    error=b"E",
)


def test_plain_stream_is_one_write() -> None:
    """With no pacing every event goes out in a single write, then the body finishes."""
    assert schedule(Reply(), EVENTS) == StreamBody((Step(0.0, b"O1O2D0D1D2C1C2"),), "finish")


def test_interval_separates_every_event() -> None:
    """stream_interval waits before each event after the first."""
    body = schedule(Reply(stream_interval=0.5), EVENTS)
    assert [s.wait for s in body.steps] == [0.0] + [0.5] * 6
    assert b"".join(s.data for s in body.steps) == b"O1O2D0D1D2C1C2"


def test_first_token_delay_follows_the_opening_events() -> None:
    """The opening events go out at once; the first text delta waits."""
    body = schedule(Reply(stream_first_token_delay=2.0), EVENTS)
    assert body.steps == (Step(0.0, b"O1O2"), Step(2.0, b"D0D1D2C1C2"))


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(stream_error_after=1), StreamBody((Step(0.0, b"O1O2D0E"),), "finish")),
        (Reply(stream_cut_after=0), StreamBody((Step(0.0, b"O1O2"),), "cut")),
        (Reply(stream_truncate_after=2), StreamBody((Step(0.0, b"O1O2D0D1"),), "finish")),
        (Reply(stream_stall_after=1), StreamBody((Step(0.0, b"O1O2D0"),), "hang")),
        # Past the last delta: all text sent, the stream still never closes properly.
        (Reply(stream_error_after=99), StreamBody((Step(0.0, b"O1O2D0D1D2E"),), "finish")),
    ],
)
def test_faults_end_the_stream_after_k_deltas(reply: Reply, expected: StreamBody) -> None:
    """Each ending fault hits after exactly k text deltas (or after the last one)."""
    assert schedule(reply, EVENTS) == expected


def test_stall_that_resumes_is_a_silent_wait() -> None:
    """A stall with a duration is a wait with no bytes, then the stream goes on."""
    body = schedule(Reply(stream_stall_after=2, stream_stall_for=3.0), EVENTS)
    assert body == StreamBody((Step(0.0, b"O1O2D0D1"), Step(3.0, b"D2C1C2")), "finish")


def test_stall_then_cut_waits_before_cutting() -> None:
    """A stall followed by a cut at the same position keeps silent, then drops the line."""
    body = schedule(Reply(stream_stall_after=1, stream_stall_for=1.5, stream_cut_after=1), EVENTS)
    assert body == StreamBody((Step(0.0, b"O1O2D0"), Step(1.5, b"")), "cut")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"stream_error_after": -1}, "stream_error_after"),
        ({"stream_cut_after": 1.5}, "stream_cut_after"),
        ({"stream_truncate_after": True}, "stream_truncate_after"),
        ({"stream_stall_after": "2"}, "stream_stall_after"),
        ({"stream_stall_after": 1, "stream_stall_for": -1}, "stream_stall_for"),
        ({"stream_stall_for": 1.0}, "stream_stall_after"),
        ({"stream_first_token_delay": float("nan")}, "stream_first_token_delay"),
        ({"stream_interval": "0.1"}, "stream_interval"),
        ({"stream_error_after": 1, "stream_cut_after": 2}, "one way"),
        ({"stream_stall_after": 1, "stream_cut_after": 3}, "never reached"),
        ({"stream_stall_after": 3, "stream_stall_for": 1, "stream_cut_after": 2}, "never"),
        ({"status": 529, "stream_error_after": 1}, "streamed success"),
        ({"hang": True, "stream_interval": 0.1}, "streamed success"),
        ({"body": {"a": 1}, "stream_cut_after": 1}, "streamed success"),
    ],
)
def test_reply_rejects_bad_stream_fields(kwargs: dict[str, Any], field: str) -> None:
    """A bad or contradictory stream field raises ValueError naming the problem."""
    with pytest.raises(ValueError, match=field):
        Reply(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"stream_fault_after": (3, 1)}, "stream_fault_after"),
        ({"stream_fault_after": (-1, 1)}, "stream_fault_after"),
        ({"stream_fault_after": [0, 1]}, "stream_fault_after"),
        ({"stream_stall_for": -0.5}, "stream_stall_for"),
        ({"faults": {"stream_explode": 1}}, "faults key"),
    ],
)
def test_scenario_rejects_bad_stream_fields(kwargs: dict[str, Any], field: str) -> None:
    """A bad Scenario stream field raises ValueError naming it."""
    with pytest.raises(ValueError, match=field):
        Scenario(**kwargs)


def test_scenario_stream_faults_map_to_replies() -> None:
    """Each stream fault kind becomes the matching Reply field, at a drawn position."""
    replies = {}
    for kind in ("stream_error", "stream_cut", "stream_stall", "stream_truncate"):
        scenario = Scenario(
            fault_rate=1.0, faults={kind: 1}, stream_fault_after=(2, 2), stream_stall_for=0.5
        )
        replies[kind] = scenario.decide(0, 0.0)
    assert replies["stream_error"] == Reply(stream_error_after=2)
    assert replies["stream_cut"] == Reply(stream_cut_after=2)
    assert replies["stream_truncate"] == Reply(stream_truncate_after=2)
    assert replies["stream_stall"] == Reply(stream_stall_after=2, stream_stall_for=0.5)


def test_scenario_stream_positions_are_seeded_and_spread() -> None:
    """Where a stream fault hits depends only on (seed, index) and covers the whole range."""
    one = Scenario(seed=4, fault_rate=1.0, faults={"stream_cut": 1}, stream_fault_after=(0, 5))
    two = Scenario(seed=4, fault_rate=1.0, faults={"stream_cut": 1}, stream_fault_after=(0, 5))
    first = [one.decide(i, 0.0).stream_cut_after for i in range(300)]
    assert first == [two.decide(i, 0.0).stream_cut_after for i in range(300)]
    assert set(first) == set(range(6))


def test_stream_faults_leave_existing_draws_alone() -> None:
    """Adding stream kinds to a scenario keeps which requests fail and their latency."""
    plain = Scenario(seed=9, fault_rate=0.3, faults={500: 1}, latency=(0.0, 0.01))
    mixed = Scenario(
        seed=9, fault_rate=0.3, faults={500: 1, "stream_error": 1}, latency=(0.0, 0.01)
    )
    for i in range(200):
        a, b = plain.decide(i, 0.0), mixed.decide(i, 0.0)
        assert a.delay == b.delay
        assert (a.status == 500) == (b.status == 500 or b.stream_error_after is not None)

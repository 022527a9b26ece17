"""Reply and Scenario: validation, and the pure per-request decision."""

from __future__ import annotations

from typing import Any

import pytest

from riprap.sim import Reply, Scenario


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": 99}, "status"),
        ({"status": 600}, "status"),
        ({"status": True}, "status"),
        ({"status": "500"}, "status"),
        ({"headers": {"content-length": "3"}}, "content-length"),
        ({"headers": {"x-a": "1\r\nx-b: 2"}}, "headers"),
        ({"headers": [("a", "b")]}, "headers"),
        ({"body": object()}, "body"),
        ({"body": {"a": object()}}, "body"),
        ({"error_type": ""}, "error_type"),
        ({"error_code": 3}, "error_code"),
        ({"content_type": "text/html\n"}, "content_type"),
        ({"delay": -1}, "delay"),
        ({"delay": float("inf")}, "delay"),
        ({"disconnect": "rst"}, "disconnect"),
        ({"hang": 1}, "hang"),
        ({"hang": True, "disconnect": "close"}, "hang"),
        ({"usage": (1, -1)}, "usage"),
        ({"usage": [1, 2]}, "usage"),
    ],
)
def test_reply_rejects_bad_values(kwargs: dict[str, Any], field: str) -> None:
    """A bad Reply field raises ValueError naming the field."""
    with pytest.raises(ValueError, match=field):
        Reply(**kwargs)


def test_reply_normalises_header_names() -> None:
    """Header names are lowercased, so they override the defaults case-insensitively."""
    assert dict(Reply(headers={"Retry-After": "2"}).headers) == {"retry-after": "2"}


def test_reply_is_hashable_and_comparable() -> None:
    """Frozen replies compare by value and hash even with mapping fields."""
    assert Reply(status=529, headers={"a": "b"}) == Reply(status=529, headers={"a": "b"})
    assert hash(Reply(status=529, body={"x": 1})) == hash(Reply(status=529, body={"x": 2}))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"seed": 1.5}, "seed"),
        ({"fault_rate": 1.5}, "fault_rate"),
        ({"fault_rate": "0.1"}, "fault_rate"),
        ({"faults": {}}, "faults"),
        ({"faults": {200: 1}}, "faults key"),
        ({"faults": {"explode": 1}}, "faults key"),
        ({"faults": {True: 1}}, "faults key"),
        ({"faults": {500: -1}}, "faults"),
        ({"faults": {500: 0}}, "faults"),
        ({"latency": (0.2, 0.1)}, "latency"),
        ({"latency": (0.1,)}, "latency"),
        ({"retry_after": -2}, "retry_after"),
    ],
)
def test_scenario_rejects_bad_values(kwargs: dict[str, Any], field: str) -> None:
    """A bad Scenario field raises ValueError naming the field."""
    with pytest.raises(ValueError, match=field):
        Scenario(**kwargs)


def test_default_scenario_always_succeeds() -> None:
    """With no fault rate and no latency every request gets the plain success reply."""
    assert {Scenario().decide(i, 0.0) for i in range(100)} == {Reply()}


def test_decision_depends_only_on_seed_and_index() -> None:
    """Two scenarios with one seed agree on every index, whatever the clock says."""
    one = Scenario(seed=7, fault_rate=0.5, faults={500: 1, "reset": 1}, latency=(0.0, 0.01))
    two = Scenario(seed=7, fault_rate=0.5, faults={500: 1, "reset": 1}, latency=(0.0, 0.01))
    assert [one.decide(i, 0.0) for i in range(200)] == [two.decide(i, 1e6) for i in range(200)]


def test_decision_is_order_independent() -> None:
    """Deciding index i gives the same reply whichever indices were decided before."""
    scenario = Scenario(seed=3, fault_rate=0.3)
    forward = [scenario.decide(i, 0.0) for i in range(50)]
    backward = [scenario.decide(i, 0.0) for i in reversed(range(50))]
    assert forward == backward[::-1]


def test_seeds_differ() -> None:
    """Different seeds give different fault sequences."""
    a = [Scenario(seed=1, fault_rate=0.5).decide(i, 0.0) for i in range(100)]
    b = [Scenario(seed=2, fault_rate=0.5).decide(i, 0.0) for i in range(100)]
    assert a != b


def test_fault_rate_and_weights_are_respected() -> None:
    """About fault_rate of requests fail, split by the relative weights."""
    scenario = Scenario(seed=11, fault_rate=0.25, faults={503: 3, "close": 1})
    replies = [scenario.decide(i, 0.0) for i in range(4000)]
    statuses = sum(r.status == 503 for r in replies)
    closes = sum(r.disconnect == "close" for r in replies)
    assert 0.22 < (statuses + closes) / 4000 < 0.28
    assert 2.3 < statuses / closes < 3.9


def test_fault_kinds_map_to_replies() -> None:
    """Each named fault kind becomes the matching reply, with retry-after where it applies."""
    kinds: dict[int | str, Reply] = {}
    for kind in (429, 500, "reset", "close", "hang", "bad_json"):
        scenario = Scenario(fault_rate=1.0, faults={kind: 1}, retry_after=1.5)
        kinds[kind] = scenario.decide(0, 0.0)
    assert kinds[429].headers == {"retry-after": "1.5"}
    assert kinds[500].status == 500
    assert not kinds[500].headers
    assert kinds["reset"].disconnect == "reset"
    assert kinds["close"].disconnect == "close"
    assert kinds["hang"].hang
    assert kinds["bad_json"].status == 200
    assert isinstance(kinds["bad_json"].body, bytes)


def test_latency_stays_in_range() -> None:
    """Every latency draw lies inside the configured range."""
    scenario = Scenario(seed=5, latency=(0.01, 0.02))
    delays = [scenario.decide(i, 0.0).delay for i in range(500)]
    assert all(0.01 <= d <= 0.02 for d in delays)
    assert len(set(delays)) > 400

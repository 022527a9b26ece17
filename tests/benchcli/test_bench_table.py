"""Reducing a run to a row, and printing the rows."""

from __future__ import annotations

from riprap._bench._metrics import Outcome, Sent, Window
from riprap._bench._summary import Row, sent_of, summarize, windows_of
from riprap._bench._table import Block, cells, render
from riprap._bench._workload import Minimum
from riprap.sim import Outage, RecordedRequest, Reply


def record(index: int, time: float, reply: Reply, *, path: str = "/v1/messages") -> RecordedRequest:
    """A request as the simulator records it, for model m, streamed."""
    body = {"model": "m", "stream": True}
    return RecordedRequest(
        method="POST", path=path, query="", headers={}, body=body, raw_body=b"", time=time,
        index=index, provider="anthropic", request_id=f"req_{index}", reply=reply,
    )  # fmt: skip


def test_sent_times_requests_from_the_first_and_judges_each_reply() -> None:
    """Origin is the first request; errors, resets, broken streams and bad JSON failed."""
    records = [
        record(0, 100.0, Reply()),
        record(1, 100.5, Reply(status=529)),
        record(2, 101.0, Reply(disconnect="reset")),
        record(3, 101.5, Reply(stream_cut_after=2)),
        record(4, 102.0, Reply(stream_stall_after=1, stream_stall_for=3.0)),  # resumes
        record(5, 102.5, Reply(stream_stall_after=1)),  # never resumes
        record(6, 103.0, Reply(body=b'{"id": "x", "ty')),
        record(7, 103.5, Reply(), path="/v1/messages/count_tokens"),
    ]
    sent = sent_of(records)
    assert [s.since for s in sent] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert [s.failed for s in sent] == [False, True, True, True, False, True, True]
    assert [s.status for s in sent] == [200, 529, 0, 200, 200, 200, 200]
    assert {s.model for s in sent} == {"m"}
    assert sent_of([]) == []


def test_summarize_adds_up_one_run() -> None:
    """Three calls, one failed; four requests, one 429, one wasted in the window."""
    outcomes = [Outcome(0.0, 1.0), Outcome(0.0, 3.0, "overloaded"), Outcome(1.0, 2.0)]
    sent = [
        Sent(0.0, "m", failed=True, status=529),
        Sent(0.5, "m", failed=False, status=200),
        Sent(2.0, "m", failed=True, status=429),
        Sent(2.5, "m", failed=False, status=200),
    ]
    row = summarize("x", outcomes, sent, [Window(0.0, 1.0, "m")])
    assert row == Row(
        label="x", calls=3, ok=2, makespan=3.0, attempts=4, rate_limited=1, p50=1.0, p99=3.0,
        wasted=1, failures={"overloaded": 1},
    )  # fmt: skip
    assert summarize("x", outcomes, sent, []).wasted is None


def test_windows_of_outages_keep_their_span_and_model() -> None:
    """An Outage becomes the window the metrics read."""
    assert windows_of([Outage(start=1, end=2, model="m")]) == [Window(1, 2, "m")]


def test_cells_show_ratios_and_dashes() -> None:
    """A run with no success shows '-' for attempts per success; a missing contender, why."""
    row = Row(label="x", calls=4, ok=0, makespan=3.0, attempts=8, p50=0.5, p99=1.25,
              failures={"overloaded": 4})  # fmt: skip
    assert cells(row, 2.0) == (
        "x", "0/4 (0.0%)", "3.0", "1.50", "-", "0", "0.50", "1.25", "-", "overloaded 4",
    )  # fmt: skip
    gone = cells(Row(label="y", missing="not installed (pip install y)"), 2.0)
    assert gone[:3] == ("y", "not installed (pip install y)", "-")


def test_render_prints_the_heading_and_a_markdown_table() -> None:
    """The block names the scenario, the workload, the seed and the minimum, then the rows."""
    block = Block(
        name="flaky",
        description="Some faults.",
        workload="4 calls",
        seed=7,
        minimum=Minimum(2.0, "latency", "drawn latencies"),
        rows=[
            Row(label="x", calls=4, ok=4, makespan=3.0, attempts=5, p50=0.5, p99=1.0, failures={})
        ],
    )
    lines = render(block).splitlines()
    assert lines[:6] == [
        "### flaky", "", "Some faults.", "", "- workload: 4 calls; seed 7",
        "- physical minimum: 2.00 s (latency: drawn latencies)",
    ]  # fmt: skip
    assert lines[6] == ""  # Markdown needs a blank line before a table
    assert lines[7].startswith("| contender | success      | makespan s | x min |")
    assert lines[8].startswith("|-----------|--------------|")
    assert lines[9] == (
        "| x         | 4/4 (100.0%) | 3.0        | 1.50  | 1.25        | 0    | 0.50  "
        "| 1.00  | -            | none     |"
    )

"""`Simulator(max_records=...)`: a long-running simulator keeps only the latest requests."""

from __future__ import annotations

import anthropic
import pytest

from riprap.sim import Simulator


def test_only_the_latest_records_are_kept_and_indices_count_all() -> None:
    """With max_records=2, five requests leave the last two, numbered 3 and 4."""
    with Simulator(max_records=2) as sim:
        with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client:
            for _ in range(5):
                client.messages.create(
                    model="claude-haiku-4-5-20251001",
                    max_tokens=8,
                    messages=[{"role": "user", "content": "hi"}],
                )
        assert [r.index for r in sim.requests] == [3, 4]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_max_records_must_be_a_positive_int(bad: object) -> None:
    """Anything but None or an int >= 1 is refused, naming the value."""
    with pytest.raises(ValueError, match=f"max_records must be None or an int >= 1, got {bad!r}"):
        Simulator(max_records=bad)  # type: ignore[arg-type]

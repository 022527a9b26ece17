"""What the benchmarks share: clients on the simulator, and quantiles."""

from __future__ import annotations

from typing import Any

import anthropic
import openai


def sdk_client(provider: str, base_url: str) -> Any:
    """A bare SDK client of `provider` on the simulator at `base_url` (default retries)."""
    if provider == "anthropic":
        return anthropic.Anthropic(api_key="sk-bench", base_url=base_url)
    return openai.OpenAI(api_key="sk-bench", base_url=f"{base_url}/v1")


def quantile(values: list[float], q: float) -> float:
    """The `q` quantile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

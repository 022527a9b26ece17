"""The model registry: context windows, output limits, prices and capabilities, as data.

    >>> from riprap.models import Registry
    >>> info = Registry.default().get("claude-haiku-4-5")
    >>> info.context_window, info.max_output_tokens
    (200000, 64000)

An unknown model is a warning (`UnknownModelWarning`) by default, an error in a strict
registry (`Registry.default(strict=True)`). Every number in the shipped data names its
source; override or add models at runtime with `Registry.with_models` / `.replace`.
"""

from riprap.models._errors import RiprapWarning, UnknownModelError, UnknownModelWarning
from riprap.models._registry import PROVIDERS, ModelInfo, Prices, Registry

__all__ = [
    "PROVIDERS",
    "ModelInfo",
    "Prices",
    "Registry",
    "RiprapWarning",
    "UnknownModelError",
    "UnknownModelWarning",
]

"""The model registry: limits, prices and capabilities per model, read from data.

The shipped data (`models.toml`, next to this module) says where every number comes from.
A `Registry` is immutable: overrides and additions make a new one
(`registry.with_models(...)`, `registry.replace(model, ...)`), so a registry shared by
many clients never changes under them.
"""

from __future__ import annotations

import math
import threading
import tomllib
import warnings
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riprap.errors import ConfigError
from riprap.models._errors import UnknownModelError, UnknownModelWarning

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

#: Providers whose request shapes riprap validates.
PROVIDERS = frozenset({"anthropic", "openai"})

_DATA_FILE = "models.toml"


def _fail(owner: str, name: str, value: object, want: str) -> ConfigError:
    return ConfigError(f"{owner}.{name}: {value!r} is not {want}")


def _price(owner: str, name: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise _fail(owner, name, value, "a finite price >= 0 (dollars per million tokens)")


def _count(owner: str, name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(owner, name, value, "an int >= 1 (tokens)")


@dataclass(frozen=True, kw_only=True, slots=True)
class Prices:
    """Dollars per million tokens, for each class of token a provider bills."""

    input: float
    output: float
    #: Prompt tokens read from the provider's cache; `None`: not published (see `cost`).
    cache_read: float | None = None
    #: Prompt tokens written to the cache at the default retention (Anthropic: 5 minutes,
    #: OpenAI: 30 minutes); `None`: not published.
    cache_write: float | None = None
    #: Anthropic's 1-hour cache write; `None`: not published, or not offered.
    cache_write_1h: float | None = None
    #: Prompts with more tokens than this (input and cache together) are billed entirely
    #: at `long_context`'s prices.
    long_context_above: int | None = None
    long_context: Prices | None = None

    def __post_init__(self) -> None:
        _price("Prices", "input", self.input, optional=False)
        _price("Prices", "output", self.output, optional=False)
        for name in ("cache_read", "cache_write", "cache_write_1h"):
            _price("Prices", name, getattr(self, name), optional=True)
        _count("Prices", "long_context_above", self.long_context_above, optional=True)
        if (self.long_context is None) != (self.long_context_above is None):
            raise _fail(
                "Prices",
                "long_context",
                self.long_context,
                "set together with long_context_above (both or neither)",
            )

    def band(self, prompt_tokens: int) -> Prices:
        """The prices that apply to a request with `prompt_tokens` prompt tokens."""
        above = self.long_context_above
        if above is not None and self.long_context is not None and prompt_tokens > above:
            return self.long_context
        return self


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelInfo:
    """What riprap knows of one model: its limits, prices and capabilities."""

    id: str
    provider: str
    #: Tokens of prompt and output together.
    context_window: int
    max_output_tokens: int
    #: A separate cap on the prompt, below the window (OpenAI's GPT-6 family: 922,000).
    max_input_tokens: int | None = None
    prices: Prices | None = None
    #: Features the provider documents for this model ("vision", "tools", "thinking", …).
    capabilities: frozenset[str] = frozenset()
    #: Request features the API is documented to reject for this model ("prefill",
    #: "sampling"); input validation rejects exactly these, never a merely unknown one.
    unsupported: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()
    #: "provider" (read on the provider's page), "secondary" (trackers), or "user".
    verified: str = "user"
    source: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise _fail("ModelInfo", "id", self.id, "a non-empty str")
        if self.provider not in PROVIDERS:
            raise _fail("ModelInfo", "provider", self.provider, f"one of {sorted(PROVIDERS)}")
        _count("ModelInfo", "context_window", self.context_window)
        _count("ModelInfo", "max_output_tokens", self.max_output_tokens)
        _count("ModelInfo", "max_input_tokens", self.max_input_tokens, optional=True)
        if self.prices is not None and not isinstance(self.prices, Prices):
            raise _fail("ModelInfo", "prices", self.prices, "a riprap.models.Prices or None")
        for name in ("capabilities", "unsupported"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise _fail("ModelInfo", name, value, "a collection of str")
            object.__setattr__(self, name, frozenset(value))
        aliases: object = self.aliases
        if not isinstance(aliases, tuple | list) or not all(isinstance(a, str) for a in aliases):
            raise _fail("ModelInfo", "aliases", aliases, "a tuple of str")
        object.__setattr__(self, "aliases", tuple(aliases))

    @property
    def input_limit(self) -> int:
        """The most prompt tokens the model accepts, with no room left for output."""
        if self.max_input_tokens is None:
            return self.context_window
        return min(self.context_window, self.max_input_tokens)

    def rejects(self, feature: str) -> bool:
        """Whether the API is documented to refuse `feature` for this model."""
        return feature in self.unsupported


def _prices_from(data: Mapping[str, Any]) -> Prices:
    fields = dict(data)
    long_context = fields.pop("long_context", None)
    if long_context is not None:
        fields["long_context"] = Prices(**long_context)
    return Prices(**fields)


def _model_from(data: Mapping[str, Any]) -> ModelInfo:
    fields = dict(data)
    prices = fields.pop("prices", None)
    try:
        return ModelInfo(
            **fields,
            prices=None if prices is None else _prices_from(prices),
        )
    except TypeError as error:  # an unknown or missing key in user data
        raise ConfigError(f"model entry {data.get('id')!r}: {error}") from error


class Registry:
    """Models by id and alias. Immutable; unknown names warn, or raise when `strict`."""

    __slots__ = ("_by_name", "_lock", "_models", "_warned", "strict")

    def __init__(self, models: Iterable[ModelInfo] = (), *, strict: bool = False) -> None:
        """Index `models` by id and aliases; a later model replaces an earlier namesake."""
        by_id: dict[str, ModelInfo] = {}
        for model in models:
            if not isinstance(model, ModelInfo):
                raise _fail("Registry", "models", model, "a riprap.models.ModelInfo")
            by_id[model.id] = model
        by_name: dict[str, ModelInfo] = {}
        for model in by_id.values():
            for alias in model.aliases:
                by_name[alias] = model
        by_name.update(by_id)  # an id always wins over another model's alias
        self._models: Mapping[str, ModelInfo] = by_id
        self._by_name: Mapping[str, ModelInfo] = by_name
        self.strict = strict
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def default(cls, *, strict: bool = False) -> Registry:
        """The registry shipped with riprap (`models.toml`)."""
        models = _shipped_models()
        return cls(models, strict=strict)

    @classmethod
    def from_toml(cls, path: str | Path, *, strict: bool = False) -> Registry:
        """A registry read from a TOML file shaped like riprap's own `models.toml`."""
        with Path(path).open("rb") as file:
            return cls.from_data(tomllib.load(file), strict=strict)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, strict: bool = False) -> Registry:
        """A registry from parsed data: `{"model": [{"id": …, "provider": …}, …]}`."""
        entries = data.get("model", [])
        if not isinstance(entries, list):
            raise _fail("Registry", "model", entries, "a list of model tables")
        return cls((_model_from(e) for e in entries), strict=strict)

    # -- reading ----------------------------------------------------------------------

    def find(self, name: str) -> ModelInfo | None:
        """The model called `name` (id or alias), or `None`; never warns."""
        return self._by_name.get(name)

    def get(self, name: str) -> ModelInfo | None:
        """The model called `name`; for an unknown name, warn once and return `None`.

        A strict registry raises `UnknownModelError` instead of warning.
        """
        model = self._by_name.get(name)
        if model is not None:
            return model
        message = (
            f"model {name!r} is not in riprap's model registry: its limits and prices are "
            "not checked (add it with Registry.with_models, or update riprap)"
        )
        if self.strict:
            raise UnknownModelError(message, model=name)
        with self._lock:
            first = name not in self._warned
            self._warned.add(name)
        if first:
            warnings.warn(message, UnknownModelWarning, stacklevel=2)
        return None

    def __getitem__(self, name: str) -> ModelInfo:
        """The model called `name`; `UnknownModelError` (a `LookupError`) if unknown."""
        model = self._by_name.get(name)
        if model is None:
            raise UnknownModelError(f"model {name!r} is not in the registry", model=name)
        return model

    def __contains__(self, name: object) -> bool:
        """Whether `name` is a known id or alias."""
        return name in self._by_name

    def __iter__(self) -> Iterator[ModelInfo]:
        """Every model, once each."""
        return iter(self._models.values())

    def __len__(self) -> int:
        """How many models (aliases not counted)."""
        return len(self._models)

    def __repr__(self) -> str:
        return f"Registry({len(self)} models, strict={self.strict})"

    # -- variants ---------------------------------------------------------------------

    def with_models(self, *models: ModelInfo) -> Registry:
        """A registry with `models` added, replacing any of the same id."""
        return Registry((*self._models.values(), *models), strict=self.strict)

    def replace(self, name: str, **changes: Any) -> Registry:
        """A registry where the model `name` has `changes` (e.g. `prices=Prices(...)`)."""
        return self.with_models(replace(self[name], **changes))

    def with_strict(self, strict: bool) -> Registry:  # noqa: FBT001 - one obvious flag
        """The same models, strict (unknown model → error) or not (→ warning)."""
        return Registry(self._models.values(), strict=strict)


@cache
def _shipped_models() -> tuple[ModelInfo, ...]:
    text = resources.files("riprap.models").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return tuple(_model_from(e) for e in data["model"])

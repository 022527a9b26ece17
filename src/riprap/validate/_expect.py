"""`Expect`: what a model's answer must be, and the check that says whether it is.

    Expect.json()                       any JSON value
    Expect.schema({...})                JSON matching a JSON Schema (riprap's subset)
    Expect.model(MyPydanticModel)       JSON that validates as the model (pydantic)
    Expect.choices(["yes", "no"])       one of these words
    Expect.function(parse)              whatever `parse(text)` returns; ValueError = invalid

`expect.check(text)` returns a `Verdict`: the parsed value, or the error message that is
fed back to the model when riprap re-asks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riprap.errors import ConfigError
from riprap.validate._schema import check_schema, schema_errors

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

#: Answers asked for in all: the first and two re-asks. Each re-ask costs a full call, so
#: three bounds the spend at 3x one call, and covers a model that needs two corrections.
DEFAULT_MAX_ATTEMPTS = 3
#: The user turn that carries the validation error back to the model.
DEFAULT_REASK = (
    "Your previous answer could not be used: {error}\n"
    "Reply again with only the corrected answer, nothing before or after it."
)
#: A Markdown code fence around the whole answer (```json ... ```), which models add
#: even when asked for bare JSON.
_FENCE = re.compile(r"\A\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n?\s*```\s*\Z", re.DOTALL)
#: Longest piece of an answer quoted in an error fed back.
_QUOTE = 80


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check: `ok` with `value`, or not with `error`."""

    ok: bool
    value: Any = None
    error: str = ""


def strip_fence(text: str) -> str:
    """The text inside one Markdown code fence wrapping the whole answer, else the text."""
    match = _FENCE.match(text)
    return match.group(1) if match else text


def _parse_json(text: str) -> Verdict:
    body = strip_fence(text).strip()
    try:
        return Verdict(ok=True, value=json.loads(body))
    except json.JSONDecodeError as error:
        near = body[max(0, error.pos - 20) : error.pos + 20]
        return Verdict(
            ok=False,
            error=f"the answer is not valid JSON ({error.msg} at line {error.lineno} column "
            f"{error.colno}, near {near!r})",
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Expect:
    """A spec for the answer. Make one with `json`, `schema`, `model`, `choices`, `function`."""

    kind: str
    #: The JSON Schema (`schema`), the pydantic class (`model`), the allowed words
    #: (`choices`) or the parse function (`function`).
    spec: Any = None
    #: Answers asked for in all, the first included (1: check, never re-ask).
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    #: The re-ask turn; `{error}` is replaced by the validation error.
    reask: str = DEFAULT_REASK
    #: `choices` only: compare without regard to case.
    case_sensitive: bool = False

    def __post_init__(self) -> None:
        if self.kind not in {"json", "schema", "model", "choices", "function"}:
            raise ConfigError(f"Expect.kind: {self.kind!r} is not a kind of Expect")
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or (self.max_attempts < 1)
        ):
            raise ConfigError(f"Expect.max_attempts: {self.max_attempts!r} is not an int >= 1")
        if not isinstance(self.reask, str) or "{error}" not in self.reask:
            raise ConfigError(f"Expect.reask: {self.reask!r} is not a str containing '{{error}}'")

    # -- constructors -----------------------------------------------------------------

    @classmethod
    def json(
        cls, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS, reask: str = DEFAULT_REASK
    ) -> Expect:
        """Any JSON value (a code fence around it is tolerated)."""
        return cls(kind="json", max_attempts=max_attempts, reask=reask)

    @classmethod
    def schema(
        cls,
        schema: Mapping[str, Any],
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        reask: str = DEFAULT_REASK,
    ) -> Expect:
        """JSON valid against `schema`; `ConfigError` now if it uses keywords riprap skips."""
        check_schema(schema)
        return cls(kind="schema", spec=schema, max_attempts=max_attempts, reask=reask)

    @classmethod
    def model(
        cls, model: type, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS, reask: str = DEFAULT_REASK
    ) -> Expect:
        """JSON that validates as a pydantic model; the value is the model instance."""
        if not callable(getattr(model, "model_validate_json", None)):
            raise ConfigError(
                f"Expect.model: {model!r} is not a pydantic model class (pip install "
                "'riprap[pydantic]')"
            )
        return cls(kind="model", spec=model, max_attempts=max_attempts, reask=reask)

    @classmethod
    def choices(
        cls,
        options: Sequence[str],
        *,
        case_sensitive: bool = False,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        reask: str = DEFAULT_REASK,
    ) -> Expect:
        """One of `options`; the value is the option as written in `options`."""
        if isinstance(options, str) or not options or not all(isinstance(o, str) for o in options):
            raise ConfigError(f"Expect.choices: {options!r} is not a non-empty list of str")
        return cls(
            kind="choices",
            spec=tuple(options),
            case_sensitive=case_sensitive,
            max_attempts=max_attempts,
            reask=reask,
        )

    @classmethod
    def function(
        cls,
        parse: Callable[[str], Any],
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        reask: str = DEFAULT_REASK,
    ) -> Expect:
        """Whatever `parse(text)` returns.

        `parse` rejects an answer by raising `ValueError`, whose message is fed back.
        Other exceptions are bugs and propagate.
        """
        if not callable(parse):
            raise ConfigError(f"Expect.function: {parse!r} is not callable")
        return cls(kind="function", spec=parse, max_attempts=max_attempts, reask=reask)

    # -- checking ---------------------------------------------------------------------

    def check(self, text: str) -> Verdict:
        """The parsed value of `text`, or why it is not acceptable."""
        checks = {
            "json": _parse_json,
            "schema": self._check_schema,
            "model": self._check_model,
            "choices": self._check_choices,
            "function": self._check_function,
        }
        return checks[self.kind](text)

    def _check_schema(self, text: str) -> Verdict:
        parsed = _parse_json(text)
        if not parsed.ok:
            return parsed
        errors = schema_errors(parsed.value, self.spec)
        if errors:
            return Verdict(
                ok=False, error="the JSON does not match the schema: " + "; ".join(errors)
            )
        return parsed

    def _check_function(self, text: str) -> Verdict:
        try:
            return Verdict(ok=True, value=self.spec(text))
        except ValueError as error:
            return Verdict(ok=False, error=str(error) or type(error).__name__)

    def _check_model(self, text: str) -> Verdict:
        body = strip_fence(text).strip()
        try:
            return Verdict(ok=True, value=self.spec.model_validate_json(body))
        except ValueError as error:  # pydantic.ValidationError is a ValueError
            return Verdict(
                ok=False, error=f"the answer does not validate as {self.spec.__name__}: {error}"
            )

    def _check_choices(self, text: str) -> Verdict:
        # Models wrap a one-word answer in quotes, bold or a full stop; none of it matters.
        answer = text.strip().strip("\"'`*").rstrip(".!").strip()
        for option in self.spec:
            same = (
                option == answer if self.case_sensitive else option.casefold() == answer.casefold()
            )
            if same:
                return Verdict(ok=True, value=option)
        quoted = text.strip()[:_QUOTE]
        return Verdict(
            ok=False,
            error=f"the answer {quoted!r} is not one of "
            + ", ".join(repr(o) for o in self.spec)
            + "; answer with exactly one of them",
        )

"""A JSON Schema validator for the subset LLM output schemas use.

Why our own and not `jsonschema`: the schemas people give a model to fill are the subset
OpenAI's Structured Outputs documents as supported (type, properties, required,
additionalProperties, items, enum, const, anyOf, $ref/$defs, string pattern and length,
number ranges, array lengths), which takes 200 lines to check exactly; `jsonschema`
would be riprap's first hard dependency of the core (with its own dependencies:
attrs, referencing, rpds-py, a compiled extension). A keyword outside the subset is
refused when the `Expect` is made (`ConfigError`), never silently ignored: a schema
that looks enforced but is not would be worse than none.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from riprap.errors import ConfigError

#: Keywords that only describe, and never constrain.
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$schema", "$id", "$comment",
     "format", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"}
)  # fmt: skip
_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "prefixItems",
     "enum", "const", "anyOf", "oneOf", "allOf", "not", "$ref", "minimum", "maximum",
     "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
     "pattern", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties"}
)  # fmt: skip
_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
#: Paths reported in errors stop after this many errors in one answer.
MAX_ERRORS = 5


def check_schema(schema: object, path: str = "#") -> None:
    """Raise `ConfigError` if `schema` uses a keyword this validator does not enforce."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, Mapping):
        raise ConfigError(f"Expect.schema: {path} is {schema!r}, not a schema object")
    unknown = set(schema) - _KEYWORDS - _ANNOTATIONS
    if unknown:
        raise ConfigError(
            f"Expect.schema: {path} uses {sorted(unknown)}, which riprap's JSON Schema "
            "subset does not enforce; use Expect.function with a validator of your choice"
        )
    _check_values(schema, path)
    for key, sub in _subschemas(schema):
        check_schema(sub, f"{path}/{key}")


def _check_values(schema: Mapping[str, Any], path: str) -> None:
    kinds = schema.get("type")
    for kind in [kinds] if isinstance(kinds, str) else (kinds or []):
        if kind not in _TYPES:
            raise ConfigError(f"Expect.schema: {path}/type {kind!r} is not a JSON type")
    ref = schema.get("$ref")
    if ref is not None and not (isinstance(ref, str) and ref.startswith("#")):
        raise ConfigError(f"Expect.schema: {path}/$ref {ref!r} is not a local reference")
    if "pattern" in schema:
        try:
            re.compile(str(schema["pattern"]))
        except re.error as error:
            raise ConfigError(f"Expect.schema: {path}/pattern does not compile: {error}") from error


def _subschemas(schema: Mapping[str, Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key in ("properties", "$defs", "definitions"):
        found += [(f"{key}/{name}", sub) for name, sub in (schema.get(key) or {}).items()]
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), Mapping):
            found.append((key, schema[key]))
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        found += [(f"{key}/{n}", sub) for n, sub in enumerate(schema.get(key) or [])]
    return found


_TYPE_TESTS: dict[str, Callable[[object], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: (
        (isinstance(v, float) and v.is_integer())
        or (isinstance(v, int) and not isinstance(v, bool))
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _type_ok(value: object, kind: str) -> bool:
    return _TYPE_TESTS[kind](value)


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    node: Any = root
    for raw in ref.lstrip("#").split("/"):
        if raw:
            part = raw.replace("~1", "/").replace("~0", "~")
            node = node[part] if isinstance(node, Mapping) else node[int(part)]
    return node


class _Validator:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.errors: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where or '$'}: {message}")

    def check(self, value: Any, schema: Any, where: str, depth: int = 0) -> None:  # noqa: C901 - one branch per keyword reads best
        if len(self.errors) >= MAX_ERRORS or schema is True:
            return
        if schema is False or depth > 64:  # noqa: PLR2004 - a $ref cycle guard
            self.error(where, "no value is allowed here")
            return
        if "$ref" in schema:
            self.check(value, _resolve(self.root, schema["$ref"]), where, depth + 1)
        kinds = schema.get("type")
        if kinds is not None:
            allowed = [kinds] if isinstance(kinds, str) else list(kinds)
            if not any(_type_ok(value, k) for k in allowed):
                self.error(where, f"{_short(value)} is not of type {' or '.join(allowed)}")
                return
        if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
            self.error(where, f"{_short(value)} is not one of {schema['enum']!r}")
        if "const" in schema and not _equal(value, schema["const"]):
            self.error(where, f"{_short(value)} is not {schema['const']!r}")
        self._combinators(value, schema, where, depth)
        if isinstance(value, dict):
            self._object(value, schema, where, depth)
        elif isinstance(value, list):
            self._array(value, schema, where, depth)
        elif isinstance(value, str):
            self._string(value, schema, where)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self._number(value, schema, where)

    def _sub_ok(self, value: Any, schema: Any, where: str, depth: int) -> bool:
        sub = _Validator(self.root)
        sub.check(value, schema, where, depth + 1)
        return not sub.errors

    def _combinators(self, value: Any, schema: Mapping[str, Any], where: str, depth: int) -> None:
        for sub in schema.get("allOf", ()):
            self.check(value, sub, where, depth + 1)
        if "anyOf" in schema and not any(
            self._sub_ok(value, s, where, depth) for s in schema["anyOf"]
        ):
            self.error(where, f"{_short(value)} matches none of the anyOf schemas")
        if "oneOf" in schema:
            matches = sum(self._sub_ok(value, s, where, depth) for s in schema["oneOf"])
            if matches != 1:
                self.error(where, f"{_short(value)} matches {matches} of the oneOf schemas, not 1")
        if "not" in schema and self._sub_ok(value, schema["not"], where, depth):
            self.error(where, f"{_short(value)} matches the schema it must not match")

    def _object(
        self, value: dict[str, Any], schema: Mapping[str, Any], where: str, depth: int
    ) -> None:
        props: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                self.error(where, f"required property {name!r} is missing")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                self.check(item, props[name], f"{where}.{name}", depth + 1)
            elif extra is False:
                self.error(where, f"property {name!r} is not allowed")
            elif isinstance(extra, Mapping):
                self.check(item, extra, f"{where}.{name}", depth + 1)
        low, high = schema.get("minProperties"), schema.get("maxProperties")
        if low is not None and len(value) < low:
            self.error(where, f"has {len(value)} properties, fewer than {low}")
        if high is not None and len(value) > high:
            self.error(where, f"has {len(value)} properties, more than {high}")

    def _array(self, value: list[Any], schema: Mapping[str, Any], where: str, depth: int) -> None:
        prefix: Sequence[Any] = schema.get("prefixItems", ())
        for n, item in enumerate(value):
            if n < len(prefix):
                self.check(item, prefix[n], f"{where}[{n}]", depth + 1)
            elif "items" in schema:
                self.check(item, schema["items"], f"{where}[{n}]", depth + 1)
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is not None and len(value) < low:
            self.error(where, f"has {len(value)} items, fewer than {low}")
        if high is not None and len(value) > high:
            self.error(where, f"has {len(value)} items, more than {high}")
        if schema.get("uniqueItems") and any(
            _equal(a, b) for i, a in enumerate(value) for b in value[i + 1 :]
        ):
            self.error(where, "has duplicate items")

    def _string(self, value: str, schema: Mapping[str, Any], where: str) -> None:
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None and len(value) < low:
            self.error(where, f"{_short(value)} is shorter than {low} characters")
        if high is not None and len(value) > high:
            self.error(where, f"{_short(value)} is longer than {high} characters")
        pattern = schema.get("pattern")
        if pattern is not None and re.search(pattern, value) is None:
            self.error(where, f"{_short(value)} does not match {pattern!r}")

    def _number(self, value: float, schema: Mapping[str, Any], where: str) -> None:
        bounds = (
            ("minimum", operator.ge, "less than"),
            ("maximum", operator.le, "greater than"),
            ("exclusiveMinimum", operator.gt, "not greater than"),
            ("exclusiveMaximum", operator.lt, "not less than"),
        )
        for key, ok, words in bounds:
            bound = schema.get(key)
            if bound is not None and not ok(value, bound):
                self.error(where, f"{value!r} is {words} {bound!r}")
        step = schema.get("multipleOf")
        if step is not None and not math.isclose(value / step, round(value / step)):
            self.error(where, f"{value!r} is not a multiple of {step!r}")


def _equal(a: object, b: object) -> bool:
    # JSON equality: 1 == 1.0, but True is not 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."  # noqa: PLR2004 - message length


def schema_errors(value: Any, schema: Any) -> list[str]:
    """Every way `value` fails `schema` (at most `MAX_ERRORS`), as `path: message`."""
    validator = _Validator(schema)
    validator.check(value, schema, "$")
    return validator.errors

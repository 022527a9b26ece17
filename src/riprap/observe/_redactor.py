"""`Redactor`: what every adapter runs every exported string through.

The call layer already removes the wrapped client's own key from error messages (it
knows the key); the redactor is the second line, at the process boundary: key-shaped
tokens, `Authorization` / `x-api-key` header values, and whatever the user adds, go
before a log line, a span or a metric label leaves the process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from riprap._redact import REDACTED
from riprap.errors import ConfigError

#: Key-shaped tokens. Anthropic keys are `sk-ant-api03-…`, OpenAI keys `sk-…`,
#: `sk-proj-…`, `sk-svcacct-…` (both providers' key formats as of 2025); 16 characters
#: after `sk-` keeps words such as "sk-learn" out while catching every real key.
_KEY = r"\bsk-[A-Za-z0-9_\-]{16,}"
#: Header values that carry credentials, in the shapes they appear in text: `name: v`,
#: `name=v`, `'name': 'v'` (a dict's repr), with an optional scheme word (`Bearer x`,
#: `Digest x`). The name is kept, so a reader still sees which header was there.
#: RFC 9110 §11.6.2 (Authorization) and §11.7.2 (Proxy-Authorization); `x-api-key` is
#: Anthropic's header, `api-key` Azure OpenAI's.
_HEADER = (
    r"(?P<name>\b(?:proxy-)?authorization|\bx-api-key|\bapi[-_]key)"
    r"(?P<sep>['\"]?\s*[:=]\s*['\"]?)"
    r"(?P<value>(?:[A-Za-z]+\s+)?[^\s'\",;}]+)"
)
#: A bare bearer token (`Bearer eyJ…`), wherever it appears.
_BEARER = r"\bbearer\s+[A-Za-z0-9._~+/=\-]{8,}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Redactor:
    """Removes secrets from text: key-shaped tokens, credential headers, your patterns.

    `secrets` are literal strings (say, the API key from your environment); `patterns`
    are regular expressions whose whole match is replaced. `builtin=False` turns off the
    key and header patterns (not recommended). Neither the secrets nor the patterns
    appear in the redactor's repr.
    """

    secrets: tuple[str, ...] = field(default=(), repr=False)
    patterns: tuple[str, ...] = field(default=(), repr=False)
    builtin: bool = True
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secrets, tuple) or not all(isinstance(s, str) for s in self.secrets):
            raise ConfigError(f"Redactor.secrets: {type(self.secrets)!r} is not a tuple of str")
        if not isinstance(self.patterns, tuple):
            raise ConfigError(f"Redactor.patterns: {type(self.patterns)!r} is not a tuple of str")
        compiled = []
        for i, pattern in enumerate(self.patterns):
            try:
                compiled.append(re.compile(pattern))
            except (re.error, TypeError) as error:
                # The pattern itself may hold a secret: name its position, not its text.
                raise ConfigError(f"Redactor.patterns[{i}]: not a valid regex ({error})") from None
        object.__setattr__(self, "_compiled", tuple(compiled))

    def __repr__(self) -> str:
        return (
            f"Redactor(secrets=<{len(self.secrets)}>, patterns=<{len(self.patterns)}>, "
            f"builtin={self.builtin})"
        )

    def text(self, text: str) -> str:
        """`text` with every secret, key and credential header value replaced."""
        if not text:
            return text
        for secret in self.secrets:
            if secret and secret in text:
                text = text.replace(secret, REDACTED)
        if self.builtin:
            text = _BUILTIN.sub(_replace, text)
        for pattern in self._compiled:
            text = pattern.sub(REDACTED, text)
        return text

    def value(self, value: object) -> object:
        """`value` with `text` applied to every string in it (through tuples, lists, dicts)."""
        if value is None or type(value) in _SCALARS:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, tuple):
            return tuple(self.value(v) for v in value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value


#: All three in one pass: every exported string goes through this, so one scan, not three.
_BUILTIN = re.compile(f"{_HEADER}|{_KEY}|{_BEARER}", re.IGNORECASE)


def _replace(match: re.Match[str]) -> str:
    # A header keeps its name (and separator), so a reader still sees what was there.
    name = match["name"]
    return REDACTED if name is None else f"{name}{match['sep']}{REDACTED}"


_SCALARS = frozenset({int, float, bool})

#: The redactor adapters use when none is given.
DEFAULT_REDACTOR = Redactor()

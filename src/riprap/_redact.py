"""Removing secrets from text and data that leave the process."""

from __future__ import annotations

#: What a removed secret is replaced with.
REDACTED = "[redacted]"


def redact(value: object, secrets: tuple[str, ...]) -> object:
    """`value` with every secret replaced, through strings, dicts and lists."""
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


def redact_text(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text

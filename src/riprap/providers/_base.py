"""What a provider adapter does, and the classification both official SDKs share.

The `anthropic` and `openai` SDKs are generated from one template: the same exception
shapes (`APIStatusError` with `.status_code`, `.response`, `.body`; `APIConnectionError`;
`APITimeoutError`; `APIResponseValidationError`). `SdkAdapter` classifies those once;
each provider subclass adds only what differs: where the error code and message live,
and which codes refine a status (billing 429s, context overflow in a 400).
"""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any, ClassVar

from riprap._failure import Failure, clip_message, parse_retry_after, should_retry_override
from riprap._kinds import RULES, Kind, kind_for_status
from riprap._report import Usage
from riprap.budget import TokenUsage
from riprap.errors import StreamInterruptedError, StreamStalledError, UnexpectedResponseError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType

    from riprap.providers._streams import StreamCodec


class SdkAdapter:
    """Adapts one official SDK: classifies its failures, reads usage, finds its clients."""

    #: The provider's name in events and reports.
    name: ClassVar[str]
    #: The SDK's import name, and the extra that installs it.
    module_name: ClassVar[str]
    #: The methods riprap wraps, as attribute paths from the client.
    endpoints: ClassVar[frozenset[tuple[str, ...]]]
    #: The header that carries the provider's request id.
    request_id_header: ClassVar[str]
    #: How this provider's stream events read (`None`: streams pass through unchanged).
    stream_codec: ClassVar[StreamCodec | None] = None
    #: The SDK's streaming helpers riprap rebuilds over its own streams, by attribute path:
    #: `(resource node, the caller's own method, is_async, kwargs) -> the SDK's manager`.
    helpers: ClassVar[Mapping[tuple[str, ...], Callable[..., Any]]] = {}

    def __init__(self) -> None:
        """Import the SDK; the caller already knows it is installed (it has a client)."""
        self.sdk: ModuleType = importlib.import_module(self.module_name)
        # Both SDKs send through httpx2, and let some of its errors escape unwrapped
        # (a streamed error response cut mid-body is read outside the SDK's try).
        self.httpx: ModuleType = importlib.import_module("httpx2")
        sdk, httpx = self.sdk, self.httpx
        #: Failures without a status, in the order they are tested (subclasses first:
        #: the SDKs' timeout error is a connection error).
        self._shapes: tuple[tuple[tuple[type[BaseException], ...], Kind], ...] = (
            ((sdk.APITimeoutError, httpx.TimeoutException, StreamStalledError), Kind.TIMEOUT),
            ((sdk.APIConnectionError, httpx.TransportError), Kind.CONNECTION),
            ((StreamInterruptedError,), Kind.STREAM_INTERRUPTED),
            # A 2xx JSON body that does not parse escapes both SDKs as a bare JSONDecodeError.
            (
                (sdk.APIResponseValidationError, json.JSONDecodeError, UnexpectedResponseError),
                Kind.RESPONSE_INVALID,
            ),
        )
        #: Every attribute path that leads to an endpoint, for the proxies to follow.
        self.prefixes: frozenset[tuple[str, ...]] = frozenset(
            path[:i] for path in (*self.endpoints, *self.helpers) for i in range(1, len(path))
        )

    def owns(self, client: object) -> bool:
        """Whether `client` is this SDK's sync or async client (or a subclass of one)."""
        return isinstance(client, (self.sdk.Client, self.sdk.AsyncClient))

    def is_async(self, client: object) -> bool:
        """Whether `client` is this SDK's async client."""
        return isinstance(client, self.sdk.AsyncClient)

    def timeout(self, attempt: float, *, connect: float) -> object:
        """The SDK's per-call timeout object for one attempt."""
        return self.sdk.Timeout(attempt, connect=min(connect, attempt))

    def resolve_timeout(self, given: object, client: Any) -> tuple[float | None, Any]:
        """The attempt limit the caller chose, and the SDK `Timeout` to keep the shape of.

        A number given for the call, or a `Timeout` (its longest part is the limit), is
        the caller's choice; so is a client built with a timeout other than the SDK's
        default. Anything else (`NOT_GIVEN`, `None`) leaves the limit to riprap: `(None,
        None)`. riprap never runs an attempt without a limit, so `None` is not "forever".
        """
        default = self.sdk.DEFAULT_TIMEOUT
        for choice in (given, getattr(client, "timeout", None)):
            chosen = choice is given  # the client's own timeout counts only if not the default
            if isinstance(choice, (int, float)) and not isinstance(choice, bool):
                if chosen or choice != default.read:
                    return float(choice), None
            elif isinstance(choice, self.sdk.Timeout) and (chosen or choice != default):
                parts = [choice.connect, choice.read, choice.write, choice.pool]
                known = [p for p in parts if p is not None]
                return (max(known) if known else None), choice
        return None, None

    def precheck(self, client: Any, kwargs: Mapping[str, object]) -> None:
        """Raise what the SDK would raise for these arguments before sending anything."""
        del client, kwargs

    def secrets_of(self, client: Any) -> tuple[str, ...]:
        """The client's credentials as they are now (keys may be set or rotated late)."""
        found = (getattr(client, name, None) for name in self.secret_attributes)
        return tuple(s for s in found if isinstance(s, str) and s)

    #: Client attributes that hold credentials, scrubbed from anything riprap emits.
    secret_attributes: ClassVar[tuple[str, ...]] = ("api_key", "auth_token")

    # -- classification ---------------------------------------------------------------

    def classify(
        self, error: BaseException, *, now_epoch: float, secrets: tuple[str, ...] = ()
    ) -> Failure | None:
        """The failure `error` stands for, or `None` if it is not an API failure.

        `None` means a programming error (a bad argument, say): riprap re-raises it at
        once, as the SDK would have.
        """
        # The SDKs follow `__cause__` to decide on retries (middleware may wrap an API
        # error); so does riprap, on the first link that is an API failure.
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            failure = self._classify_one(current, now_epoch=now_epoch, secrets=secrets)
            if failure is not None:
                return failure
            current = current.__cause__
        return None

    def _classify_one(
        self, error: BaseException, *, now_epoch: float, secrets: tuple[str, ...]
    ) -> Failure | None:
        if isinstance(error, self.sdk.APIStatusError):
            return self._classify_status(error, now_epoch=now_epoch, secrets=secrets)
        for types, kind in self._shapes:
            if isinstance(error, types):
                return self._plain(kind, error, secrets)
        return self.classify_other(error, secrets)

    def classify_other(self, error: BaseException, secrets: tuple[str, ...]) -> Failure | None:
        """A provider's own exceptions outside the shared shapes; `None` by default."""
        del error, secrets
        return None

    def checked(self, value: Any) -> Any:
        """`value`, if it is a response; `UnexpectedResponseError` if it is a raw body.

        The SDKs hand back a 2xx body whose content type is not JSON (a proxy's HTML
        page, a captive portal) as a plain `str`. None of the endpoints riprap wraps
        returns text, so that is a failed attempt, not an answer.
        """
        if isinstance(value, (str, bytes)):
            raise UnexpectedResponseError(
                f"{self.name} answered with a {len(value)}-character non-JSON body where a "
                "response object was expected"
            )
        return value

    def _plain(self, kind: Kind, error: BaseException, secrets: tuple[str, ...]) -> Failure:
        # The connection-level cause says more than the SDK's generic "Connection error."
        cause = error.__cause__
        text = f"{error}" if cause is None else f"{error} ({type(cause).__name__}: {cause})"
        return Failure(
            kind=kind,
            retryable=RULES[kind].retryable,
            provider=self.name,
            message=clip_message(text, secrets=secrets),
        )

    def _classify_status(
        self, error: Any, *, now_epoch: float, secrets: tuple[str, ...]
    ) -> Failure:
        status: int = error.status_code
        headers: Mapping[str, str] = error.response.headers
        code, message = self.error_code_and_message(error)
        kind = self.refine(kind_for_status(status), status=status, code=code, message=message)
        retryable = RULES[kind].retryable
        override = should_retry_override(headers)
        # The server's explicit word beats the table, except for billing: no wait makes
        # money appear, so a quota failure is never retried whatever the header says.
        if override is not None and kind is not Kind.QUOTA_EXHAUSTED:
            retryable = override
        return Failure(
            kind=kind,
            retryable=retryable,
            provider=self.name,
            status=status,
            retry_after=parse_retry_after(headers, now_epoch=now_epoch),
            request_id=error.request_id or headers.get(self.request_id_header),
            error_code=code,
            message=clip_message(message, secrets=secrets),
        )

    def error_code_and_message(self, error: Any) -> tuple[str | None, str]:
        """The provider's stable error code and its human message, from the error."""
        raise NotImplementedError

    def refine(self, kind: Kind, *, status: int, code: str | None, message: str) -> Kind:
        """The provider's refinement of a status-derived kind (billing, context overflow)."""
        del status, code, message
        return kind

    # -- reading results --------------------------------------------------------------

    def usage(self, value: object) -> Usage | None:
        """Tokens used by a successful response, when it says (one reading, the budget's)."""
        tokens = TokenUsage.of(value)
        if tokens is None:
            return None
        return Usage(
            tokens.input_tokens,
            tokens.output_tokens,
            tokens.cache_read_tokens,
            tokens.cache_write_tokens + tokens.cache_write_1h_tokens,
        )

    @staticmethod
    def response_model(value: object) -> str | None:
        """The model a response says answered."""
        model = getattr(value, "model", None)
        return model if isinstance(model, str) else None

    @staticmethod
    def finish_reasons(value: object) -> tuple[str, ...]:
        """Why generation stopped: Anthropic's `stop_reason`, OpenAI's per-choice reasons."""
        reason = getattr(value, "stop_reason", None)
        if isinstance(reason, str):
            return (reason,)
        choices = getattr(value, "choices", None) or []
        return tuple(
            c.finish_reason for c in choices if isinstance(getattr(c, "finish_reason", None), str)
        )

    @staticmethod
    def max_tokens(kwargs: Mapping[str, object]) -> int | None:
        """The output ceiling a call asks for, under any of its names."""
        for key in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
            value = kwargs.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None


def body_field(body: object, *path: str) -> object:
    """`body[path[0]][path[1]]…`, or `None` where the shape does not hold."""
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body

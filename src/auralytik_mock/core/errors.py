"""Every exception this package raises, and the messages users read.

Errors are raised where they are found and rendered in one place (``render_error``, below).
May import: the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .types import Json, MockResponse

#: The 401 for no credentials; a profile appends where its keys are listed.
MISSING_AUTH = "Send 'Authorization: Bearer <API key>'"
MALFORMED_AUTH = (
    "The Authorization header is malformed: expected 'Bearer <API key>' "
    "(one scheme, one token of letters, digits and -._~+/)."
)
INVALID_KEY = "The API key is not valid. Check the key, or use one of the keys in the fixtures."
INVALID_JSON = "The request body is not valid JSON: {detail}."
UNSUPPORTED_MEDIA = "Send the body as 'Content-Type: application/json' (UTF-8); got {got}."
BODY_TOO_LARGE = "The request body is larger than {limit} bytes."


class AuralytikMockError(Exception):
    """Base class for every exception raised by this package."""


class SpecError(AuralytikMockError):
    """The OpenAPI document cannot drive the mock (raised at start-up)."""


class FixtureError(AuralytikMockError):
    """A fixture file is not valid; the message names the file, record and field."""


class ServerError(AuralytikMockError):
    """``MockServer`` was misused (started twice, used after stop...)."""


@dataclass(frozen=True)
class Violation:
    """One request validation failure and where it is (``body.name``, ``query.page``)."""

    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        """Return the envelope's ``details`` item."""
        return {"field": self.field, "message": self.message}


class ApiError(AuralytikMockError):
    """An error the mock answers to the client, in the vendor's envelope."""

    status: int = 500
    code: str = "INTERNAL_ERROR"
    #: Seconds the adapter waits before answering (a forced error may carry latency too).
    delay: float = 0.0

    def __init__(
        self,
        message: str,
        *,
        details: Sequence[Violation] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Json] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = tuple(details)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        if code is not None:
            self.code = code


class InvalidRequestError(ApiError):
    """400: the request breaks the contract; ``details`` lists every violation."""

    status = 400
    code = "VALIDATION_ERROR"

    @classmethod
    def from_violations(cls, violations: Sequence[Violation]) -> InvalidRequestError:
        """The 400 for ``violations`` (at least one), its message naming the first one.

        Example: ``body.type is required (and 1 more).``
        """
        return cls(summarize(violations), details=violations)


def summarize(violations: Sequence[Violation]) -> str:
    """The sentence a person reads first: the first violation, and how many more there are."""
    if not violations:
        return "The request is not valid."
    first = violations[0]
    more = len(violations) - 1
    return f"{first.field} {first.message}" + (f" (and {more} more)." if more else ".")


def record_not_found(kind: str, record_id: str) -> NotFoundError:
    """The 404 for a record id the caller's client does not have (``kind``: ``engagements``)."""
    noun = kind[:-1] if kind.endswith("s") else kind
    return NotFoundError(f"No {noun} with id {record_id!r}.")


class InvalidJsonError(ApiError):
    """400: the body is not well-formed JSON."""

    status = 400
    code = "INVALID_JSON"


class UnauthenticatedError(ApiError):
    """401: no, malformed or unknown API key."""

    status = 401
    code = "UNAUTHORIZED"


class ForbiddenError(ApiError):
    """403: the key lacks the operation's scope."""

    status = 403
    code = "INSUFFICIENT_SCOPE"


class NotFoundError(ApiError):
    """404: no such route, or no such resource for this client."""

    status = 404
    code = "NOT_FOUND"


class MethodNotAllowedError(ApiError):
    """405: the path exists, the method does not; carries ``Allow``."""

    status = 405
    code = "METHOD_NOT_ALLOWED"

    def __init__(self, message: str, *, allowed: Sequence[str]) -> None:
        super().__init__(message, headers={"Allow": ", ".join(allowed)})
        self.allowed = tuple(allowed)


class ConflictError(ApiError):
    """409: the request conflicts with the state (admin API)."""

    status = 409
    code = "CONFLICT"


class PayloadTooLargeError(ApiError):
    """413: the body is over the limit."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaTypeError(ApiError):
    """415: the body is not ``application/json``."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class TooManyRequestsError(ApiError):
    """429: rate limited (forced by a test or a rule)."""

    status = 429
    code = "RATE_LIMIT_EXCEEDED"


class InsufficientStorageError(ApiError):
    """507: a cap of the mock itself was reached (sessions)."""

    status = 507
    code = "MOCK_CAPACITY_EXCEEDED"


class ContractViolationError(ApiError):
    """500: the mock was about to answer outside ``openapi.yaml`` (self-check)."""

    status = 500
    code = "MOCK_CONTRACT_VIOLATION"


#: The vendor-style code and message used when a status is forced without a specific error.
STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("VALIDATION_ERROR", "The request is not valid."),
    401: ("UNAUTHORIZED", "Authentication is required."),
    403: ("FORBIDDEN", "The API key may not do this."),
    404: ("NOT_FOUND", "The resource was not found."),
    405: ("METHOD_NOT_ALLOWED", "The method is not allowed on this path."),
    409: ("CONFLICT", "The request conflicts with the current state."),
    413: ("PAYLOAD_TOO_LARGE", "The request body is too large."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "The request body has an unsupported media type."),
    422: ("UNPROCESSABLE_ENTITY", "The request cannot be processed."),
    429: ("RATE_LIMIT_EXCEEDED", "Too many requests."),
    500: ("INTERNAL_ERROR", "An unexpected error occurred."),
    502: ("BAD_GATEWAY", "An upstream service failed."),
    503: ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable."),
    504: ("GATEWAY_TIMEOUT", "An upstream service timed out."),
}


class ForcedError(ApiError):
    """Any status a test forced (``Prefer: code=...`` or a fault rule)."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Json] | None = None,
    ) -> None:
        code, default_message = STATUS_CODES.get(status, ("ERROR", f"HTTP {status}."))
        super().__init__(message or default_message, code=code, headers=headers, extra=extra)
        self.status = status


def render_error(error: ApiError, request_id: str, status: int | None = None) -> MockResponse:
    """The one place an error becomes an answer: the vendor's envelope and the error's headers."""
    envelope: dict[str, Json] = {"code": error.code, "message": error.message, "requestId": request_id}
    if error.details:
        envelope["details"] = [v.as_json() for v in error.details]
    envelope.update(error.extra)
    headers = dict(error.headers)
    if isinstance(error, MethodNotAllowedError):
        headers["Allow"] = ", ".join(error.allowed)
    response = MockResponse(status or error.status, {"error": envelope}, headers)
    response.delay = error.delay
    return response

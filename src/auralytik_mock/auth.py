"""Authenticate Bearer API keys and enforce each operation's scopes (RFC 6750).

Owns: parsing ``Authorization``, the 401 and 403 answers with their
``WWW-Authenticate`` challenges, and which scopes an operation needs.
No Flask, no IO.
May import: ``spec``, ``types``, ``errors``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from .errors import (
    INVALID_KEY,
    MALFORMED_AUTH,
    MISSING_AUTH,
    REALM,
    ForbiddenError,
    UnauthenticatedError,
)
from .spec import Operation
from .types import Principal

#: ``"Bearer" 1*SP b64token`` (RFC 6750 section 2.1); the scheme is case-insensitive (RFC 9110).
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)\Z")
#: Longer tokens are refused before any lookup.
MAX_TOKEN_LENGTH = 512

KeyLookup = Callable[[str], "Principal | None"]


def challenge(error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
    """The RFC 6750 ``WWW-Authenticate`` value for a 401 or 403."""
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


def missing_key_error() -> UnauthenticatedError:
    """The 401 for a request without credentials (RFC 6750 section 3.1: no error code)."""
    return UnauthenticatedError(MISSING_AUTH, headers={"WWW-Authenticate": challenge()})


def malformed_header_error() -> UnauthenticatedError:
    """The 401 for an ``Authorization`` header that is not ``Bearer <token>``."""
    return UnauthenticatedError(
        MALFORMED_AUTH,
        headers={"WWW-Authenticate": challenge("invalid_request", "The Authorization header is malformed")},
    )


def invalid_key_error() -> UnauthenticatedError:
    """The 401 for a well-formed key the mock does not know."""
    return UnauthenticatedError(
        INVALID_KEY,
        code="INVALID_API_KEY",
        headers={"WWW-Authenticate": challenge("invalid_token", "The API key is not valid")},
    )


def insufficient_scope_error(op: Operation, granted_scopes: Iterable[str]) -> ForbiddenError:
    """The 403 for a key holding ``granted_scopes`` on ``op``: names the scope ``op`` needs
    (the ones missing, or all of them when none is) and the scopes the key has."""
    granted = sorted(set(granted_scopes) - {"*"})
    missing = sorted(set(op.required_scopes) - set(granted))
    scope = " ".join(missing) or " ".join(op.required_scopes)
    return ForbiddenError(
        f"This operation needs the scope '{scope}'; the API key has "
        + (", ".join(f"'{s}'" for s in granted) if granted else "no scopes")
        + ".",
        headers={"WWW-Authenticate": challenge("insufficient_scope", "The API key lacks a scope", scope)},
        extra={"requiredScope": scope, "grantedScopes": granted},
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of a well-formed ``Bearer`` header, or ``None``."""
    if authorization is None:
        return None
    found = _BEARER.match(authorization.strip())
    if found is None or len(found.group(1)) > MAX_TOKEN_LENGTH:
        return None
    return found.group(1)


def authenticate(authorization: str | None, lookup: KeyLookup) -> Principal:
    """Return who sent ``authorization`` (the header's value).

    :raises UnauthenticatedError: no header; a header that is not ``Bearer <token>``
        (another scheme, two credentials, an empty or over-long token); an unknown key.
    """
    if authorization is None or not authorization.strip():
        raise missing_key_error()
    token = bearer_token(authorization)
    if token is None:
        raise malformed_header_error()
    principal = lookup(token)
    if principal is None:
        raise invalid_key_error()
    return principal


def authorize(op: Operation, principal: Principal) -> None:
    """Check that ``principal`` holds the scopes of one of ``op``'s security alternatives.

    :raises ForbiddenError: it holds none of them; the error names the scope needed.
    """
    if not op.security:
        return
    for alternative in op.security:
        needed = {scope for scopes in alternative.values() for scope in scopes}
        if needed <= principal.scopes:
            return
    raise insufficient_scope_error(op, principal.scopes)

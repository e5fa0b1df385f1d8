"""Authenticate Bearer API keys and enforce each operation's scopes (RFC 6750).

Owns: parsing ``Authorization``, the 401 and 403 answers with their
``WWW-Authenticate`` challenges, and which scopes an operation needs.
No Flask, no IO.
May import: ``spec``, ``types``, ``errors``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


def authenticate(authorization: str | None, lookup: KeyLookup) -> Principal:
    """Return who sent ``authorization`` (the header's value).

    :raises UnauthenticatedError: no header; a header that is not ``Bearer <token>``
        (another scheme, two credentials, an empty or over-long token); an unknown key.
    """
    if authorization is None or not authorization.strip():
        raise UnauthenticatedError(MISSING_AUTH, headers={"WWW-Authenticate": challenge()})
    found = _BEARER.match(authorization.strip())
    if found is None or len(found.group(1)) > MAX_TOKEN_LENGTH:
        raise UnauthenticatedError(
            MALFORMED_AUTH,
            headers={"WWW-Authenticate": challenge("invalid_request", "The Authorization header is malformed")},
        )
    principal = lookup(found.group(1))
    if principal is None:
        raise UnauthenticatedError(
            INVALID_KEY,
            code="INVALID_API_KEY",
            headers={"WWW-Authenticate": challenge("invalid_token", "The API key is not valid")},
        )
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
    missing = sorted(set(op.required_scopes) - principal.scopes)
    scope = " ".join(missing) or " ".join(op.required_scopes)
    granted = sorted(principal.scopes)
    raise ForbiddenError(
        f"This operation needs the scope '{scope}'; the API key has "
        + (", ".join(f"'{s}'" for s in granted) if granted else "no scopes")
        + ".",
        headers={"WWW-Authenticate": challenge("insufficient_scope", "The API key lacks a scope", scope)},
        extra={"requiredScope": scope, "grantedScopes": granted},
    )

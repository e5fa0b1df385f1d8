"""Credentials as a request carries them: where each security scheme puts the key, and reading it.

Owns: ``Authorization`` parsing (``Bearer`` per RFC 6750, ``Basic`` per RFC 7617), API keys in a
header, a query parameter or a cookie, the longest key looked up, and how a person sends a key
by a scheme (for messages). Deciding who that is and refusing is ``auth``'s.
No Flask, no IO.
May import: ``spec``, ``types``.
"""

from __future__ import annotations

import base64
import binascii
import re

from .spec import APIKEY, BASIC, BEARER, HMAC, OPAQUE, SecurityScheme
from .types import MockRequest

#: ``"Bearer" 1*SP b64token`` (RFC 6750 section 2.1); the scheme is case-insensitive (RFC 9110).
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)\Z")
#: Longer tokens are refused before any lookup.
MAX_TOKEN_LENGTH = 512


def bearer_token(authorization: str | None) -> str | None:
    """The token of a well-formed ``Bearer`` header, or ``None``."""
    if authorization is None:
        return None
    found = _BEARER.match(authorization.strip())
    if found is None or len(found.group(1)) > MAX_TOKEN_LENGTH:
        return None
    return found.group(1)


def credential_of(scheme: SecurityScheme, request: MockRequest) -> str | None:
    """The key ``request`` sends for ``scheme``: ``None`` when it sends none that way, ``""``
    when it sends one that is malformed (a Bearer header with no token, Basic that is not
    Base64 of ``user:password``).

    ``http basic`` takes the key as the password (``curl -u user:KEY``), or as the user name
    when the password is empty (``curl -u KEY:``).
    """
    if scheme.kind == APIKEY:
        if scheme.location == "query":
            values = request.query.get(scheme.header)
            return values[0].strip() if values else None
        if scheme.location == "cookie":
            return _cookie(request.header("Cookie"), scheme.header)
        value = request.header(scheme.header)
        return value.strip() if value is not None else None
    authorization = request.header("Authorization")
    if authorization is None or (scheme.kind == OPAQUE and not scheme.header):
        return None
    word, _, rest = authorization.strip().partition(" ")
    if scheme.kind == BEARER:
        return (bearer_token(authorization) or "") if word.lower() == "bearer" else None
    if scheme.kind == BASIC:
        if word.lower() != "basic":
            return None
        return basic_key(rest)
    return authorization.strip()  # OPAQUE: the whole value is the key


def _cookie(header: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header (RFC 6265: ``a=1; b=2``)."""
    for pair in (header or "").split(";"):
        key, eq, value = pair.strip().partition("=")
        if eq and key == name:
            return value.strip().strip('"')
    return None


def describe(scheme: SecurityScheme) -> str:
    """How a person sends a key by ``scheme``, for a message."""
    if scheme.kind == BEARER:
        return "'Authorization: Bearer <token>'"
    if scheme.kind == BASIC:
        return "'Authorization: Basic <Base64 of user:API key>'"
    if scheme.kind == HMAC:
        return f"'{scheme.header}' with '{scheme.timestamp_header}' and '{scheme.signature_header}' (signed)"
    if scheme.kind == APIKEY:
        where = {"header": "header", "query": "query parameter", "cookie": "cookie"}[scheme.location]
        return f"the API key in the '{scheme.header}' {where}"
    return "'Authorization'"


def basic_key(credentials: str) -> str:
    """The key in ``Basic`` credentials: the password, or the user name with an empty one
    (``""``: not Base64 of ``user:password``)."""
    try:
        user, colon, password = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return (password or user) if colon else ""

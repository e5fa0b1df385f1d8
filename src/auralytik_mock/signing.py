"""The vendor's request signing (X-Api-Key + HMAC-SHA256), for clients and for the mock.

Owns: the signing recipe of the vendor's Authentication page, in one place:

1. ``timestamp`` = now, Unix seconds;
2. ``bodyHash`` = Base64(SHA-256(body)), the empty body hashed for GET and DELETE;
3. ``canonical`` = ``{timestamp}.{METHOD}.{path}.{bodyHash}``, the path without query
   string or host;
4. ``X-Signature`` = Base64(HMAC-SHA256(secret, canonical)).

``signed_headers`` gives the three headers a request needs; ``requests_auth`` and
``httpx_auth`` sign every request of a ``requests`` session or an ``httpx`` client
(each library is imported only when its adapter is asked for).
No Flask, no IO. May import: the standard library only.

Example::

    import requests
    from auralytik_mock.signing import signed_headers

    body = b'{"name": "Q2 Review", "type": "quality_review"}'
    headers = signed_headers("POST", "/api/v1/engagements", body,
                             key="ak_live_abc123def456ghi789jkl012mno345pq", secret="YOUR_HMAC_SECRET")
    requests.post("http://127.0.0.1:4010/api/v1/engagements", data=body,
                  headers={**headers, "Content-Type": "application/json"})
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx
    import requests

KEY_HEADER = "X-Api-Key"
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
#: Base64(SHA-256("")): the body hash of every request without a body.
EMPTY_BODY_HASH = base64.b64encode(hashlib.sha256(b"").digest()).decode("ascii")

Clock = Callable[[], int]


def body_hash(body: bytes | str | None) -> str:
    """Base64(SHA-256(``body``)) over the exact bytes sent (``None`` and ``b""`` hash the empty string)."""
    if not body:
        return EMPTY_BODY_HASH
    data = body.encode("utf-8") if isinstance(body, str) else body
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def canonical_string(timestamp: int | str, method: str, path: str, body: bytes | str | None = b"") -> str:
    """``{timestamp}.{METHOD}.{path}.{bodyHash}``: what gets signed.

    :param path: the URL path only; a query string or a scheme and host are cut off.
    """
    return f"{timestamp}.{method.upper()}.{_path_only(path)}.{body_hash(body)}"


def sign(secret: str | bytes, canonical: str) -> str:
    """Base64(HMAC-SHA256(``secret``, ``canonical``)): the ``X-Signature`` value."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return base64.b64encode(hmac.digest(key, canonical.encode("utf-8"), "sha256")).decode("ascii")


class Signer:
    """``sign`` for one secret, with HMAC's two padded key blocks hashed once (RFC 2104).

    Copying the two prepared SHA-256 states costs about half of ``hmac.digest``, which
    sets the key up again on every call; the mock verifies with one ``Signer`` per secret.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def sign(self, canonical: str) -> str:
        """Base64(HMAC-SHA256(secret, ``canonical``))."""
        inner = self._inner.copy()
        inner.update(canonical.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return binascii.b2a_base64(outer.digest(), newline=False).decode("ascii")


_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def signed_headers(
    method: str,
    path: str,
    body: bytes | str | None = b"",
    *,
    key: str,
    secret: str | bytes,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The three headers that authenticate one request on ``/api/v1``.

    :param method: the HTTP method (upper-cased for you).
    :param path: the request path, e.g. ``/api/v1/engagements``; a full URL or a query
        string is allowed, only the path is signed.
    :param body: the exact bytes the request sends (a ``str`` is encoded as UTF-8).
    :param key: the API key (``ak_live_...``).
    :param secret: the key's HMAC secret.
    :param timestamp: Unix seconds; ``None`` for now.
    :return: ``{"X-Api-Key": ..., "X-Timestamp": ..., "X-Signature": ...}``.
    """
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    return {
        KEY_HEADER: key,
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign(secret, canonical_string(stamp, method, path, body)),
    }


def _path_only(path: str) -> str:
    """The path of ``path``: no scheme, host, query string or fragment."""
    if "://" in path:
        return urlsplit(path).path or "/"
    return path.split("?", 1)[0].split("#", 1)[0]


def requests_auth(key: str, secret: str | bytes, clock: Clock | None = None) -> requests.auth.AuthBase:
    """A ``requests`` auth that signs each request as it is sent.

    :param clock: gives the timestamp (Unix seconds); ``None`` for the real time. A mock
        with a pinned clock wants its own (``MockServer.requests_auth`` passes it).

    Example::

        session = requests.Session()
        session.auth = requests_auth("ak_live_abc123def456ghi789jkl012mno345pq", "YOUR_HMAC_SECRET")
        session.get("http://127.0.0.1:4010/api/v1/engagements")
    """
    import requests.auth

    class _Signer(requests.auth.AuthBase):
        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            body = request.body
            if body is not None and not isinstance(body, (bytes, str)):
                raise TypeError("a streamed body cannot be signed: pass bytes or a str as data=")
            stamp = clock() if clock is not None else None
            method, url = request.method or "GET", request.url or "/"
            request.headers.update(signed_headers(method, url, body, key=key, secret=secret, timestamp=stamp))
            return request

    return _Signer()


def httpx_auth(key: str, secret: str | bytes, clock: Clock | None = None) -> httpx.Auth:
    """An ``httpx`` auth (sync and async clients) that signs each request as it is sent.

    :param clock: gives the timestamp (Unix seconds); ``None`` for the real time.

    Example::

        client = httpx.Client(auth=httpx_auth("ak_live_abc123def456ghi789jkl012mno345pq", "YOUR_HMAC_SECRET"))
        client.get("http://127.0.0.1:4010/api/v1/engagements")
    """
    import httpx

    class _Signer(httpx.Auth):
        requires_request_body = True

        def auth_flow(self, request: httpx.Request) -> Any:
            stamp = clock() if clock is not None else None
            path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
            request.headers.update(
                signed_headers(request.method, path, request.content, key=key, secret=secret, timestamp=stamp)
            )
            yield request

    return _Signer()

"""Signed requests (an API key header with an HMAC-SHA256 request signature): checking one.

Owns: verifying a request signature (the key's format, the timestamp window, replays, the
signature itself), telling a developer why a signature does not match (``_diagnose``), and
the 401s of a signed path with their ``WWW-Authenticate`` challenges. Which path takes which
scheme, and who is calling, are ``auth``'s.
No Flask, no IO.
May import: ``spec``, ``signing``, ``profile``, ``types``, ``errors``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from ..signing import EMPTY_BODY_HASH, Signer, body_hash
from .errors import UnauthenticatedError
from .profile import NEUTRAL_REALM, Profile
from .spec import BEARER, Operation, SecurityScheme
from .types import Json, MockRequest, Principal

KeyLookup = Callable[[str], "Principal | None"]

#: Default accepted clock skew between ``X-Timestamp`` and the mock's now, in seconds
#: (the vendor states none; 300 s is what AWS SigV4 and Stripe webhooks allow).
DEFAULT_WINDOW = 300
#: How many recent signatures ``--reject-replays`` remembers at most (memory stays bounded).
REPLAY_CAPACITY = 100_000
#: Prepared secrets kept at most (one per signing key in use).
_MAX_SIGNERS = 4096
#: The auth scheme named in the challenge of a signed path (RFC 9110 ``auth-scheme`` token).
HMAC_AUTH_SCHEME = "HMAC-SHA256"


def hmac_challenge(
    scheme: SecurityScheme, error: str | None = None, scope: str | None = None, realm: str = NEUTRAL_REALM
) -> str:
    """The ``WWW-Authenticate`` value of a 401 or 403 on a path that takes signed requests."""
    headers = f"{scheme.header} {scheme.timestamp_header} {scheme.signature_header}"
    parts = [f'realm="{realm}"', f'headers="{headers}"']
    if error:
        parts.append(f'error="{error}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return f"{HMAC_AUTH_SCHEME} " + ", ".join(parts)


def mask(value: str) -> str:
    """Enough of a key to recognise it in an error, not enough to use it."""
    return value[:8] + "..." + value[-4:] if len(value) > 16 else (value[:3] + "..." if len(value) > 6 else "***")


class ReplayCache:
    """Signatures already accepted, each until its timestamp leaves the window; bounded.

    Oldest entries go first when ``capacity`` is reached (a replay of one of those would
    pass; at 100,000 entries that takes more than 100,000 signed calls inside the window).
    """

    def __init__(self, capacity: int = REPLAY_CAPACITY) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def check_and_add(self, entry: tuple[str, str, str], ttl: float) -> bool:
        """Remember ``entry`` for ``ttl`` seconds; return whether it was seen already.

        Expiry runs on the process's monotonic clock, not on a dataset's (possibly pinned)
        clock: one session's clock must not expire another session's entries.
        """
        now = time.monotonic()
        with self._lock:
            seen = self._seen
            while seen and next(iter(seen.values())) < now:
                seen.popitem(last=False)
            if entry in seen:
                return True
            seen[entry] = now + ttl
            if len(seen) > self.capacity:
                seen.popitem(last=False)
            return False

    def clear(self, namespace: str | None = None) -> None:
        """Forget every signature, or those of one dataset."""
        with self._lock:
            if namespace is None:
                self._seen.clear()
            else:
                for entry in [e for e in self._seen if e[0] == namespace]:
                    del self._seen[entry]


class SignatureChecker:
    """Checks the signed requests of the paths that take them.

    :param profile: the vendor's key format and where signing is documented (messages).
    :param window: seconds ``X-Timestamp`` may differ from the mock's now.
    :param reject_replays: refuse a signature seen before (within the window).
    :param served_under: the base paths where a scheme kind is accepted, for messages.
    :param realm: the realm of the challenges.

    ``check`` tests, in order: the key header (401 ``MISSING_API_KEY``), its format
    (``MALFORMED_API_KEY``), that it is known and has a secret (``INVALID_API_KEY``), the
    timestamp and signature headers (``MISSING_SIGNATURE``), the timestamp's form and window
    (``MALFORMED_TIMESTAMP``, ``STALE_TIMESTAMP``, ``FUTURE_TIMESTAMP``), the signature
    (``INVALID_SIGNATURE``, with what the mock signed and the likely mistake), and replays
    (``REPLAYED_REQUEST``). A Bearer credential on a signed path is ``WRONG_AUTH_SCHEME``.
    """

    def __init__(
        self,
        profile: Profile,
        *,
        window: int = DEFAULT_WINDOW,
        reject_replays: bool = False,
        served_under: Callable[[str], str] = lambda kind: "no path of this mock",
        realm: str = NEUTRAL_REALM,
    ) -> None:
        self.profile = profile
        self.window = window
        self.reject_replays = reject_replays
        self.served_under = served_under
        self.realm = realm
        self.replays = ReplayCache()
        self._signers: dict[str, Signer] = {}

    def _signer(self, secret: str) -> Signer:
        signer = self._signers.get(secret)
        if signer is None:
            if len(self._signers) >= _MAX_SIGNERS:  # sessions come and go: stay bounded
                self._signers.clear()
            signer = self._signers[secret] = Signer(secret)
        return signer

    @property
    def _see_docs(self) -> str:
        return f", see {self.profile.docs}" if self.profile.docs else ""

    def refuse(
        self, scheme: SecurityScheme, code: str, message: str, error: str = "invalid_request", **extra: Json
    ) -> UnauthenticatedError:
        """A 401 of a signed path, challenging with its scheme."""
        return UnauthenticatedError(
            message,
            code=code,
            headers={"WWW-Authenticate": hmac_challenge(scheme, error, realm=self.realm)},
            extra=extra,
        )

    def missing_key(self, scheme: SecurityScheme) -> UnauthenticatedError:
        """The 401 of a signed path for a request without the key header."""
        return self.refuse(
            scheme,
            "MISSING_API_KEY",
            self.profile.hinted(
                f"Send '{scheme.header}: {self.profile.signing_example}' with '{scheme.timestamp_header}' "
                f"(Unix seconds) and '{scheme.signature_header}' (Base64 HMAC-SHA256 of "
                "timestamp.METHOD.path.bodyHash)",
                signing=True,
            ),
        )

    def invalid_key(self, scheme: SecurityScheme, key: str) -> UnauthenticatedError:
        """The 401 of a signed path for a key the mock does not know."""
        return self.refuse(
            scheme,
            "INVALID_API_KEY",
            f"The API key {mask(key)} is not valid. Check the key, or use one of the keys in the fixtures "
            "(a session's keys live as long as the session).",
            "invalid_token",
        )

    def check(
        self,
        scheme: SecurityScheme,
        op: Operation,
        request: MockRequest,
        lookup: KeyLookup,
        now: Callable[[Principal], int],
    ) -> Principal:
        """Return who signed ``request`` to ``op`` by ``scheme``.

        :param lookup: finds the principal of a key.
        :param now: the mock's now in Unix seconds, for a principal (its dataset's clock).
        :raises UnauthenticatedError: 401 with a code and a message that says what to fix.
        """
        where = op.base_path or "/"
        headers = request.headers  # names are lower case
        key = headers.get(scheme.header_key)
        if key is None:
            if request.header("Authorization") is not None:
                raise self.refuse(
                    scheme,
                    "WRONG_AUTH_SCHEME",
                    f"This path ({where}) takes '{scheme.header}' with '{scheme.timestamp_header}' and "
                    f"'{scheme.signature_header}' (HMAC-SHA256 request signing{self._see_docs}); "
                    f"'Authorization: Bearer' keys are served under {self.served_under(BEARER)}.",
                )
            raise self.missing_key(scheme)
        key = key.strip()
        if not self.profile.is_signing_key(key):
            hint = ""
            if key.lower().startswith("bearer "):
                hint = f" Send the key alone, without 'Bearer ', in '{scheme.header}'."
            elif self.profile.signing_prefix and not key.startswith(self.profile.signing_prefix):
                hint = (
                    f" Keys without this form (YOUR_API_KEY, ...) are Bearer keys, served under "
                    f"{self.served_under(BEARER)}."
                )
            raise self.refuse(
                scheme,
                "MALFORMED_API_KEY",
                f"'{scheme.header}' must be {self.profile.signing_format}; got {len(key)} "
                f"characters ({mask(key)}).{hint}",
            )
        principal = lookup(key)
        if principal is None:
            raise self.invalid_key(scheme, key)
        secret = principal.secret
        if secret is None:
            raise self.refuse(
                scheme,
                "INVALID_API_KEY",
                f"The key {mask(key)} has no HMAC secret: it is a Bearer key, served under "
                f"{self.served_under(BEARER)}.",
                "invalid_token",
            )
        stamp = headers.get(scheme.timestamp_key)
        signature = headers.get(scheme.signature_key)
        missing = [h for h, v in ((scheme.timestamp_header, stamp), (scheme.signature_header, signature)) if v is None]
        if stamp is None or signature is None:
            raise self.refuse(
                scheme,
                "MISSING_SIGNATURE",
                f"Requests with '{scheme.header}' are signed: send {' and '.join(repr(h) for h in missing)}. "
                f"'{scheme.timestamp_header}' = now in Unix seconds; '{scheme.signature_header}' = "
                "Base64(HMAC-SHA256(secret, '{timestamp}.{METHOD}.{path}.{Base64(SHA-256(body))}')).",
            )
        stamp, signature = stamp.strip(), signature.strip()
        if not (stamp.isdigit() and stamp.isascii() and len(stamp) <= 15):
            hint = " Send whole seconds, no fraction." if re.fullmatch(r"[0-9]+\.[0-9]*", stamp) else ""
            raise self.refuse(
                scheme,
                "MALFORMED_TIMESTAMP",
                f"'{scheme.timestamp_header}' must be the Unix time in whole seconds (e.g. 1717243200); "
                f"got {stamp[:40]!r}.{hint}",
            )
        current = now(principal)
        skew = int(stamp) - current
        if abs(skew) > self.window:
            future = skew > 0
            hint = ""
            if future and len(stamp) >= 12:
                hint = " It looks like milliseconds: send seconds (Date.now() / 1000, rounded down)."
            raise self.refuse(
                scheme,
                "FUTURE_TIMESTAMP" if future else "STALE_TIMESTAMP",
                f"'{scheme.timestamp_header}' {stamp} is {abs(skew)} s {'ahead of' if future else 'behind'} the "
                f"mock's clock ({current}); at most {self.window} s are accepted.{hint}"
                + ("" if future else " Sign each request when you send it (a pinned mock clock: GET /__mock/clock)."),
                serverTime=current,
                toleranceSeconds=self.window,
            )
        if request.oversized:
            # The body was not read (413 follows): it cannot be hashed, so it is not verified.
            return principal
        canonical = f"{stamp}.{request.method}.{request.path}.{body_hash(request.body)}"
        expected = self._signer(secret).sign(canonical)
        if not (signature.isascii() and hmac.compare_digest(expected, signature)):
            hints = list(_diagnose(secret, stamp, op, request, signature, expected))
            raise self.refuse(
                scheme,
                "INVALID_SIGNATURE",
                f"The signature does not match. The mock signed {canonical!r} "
                "(timestamp.METHOD.path.Base64(SHA-256(body))) with the key's secret. " + " ".join(hints),
                "invalid_signature",
                signature={
                    "canonicalString": canonical,
                    "timestamp": stamp,
                    "method": request.method,
                    "path": request.path,
                    "bodyHash": canonical.rsplit(".", 1)[1],
                    "bodyBytes": len(request.body),
                    "received": signature[:100],
                    "hints": hints,
                },
            )
        # Remembered while its timestamp stays inside the window (by the dataset's clock).
        if self.reject_replays and self.replays.check_and_add(
            (principal.namespace, key, signature), int(stamp) + self.window - current + 1
        ):
            raise self.refuse(
                scheme,
                "REPLAYED_REQUEST",
                f"This signature was already used (replays are refused within {self.window} s): "
                "sign each request anew, with its own timestamp.",
            )
        return principal


#: Bodies up to this size are re-serialised to find a signing mistake (a refused signature
#: must not cost many times an accepted one: the hints are a courtesy).
DIAGNOSE_BODY_BYTES = 64 * 1024


def _diagnose(
    secret: str, stamp: str, op: Operation, request: MockRequest, received: str, expected: str
) -> Iterator[str]:
    """Which common signing mistake, if any, gives the signature the client sent.

    Each candidate is the canonical string one mistake produces, signed with the real
    secret; only a signature the client sent can match one, so no secret leaks. Runs
    only on a refused request.
    """
    method, path, body = request.method, request.path, request.body
    digest = body_hash(body)
    decoded = _decode_any(received)
    if decoded is not None and hmac.compare_digest(decoded[0], base64.b64decode(expected)):
        yield f"The digest is right but encoded as {decoded[1]}; send it as standard Base64 (with '=' padding)."
        return

    signer = Signer(secret)
    sent = received.encode("utf-8", "replace")

    def matches(canonical: str) -> bool:
        return hmac.compare_digest(signer.sign(canonical).encode("ascii"), sent)

    for variant in (method.lower(), method.capitalize()):
        if variant != method and matches(f"{stamp}.{variant}.{path}.{digest}"):
            yield f"You signed the method as {variant!r}: sign it in upper case ({method!r})."
            return
    paths = []
    if request.query:
        query = urlencode([(k, v) for k, values in request.query.items() for v in values])
        paths.append((f"{path}?{query}", "the path with its query string"))
    host = request.header("Host")
    if host:
        for scheme in ("http", "https"):
            paths.append((f"{scheme}://{host}{path}", "the full URL"))
            if request.query:
                paths.append((f"{scheme}://{host}{path}?{query}", "the full URL with its query string"))
    if op.base_path and path.startswith(op.base_path):
        paths.append((path[len(op.base_path) :] or "/", f"the path without its base {op.base_path!r}"))
    for candidate, what in paths:
        if matches(f"{stamp}.{method}.{candidate}.{digest}"):
            yield f"You signed {what} ({candidate!r}): sign the path alone ({path!r}), no host, no query string."
            return
    if body:
        bodies = [(EMPTY_BODY_HASH, "an empty body")]
        bodies.append((hashlib.sha256(body).hexdigest(), "the body hash hex-encoded"))
        parsed = None
        if len(body) <= DIAGNOSE_BODY_BYTES:  # re-serialising a large body would cost more than the call
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):  # not JSON, or nested too deep to parse: no variant
                parsed = None
        if parsed is not None:
            for text in (
                json.dumps(parsed),
                json.dumps(parsed, separators=(",", ":")),
                json.dumps(parsed, sort_keys=True),
                json.dumps(parsed, separators=(",", ":"), sort_keys=True),
                json.dumps(parsed, ensure_ascii=False),
            ):
                if text.encode("utf-8") != body:
                    what = f"another serialization of the JSON ({text[:60]!r})"
                    bodies.append((body_hash(text.encode("utf-8")), what))
        for candidate, what in bodies:
            if matches(f"{stamp}.{method}.{path}.{candidate}"):
                yield (
                    f"You signed {what}, but the body changed after signing: the mock hashes the exact "
                    f"{len(body)} bytes it received. Serialize the body once and sign and send those bytes."
                )
                return
    elif matches(f"{stamp}.{method}.{path}.{hashlib.sha256(b'').hexdigest()}"):
        yield f"You hex-encoded the body hash: use Base64(SHA-256(body)) ({EMPTY_BODY_HASH} for no body)."
        return
    seconds = int(stamp)
    for other in (seconds - 2, seconds - 1, seconds + 1, seconds + 2):
        if matches(f"{other}.{method}.{path}.{digest}"):
            yield f"You signed the timestamp {other} but sent {stamp}: read the clock once, use it for both."
            return
    for millis in range(seconds * 1000, seconds * 1000 + 1000):
        if matches(f"{millis}.{method}.{path}.{digest}"):
            yield f"You signed the timestamp in milliseconds ({millis}): sign and send seconds ({stamp})."
            return
    if body:
        yield (
            f"If the body changed after signing (the mock hashed the {len(body)} bytes it received), sign the exact "
            "bytes you send."
        )
    yield (
        "Check the secret is the one of this key (fixtures, or the session's), the method in upper case, "
        "the path without query string or host, and Base64 (not hex) for both hashes."
    )


def _decode_any(text: str) -> tuple[bytes, str] | None:
    """The bytes of a signature sent hex-encoded, URL-safe or unpadded (``None``: none of those)."""
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text), "hex"
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "URL-safe Base64"
        if len(text) % 4:
            return base64.b64decode(text + "=" * (-len(text) % 4)), "Base64 without padding"
    except (binascii.Error, ValueError):
        return None
    return None

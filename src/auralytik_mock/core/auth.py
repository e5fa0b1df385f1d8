"""Authenticate API keys (Bearer, or X-Api-Key with a request signature) and enforce scopes.

Owns: parsing ``Authorization`` (RFC 6750), verifying the vendor's HMAC-SHA256 request
signatures (key format, timestamp window, replays, the signature itself), telling a
developer why a signature does not match, the 401 and 403 answers with their
``WWW-Authenticate`` challenges, and which scopes an operation needs.
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
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlencode

from ..signing import EMPTY_BODY_HASH, Signer, body_hash
from .errors import (
    INVALID_KEY,
    MALFORMED_AUTH,
    MISSING_AUTH,
    REALM,
    ApiError,
    ForbiddenError,
    UnauthenticatedError,
)
from .profile import Profile
from .spec import APIKEY, BASIC, BEARER, HMAC, OPAQUE, Operation, SecurityScheme, Spec
from .types import Json, MockRequest, Principal

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


def missing_key_error(profile: Profile | None = None) -> UnauthenticatedError:
    """The 401 for a request without credentials (RFC 6750 section 3.1: no error code);
    ``profile`` says where its keys are listed."""
    message = (profile or Profile()).hinted(MISSING_AUTH)
    return UnauthenticatedError(message, headers={"WWW-Authenticate": challenge()})


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


def insufficient_scope_error(
    op: Operation, granted_scopes: Iterable[str], challenge_for: Callable[[str], str | None] | None = None
) -> ForbiddenError:
    """The 403 for a key holding ``granted_scopes`` on ``op``: names the scope ``op`` needs
    (the ones missing, or all of them when none is) and the scopes the key has.

    :param challenge_for: the ``WWW-Authenticate`` for a scope on a path that does not take
        Bearer keys (``Authenticator.forbidden_challenge``); ``None`` or its ``None``: RFC 6750's.
    """
    granted = sorted(set(granted_scopes) - {"*"})
    missing = sorted(set(op.required_scopes) - set(granted))
    scope = " ".join(missing) or " ".join(op.required_scopes)
    www = challenge_for(scope) if challenge_for is not None else None
    return ForbiddenError(
        f"This operation needs the scope '{scope}'; the API key has "
        + (", ".join(f"'{s}'" for s in granted) if granted else "no scopes")
        + ".",
        headers={"WWW-Authenticate": www or challenge("insufficient_scope", "The API key lacks a scope", scope)},
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


def authenticate(authorization: str | None, lookup: KeyLookup, profile: Profile | None = None) -> Principal:
    """Return who sent ``authorization`` (the header's value).

    :raises UnauthenticatedError: no header; a header that is not ``Bearer <token>``
        (another scheme, two credentials, an empty or over-long token); an unknown key.
    """
    if authorization is None or not authorization.strip():
        raise missing_key_error(profile)
    token = bearer_token(authorization)
    if token is None:
        raise malformed_header_error()
    principal = lookup(token)
    if principal is None:
        raise invalid_key_error()
    return principal


def authorize(op: Operation, principal: Principal, challenge_for: Callable[[str], str | None] | None = None) -> None:
    """Check that ``principal`` holds the scopes of one of ``op``'s security alternatives.

    :param challenge_for: the 403's ``WWW-Authenticate`` for a missing scope, when the
        path does not take Bearer keys (``Authenticator.forbidden_challenge``).
    :raises ForbiddenError: it holds none of them; the error names the scope needed.
    """
    if not op.security:
        return
    for alternative in op.security:
        needed = {scope for scopes in alternative.values() for scope in scopes}
        if needed <= principal.scopes:
            return
    raise insufficient_scope_error(op, principal.scopes, challenge_for)


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
        try:
            user, colon, password = base64.b64decode(rest.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return (password or user) if colon else ""
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


def scheme_challenge(scheme: SecurityScheme, error: str | None = None, description: str | None = None) -> str:
    """The ``WWW-Authenticate`` value of a 401 for ``scheme``."""
    if scheme.kind == BASIC:
        return f'Basic realm="{REALM}"'
    if scheme.kind == APIKEY:
        return f'ApiKey realm="{REALM}", in="{scheme.location}", name="{scheme.header}"'
    return challenge(error, description)


# -- X-Api-Key + HMAC-SHA256 request signing ----------------------------------------------

#: Default accepted clock skew between ``X-Timestamp`` and the mock's now, in seconds
#: (the vendor states none; 300 s is what AWS SigV4 and Stripe webhooks allow).
DEFAULT_WINDOW = 300
#: How many recent signatures ``--reject-replays`` remembers at most (memory stays bounded).
REPLAY_CAPACITY = 100_000
#: Prepared secrets kept at most (one per signing key in use).
_MAX_SIGNERS = 4096
#: The auth scheme named in the challenge of a signed path (RFC 9110 ``auth-scheme`` token).
HMAC_AUTH_SCHEME = "HMAC-SHA256"


def hmac_challenge(scheme: SecurityScheme, error: str | None = None, scope: str | None = None) -> str:
    """The ``WWW-Authenticate`` value of a 401 or 403 on a path that takes signed requests."""
    headers = f"{scheme.header} {scheme.timestamp_header} {scheme.signature_header}"
    parts = [f'realm="{REALM}"', f'headers="{headers}"']
    if error:
        parts.append(f'error="{error}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return f"{HMAC_AUTH_SCHEME} " + ", ".join(parts)


def _mask(value: str) -> str:
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


class Authenticator:
    """Who is calling, by the scheme the operation's base path takes.

    :param spec: the spec (its security schemes and which base path takes which).
    :param window: seconds ``X-Timestamp`` may differ from the mock's now.
    :param reject_replays: refuse a signature seen before (within the window).

    Bearer paths behave as ``authenticate`` says; signed paths check, in order: the key
    header (401 ``MISSING_API_KEY``), its format (``MALFORMED_API_KEY``), that it is
    known and has a secret (``INVALID_API_KEY``), the timestamp and signature headers
    (``MISSING_SIGNATURE``), the timestamp's form and window (``MALFORMED_TIMESTAMP``,
    ``STALE_TIMESTAMP``, ``FUTURE_TIMESTAMP``), the signature (``INVALID_SIGNATURE``, with
    what the mock signed and the likely mistake), and replays (``REPLAYED_REQUEST``).
    A credential of the other scheme is ``WRONG_AUTH_SCHEME``, naming where it works.
    """

    def __init__(
        self,
        spec: Spec,
        *,
        window: int = DEFAULT_WINDOW,
        reject_replays: bool = False,
        profile: Profile | None = None,
    ) -> None:
        self.spec = spec
        self.profile = profile or Profile()
        self.window = window
        self.reject_replays = reject_replays
        self.replays = ReplayCache()
        # By operation (a World's operations live as long as its Authenticator).
        self._plans: dict[int, tuple[SecurityScheme | None, SecurityScheme | None]] = {}
        self._signers: dict[str, Signer] = {}
        self._all: dict[int, tuple[SecurityScheme, ...]] = {}

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

    # -- which scheme -------------------------------------------------------------------

    def _plan(self, op: Operation) -> tuple[SecurityScheme | None, SecurityScheme | None]:
        plan = self._plans.get(id(op))
        if plan is None:
            schemes = [self.spec.schemes[name] for alt in op.security for name in alt if name in self.spec.schemes]
            bearer = next((s for s in schemes if s.kind == BEARER), None)
            signed = next((s for s in schemes if s.kind == HMAC), None)
            plan = self._plans[id(op)] = (bearer, signed)
        return plan

    def _served_under(self, kind: str) -> str:
        """The base paths where a scheme of ``kind`` is accepted (for messages)."""
        names = {name for name, scheme in self.spec.schemes.items() if scheme.kind == kind}
        bases = [base or "/" for base, accepted in self.spec.base_paths.items() if accepted is None or accepted & names]
        return " and ".join(bases) or "no path of this mock"

    def authenticate(
        self, op: Operation, request: MockRequest, lookup: KeyLookup, now: Callable[[Principal], int]
    ) -> Principal:
        """Return who sent ``request`` to ``op``.

        :param lookup: finds the principal of a key.
        :param now: the mock's now in Unix seconds, for a principal (its dataset's clock).
        :raises UnauthenticatedError: 401 with a code and a message that says what to fix.
        """
        schemes = self._schemes(op)
        if any(scheme.kind not in (BEARER, HMAC) for scheme in schemes):
            return self._any_scheme(op, schemes, request, lookup, now)
        bearer, signed = self._plan(op)
        if signed is not None and (bearer is None or request.header(signed.header) is not None):
            return self._signed(signed, op, request, lookup, now)
        assert bearer is not None
        authorization = request.header("Authorization")
        if authorization is None and signed is None:
            other = self._other_key_header(request)
            if other is not None:
                raise UnauthenticatedError(
                    f"This path ({op.base_path or '/'}) takes 'Authorization: Bearer <API key>'. "
                    f"'{other.header}' with a request signature is served under {self._served_under(HMAC)}.",
                    code="WRONG_AUTH_SCHEME",
                    headers={"WWW-Authenticate": challenge("invalid_request", "This path takes Bearer keys")},
                )
        principal = authenticate(authorization, lookup, self.profile)
        if principal.secret is not None:
            raise UnauthenticatedError(
                f"The key {_mask(principal.key)} signs its requests: send it as 'X-Api-Key' with "
                f"'X-Timestamp' and 'X-Signature' under {self._served_under(HMAC)}, not as a Bearer token.",
                code="WRONG_AUTH_SCHEME",
                headers={"WWW-Authenticate": challenge("invalid_token", "This key signs its requests")},
            )
        return principal

    def _schemes(self, op: Operation) -> tuple[SecurityScheme, ...]:
        """Every scheme of ``op``'s security alternatives, in order, once each."""
        found = self._all.get(id(op))
        if found is None:
            names = dict.fromkeys(name for alt in op.security for name in alt if name in self.spec.schemes)
            found = self._all[id(op)] = tuple(self.spec.schemes[name] for name in names)
        return found

    def _any_scheme(
        self,
        op: Operation,
        schemes: tuple[SecurityScheme, ...],
        request: MockRequest,
        lookup: KeyLookup,
        now: Callable[[Principal], int],
    ) -> Principal:
        """Who sent ``request``, by the first of ``schemes`` it sends a key for (any one
        alternative may be satisfied; ``authorize`` then checks its scopes)."""
        for scheme in schemes:
            if scheme.kind == HMAC:
                if request.header(scheme.header) is not None:
                    return self._signed(scheme, op, request, lookup, now)
                continue
            key = credential_of(scheme, request)
            if key is None:
                continue
            if not key or len(key) > MAX_TOKEN_LENGTH:
                raise UnauthenticatedError(
                    f"The credentials are malformed: send {describe(scheme)}.",
                    code="MALFORMED_CREDENTIALS",
                    headers={"WWW-Authenticate": scheme_challenge(scheme, "invalid_request")},
                )
            principal = lookup(key)
            if principal is None:
                raise UnauthenticatedError(
                    INVALID_KEY,
                    code="INVALID_API_KEY",
                    headers={"WWW-Authenticate": scheme_challenge(scheme, "invalid_token", "The API key is not valid")},
                )
            return principal
        ways = " or ".join(describe(scheme) for scheme in schemes) or "credentials"
        raise UnauthenticatedError(
            self.profile.hinted(f"Send {ways}"),
            headers={"WWW-Authenticate": scheme_challenge(schemes[0]) if schemes else challenge()},
        )

    def _other_key_header(self, request: MockRequest) -> SecurityScheme | None:
        for scheme in self.spec.schemes.values():
            if scheme.kind == HMAC and request.header(scheme.header) is not None:
                return scheme
        return None

    # -- signed requests ----------------------------------------------------------------

    @staticmethod
    def _refuse(
        scheme: SecurityScheme, code: str, message: str, error: str = "invalid_request", **extra: Json
    ) -> UnauthenticatedError:
        return UnauthenticatedError(
            message, code=code, headers={"WWW-Authenticate": hmac_challenge(scheme, error)}, extra=extra
        )

    def _missing_key(self, scheme: SecurityScheme) -> UnauthenticatedError:
        return self._refuse(
            scheme,
            "MISSING_API_KEY",
            self.profile.hinted(
                f"Send '{scheme.header}: {self.profile.signing_example}' with '{scheme.timestamp_header}' "
                f"(Unix seconds) and '{scheme.signature_header}' (Base64 HMAC-SHA256 of "
                "timestamp.METHOD.path.bodyHash)",
                signing=True,
            ),
        )

    def _invalid_key(self, scheme: SecurityScheme, key: str) -> UnauthenticatedError:
        return self._refuse(
            scheme,
            "INVALID_API_KEY",
            f"The API key {_mask(key)} is not valid. Check the key, or use one of the keys in the fixtures "
            "(a session's keys live as long as the session).",
            "invalid_token",
        )

    def unauthenticated(self, op: Operation, request: MockRequest) -> ApiError | None:
        """On a signed path, the 401 a refused key of this request gets (``MISSING_API_KEY`` without
        one, else ``INVALID_API_KEY``), for a forced 401; ``None`` on a Bearer path."""
        bearer, signed = self._plan(op)
        if signed is None or bearer is not None:
            return None
        key = (request.header(signed.header) or "").strip()
        return self._invalid_key(signed, key) if key else self._missing_key(signed)

    def _signed(
        self,
        scheme: SecurityScheme,
        op: Operation,
        request: MockRequest,
        lookup: KeyLookup,
        now: Callable[[Principal], int],
    ) -> Principal:
        where = op.base_path or "/"
        headers = request.headers  # names are lower case
        key = headers.get(scheme.header_key)
        if key is None:
            if request.header("Authorization") is not None:
                raise self._refuse(
                    scheme,
                    "WRONG_AUTH_SCHEME",
                    f"This path ({where}) takes '{scheme.header}' with '{scheme.timestamp_header}' and "
                    f"'{scheme.signature_header}' (HMAC-SHA256 request signing{self._see_docs}); "
                    f"'Authorization: Bearer' keys are served under {self._served_under(BEARER)}.",
                )
            raise self._missing_key(scheme)
        key = key.strip()
        if not self.profile.is_signing_key(key):
            hint = ""
            if key.lower().startswith("bearer "):
                hint = f" Send the key alone, without 'Bearer ', in '{scheme.header}'."
            elif self.profile.signing_prefix and not key.startswith(self.profile.signing_prefix):
                hint = (
                    f" Keys without this form (YOUR_API_KEY, ...) are Bearer keys, served under "
                    f"{self._served_under(BEARER)}."
                )
            raise self._refuse(
                scheme,
                "MALFORMED_API_KEY",
                f"'{scheme.header}' must be {self.profile.signing_format}; got {len(key)} "
                f"characters ({_mask(key)}).{hint}",
            )
        principal = lookup(key)
        if principal is None:
            raise self._invalid_key(scheme, key)
        secret = principal.secret
        if secret is None:
            raise self._refuse(
                scheme,
                "INVALID_API_KEY",
                f"The key {_mask(key)} has no HMAC secret: it is a Bearer key, served under "
                f"{self._served_under(BEARER)}.",
                "invalid_token",
            )
        stamp = headers.get(scheme.timestamp_key)
        signature = headers.get(scheme.signature_key)
        missing = [h for h, v in ((scheme.timestamp_header, stamp), (scheme.signature_header, signature)) if v is None]
        if stamp is None or signature is None:
            raise self._refuse(
                scheme,
                "MISSING_SIGNATURE",
                f"Requests with '{scheme.header}' are signed: send {' and '.join(repr(h) for h in missing)}. "
                f"'{scheme.timestamp_header}' = now in Unix seconds; '{scheme.signature_header}' = "
                "Base64(HMAC-SHA256(secret, '{timestamp}.{METHOD}.{path}.{Base64(SHA-256(body))}')).",
            )
        stamp, signature = stamp.strip(), signature.strip()
        if not (stamp.isdigit() and stamp.isascii() and len(stamp) <= 15):
            hint = " Send whole seconds, no fraction." if re.fullmatch(r"[0-9]+\.[0-9]*", stamp) else ""
            raise self._refuse(
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
            raise self._refuse(
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
            raise self._refuse(
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
            raise self._refuse(
                scheme,
                "REPLAYED_REQUEST",
                f"This signature was already used (replays are refused within {self.window} s): "
                "sign each request anew, with its own timestamp.",
            )
        return principal

    def forced(self, op: Operation, error: ApiError) -> ApiError:
        """A forced 403 on a signed path challenges with the signing scheme, not Bearer
        (a forced 401 there is built by ``unauthenticated``, challenge included)."""
        bearer, signed = self._plan(op)
        if signed is not None and bearer is None and error.status == 403:
            error.headers["WWW-Authenticate"] = hmac_challenge(
                signed, "insufficient_scope", " ".join(op.required_scopes)
            )
        return error

    def forbidden_challenge(self, op: Operation, scope: str) -> str | None:
        """The 403 challenge of a signed path (``None``: a Bearer path keeps RFC 6750's)."""
        bearer, signed = self._plan(op)
        if signed is not None and bearer is None:
            return hmac_challenge(signed, "insufficient_scope", scope)
        return None


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

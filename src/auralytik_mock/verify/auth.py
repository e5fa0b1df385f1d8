"""How verify authenticates each call: the schemes, and the key each role sends on each side.

Owns: the authenticators (``bearer``, ``hmac_auth``; ``SCHEMES`` is the seam another
scheme plugs into), which scheme the target takes (from the spec: the schemes its base
path's servers accept, never the path's spelling), the keys of each role (``main``,
``read_only``, ``other``, ``unknown``, ``none``, and for a signing scheme
``bad_signature`` and ``stale``) for the target (from the options) and for the mock
(from its fixtures, by scope).

No IO. May import: ``options``, ``core.spec``, ``core.store``, ``signing`` (imported when used).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable

from ..core.spec import BEARER, HMAC, Spec
from ..core.store import ClientSeed
from .options import Options, VerifyError

#: Signs or authenticates one request: (method, path, body) -> headers to add.
Auth = Callable[[str, str, bytes], dict[str, str]]
#: Unix seconds for a signature's timestamp (the mock's own clock on the mock's side).
Clock = Callable[[], int]
#: What "an unknown key" sends when there is no key to shape it after.
UNKNOWN_KEY = "auralytik-mock-verify-unknown-key-0000"
#: The kind of a base path that takes no key at all.
NONE = "none"
#: How late a "stale timestamp" is signed: an hour, beyond any sane signature window.
STALE_SECONDS = 3600


def bearer(key: str) -> Auth:
    """``Authorization: Bearer <key>``, the scheme of the ``/v1`` pages."""

    def add(method: str, path: str, body: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    return add


def scheme_for(spec: Spec, base: str | None, *, secret: bool) -> str:
    """The kind of authentication (``bearer``, ``hmac``, ``none``) the target takes, from the spec.

    :param base: the spec base path the target's base URL stands for; ``None`` (a base URL
        of its own, a staging copy): the spec's first base path.
    :param secret: whether a secret was given: it chooses signing where a base path takes both.

    The schemes a base path takes are those its servers accept (``x-mock-security``), or
    every scheme of the spec when they say nothing.
    """
    bound = spec.base_paths.get(base if base is not None else spec.base_path)
    names = spec.schemes if bound is None else bound
    kinds = {spec.schemes[name].kind for name in names if name in spec.schemes}
    if not kinds:
        return NONE
    if len(kinds) == 1:
        return kinds.pop()
    if secret and HMAC in kinds:
        return HMAC
    return BEARER if BEARER in kinds else sorted(kinds)[0]


def unknown_key_like(key: str | None) -> str:
    """A key no account has, shaped like ``key``: its prefix (up to the last ``_`` or ``-``)
    kept, then letters as ``x``/``X`` and digits as ``0``. A target that checks a key's
    format before looking it up then answers "unknown key", not "malformed key"."""
    if not key:
        return UNKNOWN_KEY
    cut = max(key.rfind("_"), key.rfind("-")) + 1
    head, tail = (key[:cut], key[cut:]) if cut < len(key) else ("", key)

    def shape(char: str, digit: str, lower: str, upper: str) -> str:
        return digit if char.isdigit() else lower if char.islower() else upper if char.isupper() else char

    shaped = "".join(shape(c, "0", "x", "X") for c in tail)
    if shaped == tail:  # the key is already all zeros and x's: another of its shape
        shaped = "".join(shape(c, "1", "y", "Y") for c in tail)
    return head + shaped


def hmac_auth(key: str, secret: str | None, clock: Clock | None = None) -> Auth:
    """X-Api-Key + HMAC-SHA256 signing, with the helper of ``auralytik_mock.signing``.

    :raises VerifyError: no secret, or this version has no signing helper.
    """
    if secret is None:
        raise VerifyError(
            "this base path takes X-Api-Key + HMAC signing: pass --secret (or AURALYTIK_MOCK_VERIFY_SECRET)"
        )
    try:
        signing = importlib.import_module("auralytik_mock.signing")
    except ImportError:
        raise VerifyError(
            "X-Api-Key + HMAC signing is not in this version of auralytik-mock (no auralytik_mock.signing); "
            "verify a /v1 base URL with a Bearer key"
        ) from None

    def add(method: str, path: str, body: bytes) -> dict[str, str]:
        stamp = clock() if clock is not None else None
        return dict(signing.signed_headers(method, path, body, key=key, secret=secret, timestamp=stamp))

    return add


#: How each kind of scheme authenticates a request: ``(key, secret, clock) -> Auth``. The
#: seam another scheme plugs into; ``scheme_for`` picks one from the spec.
SCHEMES: dict[str, Callable[[str, str | None, Clock | None], Auth]] = {
    BEARER: lambda key, secret, clock: bearer(key),
    HMAC: hmac_auth,
    NONE: lambda key, secret, clock: lambda method, path, body: {},
}


def make_auth(scheme: str, key: str, secret: str | None, clock: Clock | None = None) -> Auth:
    """The request authenticator for ``scheme`` (see ``scheme_for`` and ``SCHEMES``).

    :raises VerifyError: an unknown scheme, or one that cannot sign (see ``hmac_auth``).
    """
    factory = SCHEMES.get(scheme)
    if factory is None:
        raise VerifyError(f"unknown authentication scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    return factory(key, secret, clock)


def signing_failures(scheme: str, key: str, secret: str | None, clock: Clock | None) -> dict[str, Auth | None]:
    """For a signing scheme: the key signed with a wrong secret, and an hour late."""
    if scheme != HMAC or secret is None:
        return {}
    now = clock or (lambda: int(time.time()))
    return {
        "bad_signature": make_auth(scheme, key, secret + "-not-the-secret", clock),
        "stale": make_auth(scheme, key, secret, lambda: now() - STALE_SECONDS),
    }


def vendor_auths(options: Options, scheme: str) -> dict[str, Auth | None]:
    """The target's key for each role, from the options."""
    o = options
    auths: dict[str, Auth | None] = {
        "main": make_auth(scheme, o.key, o.secret),
        "unknown": make_auth(scheme, unknown_key_like(o.key), o.secret),
        "none": None,
    }
    auths.update(signing_failures(scheme, o.key, o.secret, None))
    if o.read_only_key:
        auths["read_only"] = make_auth(scheme, o.read_only_key, o.read_only_secret or o.secret)
    if o.other_client_key:
        auths["other"] = make_auth(scheme, o.other_client_key, o.other_client_secret or o.secret)
    return auths


def mock_auths(
    clients: Iterable[ClientSeed],
    options: Options,
    scheme: str,
    *,
    read_scopes: frozenset[str],
    all_scopes: frozenset[str],
    clock: Clock,
) -> dict[str, Auth | None]:
    """The mock's own keys for each role: the target's when the fixtures know them
    (verifying the mock against itself), else chosen from the fixtures by scope, among
    the keys of the target's scheme (a signing key has a ``secret``)."""
    signing = scheme == HMAC
    by_key: dict[str, tuple[str, frozenset[str], str | None]] = {}
    for client in clients:
        for api_key in client.api_keys:
            if (api_key.secret is not None) == signing:  # signing keys carry their secret
                by_key[api_key.key] = (client.id, frozenset(api_key.scopes), api_key.secret)
    o = options

    def pick(given: str | None, override: str | None, want: Callable[[str, frozenset[str]], bool]) -> str | None:
        if override:
            return override
        if given and given in by_key:
            return given
        return next((k for k, (client, scopes, _) in by_key.items() if want(client, scopes)), None)

    main = pick(o.key, o.mock_key, lambda c, s: s >= all_scopes)
    main_client = by_key[main][0] if main in by_key else None
    read_only = pick(
        o.read_only_key,
        o.mock_read_only_key,
        lambda c, s: c == main_client and s >= read_scopes and not s >= all_scopes,
    )
    other = pick(o.other_client_key, o.mock_other_client_key, lambda c, s: c != main_client and s >= all_scopes)

    def auth(key: str) -> Auth:
        secret = by_key[key][2] if key in by_key else o.secret
        return make_auth(scheme, key, secret, clock)

    auths: dict[str, Auth | None] = {"none": None, "unknown": auth(unknown_key_like(main or o.key))}
    for role, key in (("main", main), ("read_only", read_only), ("other", other)):
        if key:
            auths[role] = auth(key)
    if main:
        auths.update(signing_failures(scheme, main, by_key[main][2] if main in by_key else o.secret, clock))
    return auths

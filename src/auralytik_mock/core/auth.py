"""Who is calling, and every refusal of who is calling: identify once, authenticate, authorize.

Owns: identifying the caller of a request once (``Caller``: the key it sends, by which
scheme, its client, dataset and scopes), which scheme an operation's path takes, the 401 and
403 answers with their ``WWW-Authenticate`` challenges, forced ones (``Prefer: code=401``,
fault rules) included, and which scopes an operation needs. Reading a credential is
``credentials``'; checking a signed request is ``signatures``'.
No Flask, no IO.
May import: ``spec``, ``credentials``, ``signatures``, ``profile``, ``types``, ``errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .credentials import MAX_TOKEN_LENGTH, basic_key, bearer_token, credential_of, describe
from .errors import (
    INVALID_KEY,
    MALFORMED_AUTH,
    MISSING_AUTH,
    ApiError,
    ForbiddenError,
    UnauthenticatedError,
)
from .profile import NEUTRAL_REALM, Profile
from .signatures import DEFAULT_WINDOW, KeyLookup, SignatureChecker, hmac_challenge, mask
from .spec import APIKEY, BASIC, BEARER, HMAC, OPAQUE, Operation, SecurityScheme, Spec
from .types import MockRequest, Principal

#: The dataset of a caller without a known key (``Principal``'s default, ``store.DEFAULT_NAMESPACE``).
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Caller:
    """Who a request says it is, read once per request and handed to every step after.

    :param key: the credential it sends (``""``: none, or one too malformed to read).
    :param scheme: the kind of scheme it came by (``bearer``, ``basic``, ``apikey``, ``hmac``,
        or the ``Authorization`` scheme word); ``None``: it sends none.
    :param principal: the key's principal (``None``: no key, or one the mock does not know).
    :param sent: it sends credentials at all (a malformed ``Authorization`` included).
    """

    key: str = ""
    scheme: str | None = None
    principal: Principal | None = None
    sent: bool = False
    _lookup: KeyLookup | None = field(default=None, repr=False, compare=False)

    @property
    def client_id(self) -> str | None:
        """The client (tenant) of the key, ``None`` for an unknown caller."""
        return self.principal.client_id if self.principal is not None else None

    @property
    def namespace(self) -> str:
        """The dataset the key leads into (the default one for no or an unknown key)."""
        return self.principal.namespace if self.principal is not None else DEFAULT_NAMESPACE

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes the key holds (none for an unknown caller)."""
        return self.principal.scopes if self.principal is not None else frozenset()

    def principal_of(self, key: str) -> Principal | None:
        """The principal of ``key``: this caller's, looked up already, or looked up now (a
        request that sends two keys, one per scheme)."""
        if key == self.key:
            return self.principal
        return self._lookup(key) if self._lookup is not None and key else None


def challenge(
    error: str | None = None, description: str | None = None, scope: str | None = None, realm: str = NEUTRAL_REALM
) -> str:
    """The RFC 6750 ``WWW-Authenticate`` value for a 401 or 403."""
    parts = [f'realm="{realm}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


def missing_key_error(profile: Profile | None = None, realm: str = NEUTRAL_REALM) -> UnauthenticatedError:
    """The 401 for a request without credentials (RFC 6750 section 3.1: no error code);
    ``profile`` says where its keys are listed."""
    message = (profile or Profile()).hinted(MISSING_AUTH)
    return UnauthenticatedError(message, headers={"WWW-Authenticate": challenge(realm=realm)})


def malformed_header_error(realm: str = NEUTRAL_REALM) -> UnauthenticatedError:
    """The 401 for an ``Authorization`` header that is not ``Bearer <token>``."""
    return UnauthenticatedError(
        MALFORMED_AUTH,
        headers={
            "WWW-Authenticate": challenge("invalid_request", "The Authorization header is malformed", realm=realm)
        },
    )


def invalid_key_error(realm: str = NEUTRAL_REALM) -> UnauthenticatedError:
    """The 401 for a well-formed key the mock does not know."""
    return UnauthenticatedError(
        INVALID_KEY,
        code="INVALID_API_KEY",
        headers={"WWW-Authenticate": challenge("invalid_token", "The API key is not valid", realm=realm)},
    )


def insufficient_scope_error(
    op: Operation,
    granted_scopes: Iterable[str],
    challenge_for: Callable[[str], str | None] | None = None,
    realm: str = NEUTRAL_REALM,
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
        headers={"WWW-Authenticate": www or challenge("insufficient_scope", "The API key lacks a scope", scope, realm)},
        extra={"requiredScope": scope, "grantedScopes": granted},
    )


def authorize(
    op: Operation,
    principal: Principal,
    challenge_for: Callable[[str], str | None] | None = None,
    realm: str = NEUTRAL_REALM,
) -> None:
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
    raise insufficient_scope_error(op, principal.scopes, challenge_for, realm)


def scheme_challenge(
    scheme: SecurityScheme, error: str | None = None, description: str | None = None, realm: str = NEUTRAL_REALM
) -> str:
    """The ``WWW-Authenticate`` value of a 401 for ``scheme``."""
    if scheme.kind == BASIC:
        return f'Basic realm="{realm}"'
    if scheme.kind == APIKEY:
        return f'ApiKey realm="{realm}", in="{scheme.location}", name="{scheme.header}"'
    return challenge(error, description, realm=realm)


class Authenticator:
    """Who is calling, by the scheme the operation's base path takes.

    :param spec: the spec (its security schemes and which base path takes which).
    :param window: seconds ``X-Timestamp`` may differ from the mock's now.
    :param reject_replays: refuse a signature seen before (within the window).
    :param profile: the vendor's key formats and where keys are documented (messages).
    :param realm: the realm every challenge names.

    ``identify`` reads the caller once per request; ``authenticate`` decides whether that
    caller may call an operation: Bearer paths refuse no header (401, no error code), a header
    that is not ``Bearer <token>`` and an unknown key; signed paths are checked by
    ``SignatureChecker``; other schemes (Basic, API keys) take the first alternative the
    request sends a key for. A credential of the other scheme is ``WRONG_AUTH_SCHEME``, naming
    where it works. ``authorize`` checks scopes (403); ``forced`` builds the 401 or 403 a test
    forces as the real checks would.
    """

    def __init__(
        self,
        spec: Spec,
        *,
        window: int = DEFAULT_WINDOW,
        reject_replays: bool = False,
        profile: Profile | None = None,
        realm: str = NEUTRAL_REALM,
    ) -> None:
        self.spec = spec
        self.profile = profile or Profile()
        self.realm = realm
        self.signatures = SignatureChecker(
            self.profile, window=window, reject_replays=reject_replays, served_under=self._served_under, realm=realm
        )
        #: The signatures already accepted (``--reject-replays``), per dataset.
        self.replays = self.signatures.replays
        # By operation (a World's operations live as long as its Authenticator).
        self._plans: dict[int, tuple[SecurityScheme | None, SecurityScheme | None]] = {}
        self._all: dict[int, tuple[SecurityScheme, ...]] = {}
        #: The schemes that carry a key outside ``Authorization``, in the spec's order.
        self._key_schemes = tuple(s for s in spec.schemes.values() if s.kind in (APIKEY, HMAC))
        #: Whether some scheme takes the whole ``Authorization`` value as the key.
        self._opaque = any(s.kind == OPAQUE and s.header for s in spec.schemes.values())

    # -- who is calling -----------------------------------------------------------------

    def identify(self, request: MockRequest, lookup: KeyLookup) -> Caller:
        """Who ``request`` says it is: the first key it sends (``Authorization`` first, then the
        spec's API key headers, query parameters and cookies), looked up once."""
        key, scheme, sent = self._credential(request)
        principal = lookup(key) if key and len(key) <= MAX_TOKEN_LENGTH else None
        return Caller(key, scheme, principal, sent, lookup)

    def _credential(self, request: MockRequest) -> tuple[str, str | None, bool]:
        authorization = request.header("Authorization")
        if authorization is not None and authorization.strip():
            word, _, rest = authorization.strip().partition(" ")
            kind = word.lower()
            if kind == BEARER:
                return bearer_token(authorization) or "", BEARER, True
            if kind == BASIC:
                return basic_key(rest), BASIC, True
            if self._opaque:
                return authorization.strip(), OPAQUE, True
            return rest.strip(), kind, True
        for scheme in self._key_schemes:
            if scheme.kind == HMAC:
                value = request.header(scheme.header)
                key = value.strip() if value is not None else None
            else:
                key = credential_of(scheme, request)
            if key is not None:
                return key, scheme.kind, True
        return "", None, authorization is not None

    # -- which scheme -------------------------------------------------------------------

    def _plan(self, op: Operation) -> tuple[SecurityScheme | None, SecurityScheme | None]:
        plan = self._plans.get(id(op))
        if plan is None:
            schemes = [self.spec.schemes[name] for alt in op.security for name in alt if name in self.spec.schemes]
            bearer = next((s for s in schemes if s.kind == BEARER), None)
            signed = next((s for s in schemes if s.kind == HMAC), None)
            plan = self._plans[id(op)] = (bearer, signed)
        return plan

    def _schemes(self, op: Operation) -> tuple[SecurityScheme, ...]:
        """Every scheme of ``op``'s security alternatives, in order, once each."""
        found = self._all.get(id(op))
        if found is None:
            names = dict.fromkeys(name for alt in op.security for name in alt if name in self.spec.schemes)
            found = self._all[id(op)] = tuple(self.spec.schemes[name] for name in names)
        return found

    def _served_under(self, kind: str) -> str:
        """The base paths where a scheme of ``kind`` is accepted (for messages)."""
        names = {name for name, scheme in self.spec.schemes.items() if scheme.kind == kind}
        bases = [base or "/" for base, accepted in self.spec.base_paths.items() if accepted is None or accepted & names]
        return " and ".join(bases) or "no path of this mock"

    # -- authenticate and authorize -----------------------------------------------------

    def authenticate(
        self, op: Operation, request: MockRequest, caller: Caller, now: Callable[[Principal], int]
    ) -> Principal:
        """Return who sent ``request`` to ``op``.

        :param caller: who ``request`` says it is (``identify``).
        :param now: the mock's now in Unix seconds, for a principal (its dataset's clock).
        :raises UnauthenticatedError: 401 with a code and a message that says what to fix.
        """
        schemes = self._schemes(op)
        if any(scheme.kind not in (BEARER, HMAC) for scheme in schemes):
            return self._any_scheme(op, schemes, request, caller, now)
        bearer, signed = self._plan(op)
        if signed is not None and (bearer is None or request.header(signed.header) is not None):
            return self.signatures.check(signed, op, request, caller.principal_of, now)
        assert bearer is not None
        authorization = request.header("Authorization")
        if authorization is None and signed is None:
            other = self._other_key_header(request)
            if other is not None:
                raise UnauthenticatedError(
                    f"This path ({op.base_path or '/'}) takes 'Authorization: Bearer <API key>'. "
                    f"'{other.header}' with a request signature is served under {self._served_under(HMAC)}.",
                    code="WRONG_AUTH_SCHEME",
                    headers={"WWW-Authenticate": self.challenge("invalid_request", "This path takes Bearer keys")},
                )
        if authorization is None or not authorization.strip():
            raise missing_key_error(self.profile, self.realm)
        if caller.scheme != BEARER or not caller.key:
            raise malformed_header_error(self.realm)
        principal = caller.principal
        if principal is None:
            raise invalid_key_error(self.realm)
        if principal.secret is not None:
            raise UnauthenticatedError(
                f"The key {mask(principal.key)} signs its requests: send it as 'X-Api-Key' with "
                f"'X-Timestamp' and 'X-Signature' under {self._served_under(HMAC)}, not as a Bearer token.",
                code="WRONG_AUTH_SCHEME",
                headers={"WWW-Authenticate": self.challenge("invalid_token", "This key signs its requests")},
            )
        return principal

    def challenge(self, error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
        """The RFC 6750 ``WWW-Authenticate`` value in this mock's realm."""
        return challenge(error, description, scope, self.realm)

    def _any_scheme(
        self,
        op: Operation,
        schemes: tuple[SecurityScheme, ...],
        request: MockRequest,
        caller: Caller,
        now: Callable[[Principal], int],
    ) -> Principal:
        """Who sent ``request``, by the first of ``schemes`` it sends a key for (any one
        alternative may be satisfied; ``authorize`` then checks its scopes)."""
        for scheme in schemes:
            if scheme.kind == HMAC:
                if request.header(scheme.header) is not None:
                    return self.signatures.check(scheme, op, request, caller.principal_of, now)
                continue
            key = credential_of(scheme, request)
            if key is None:
                continue
            if not key or len(key) > MAX_TOKEN_LENGTH:
                raise UnauthenticatedError(
                    f"The credentials are malformed: send {describe(scheme)}.",
                    code="MALFORMED_CREDENTIALS",
                    headers={"WWW-Authenticate": scheme_challenge(scheme, "invalid_request", realm=self.realm)},
                )
            principal = caller.principal_of(key)
            if principal is None:
                raise self._unknown_key(scheme)
            return principal
        raise self._no_key(schemes)

    def _unknown_key(self, scheme: SecurityScheme) -> UnauthenticatedError:
        return UnauthenticatedError(
            INVALID_KEY,
            code="INVALID_API_KEY",
            headers={
                "WWW-Authenticate": scheme_challenge(scheme, "invalid_token", "The API key is not valid", self.realm)
            },
        )

    def _no_key(self, schemes: tuple[SecurityScheme, ...]) -> UnauthenticatedError:
        ways = " or ".join(describe(scheme) for scheme in schemes) or "credentials"
        return UnauthenticatedError(
            self.profile.hinted(f"Send {ways}"),
            headers={
                "WWW-Authenticate": scheme_challenge(schemes[0], realm=self.realm) if schemes else self.challenge()
            },
        )

    def _other_key_header(self, request: MockRequest) -> SecurityScheme | None:
        for scheme in self.spec.schemes.values():
            if scheme.kind == HMAC and request.header(scheme.header) is not None:
                return scheme
        return None

    def authorize(self, op: Operation, principal: Principal) -> None:
        """Check that ``principal`` holds the scopes of one of ``op``'s security alternatives.

        :raises ForbiddenError: it holds none of them; the error names the scope needed and
            challenges with the scheme of ``op``'s path.
        """
        authorize(op, principal, lambda scope: self._forbidden_challenge(op, scope), self.realm)

    def _forbidden_challenge(self, op: Operation, scope: str) -> str | None:
        """The 403 challenge of a signed path (``None``: a Bearer path keeps RFC 6750's)."""
        bearer, signed = self._plan(op)
        if signed is not None and bearer is None:
            return hmac_challenge(signed, "insufficient_scope", scope, self.realm)
        return None

    # -- forced refusals ----------------------------------------------------------------

    def forced(
        self, op: Operation, request: MockRequest, caller: Caller, status: int, principal: Principal | None = None
    ) -> ApiError:
        """The 401 or 403 ``request`` would get for real on ``op``, for a test that forces it
        (``Prefer: code=``, a fault rule): the same refusals, codes and challenges.

        A 401 answers the credentials sent: none, malformed, or unknown (a signed path's
        ``MISSING_API_KEY``/``INVALID_API_KEY``). A 403 names ``op``'s scope and the scopes of
        ``principal`` (who authenticated), else of the caller's key; a principal holding every
        scope (``--no-auth``, a mock without fixtures) shows none.
        """
        bearer, signed = self._plan(op)
        signed_only = signed is not None and bearer is None
        if status == 403:
            granted = next(
                (p.scopes for p in (principal, caller.principal) if p is not None and "*" not in p.scopes),
                frozenset[str](),
            )
            needed = " ".join(op.required_scopes)
            www = (lambda _scope: hmac_challenge(signed, "insufficient_scope", needed, self.realm)) if signed else None
            return insufficient_scope_error(op, granted, www if signed_only else None, self.realm)
        if signed is not None and signed_only:
            key = (request.header(signed.header) or "").strip()
            return self.signatures.invalid_key(signed, key) if key else self.signatures.missing_key(signed)
        schemes = self._schemes(op)
        if any(scheme.kind not in (BEARER, HMAC) for scheme in schemes):
            sent = next((s for s in schemes if s.kind != HMAC and credential_of(s, request) is not None), None)
            return self._unknown_key(sent) if sent is not None else self._no_key(schemes)
        authorization = request.header("Authorization")
        if not authorization or not authorization.strip():
            return missing_key_error(self.profile, self.realm)
        if bearer_token(authorization) is None:
            return malformed_header_error(self.realm)
        return invalid_key_error(self.realm)

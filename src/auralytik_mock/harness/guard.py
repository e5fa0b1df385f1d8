"""Who may reach the mock: the admin token, the ``Origin`` rule for ``/__mock``, and the
``Host`` rule against DNS rebinding.

Owns: deciding, before anything acts, whether a request may go on. A browser page from
another origin can neither read admin answers (no CORS on ``/__mock`` unless the origin
is configured) nor make an admin call act (refused with 403 before it runs); a page
served under a rebinding DNS name cannot reach a mock that listens on loopback, nor the
admin API of a mock that listens on any address.
No Flask, no IO (the machine's host name is read once, at start).
May import: ``config``, ``cors``, ``errors``, ``types``.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import socket
from urllib.parse import urlsplit

from ..config import Config
from ..core.cors import Cors
from ..core.errors import ForbiddenError, UnauthenticatedError
from ..core.types import MockRequest

#: The header that carries ``--admin-token`` on ``/__mock`` calls.
ADMIN_TOKEN_HEADER = "X-Mock-Admin-Token"
#: The cookie ``GET /__mock/docs?token=...`` sets, so the docs page works in a browser with a
#: token (``SameSite=Strict``: a browser never sends it with another site's requests).
ADMIN_TOKEN_COOKIE = "auralytik_mock_admin"
#: The admin route that needs no token (readiness probes cannot send one).
OPEN_ADMIN_PATHS = frozenset({"/__mock/health"})


@functools.lru_cache(maxsize=256)
def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is loopback."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=256)
def is_address(host: str) -> bool:
    """Whether ``host`` is an IP address (IPv6 with or without brackets), not a name."""
    try:
        ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return False
    return True


def host_name(host_header: str) -> str:
    """The name or address of a ``Host`` header, without the port (``[::1]:80`` -> ``::1``)."""
    text = host_header.strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text[1:]
    return text.rpartition(":")[0] if text.count(":") == 1 else text


class Guard:
    """The checks ``Engine.handle`` runs first, from the configuration.

    :param config: ``admin_token``, ``cors_origins`` (only origins named explicitly count
        for ``/__mock``; ``*`` does not), ``host`` and ``allowed_hosts``.
    """

    def __init__(self, config: Config) -> None:
        self.token = config.admin_token.encode("utf-8") if config.admin_token else None
        self.admin_origins = frozenset(o.rstrip("/").lower() for o in config.cors_origins if o != "*")
        #: CORS for ``/__mock``: only the origins the user named (never ``*``).
        self.admin_cors = Cors(tuple(self.admin_origins))
        self.check_hosts = is_loopback(config.host)
        self.allowed_hosts = frozenset(h.strip().rstrip(".").lower() for h in config.allowed_hosts)
        #: This machine's own name (a container's is its id, or ``--hostname``).
        self.machine_names = frozenset(n for n in {socket.gethostname().rstrip(".").lower()} if n)
        self._passed: set[str] = set()  # Host values already accepted (a few; checked once each)
        self._admin_passed: set[str] = set()

    def admin_hosts(self) -> str:
        """The ``Host`` values the admin API answers, in words (for the banner and refusals)."""
        names = ["localhost", "IP addresses", *sorted(self.machine_names)]
        names += ["any name"] if "*" in self.allowed_hosts else sorted(self.allowed_hosts)
        return ", ".join(names)

    def check_admin_host(self, request: MockRequest) -> None:
        """Refuse, on ``/__mock`` whatever the bind, a ``Host`` that is a name other than
        ``localhost``, this machine's name or an ``--allowed-host`` (DNS rebinding).

        A page served under a rebinding name is same-origin with the mock once its name
        points at it, so the Origin rule lets it through: on ``0.0.0.0`` without a token
        (the container's default) it read ``/__mock/state``, every key and secret in it.
        Addresses pass: a page that calls by address was loaded from that address, which
        no DNS answer can change (webpack-dev-server and Vite allow them for that reason),
        and a port-forwarded container cannot know the address its callers use.

        :raises ForbiddenError: 403 ``HOST_NOT_ALLOWED``.
        """
        header = request.headers.get("host")
        if header is None or header in self._admin_passed or request.path in OPEN_ADMIN_PATHS:
            return  # no Host: HTTP/1.0, which no browser sends; health: probes call by any name
        name = host_name(header).rstrip(".")
        allowed = self.allowed_hosts
        if is_loopback(name) or is_address(name) or name in self.machine_names or name in allowed or "*" in allowed:
            if len(self._admin_passed) < 64:
                self._admin_passed.add(header)
            return
        raise ForbiddenError(
            f"Host {header[:100]!r} is not allowed on /__mock: the admin API answers {self.admin_hosts()} "
            "(a guard against DNS rebinding). Call it by one of those, or allow the name with "
            f"--allowed-host {name[:100]} or AURALYTIK_MOCK_ALLOWED_HOSTS.",
            code="HOST_NOT_ALLOWED",
        )

    def check_host(self, request: MockRequest) -> None:
        """Refuse a ``Host`` that is not loopback while listening on loopback (DNS rebinding).

        :raises ForbiddenError: 403 ``HOST_NOT_ALLOWED``.
        """
        if not self.check_hosts:
            return
        header = request.headers.get("host")
        if header is None or header in self._passed:  # HTTP/1.0 without Host: no browser sends that
            return
        name = host_name(header)
        if is_loopback(name) or name in self.allowed_hosts or "*" in self.allowed_hosts:
            if len(self._passed) < 64:
                self._passed.add(header)
            return
        raise ForbiddenError(
            f"Host {header[:100]!r} is not allowed: this mock listens on a loopback address and answers "
            "loopback names only (a guard against DNS rebinding); allow it with --allowed-host or "
            "AURALYTIK_MOCK_ALLOWED_HOSTS.",
            code="HOST_NOT_ALLOWED",
        )

    def same_origin(self, request: MockRequest, origin: str) -> bool:
        """Whether ``origin`` is this mock itself (the docs page), judged by the ``Host`` it was called by."""
        host = request.header("Host")
        if host is None:
            return False
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            return False
        default = {"http": ":80", "https": ":443"}[parts.scheme]
        netloc, host = parts.netloc.lower(), host.strip().lower()
        return netloc == host or netloc + default == host or netloc == host + default

    def check_admin(self, request: MockRequest) -> None:
        """Refuse an admin call under a foreign name, from a foreign, unconfigured origin, or
        without the token.

        :raises ForbiddenError: 403 ``HOST_NOT_ALLOWED`` (``check_admin_host``) or
            ``ORIGIN_NOT_ALLOWED``, before the call acts.
        :raises UnauthenticatedError: 401 ``ADMIN_TOKEN_REQUIRED`` / ``ADMIN_TOKEN_INVALID``.
        """
        self.check_admin_host(request)
        origin = request.header("Origin")
        if origin is not None:
            if origin.rstrip("/").lower() not in self.admin_origins and not self.same_origin(request, origin):
                raise ForbiddenError(
                    f"The admin API does not answer pages from origin {origin[:100]!r}; only the mock's own "
                    "pages, and origins named with --cors-origin (not '*'), may call /__mock.",
                    code="ORIGIN_NOT_ALLOWED",
                )
        elif request.method not in {"GET", "HEAD"} and (request.header("Sec-Fetch-Site") or "").lower() in {
            "cross-site",
            "same-site",
        }:
            raise ForbiddenError(
                "The admin API does not answer requests a browser sends for another site's page.",
                code="ORIGIN_NOT_ALLOWED",
            )
        if self.token is None or request.path in OPEN_ADMIN_PATHS:
            return
        given = request.header(ADMIN_TOKEN_HEADER)
        if given is None:
            given = admin_cookie(request)
        if given is None and request.path == "/__mock/docs" and request.method in {"GET", "HEAD"}:
            given = next(iter(request.query.get("token", [])), None)  # the link that sets the cookie
        if given is None:
            raise UnauthenticatedError(
                f"This mock's admin API needs its token: send '{ADMIN_TOKEN_HEADER}: <token>' "
                "(the value of --admin-token or AURALYTIK_MOCK_ADMIN_TOKEN).",
                code="ADMIN_TOKEN_REQUIRED",
            )
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.token):
            raise UnauthenticatedError(
                f"The {ADMIN_TOKEN_HEADER} header does not hold this mock's admin token.", code="ADMIN_TOKEN_INVALID"
            )


def admin_cookie(request: MockRequest) -> str | None:
    """The admin token a browser sends back in ``ADMIN_TOKEN_COOKIE``, or ``None``."""
    for part in (request.header("Cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == ADMIN_TOKEN_COOKIE and value:
            return value
    return None

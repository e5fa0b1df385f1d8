"""Webhook signatures and where deliveries may go: what your own webhook handler checks.

Owns: the delivery headers' names, the signature recipe
(``X-Auralytik-Signature: v1=<Base64(HMAC-SHA256(signing_secret, "{timestamp}.{raw body}"))>``,
``X-Auralytik-Timestamp`` in Unix seconds), ``sign`` and ``verify_signature`` (a tolerance
window, a constant-time compare), and the delivery address policy (``address_refusal``:
loopback by default, ``--webhook-hosts`` for more; cloud metadata addresses always refused).

Example, in your handler's test::

    from auralytik_mock.webhooks import verify_signature

    def test_my_handler_accepts_what_the_mock_signs(auralytik_mock):
        ...
        for hit in auralytik_mock.received_webhooks("mine"):
            assert verify_signature(hit["headers"], hit["body"], secret, now=auralytik_mock.now_seconds())

A leaf: the standard library only.
May import: nothing of the package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import time
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "X-Auralytik-Signature"
TIMESTAMP_HEADER = "X-Auralytik-Timestamp"
EVENT_HEADER = "X-Auralytik-Event"
DELIVERY_HEADER = "X-Auralytik-Delivery"
#: How far (seconds) a delivery's timestamp may be from now for ``verify_signature``.
TOLERANCE = 300

#: Cloud metadata services: never a delivery's destination, whatever ``--webhook-hosts`` says.
METADATA_NAMES = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
METADATA_NETWORKS = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local: AWS, GCP, Azure, OpenStack metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS over IPv6
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Auralytik-Signature`` value of ``body`` sent at ``timestamp``: ``v1=`` and Base64."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return "v1=" + base64.b64encode(digest).decode("ascii")


def _header(headers: Mapping[str, str] | Iterable[tuple[str, str]], name: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if key.lower() == name.lower():
            return value
    return None


def verify_signature(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | str,
    secret: str,
    *,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a delivery's ``X-Auralytik-Signature`` is ``secret``'s over its timestamp and
    raw ``body``, and its ``X-Auralytik-Timestamp`` is within ``tolerance`` seconds of ``now``.

    :param headers: the request's headers (any case).
    :param body: the raw body, as received (not re-serialised JSON).
    :param now: Unix seconds (default: the real time; a mock with a pinned clock signs with
        its own time: pass ``mock.now_seconds()``).
    """
    timestamp = _header(headers, TIMESTAMP_HEADER)
    given = _header(headers, SIGNATURE_HEADER)
    if timestamp is None or given is None or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    raw = body.encode("utf-8") if isinstance(body, str) else body
    expected = sign(secret, timestamp, raw)
    # Several signatures may be sent during a secret's rotation: any one matching is enough.
    return any(hmac.compare_digest(expected, part.strip()) for part in given.split(","))


def is_metadata(host: str) -> bool:
    """Whether ``host`` (a name or an address) is a cloud metadata service."""
    name = host.strip("[]").rstrip(".").lower()
    if name in METADATA_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in METADATA_NETWORKS)


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _listed(host: str, allowed: Iterable[str]) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(name)
    except ValueError:
        address = None
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == "*" or entry == name:
            return True
        if entry.startswith("*.") and name.endswith(entry[1:]):
            return True
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def address_refusal(host: str, allowed: Iterable[str] = ()) -> str | None:
    """Why a delivery may not go to ``host`` (a name, or an address it resolved to), or ``None``.

    Loopback (``localhost``, 127.0.0.0/8, ``::1``) is always allowed; ``allowed`` adds names
    (``hooks.example.com``, ``*.example.com``), addresses, networks (``10.0.0.0/8``) or ``*``.
    A cloud metadata address or name is refused whatever ``allowed`` says.
    """
    if not host:
        return "the URL has no host"
    if is_metadata(host):
        return f"{host} is a cloud metadata address: never a webhook's destination"
    if _is_loopback(host) or _listed(host, allowed):
        return None
    return f"{host} is not among the hosts webhooks may be delivered to (loopback, and --webhook-hosts)"

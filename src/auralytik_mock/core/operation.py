"""What every layer works from: an operation of the spec, its parameters, responses and
security schemes, as records.

Owns: ``Operation``, ``Parameter``, ``ResponseSpec``, ``ResponseHeader``, ``SecurityScheme``
and the scheme kinds the mock checks, and JSON pointers into the document (escaping a token,
a pointer as a ``$ref`` URI, the walk over every mapping that makes one only when asked).
``spec`` builds them from the document.
No IO.
May import: ``types``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

from .types import Json

#: The base URI the whole document is registered under for jsonschema ``$ref`` lookups.
SPEC_URI = "urn:auralytik-mock:openapi"


def escape_pointer_token(token: str) -> str:
    """Escape one JSON pointer token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def mappings(node: Json, *, skip_extensions: bool = False) -> Iterator[tuple[list[str], dict[str, Json]]]:
    """Every mapping inside ``node``, depth first, with the keys down to it: the list is the
    walk's own and changes as it goes (read it, or copy it, before the next one), so a walk of
    a large document makes a JSON pointer only where one is needed (``pointer_of``).

    :param skip_extensions: do not go into ``x-`` keys' values (extensions are documentation).
    """
    path: list[str] = []
    stack: list[tuple[int, Any, Json]] = [(0, "", node)]  # depth, key, value; one frame, no recursion
    while stack:
        depth, key, value = stack.pop()
        if depth:
            del path[depth - 1 :]
            path.append(str(key))
        if isinstance(value, dict):
            yield path, value
            items: Iterable[tuple[Any, Json]] = reversed(value.items())  # reversed: taken off in order
        elif isinstance(value, list):
            items = ((index, value[index]) for index in range(len(value) - 1, -1, -1))
        else:  # only the root can be neither
            continue
        for child_key, child in items:
            if isinstance(child, (dict, list)) and not (
                skip_extensions and isinstance(child_key, str) and child_key.startswith("x-")
            ):
                stack.append((depth + 1, child_key, child))


def pointer_of(keys: Iterable[str]) -> str:
    """The JSON pointer of the node that ``keys`` lead to."""
    return "".join(f"/{escape_pointer_token(key)}" for key in keys)


def pointer_ref(pointer: str) -> str:
    """Return a ``$ref`` URI for a JSON pointer into the spec."""
    return f"{SPEC_URI}#{quote(pointer, safe='/~')}"


@dataclass(frozen=True)
class Parameter:
    """An operation's parameter: where it is, whether required, and its schema."""

    name: str
    location: str
    required: bool
    schema: Mapping[str, Json]
    schema_pointer: str


@dataclass(frozen=True)
class ResponseHeader:
    """A documented response header."""

    name: str
    required: bool
    schema_pointer: str | None


@dataclass(frozen=True)
class ResponseSpec:
    """One documented response: its JSON schema, headers and example."""

    status: str
    schema_pointer: str | None
    headers: tuple[ResponseHeader, ...]
    example: Json
    has_example: bool
    #: Every media type the response declares (a body with no schema is any body).
    media_types: tuple[str, ...] = ()


#: The schemes the mock can check. ``hmac``: ``type: apiKey, in: header`` with an
#: ``x-mock-signature`` object (the vendor's X-Api-Key + HMAC-SHA256 request signing).
BEARER = "bearer"
HMAC = "hmac"
#: ``http basic``: ``Authorization: Basic base64(user:password)``.
BASIC = "basic"
#: ``apiKey`` in a header, a query parameter or a cookie (``location``).
APIKEY = "apikey"
#: A scheme the mock cannot check on a request (``mutualTLS``, an ``http`` scheme other than
#: bearer and basic): any ``Authorization`` value, or nothing for ``mutualTLS``, is taken.
OPAQUE = "opaque"
#: The only signature recipe the mock knows (``x-mock-signature.algorithm``).
HMAC_SHA256 = "hmac-sha256"


@dataclass(frozen=True)
class SecurityScheme:
    """A security scheme of ``components.securitySchemes`` the mock enforces.

    :param kind: ``"bearer"`` (``Authorization: Bearer <key>``: ``http bearer``, ``oauth2``,
        ``openIdConnect``), ``"hmac"`` (a key header plus a timestamp and a signature header,
        signed with the key's secret), ``"basic"``, ``"apikey"`` or ``"opaque"``.
    :param header: the header, query parameter or cookie that carries the key
        (``Authorization``, ``X-Api-Key``, ``api_key``).
    :param location: where ``header`` is: ``header``, ``query`` or ``cookie``.
    """

    name: str
    kind: str
    header: str
    timestamp_header: str = ""
    signature_header: str = ""
    location: str = "header"

    @cached_property
    def header_key(self) -> str:
        """``header`` in lower case (how ``MockRequest.headers`` holds names)."""
        return self.header.lower()

    @cached_property
    def timestamp_key(self) -> str:
        return self.timestamp_header.lower()

    @cached_property
    def signature_key(self) -> str:
        return self.signature_header.lower()


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, ready for routing, validation and auth.

    :param path: the full path template served, base path included (``/v1/engagements/{id}``).
    :param security: the alternatives of the ``security`` requirement that the base
        path accepts (see ``Spec.base_paths``); each maps a scheme name to the scopes it
        needs. Empty: no authentication.
    """

    operation_id: str
    method: str
    path: str
    spec_path: str
    parameters: tuple[Parameter, ...]
    body_pointer: str | None
    body_required: bool
    body_media_types: tuple[str, ...]
    security: tuple[Mapping[str, tuple[str, ...]], ...]
    responses: Mapping[str, ResponseSpec]
    #: The base path this copy of the operation is served under (``/v1``, ``/api/v1``).
    base_path: str = ""
    #: Each request media type the operation takes and its schema's pointer (``None``: no
    #: schema); ``body_pointer`` is the first JSON one's.
    body_schemas: Mapping[str, str | None] = field(default_factory=dict)

    @cached_property
    def success_status(self) -> int:
        """The lowest documented 2xx status (the one the handler answers)."""
        codes = sorted(int(c) for c in self.responses if c.isdigit() and c.startswith("2"))
        return codes[0] if codes else 200

    @cached_property
    def required_scopes(self) -> tuple[str, ...]:
        """The scopes of the first security alternative (what the docs show)."""
        if not self.security:
            return ()
        return tuple(scope for scopes in self.security[0].values() for scope in scopes)

    def documents(self, status: int) -> bool:
        """Whether ``status`` is documented (exactly, as ``4XX``, or as ``default``)."""
        return str(status) in self.responses or f"{status // 100}XX" in self.responses or "default" in self.responses

    def response_for(self, status: int) -> ResponseSpec | None:
        """The documented response for ``status``, most specific first."""
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in self.responses:
                return self.responses[key]
        return None

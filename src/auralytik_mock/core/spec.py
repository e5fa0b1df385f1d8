"""Load ``openapi.yaml`` and index its operations.

Owns: reading the document, checking that it can drive the mock, resolving local
``$ref``s, and building the ``Operation`` records (``operation``) every other layer works
from; its schemas are checked by ``schema_check``. Re-exports ``operation``'s names.
No Flask, no IO beyond reading the file at load time.
May import: ``loader``, ``oas30``, ``operation``, ``schema_check``, ``errors``, ``types``, yaml.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import yaml

from . import loader, oas30
from .errors import SpecError
from .operation import (
    APIKEY,
    BASIC,
    BEARER,
    HMAC,
    HMAC_SHA256,
    OPAQUE,
    SPEC_URI,
    Operation,
    Parameter,
    ResponseHeader,
    ResponseSpec,
    SecurityScheme,
    escape_pointer_token,
    mappings,
    pointer_of,
    pointer_ref,
)
from .schema_check import schema_objects, schema_problem
from .types import Json

__all__ = [
    "APIKEY",
    "BASIC",
    "BEARER",
    "HMAC",
    "HMAC_SHA256",
    "HTTP_METHODS",
    "OPAQUE",
    "SPEC_URI",
    "Operation",
    "Parameter",
    "ResponseHeader",
    "ResponseSpec",
    "SecurityScheme",
    "Spec",
    "derived_operation_id",
    "escape_pointer_token",
    "line_of",
    "pointer_ref",
    "record_defaults",
]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_NOT_LOOKED_UP = object()


class Spec:
    """A loaded OpenAPI 3.1 document (or 3.0, read as 3.1: see ``oas30``) and its operations.

    :param document: the parsed document.
    :param source: where it came from (named in errors).
    :raises SpecError: the document cannot drive the mock.
    """

    def __init__(
        self, document: Mapping[str, Json], source: str = "<spec>", text: str | None = None, loaded: bool = False
    ) -> None:
        #: The ``openapi`` version the file declares (a 3.0 document is read as 3.1).
        self.source_version = str(document.get("openapi", ""))
        self.document = oas30.upgrade(document, source, quirks=not loaded)  # ``loader`` read 3.1's quirks
        self.source = source
        self._text = text
        self._found: dict[str, Json] = {}  # ``lookup``'s answers, by pointer
        # Every value is checked for its kind where it is read (``_expect``): a user's
        # mistake is a SpecError naming file, line and pointer, and anything else that
        # escapes from here is a bug in the mock, with its traceback.
        self._check_header()
        components = self._expect(document.get("components", {}), dict, "/components")
        self.security_schemes: Mapping[str, Mapping[str, Json]] = self._expect(
            components.get("securitySchemes", {}) or {},
            dict,
            "/components/securitySchemes",
            "a mapping of scheme names to security schemes",
        )
        #: The schemes the mock can enforce, by name (an unsupported one fails only when used).
        self.schemes: dict[str, SecurityScheme] = {}
        self._unsupported: dict[str, str] = {}
        for name, raw in self.security_schemes.items():
            try:
                self.schemes[name] = self._scheme(name, raw)
            except SpecError as exc:
                self._unsupported[name] = str(exc)
        #: Every base path of ``servers`` and the schemes it accepts (``x-mock-security``;
        #: ``None``: any scheme of the operation), in the document's order.
        self.base_paths: dict[str, frozenset[str] | None] = self._servers(document.get("servers"), "/servers")
        #: The first base path (``/v1``): where ``MockServer.url`` points.
        self.base_path = next(iter(self.base_paths))
        self._check_refs()
        self._check_schemas()
        served = list(self._operations())
        #: Every operation under every base path it is served at (what the router routes).
        self.served: tuple[Operation, ...] = tuple(served)
        #: Each operation once, under its first base path.
        first: dict[str, Operation] = {}
        for op in served:
            first.setdefault(op.operation_id, op)
        self.operations: tuple[Operation, ...] = tuple(first.values())
        self.scopes: frozenset[str] = frozenset(
            scope for op in self.served for alt in op.security for s in alt.values() for scope in s
        )

    def _expect(self, node: Any, kind: type[object], pointer: str, what: str = "") -> Any:
        """``node`` if it is a ``kind`` (``dict``: a mapping, ``list``, ``str``), else the
        SpecError naming ``pointer``; ``what`` words the expectation."""
        if isinstance(node, kind):
            return node
        names: dict[type[object], str] = {dict: "a mapping", list: "a list", str: "a string"}
        expected = what or names.get(kind, kind.__name__)
        found = json.dumps(node, default=str)
        found = found if len(found) <= 60 else found[:57] + "..."
        raise self.error_at(pointer, f"must be {expected}, got {found}")

    # -- loading -----------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> Spec:
        """Read and check the OpenAPI document at ``path`` (one file, or many joined by
        ``$ref``s: see ``loader``).

        :raises SpecError: unreadable, not YAML/JSON, or not usable; the message names the file.
        """
        loaded = loader.load(path)
        return cls(loaded.document, str(path), loaded.text, loaded=True)

    def _fail(self, where: str, message: str) -> SpecError:
        """A ``SpecError`` at the JSON pointer ``where`` (file, line and pointer)."""
        return self.error_at(where, message)

    def _check_header(self) -> None:
        version = str(self.document.get("openapi", ""))
        if not re.fullmatch(r"3\.1\.\d+", version):
            found = self.source_version or (f"swagger {self.document['swagger']}" if "swagger" in self.document else "")
            raise self._fail("/openapi", f"OpenAPI 3.0.x and 3.1.x are supported, got {found or 'nothing'!r}")
        if not isinstance(self.document.get("paths"), dict) or not self.document["paths"]:
            raise self._fail("/paths", "the spec defines no paths")

    def _scheme(self, name: str, raw: Json) -> SecurityScheme:
        where = f"components.securitySchemes.{name}"
        if not isinstance(raw, dict):
            raise self._fail(where, "must be a mapping")
        kind = raw.get("type")
        if kind == "http":
            http_scheme = str(raw.get("scheme", "")).lower()
            if http_scheme == "bearer":
                return SecurityScheme(name, BEARER, "Authorization")
            if http_scheme == "basic":
                return SecurityScheme(name, BASIC, "Authorization")
            return SecurityScheme(name, OPAQUE, "Authorization")
        if kind in ("oauth2", "openIdConnect"):
            return SecurityScheme(name, BEARER, "Authorization")
        if kind == "mutualTLS":
            return SecurityScheme(name, OPAQUE, "")
        signature = raw.get("x-mock-signature")
        if kind == "apiKey" and raw.get("in") == "header" and isinstance(signature, dict):
            algorithm = str(signature.get("algorithm", HMAC_SHA256)).lower()
            if algorithm != HMAC_SHA256:
                raise self._fail(f"{where}.x-mock-signature", f"only {HMAC_SHA256} is known, got {algorithm!r}")
            return SecurityScheme(
                name,
                HMAC,
                str(raw.get("name") or "X-Api-Key"),
                str(signature.get("timestampHeader") or "X-Timestamp"),
                str(signature.get("signatureHeader") or "X-Signature"),
            )
        if kind == "apiKey":
            location = raw.get("in")
            if location not in ("header", "query", "cookie") or not isinstance(raw.get("name"), str):
                raise self._fail(where, "an apiKey scheme takes in: header, query or cookie, and a name")
            return SecurityScheme(name, APIKEY, raw["name"], location=location)
        raise self._fail(
            where, "type must be apiKey, http, oauth2, openIdConnect or mutualTLS (OpenAPI's security schemes)"
        )

    def _servers(self, servers: Json, where: str) -> dict[str, frozenset[str] | None]:
        """The base paths of ``servers`` and the schemes each accepts (``x-mock-security``).

        Servers that share a base path (the real host and a local mock) must bind the
        same schemes, since the mock tells requests apart by path alone.
        """
        if not servers:
            return {"": None}
        if not isinstance(servers, list):
            raise self._fail(where, "must be a list")
        bases: dict[str, frozenset[str] | None] = {}
        for index, server in enumerate(servers):
            if not isinstance(server, dict):
                raise self._fail(f"{where}[{index}]", "must be a mapping with a url")
            url = str(server.get("url", ""))
            variables = self._expect(server.get("variables") or {}, dict, f"{where}/{index}/variables")
            for name, variable in variables.items():
                variable = self._expect(variable, dict, f"{where}/{index}/variables/{escape_pointer_token(name)}")
                url = url.replace("{" + name + "}", str(variable.get("default", "")))
            if "{" in url:
                raise self._fail(f"{where}/{index}", f"unresolved variable in {url!r}")
            base = urlsplit(url).path.rstrip("/")
            bound = server.get("x-mock-security")
            schemes: frozenset[str] | None = None
            if bound is not None:
                if not isinstance(bound, list) or not all(isinstance(n, str) for n in bound):
                    raise self._fail(f"{where}/{index}/x-mock-security", "must be a list of security scheme names")
                for name in bound:
                    if name in self._unsupported:
                        raise SpecError(self._unsupported[name])
                unknown = sorted(set(bound) - set(self.schemes))
                if unknown:
                    raise self._fail(
                        f"{where}/{index}/x-mock-security",
                        f"{', '.join(unknown)} not in components.securitySchemes",
                    )
                schemes = frozenset(bound)
            if base in bases and bases[base] != schemes:
                raise self._fail(
                    f"{where}/{index}/x-mock-security",
                    f"servers with the base path {base or '/'!r} must accept the same schemes",
                )
            bases[base] = schemes
        return bases

    # -- schemas -----------------------------------------------------------------

    def _check_schemas(self) -> None:
        """Check every Schema Object against JSON Schema 2020-12 (and every ``pattern`` as a
        regex), so a typo such as ``type: int`` stops start-up with file, line and pointer
        instead of failing later inside a validator."""
        if not str(self.document.get("openapi", "")).startswith("3.1"):
            return  # other versions' schemas are not 2020-12 (converted or checked elsewhere)
        for pointer, schema in schema_objects(self.document):
            problem = schema_problem(schema)
            if problem is not None:
                path, message = problem
                raise self.error_at(pointer + "".join("/" + escape_pointer_token(str(t)) for t in path), message)

    def error_at(self, pointer: str, message: str) -> SpecError:
        """A ``SpecError`` naming the file, the line (when known) and the JSON pointer."""
        line = line_of(self._text, pointer) if self._text is not None and pointer.startswith("/") else None
        where = f"{self.source}:{line}" if line is not None else self.source
        return SpecError(f"{where}: {pointer or '/'}: {message}")

    # -- references --------------------------------------------------------------

    def lookup(self, pointer: str) -> Json:
        """Return the node at the JSON pointer ``pointer`` (``/components/schemas/X``).

        :raises KeyError: no such node.
        """
        found = self._found.get(pointer, _NOT_LOOKED_UP)
        if found is _NOT_LOOKED_UP:  # the same $refs are followed hundreds of times at start
            found = self._found[pointer] = loader.walk(self.document, pointer)
        return found

    def resolve(self, node: Json, pointer: str) -> tuple[Json, str]:
        """Follow ``$ref`` chains from ``node`` (found at ``pointer``); return the target and its pointer."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise self._fail(pointer, f"only local $refs are supported, got {ref!r}")
            if ref in seen:
                raise self._fail(pointer, f"circular $ref {ref!r}")
            seen.add(ref)
            pointer = ref[1:]
            node = self.lookup(pointer)
        return node, pointer

    def _check_refs(self) -> None:
        """Every ``$ref`` (outside extensions) is local and names a node: each distinct one is
        looked up once; a bad one is named at its first use."""
        first: dict[str, tuple[str, ...]] = {}  # each $ref, and the keys down to its first use
        for path, mapping in mappings(self.document, skip_extensions=True):
            ref = mapping.get("$ref")
            if isinstance(ref, str) and ref not in first:
                first[ref] = tuple(path)
        for ref, keys in first.items():
            pointer = pointer_of(keys)
            if not ref.startswith("#/"):
                raise self._fail(pointer, f"only local $refs are supported, got {ref!r}")
            try:
                self.lookup(ref[1:])
            except (KeyError, IndexError, ValueError):
                raise self._fail(pointer, f"$ref {ref!r} does not exist") from None

    # -- operations --------------------------------------------------------------

    def _operations(self) -> Iterator[Operation]:
        seen_ids: dict[str, str] = {}
        declared = {
            op.get("operationId")
            for item in self.document["paths"].values()
            if isinstance(item, dict)
            for method, op in item.items()
            if method in HTTP_METHODS and isinstance(op, dict)
        }
        for spec_path, item in self.document["paths"].items():
            item_pointer = where = "/paths/" + escape_pointer_token(spec_path)
            self._expect(item, dict, item_pointer)
            item, item_pointer = self.resolve(item, item_pointer)  # a Path Item may be a $ref
            bases = self._servers(item["servers"], f"{where}/servers") if "servers" in item else self.base_paths
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                op_where = f"{where}/{method}"
                raw = self._expect(item[method], dict, f"{item_pointer}/{method}", "an operation (a mapping)")
                operation_id = raw.get("operationId")
                if not isinstance(operation_id, str) or not operation_id:
                    operation_id = derived_operation_id(method, spec_path, seen_ids.keys() | declared)
                if operation_id in seen_ids:
                    raise self._fail(op_where, f"operationId {operation_id!r} is also used by {seen_ids[operation_id]}")
                seen_ids[operation_id] = op_where
                op_pointer = f"{item_pointer}/{method}"
                operation = Operation(
                    operation_id=operation_id,
                    method=method.upper(),
                    path=spec_path,
                    spec_path=spec_path,
                    parameters=self._parameters(item, raw, item_pointer, op_pointer, op_where),
                    **self._body(raw, op_pointer, op_where),
                    security=self._security(raw, op_pointer, op_where),
                    responses=self._responses(raw, op_pointer, op_where),
                )
                for base, accepted in bases.items():
                    yield replace(
                        operation,
                        path=base + spec_path,
                        base_path=base,
                        security=self._security_at(operation, base, accepted, op_where),
                    )

    def _security_at(
        self, op: Operation, base: str, accepted: frozenset[str] | None, where: str
    ) -> tuple[Mapping[str, tuple[str, ...]], ...]:
        """The alternatives of ``op.security`` that the base path's schemes can satisfy."""
        if accepted is None or not op.security:
            return op.security
        kept = tuple(alt for alt in op.security if set(alt) <= accepted)
        if not kept:
            raise self._fail(
                where,
                f"no security alternative can be used under {base or '/'!r}, which accepts "
                f"{', '.join(sorted(accepted))} (x-mock-security of its servers): add e.g. "
                f"'- {sorted(accepted)[0]}: [...]' to the operation's security",
            )
        return kept

    def _parameters(
        self, item: Mapping[str, Json], raw: Mapping[str, Json], item_pointer: str, op_pointer: str, where: str
    ) -> tuple[Parameter, ...]:
        merged: dict[tuple[str, str], Parameter] = {}
        for source, pointer in ((item, item_pointer), (raw, op_pointer)):
            params = self._expect(source.get("parameters", []) or [], list, f"{pointer}/parameters")
            for index, param in enumerate(params):
                node, node_pointer = self.resolve(param, f"{pointer}/parameters/{index}")
                self._expect(node, dict, node_pointer, "a Parameter Object (a mapping)")
                name, location = node.get("name"), node.get("in")
                if location not in {"path", "query", "header", "cookie"} or not isinstance(name, str):
                    raise self._fail(where, f"parameter {index} needs a name and in: path|query|header|cookie")
                if "schema" not in node:
                    raise self._fail(where, f"parameter {name!r} needs a schema")
                schema, _ = self.resolve(node["schema"], f"{node_pointer}/schema")
                merged[(location, name)] = Parameter(
                    name=name,
                    location=location,
                    required=bool(node.get("required", location == "path")),
                    schema=schema,
                    schema_pointer=f"{node_pointer}/schema",
                )
        return tuple(merged.values())

    def _body(self, raw: Mapping[str, Json], op_pointer: str, where: str) -> dict[str, Json]:
        if "requestBody" not in raw:
            return {"body_pointer": None, "body_required": False, "body_media_types": ()}
        body, body_pointer = self.resolve(raw["requestBody"], f"{op_pointer}/requestBody")
        self._expect(body, dict, body_pointer)
        content = self._expect(body.get("content") or {}, dict, f"{body_pointer}/content")
        schemas: dict[str, str | None] = {}
        for media, entry in content.items():
            has_schema = isinstance(entry, dict) and "schema" in entry
            schemas[media] = f"{body_pointer}/content/{escape_pointer_token(media)}/schema" if has_schema else None
        json_types = [media for media in content if _is_json_media(media)]
        return {
            "body_pointer": schemas[json_types[0]] if json_types else None,
            "body_required": bool(body.get("required", False)),
            "body_media_types": tuple(content),
            "body_schemas": schemas,
        }

    def _security(
        self, raw: Mapping[str, Json], op_pointer: str, where: str
    ) -> tuple[Mapping[str, tuple[str, ...]], ...]:
        requirements = raw["security"] if "security" in raw else self.document.get("security", [])
        pointer = f"{op_pointer}/security" if "security" in raw else "/security"
        alternatives = []
        for index, requirement in enumerate(self._expect(requirements or [], list, pointer)):
            self._expect(requirement, dict, f"{pointer}/{index}", "a Security Requirement (a mapping)")
            alternative = {}
            for scheme_name, scopes in requirement.items():
                where_scopes = f"{pointer}/{index}/{escape_pointer_token(str(scheme_name))}"
                self._expect(scopes or [], list, where_scopes, "a list of scopes")
                if scheme_name in self._unsupported:
                    raise SpecError(self._unsupported[scheme_name])
                if scheme_name not in self.schemes:
                    raise self._fail(where, f"security scheme {scheme_name!r} is not in components.securitySchemes")
                alternative[scheme_name] = tuple(scopes or ())
            alternatives.append(alternative)
        return tuple(alternatives)

    def _responses(self, raw: Mapping[str, Json], op_pointer: str, where: str) -> dict[str, ResponseSpec]:
        responses = raw.get("responses")
        if not isinstance(responses, dict) or not responses:
            raise self._fail(where, "every operation needs responses")
        result = {}
        for status, response in responses.items():
            key = str(status).upper()
            if not re.fullmatch(r"[1-5](\d\d|XX)|DEFAULT", key):
                raise self._fail(where, f"response key {status!r} is not a status code")
            key = "default" if key == "DEFAULT" else key
            node, pointer = self.resolve(response, f"{op_pointer}/responses/{escape_pointer_token(str(status))}")
            self._expect(node, dict, pointer, "a Response Object (a mapping)")
            content = self._expect(node.get("content") or {}, dict, f"{pointer}/content")
            media = next((m for m in content if _is_json_media(m)), None)
            schema_pointer = None
            example: Json = None
            has_example = False
            if media is not None:
                media_pointer = f"{pointer}/content/{escape_pointer_token(media)}"
                self._expect(content[media], dict, media_pointer)
                if "schema" in content[media]:
                    schema_pointer = f"{media_pointer}/schema"
                if "example" in content[media]:
                    example, has_example = content[media]["example"], True
            headers = []
            for name, header in self._expect(node.get("headers") or {}, dict, f"{pointer}/headers").items():
                header_node, header_pointer = self.resolve(header, f"{pointer}/headers/{escape_pointer_token(name)}")
                self._expect(header_node, dict, header_pointer)
                headers.append(
                    ResponseHeader(
                        name=name,
                        required=bool(header_node.get("required", False)),
                        schema_pointer=f"{header_pointer}/schema" if "schema" in header_node else None,
                    )
                )
            result[key] = ResponseSpec(key, schema_pointer, tuple(headers), example, has_example, tuple(content))
        return result

    def inline(self, node: Json, _active: frozenset[str] = frozenset()) -> Json:
        """A copy of ``node`` with every local ``$ref`` replaced by what it points to.

        Done once at start-up so validators never resolve references per request.
        A recursive reference stays a ``$ref``, made absolute (the validators' registry
        resolves it).
        Siblings of ``$ref`` that only annotate (``readOnly``, ``default``, ...) are merged
        into the target; any other sibling keeps 2020-12's meaning through ``allOf``.
        """
        if isinstance(node, list):
            return [self.inline(item, _active) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in _active:  # recursive: an absolute reference the registry resolves
                return {**node, "$ref": pointer_ref(ref[1:])}
            target = self.inline(self.lookup(ref[1:]), _active | {ref})
            siblings = {k: self.inline(v, _active) for k, v in node.items() if k != "$ref"}
            if not siblings:
                return target
            if set(siblings) <= _ANNOTATIONS and isinstance(target, dict):
                return {**target, **siblings}
            return {"allOf": [target], **siblings}
        return {key: self.inline(value, _active) for key, value in node.items()}

    def operation_extension(self, op: Operation, name: str) -> tuple[Json, str] | None:
        """The value of extension ``name`` on ``op``'s Operation Object and where it is (for
        errors: ``<file>: paths./x.post.x-mock-...``), or ``None`` when ``op`` has none."""
        item = self.document["paths"][op.spec_path]
        raw = item.get(op.method.lower(), {}).get(name) if isinstance(item, dict) else None
        if raw is None:
            return None
        return raw, f"{self.source}: paths.{op.spec_path}.{op.method.lower()}.{name}"

    def operations_with(self, name: str) -> Iterator[tuple[Operation, Json, str]]:
        """Each operation that carries extension ``name``, in the spec's order, with its value and
        where it is (``operation_extension``)."""
        for op in self.operations:
            found = self.operation_extension(op, name)
            if found is not None:
                yield op, found[0], found[1]

    def schema_at(self, pointer: str) -> Mapping[str, Json]:
        """Return the schema at ``pointer`` with its top-level ``$ref`` chain followed."""
        node, _ = self.resolve(self.lookup(pointer), pointer)
        return cast(Mapping[str, Json], node)


def derived_operation_id(method: str, path: str, taken: Collection[object] = ()) -> str:
    """A stable operationId for an operation that has none: ``get_pets_petId`` for
    ``GET /pets/{petId}`` (``_2``, ``_3``... if the spec already uses the name)."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
    base = f"{method.lower()}_{words}" if words else method.lower()
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def record_defaults(spec: Spec, pointer: str) -> dict[str, Json]:
    """What a new record of the object schema at ``pointer`` takes for a field it omits, as a
    POST gives it: the property's ``default``, else ``null`` where its type allows ``null``."""
    schema = spec.schema_at(pointer)
    defaults: dict[str, Json] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict) and "default" in prop:
            defaults[name] = prop["default"]
            continue
        resolved, _ = spec.resolve(prop, f"{pointer}/properties/{escape_pointer_token(name)}")
        kind = resolved.get("type") if isinstance(resolved, dict) else None
        if kind == "null" or (isinstance(kind, list) and "null" in kind):
            defaults[name] = None
    return defaults


def line_of(text: str, pointer: str) -> int | None:
    """The 1-based line of the node at ``pointer`` in the YAML (or JSON) ``text``: the
    deepest node of the pointer that exists, so a missing key names its parent's line."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for raw in pointer.lstrip("/").split("/") if pointer else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        found = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == token:
                    found = (key, value)
                    break
        elif isinstance(node, yaml.SequenceNode) and token.isdigit() and int(token) < len(node.value):
            item = node.value[int(token)]
            found = (item, item)
        if found is None:
            break
        key_node, node = found
        line = key_node.start_mark.line + 1
    return line


#: Keywords that annotate a schema without constraining it (safe to merge beside a $ref).
_ANNOTATIONS = frozenset(
    {"description", "title", "readOnly", "writeOnly", "default", "examples", "example", "deprecated", "$comment"}
)


def _is_json_media(media: str) -> bool:
    base = media.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json")

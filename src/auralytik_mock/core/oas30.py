"""Read an OpenAPI 3.0.x document as the 3.1 document it means, once, at load.

Owns: the differences between 3.0 and 3.1 that change what a schema accepts, so every
other layer (validation, fixtures, generation, resources) sees one dialect:

- ``nullable: true`` -> ``null`` added to ``type`` (and to ``enum``); beside ``$ref``,
  ``allOf``/``oneOf``/``anyOf`` or with no ``type``: ``anyOf: [<schema>, {type: null}]``.
- ``exclusiveMinimum: true`` + ``minimum: n`` -> ``exclusiveMinimum: n`` (same for the
  maximum); ``false`` is dropped.
- a schema's ``example: v`` -> ``examples: [v]`` (3.1 deprecates ``example`` in schemas).
- ``openapi: 3.0.x`` -> ``3.1.0``.

Only schema positions are rewritten (components, parameters, headers, media types, and
the schemas within schemas), so a property called ``nullable`` or an example value
holding ``exclusiveMinimum`` is left alone. The input is not changed.
No Flask, no IO. May import: ``errors``, ``types``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import SpecError
from .types import Json

#: The version a converted document says it is.
TARGET_VERSION = "3.1.0"
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: Keywords that describe a schema rather than constrain it: kept on the outside when a
#: nullable schema is wrapped in ``anyOf`` (so ``readOnly`` and ``x-*`` still apply to it).
_OUTER = frozenset({"description", "title", "readOnly", "writeOnly", "default", "deprecated", "examples", "example"})


def is_oas30(document: Mapping[str, Json]) -> bool:
    """Whether ``document`` declares OpenAPI 3.0.x."""
    return bool(re.fullmatch(r"3\.0\.\d+", str(document.get("openapi", ""))))


def upgrade(document: Mapping[str, Json], source: str, quirks: bool = True) -> dict[str, Json]:
    """The 3.1 reading of a 3.0.x ``document``; a 3.1 (or other) document is returned as is.

    :param source: the file, named in errors.
    :param quirks: read a 3.1 document's quirks too (``tolerate``); ``False`` when the loader
        already did (its parse cache keeps the result).
    :raises SpecError: a 3.0 keyword has a value 3.0 does not allow (``nullable: "yes"``,
        ``exclusiveMinimum: true`` without ``minimum``); names the file and the JSON pointer.
    """
    if not is_oas30(document):
        return tolerate(document) if quirks else dict(document)
    return tolerate(_Upgrade(source).document(document))


#: Keywords whose value is data (examples, defaults), never rewritten by ``tolerate``.
_DATA = frozenset({"example", "examples", "default", "enum", "const"})


def tolerate(document: Mapping[str, Json]) -> dict[str, Json]:
    """``document`` with the 2019-09 recursion keywords some 3.1 documents use (and 2020-12
    has only as deprecated strings) read as what they mean: ``$recursiveRef: "#"`` becomes a
    ``$ref`` to the nearest enclosing schema that says ``$recursiveAnchor: true``, and the
    anchor is dropped. 3.0's boolean ``exclusiveMinimum``/``exclusiveMaximum`` are read as
    3.0 means them, and so is 3.0's ``nullable: true`` (``null`` allowed). A ``required`` list
    that names a property twice names it once.
    Prism tolerates both; so does the mock."""
    return _recursion(document, "", "")  # type: ignore[no-any-return]


def _recursion(node: Json, pointer: str, anchor: str) -> Json:
    if isinstance(node, list):
        return [_recursion(v, f"{pointer}/{i}", anchor) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    if node.get("$recursiveAnchor") is True:
        anchor = pointer
    out: dict[str, Json] = {}
    if node.get("nullable") is True:  # 3.0's keyword in a 3.1 document: null allowed, as 3.0 means
        node = _Upgrade._nullable({k: v for k, v in node.items() if k != "nullable"})
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), bool):  # 3.0's boolean form in a 3.1 document
            node = dict(node)
            if node.pop(bound) and isinstance(node.get(limit), (int, float)):
                node[bound] = node.pop(limit)
    for key, value in node.items():
        if key == "$recursiveAnchor" and not isinstance(value, str):
            continue
        if key == "$recursiveRef" and value == "#" and "$ref" not in node:
            out["$ref"] = "#" + anchor
            continue
        if key == "required" and isinstance(value, list) and len(set(map(str, value))) < len(value):
            value = list(dict.fromkeys(value))
        if key in _DATA or str(key).startswith("x-"):
            out[key] = value  # values, not schemas: left as they are
        else:
            out[key] = _recursion(value, f"{pointer}/{_token(str(key))}", anchor)
    return out


def _token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class _Upgrade:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, pointer: str, message: str) -> SpecError:
        return SpecError(f"{self.source}: {pointer or '/'}: {message} (OpenAPI 3.0)")

    # -- the document's schema positions

    def document(self, doc: Mapping[str, Json]) -> dict[str, Json]:
        out: dict[str, Json] = dict(doc)
        out["openapi"] = TARGET_VERSION
        if isinstance(doc.get("paths"), dict):
            out["paths"] = {
                path: self.path_item(item, f"/paths/{_token(str(path))}") for path, item in doc["paths"].items()
            }
        components = doc.get("components")
        if isinstance(components, dict):
            out["components"] = self.components(components)
        return out

    def components(self, comp: Mapping[str, Json]) -> dict[str, Json]:
        out: dict[str, Json] = dict(comp)
        base = "/components"
        if isinstance(comp.get("schemas"), dict):
            out["schemas"] = {
                name: self.schema(s, f"{base}/schemas/{_token(name)}") for name, s in comp["schemas"].items()
            }
        for key, convert in (
            ("parameters", self.parameter),
            ("headers", self.parameter),
            ("requestBodies", self.with_content),
            ("responses", self.response),
        ):
            group = comp.get(key)
            if isinstance(group, dict):
                out[key] = {name: convert(node, f"{base}/{key}/{_token(name)}") for name, node in group.items()}
        if isinstance(comp.get("pathItems"), dict):
            out["pathItems"] = {
                name: self.path_item(node, f"{base}/pathItems/{_token(name)}")
                for name, node in comp["pathItems"].items()
            }
        return out

    def path_item(self, item: Json, pointer: str) -> Json:
        if not isinstance(item, dict):
            return item
        out: dict[str, Json] = dict(item)
        if isinstance(item.get("parameters"), list):
            out["parameters"] = [
                self.parameter(p, f"{pointer}/parameters/{i}") for i, p in enumerate(item["parameters"])
            ]
        for method in _HTTP_METHODS:
            if isinstance(item.get(method), dict):
                out[method] = self.operation(item[method], f"{pointer}/{method}")
        return out

    def operation(self, op: Mapping[str, Json], pointer: str) -> dict[str, Json]:
        out: dict[str, Json] = dict(op)
        if isinstance(op.get("parameters"), list):
            out["parameters"] = [self.parameter(p, f"{pointer}/parameters/{i}") for i, p in enumerate(op["parameters"])]
        if isinstance(op.get("requestBody"), dict):
            out["requestBody"] = self.with_content(op["requestBody"], f"{pointer}/requestBody")
        if isinstance(op.get("responses"), dict):
            out["responses"] = {
                status: self.response(r, f"{pointer}/responses/{_token(str(status))}")
                for status, r in op["responses"].items()
            }
        if isinstance(op.get("callbacks"), dict):
            out["callbacks"] = {
                name: (
                    {
                        expr: self.path_item(item, f"{pointer}/callbacks/{_token(name)}/{_token(expr)}")
                        for expr, item in cb.items()
                    }
                    if isinstance(cb, dict) and "$ref" not in cb
                    else cb
                )
                for name, cb in op["callbacks"].items()
            }
        return out

    def parameter(self, param: Json, pointer: str) -> Json:
        """A parameter or a header: its ``schema``, or its ``content``."""
        if not isinstance(param, dict) or "$ref" in param:
            return param
        out = self.with_content(param, pointer)
        if isinstance(out, dict) and "schema" in param:
            out["schema"] = self.schema(param["schema"], f"{pointer}/schema")
        return out

    def response(self, response: Json, pointer: str) -> Json:
        if not isinstance(response, dict) or "$ref" in response:
            return response
        out = self.with_content(response, pointer)
        if isinstance(out, dict) and isinstance(response.get("headers"), dict):
            out["headers"] = {
                name: self.parameter(h, f"{pointer}/headers/{_token(name)}") for name, h in response["headers"].items()
            }
        return out

    def with_content(self, node: Json, pointer: str) -> Json:
        if not isinstance(node, dict) or "$ref" in node:
            return node
        out: dict[str, Json] = dict(node)
        content = node.get("content")
        if isinstance(content, dict):
            media_out: dict[str, Json] = {}
            for media, entry in content.items():
                if isinstance(entry, dict) and "schema" in entry:
                    entry = {
                        **entry,
                        "schema": self.schema(entry["schema"], f"{pointer}/content/{_token(media)}/schema"),
                    }
                media_out[media] = entry
            out["content"] = media_out
        return out

    # -- schemas

    def schema(self, schema: Json, pointer: str) -> Json:  # noqa: C901, PLR0912 - one pass over the keywords
        if not isinstance(schema, dict):
            return schema
        out: dict[str, Any] = {}
        for key, value in schema.items():
            where = f"{pointer}/{_token(key)}"
            if key in {"properties", "patternProperties"} and isinstance(value, dict):
                out[key] = {name: self.schema(s, f"{where}/{_token(name)}") for name, s in value.items()}
            elif key in {"items", "additionalProperties", "not", "additionalItems"}:
                if isinstance(value, list):
                    out[key] = [self.schema(s, f"{where}/{i}") for i, s in enumerate(value)]
                else:
                    out[key] = self.schema(value, where)
            elif key in {"allOf", "anyOf", "oneOf"} and isinstance(value, list):
                out[key] = [self.schema(s, f"{where}/{i}") for i, s in enumerate(value)]
            else:
                out[key] = value

        for side, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if side not in out:
                continue
            flag = out[side]
            if isinstance(flag, bool):
                if flag:
                    if bound not in out:
                        raise self.fail(f"{pointer}/{side}", f"is true, but the schema has no {bound}")
                    out[side] = out.pop(bound)
                else:
                    del out[side]

        if "example" in out and "examples" not in out:
            out["examples"] = [out.pop("example")]

        if "nullable" in out:
            nullable = out.pop("nullable")
            if not isinstance(nullable, bool):
                raise self.fail(f"{pointer}/nullable", f"must be true or false, got {nullable!r}")
            if nullable:
                out = self._nullable(out)
        return out

    @staticmethod
    def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
        kind = schema.get("type")
        if isinstance(kind, str) and not any(k in schema for k in ("$ref", "allOf", "anyOf", "oneOf")):
            schema["type"] = [kind, "null"]
            if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
                schema["enum"] = [*schema["enum"], None]
            return schema
        if kind is None and not any(k in schema for k in ("$ref", "allOf", "anyOf", "oneOf", "enum", "const")):
            return schema  # no type: null is already allowed
        outer = {k: v for k, v in schema.items() if k in _OUTER or k.startswith("x-")}
        inner = {k: v for k, v in schema.items() if k not in outer}
        return {**outer, "anyOf": [inner, {"type": "null"}]}

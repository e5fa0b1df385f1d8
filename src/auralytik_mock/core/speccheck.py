"""The full validation of an OpenAPI document that ``auralytik-mock check`` runs.

Owns: printing the operations table (``Resources.table()``'s rows: stateful, action,
singleton, computed or from the spec, and why) as ``serve`` and ``check`` print it; running
openapi-spec-validator on the bundled document (every file, see ``loader``),
with the 3.1 details the mock tolerates read as it reads them (``oas30.tolerate``) and each
schema's meta-schema check decided by jsonschema-rs first (``_fast_v31``); each
finding as ``file:line: pointer: message``; which findings are only warnings (a
``default`` its own schema does not accept: JSON Schema 2020-12 only recommends that it
does); and a cache of the findings by the document's content hash (the validator takes
~20 s on a 3 MB document), beside the loader's parse cache.
May import: ``errors``, ``loader``, ``spec``, ``types``, openapi-spec-validator.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from . import loader
from .errors import AuralytikMockError
from .spec import escape_pointer_token, line_of
from .types import Json

#: Findings listed before the rest are summed up.
MAX_PROBLEMS = 20
#: Rows of the operations table shown before "and N more".
MAX_ROWS = 40


def operations_table(rows: list[tuple[str, str, str, str, str]], limit: int = MAX_ROWS) -> list[str]:
    """``Resources.table()`` as lines a person reads at start-up and in ``check``: a summary,
    then each operation (method, path, kind, why), at most ``limit`` of them."""
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row[3]] = kinds.get(row[3], 0) + 1
    summary = ", ".join(f"{count} {'from the spec' if kind == 'spec' else kind}" for kind, count in kinds.items())
    lines = [f"operations ({len(rows)}: {summary}):"]
    width = min(max((len(row[1]) for row in rows[:limit]), default=0), 48)
    for method, path, _operation_id, kind, reason in rows[:limit]:
        shown = kind if kind != "spec" else "from the spec"
        lines.append(f"  {method:<7} {path:<{width}}  {shown:<13} {reason}")
    if len(rows) > limit:
        lines.append(f"  and {len(rows) - limit} more (auralytik-mock check lists them all)")
    return lines


@dataclass
class Findings:
    """What the validator found: ``problems`` fail ``check``; ``warnings`` are printed only."""

    validator: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _resolves(document: Any, path: list[Any]) -> bool:
    node = document
    for token in path:
        if isinstance(node, dict) and (token in node or str(token) in node):
            node = node[token] if token in node else node[str(token)]
        elif isinstance(node, list) and isinstance(token, int) and 0 <= token < len(node):
            node = node[token]
        else:
            return False
    return True


def _default_only(error: Any) -> bool:
    """A ``default`` its schema does not accept, the only thing wrong (an annotation in 3.1)."""
    schema = getattr(error, "schema", None)
    return (
        not list(getattr(error, "path", []) or [])
        and isinstance(schema, dict)
        and "default" in schema
        and getattr(error, "instance", object()) == schema["default"]
    )


def validate(spec_path: Path) -> Findings:
    """Run openapi-spec-validator on the document at ``spec_path`` (never raises)."""
    name = f"openapi-spec-validator {version('openapi-spec-validator')}"
    try:
        loaded = loader.load(spec_path)
    except AuralytikMockError:
        return Findings(name)  # the mock's own loading says what is wrong, with the line
    text = loaded.text
    is_30 = str(loaded.document.get("openapi", "")).startswith("3.0")
    document = loaded.document  # a 3.1 document's quirks already read by the loader
    key = hashlib.sha256(f"{name}\n{json.dumps(document, sort_keys=True)}".encode()).hexdigest()
    cached = _cached(key)
    if cached is not None:
        return Findings(name, *cached)
    from openapi_spec_validator import OpenAPIV30SpecValidator

    kind = OpenAPIV30SpecValidator if is_30 else _fast_v31()
    found = Findings(name)
    try:
        errors = kind(document).iter_errors()
        for error in itertools.islice(errors, 10 * MAX_PROBLEMS):
            shown = _shown(error, document, text, spec_path)
            if not is_30 and _default_only(error):
                found.warnings.append(f"{shown} (a default its schema does not accept)")
                continue
            found.problems.append(shown)
            if len(found.problems) == MAX_PROBLEMS:
                found.problems.append("... and possibly more (openapi-spec-validator)")
                break
    except Exception as exc:  # noqa: BLE001 - the validator's own failure is a finding, never a traceback
        found.problems.append(f"{spec_path}: openapi-spec-validator could not finish: {type(exc).__name__}: {exc}")
    _store(key, found)
    return found


#: OpenAPI's own words inside a 3.1 schema, which the 2020-12 meta-schema does not check:
#: a schema holding one is checked by openapi-spec-validator itself.
_OAS_VOCABULARY = frozenset({"discriminator", "xml", "externalDocs", "$schema"})
_DATA_KEYS = frozenset({"example", "examples", "default", "enum", "const"})


def _speaks_oas(node: Any) -> bool:
    if isinstance(node, dict):
        if _OAS_VOCABULARY.intersection(node):
            return True
        return any(_speaks_oas(value) for key, value in node.items() if key not in _DATA_KEYS)
    if isinstance(node, list):
        return any(_speaks_oas(value) for value in node)
    return False


def _fast_v31() -> Any:
    """openapi-spec-validator's 3.1 validator, with each schema's meta-schema check decided
    by jsonschema-rs first: python-jsonschema's check of 2,000 schemas against the OAS
    dialect took ~70 % of `check` on a 3 MB document. A schema jsonschema-rs accepts
    against 2020-12's meta-schema, and that holds none of OpenAPI's own vocabulary, is
    accepted as it is; any other goes to openapi-spec-validator's own check, so every
    finding is still its own, worded as it words them. (Patterns are the mock's own
    check: ``schema_check``.)"""
    from openapi_spec_validator import OpenAPIV31SpecValidator
    from openapi_spec_validator.validation import keywords

    try:
        rs: Any = importlib.import_module("jsonschema_rs")
    except ImportError:  # pragma: no cover - jsonschema-rs is a dependency
        return OpenAPIV31SpecValidator

    class FastSchemaValidator(keywords.OpenAPIV31SchemaValidator):
        def _get_schema_checker(self, schema: Any, schema_value: Any) -> Callable[[Any], None]:
            slow: Callable[[Any], None] = super()._get_schema_checker(schema, schema_value)
            if not isinstance(schema_value, dict) or _speaks_oas(schema_value):
                return slow

            def check(value: Any) -> None:
                if not rs.meta.is_valid(value):
                    slow(value)

            return check

    class FastV31(OpenAPIV31SpecValidator):
        keyword_validators = {**OpenAPIV31SpecValidator.keyword_validators, "schema": FastSchemaValidator}

    return FastV31


def _shown(error: Any, document: Json, text: str, spec_path: Path) -> str:
    path = list(getattr(error, "absolute_path", None) or error.path)
    pointer = "".join("/" + escape_pointer_token(str(token)) for token in path)
    message = str(getattr(error, "message", error)).split("\n", 1)[0]
    if path and _resolves(document, path):
        return f"{spec_path}:{line_of(text, pointer)}: {pointer}: {message} (openapi-spec-validator)"
    return f"{spec_path}: {message} (openapi-spec-validator, which gives no location)"


def _cached(key: str) -> tuple[list[str], list[str]] | None:
    folder = loader.cache_dir()
    if folder is None:
        return None
    try:
        data = json.loads((folder / f"check-{key}.json").read_text(encoding="utf-8"))
        return list(data["problems"]), list(data["warnings"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(key: str, found: Findings) -> None:
    folder = loader.cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"check-{key}.json").write_text(
            json.dumps({"problems": found.problems, "warnings": found.warnings}), encoding="utf-8"
        )
    except OSError:
        pass

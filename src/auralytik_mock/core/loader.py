"""Read an OpenAPI document from disk: one file or many, YAML or JSON, once.

Owns: parsing (YAML 1.1 with timestamps kept as the strings they are written as, JSON),
the refusal of what is not an OpenAPI 3.x document (Swagger 2.0 with a pointer to a
converter), bundling of external ``$ref``s (``paths/menu.yaml``,
``../schemas/Pet.json#/Pet``) into one document, and the parse cache keyed by the files'
content hashes (``~/.cache/auralytik-mock/specs``; ``AURALYTIK_MOCK_CACHE=off`` turns it
off).

A ``$ref`` inside an ``x-`` extension (``x-codeSamples``, ``x-topics``) is documentation:
never followed, never checked. A reference to a remote URL (``https://...``) is refused:
the mock reads no network at start-up.

Bundling inlines the target of each external reference where it is used; a target that
refers back to itself (a recursive schema in another file) is kept once under
``/x-mock-bundled/<n>`` and referenced locally, so every ``$ref`` of the result is local.
May import: ``errors``, ``oas30``, ``types``, yaml (IO: reads the files it is given, and the cache).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from . import oas30
from .errors import SpecError
from .types import Json

#: Where a bundled document keeps targets of recursive external references.
BUNDLED = "x-mock-bundled"
#: Bumped when what the loader produces changes (old cache entries are then ignored).
_CACHE_FORMAT = "3"  # 3: 3.0's nullable in a 3.1 document read as 3.0 means it
_CONVERTER = (
    "convert it to OpenAPI 3 first, e.g. `npx swagger2openapi spec.yaml -o openapi.yaml` "
    "(or the Swagger Editor's 'Convert to OpenAPI 3')"
)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, but a date stays the string it is written as (as in JSON)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Loaded:
    """A document read from disk.

    :param document: the bundled document (every ``$ref`` outside ``x-`` extensions local).
    :param text: the root file's text (for line numbers in errors).
    :param files: every file read, the root first.
    """

    document: dict[str, Json]
    text: str
    files: tuple[Path, ...]


def parse(text: str, source: str, json_first: bool = False) -> Json:
    """Parse ``text`` as JSON or YAML.

    :raises SpecError: not JSON or YAML; names the file and the line.
    """
    if json_first or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if json_first:
                raise SpecError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise SpecError(f"{source}{line}: not valid YAML: {problem}") from None


def _read(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{source}: cannot read the spec: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{source}: the spec is not UTF-8 text") from None


def check_version(document: Mapping[str, Json], source: str) -> None:
    """Refuse what is not an OpenAPI 3.0/3.1 document, saying what it is.

    :raises SpecError: Swagger 2.0 (with a pointer to a converter), another version, or no
        ``openapi`` field.
    """
    if "swagger" in document and "openapi" not in document:
        raise SpecError(
            f"{source}: /swagger: this is a Swagger {document['swagger']} document; the mock reads "
            f"OpenAPI 3.0 and 3.1: {_CONVERTER}"
        )
    version = str(document.get("openapi", ""))
    if not re.fullmatch(r"3\.[01]\.\d+(-.+)?", version):
        raise SpecError(f"{source}: /openapi: OpenAPI 3.0.x and 3.1.x are supported, got {version or 'nothing'!r}")


def load(path: Path | str) -> Loaded:
    """Read the document at ``path`` and every file its ``$ref``s name, bundled into one.

    :raises SpecError: a file is unreadable or not YAML/JSON, the root is not an OpenAPI 3
        document, or a ``$ref`` names a file or a node that is not there (file and pointer named).
    """
    root = Path(path)
    source = str(path)
    text = _read(root, source)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    cached = _cache_get(digest, root)
    if cached is not None:
        return Loaded(cached[0], text, cached[1])
    document = parse(text, source, json_first=root.suffix.lower() == ".json")
    if not isinstance(document, dict):
        raise SpecError(f"{source}: the spec must be a mapping, got {type(document).__name__}")
    check_version(document, source)
    bundler = _Bundler(root, document)
    bundled = bundler.bundle()
    if not oas30.is_oas30(bundled):
        bundled = oas30.tolerate(bundled)  # 3.1 quirks, once, kept in the cache (3.0: at upgrade)
    files = tuple(bundler.files)
    _cache_put(digest, root, bundled, files)
    return Loaded(bundled, text, files)


# -- bundling -------------------------------------------------------------------------


def _token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def walk(node: Json, pointer: str) -> Json:
    """The node at JSON pointer ``pointer`` (RFC 6901, percent-decoded as in a ``$ref``).

    :raises KeyError: no such node.
    """
    for raw in pointer.lstrip("/").split("/") if pointer not in ("", "/") else []:
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise KeyError(pointer)
    return node


class _Bundler:
    def __init__(self, root: Path, document: dict[str, Json]) -> None:
        self.root = root.resolve()
        self.docs: dict[Path, Json] = {self.root: document}
        self.files: list[Path] = [root]
        self.active: set[tuple[Path, str]] = set()
        self.hoisted: dict[tuple[Path, str], str] = {}
        self.bundled: dict[str, Json] = {}

    def bundle(self) -> dict[str, Json]:
        root: dict[str, Json] = self.docs[self.root]
        if not self._has_external(root):
            return root
        out: dict[str, Json] = self._walk(root, self.root, "")
        if self.bundled:
            out[BUNDLED] = self.bundled
        return out

    def _has_external(self, node: Json) -> bool:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return True
            return any(self._has_external(v) for k, v in node.items() if not str(k).startswith("x-"))
        if isinstance(node, list):
            return any(self._has_external(v) for v in node)
        return False

    def _doc(self, file: Path, where: str) -> Json:
        if file not in self.docs:
            if not file.is_file():
                raise SpecError(f"{where}: $ref names {file.name!r}, which is not there ({file})")
            text = _read(file, str(file))
            self.docs[file] = parse(text, str(file), json_first=file.suffix.lower() == ".json")
            self.files.append(file)
        return self.docs[file]

    def _walk(self, node: Json, file: Path, pointer: str) -> Json:
        if isinstance(node, list):
            return [self._walk(v, file, f"{pointer}/{i}") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and not (file == self.root and ref.startswith("#")):
            return self._follow(node, ref, file, pointer)
        return {
            key: value if str(key).startswith("x-") else self._walk(value, file, f"{pointer}/{_token(str(key))}")
            for key, value in node.items()
        }

    def _follow(self, node: Mapping[str, Json], ref: str, file: Path, pointer: str) -> Json:
        where = f"{file}: {pointer or '/'}"
        target_part, _, fragment = ref.partition("#")
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", target_part):
            raise SpecError(f"{where}: $ref {ref!r} is a remote URL; the mock reads local files only")
        target_file = (file.parent / unquote(target_part)).resolve() if target_part else file
        target_pointer = fragment or ""
        if target_file == self.root:  # back into the root: a local reference
            return {**node, "$ref": "#" + target_pointer}
        key = (target_file, target_pointer)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if key in self.active:
            name = self.hoisted.setdefault(key, str(len(self.hoisted)))
            return {**siblings, "$ref": f"#/{BUNDLED}/{name}"}
        document = self._doc(target_file, where)
        try:
            target = walk(document, target_pointer)
        except KeyError:
            raise SpecError(f"{where}: $ref {ref!r}: {target_file.name} has no {target_pointer!r}") from None
        self.active.add(key)
        try:
            resolved = self._walk(target, target_file, target_pointer)
        finally:
            self.active.discard(key)
        if key in self.hoisted:
            self.bundled[self.hoisted[key]] = resolved
            resolved = {"$ref": f"#/{BUNDLED}/{self.hoisted[key]}"}
        if siblings and isinstance(resolved, dict):
            return {**resolved, **siblings}
        return resolved


# -- the parse cache ------------------------------------------------------------------


def cache_dir() -> Path | None:
    """Where parsed documents (and `check`'s findings) are kept; ``None``: caching is off."""
    if os.environ.get("AURALYTIK_MOCK_CACHE", "").lower() in {"off", "0", "no"}:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "auralytik-mock" / "specs"


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cache_get(digest: str, root: Path) -> tuple[dict[str, Json], tuple[Path, ...]] | None:
    folder = cache_dir()
    if folder is None:
        return None
    entry = folder / f"{digest}.json"
    try:
        data: Any = json.loads(entry.read_text(encoding="utf-8"))
        if data.get("format") != _CACHE_FORMAT:
            return None
        # other files are named relative to the root's folder and must be unchanged
        files = [root]
        for name, sha in data["files"].items():
            other = root.parent / name
            if _hash(other) != sha:
                return None
            files.append(other)
        return data["document"], tuple(files)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _cache_put(digest: str, root: Path, document: dict[str, Json], files: tuple[Path, ...]) -> None:
    folder = cache_dir()
    if folder is None or len(files) == 1 and root.stat().st_size < 16 * 1024:
        return  # small single files parse faster than the cache reads (a 100 kB YAML file: 20 ms, 2 ms)
    try:
        others = {os.path.relpath(f.resolve(), root.resolve().parent): _hash(f) for f in files[1:]}
        text = json.dumps({"format": _CACHE_FORMAT, "files": others, "document": document})
    except (OSError, TypeError, ValueError):
        return  # a value JSON cannot hold (a YAML set, ...): no cache
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{digest}.{os.getpid()}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / f"{digest}.json")
    except OSError:
        pass  # a read-only home: no cache

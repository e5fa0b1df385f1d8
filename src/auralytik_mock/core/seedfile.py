"""Seeds built once and kept on disk, so a start after the first skips generating records.

Owns: the seed cache on disk (``~/.cache/auralytik-mock/seeds``, beside the spec parse
cache; ``AURALYTIK_MOCK_CACHE=off`` turns both off): one JSON file per seed, named by the
digest of what the seed is made from (the spec's and every fixture file's bytes, the
pinned clock, the resource kinds) and of the code that makes it (the generator's modules,
pools and vocabularies, the profiles, the fixture loader). A file that is
corrupt, foreign (another key or format) or unreadable is ignored and the seed rebuilt;
a cache that cannot be written is skipped. Never a crash.

A file is two lines of JSON: the seed with its records, then the fields ``write`` was told
to defer (sub-resource data such as an evaluation's transcript: four fifths of the bundled
seed's bytes, read by few calls). ``read`` decodes the first line only; the second is
decoded the first time a deferred field is asked for (``Deferred``), so a start reads a
seed in a fifth of the time.
May import: ``loader``, ``seed``, ``types``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .loader import cache_dir as spec_cache_dir
from .seed import ApiKey, ClientSeed, Seed
from .types import Json

#: Bumped when the file's layout changes (older files are then ignored).
FORMAT = 3
_PACKAGE = Path(__file__).resolve().parents[1]
#: What makes a seed besides its inputs: a change to any of these builds seeds anew.
_MAKERS = ("generate", "profiles", "core/fixtures.py", "core/client_fields.py", "core/seed.py", "core/seedfile.py")


def cache_dir() -> Path | None:
    """Where built seeds are kept; ``None``: caching is off."""
    specs = spec_cache_dir()
    return None if specs is None else specs.parent / "seeds"


@functools.cache
def maker_digest() -> str:
    """A digest of the code and data that make records (the generator's version, as it is)."""
    digest = hashlib.sha256(f"{FORMAT}".encode())
    for name in _MAKERS:
        top = _PACKAGE / name
        if top.is_dir():
            files = sorted(Path(folder, file) for folder, _, names in os.walk(top) for file in names)
        else:
            files = [top]
        for path in files:
            if path.suffix in {".py", ".txt", ".yaml", ".yml", ".json"}:
                digest.update(b"\0" + path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
                try:
                    digest.update(path.read_bytes())
                except OSError:
                    digest.update(b"unreadable")
    return digest.hexdigest()


def _file(key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"{key}.json"


def read(key: str) -> Seed | None:
    """The seed kept under ``key``, or ``None`` (none kept, caching off, or the file is not one
    of ours). Its deferred fields are read when first asked for."""
    path = _file(key)
    if path is None:
        return None
    try:
        seed = _decode(path.read_bytes(), key)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    if seed is None:
        return None
    try:
        os.utime(path)  # recently used: kept longest
    except OSError:
        pass
    return seed


def _decode(text: bytes, key: str) -> Seed | None:
    """``text`` (what ``write`` makes) back as a seed, or ``None``: it is another key's.
    The second line (the deferred fields) is only checked here (its length and CRC-32: a
    millisecond for the bundled seed's), not decoded.

    :raises ValueError: the second line is not the one written with the first.
    """
    cut = text.find(b"\n")
    data: Any = json.loads(text[:cut] if cut >= 0 else text)
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    rest = memoryview(text)[cut + 1 :] if cut >= 0 else None
    if rest is None or data["deferredBytes"] != len(rest) or data["deferredCrc"] != zlib.crc32(rest):
        raise ValueError("the deferred fields are not the ones written with the records")
    later = _Later(text, cut + 1)
    return tuple(_client(raw, later) for raw in data["clients"])


class _Later:
    """The second line of a seed file, decoded when first needed; the file's bytes are let go
    once it is.

    No lock: a ``--persist`` save forks while other threads run, and a lock held by one of
    them at that instant would stay held in the child. Two threads that both find it not yet
    decoded both decode the same bytes, to equal values; either one is kept. The decoded data
    is set before the bytes are let go, and a reader takes the bytes before it looks again for
    the data, so none ever decodes the emptied bytes.
    """

    def __init__(self, text: bytes, start: int) -> None:
        self._text = text  # the whole file: slicing it now would copy most of it for nothing
        self._start = start
        self._data: Mapping[str, Any] | None = None

    def data(self) -> Mapping[str, Any]:
        """``{client id: {kind: [fields of each record, in order]}}``."""
        data = self._data
        if data is None:
            text = self._text
            data = self._data
            if data is None:
                found = json.loads(text[self._start :])  # checked by _decode: written by ``write``
                data = self._data = found if isinstance(found, dict) else {}
                self._text = b""
        return data


@dataclass(frozen=True)
class _Deferred:
    """One client's deferred fields in a seed file (a ``seed.Deferred``)."""

    later: _Later
    client_id: str
    kinds: frozenset[str]

    def read(self) -> None:
        self.later.data()

    def fields(self, kind: str, position: int) -> Mapping[str, Json]:
        of_client = self.later.data().get(self.client_id)
        listed = of_client.get(kind) if isinstance(of_client, dict) else None
        found = listed[position] if isinstance(listed, list) and 0 <= position < len(listed) else None
        return found if isinstance(found, dict) else {}


def _client(raw: Any, later: _Later) -> ClientSeed:
    """One client back from its JSON form. :raises TypeError: it is not what ``write`` wrote."""
    client_id, name, keys, resources = raw["id"], raw["name"], raw["apiKeys"], raw["resources"]
    if not (isinstance(client_id, str) and isinstance(name, str) and isinstance(keys, list)):
        raise TypeError("not a client")
    if not isinstance(resources, dict):
        raise TypeError("not a client's resources")
    api_keys = []
    for key in keys:
        value, scopes, secret = key["key"], key["scopes"], key["secret"]
        if not (isinstance(value, str) and isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
            raise TypeError("not an API key")
        if secret is not None and not isinstance(secret, str):
            raise TypeError("not a secret")
        api_keys.append(ApiKey(value, tuple(scopes), secret))
    for kind, records in resources.items():
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise TypeError(f"not a list of {kind}")
    plan = raw["plan"]
    if plan is not None and not isinstance(plan, dict):
        raise TypeError("not a plan")
    kinds = raw["deferred"]
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise TypeError("not a list of kinds")
    deferred = _Deferred(later, client_id, frozenset(kinds)) if kinds else None
    return ClientSeed(client_id, name, tuple(api_keys), resources, plan, deferred)


#: Seeds kept on disk at most: the least recently used go first.
KEPT = 16


def write(key: str, seed: Seed, defer: Mapping[str, frozenset[str]] | None = None) -> None:
    """Keep ``seed`` under ``key`` (skipped when caching is off, the folder is not writable,
    or the seed holds a value JSON would not give back as it is).

    :param defer: per kind, the fields of its records that ``read`` leaves to be decoded
        when first asked for (sub-resource data).
    """
    path = _file(key)
    if path is None:
        return
    defer = defer or {}
    clients: list[Json] = []
    later: dict[str, Json] = {}
    for client in seed:
        resources: dict[str, Json] = {}
        kept: dict[str, Json] = {}
        for kind, records in client.resources.items():
            fields = defer.get(kind)
            if not fields or not any(name in record for record in records for name in fields):
                resources[kind] = list(records)
                continue
            resources[kind] = [{k: v for k, v in record.items() if k not in fields} for record in records]
            kept[kind] = [{k: v for k, v in record.items() if k in fields} for record in records]
        clients.append(
            {
                "id": client.id,
                "name": client.name,
                "apiKeys": [{"key": k.key, "scopes": list(k.scopes), "secret": k.secret} for k in client.api_keys],
                "resources": resources,
                "plan": dict(client.plan) if client.plan is not None else None,
                "deferred": sorted(kept),
            }
        )
        later[client.id] = kept
    try:
        rest = json.dumps(later, ensure_ascii=False, allow_nan=False).encode()
        whole = {
            "format": FORMAT,
            "key": key,
            "deferredBytes": len(rest),
            "deferredCrc": zlib.crc32(rest),
            "clients": clients,
        }
        head = json.dumps(whole, ensure_ascii=False, allow_nan=False).encode()
        # Read back as ``read`` will: a value JSON changes (a non-string key, a tuple) makes it
        # differ, and the seed is then built on each start instead.
        data = json.loads(head)
        if data != whole or json.loads(rest) != later:
            return
        for raw in data["clients"]:
            _client(raw, _Later(b"", 0))  # what ``read`` would refuse raises here
    except (TypeError, ValueError, KeyError, RecursionError, UnicodeEncodeError):
        return
    text = head + b"\n" + rest
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{key}.{os.getpid()}.tmp")
        tmp.write_bytes(text)
        tmp.replace(path)
        _prune(path.parent)
    except OSError:
        pass  # a read-only home: no cache


def _prune(folder: Path) -> None:
    """Keep the ``KEPT`` most recently used seeds."""
    entries = []
    for path in folder.glob("*.json"):
        try:
            entries.append((path.stat().st_mtime, path))
        except OSError:
            continue
    for _, path in sorted(entries, reverse=True)[KEPT:]:
        path.unlink(missing_ok=True)

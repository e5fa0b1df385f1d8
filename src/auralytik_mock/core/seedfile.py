"""Seeds built once and kept on disk, so a start after the first skips generating records.

Owns: the seed cache on disk (``~/.cache/auralytik-mock/seeds``, beside the spec parse
cache; ``AURALYTIK_MOCK_CACHE=off`` turns both off): one JSON file per seed, named by the
digest of what the seed is made from (the spec's and every fixture file's bytes, the
pinned clock, the resource kinds) and of the code that makes it (the generator's modules,
pools and vocabularies, the profiles, the fixture loader). A file that is
corrupt, foreign (another key or format) or unreadable is ignored and the seed rebuilt;
a cache that cannot be written is skipped. Never a crash.
May import: ``loader``, ``seed``, ``types``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .loader import cache_dir as spec_cache_dir
from .seed import ApiKey, ClientSeed, Seed
from .types import Json

#: Bumped when the file's layout changes (older files are then ignored).
FORMAT = 2
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
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
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
    """The seed kept under ``key``, or ``None`` (none kept, caching off, or the file is not one of ours)."""
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


def _decode(text: str | bytes, key: str) -> Seed | None:
    """``text`` (what ``write`` makes) back as a seed, or ``None``: it is another key's."""
    data: Any = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    return tuple(_client(raw) for raw in data["clients"])


def _client(raw: Any) -> ClientSeed:
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
    return ClientSeed(client_id, name, tuple(api_keys), resources, plan)


#: Seeds kept on disk at most: the least recently used go first.
KEPT = 16


def write(key: str, seed: Seed) -> None:
    """Keep ``seed`` under ``key`` (skipped when caching is off, the folder is not writable,
    or the seed holds a value JSON would not give back as it is)."""
    path = _file(key)
    if path is None:
        return
    clients: list[Json] = [
        {
            "id": client.id,
            "name": client.name,
            "apiKeys": [{"key": k.key, "scopes": list(k.scopes), "secret": k.secret} for k in client.api_keys],
            "resources": {kind: list(records) for kind, records in client.resources.items()},
            "plan": dict(client.plan) if client.plan is not None else None,
        }
        for client in seed
    ]
    try:
        text = json.dumps({"format": FORMAT, "key": key, "clients": clients}, ensure_ascii=False, allow_nan=False)
        if _decode(text, key) != seed:
            return  # a value JSON changes (a non-string key, a tuple): build it each time instead
    except (TypeError, ValueError, RecursionError):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{key}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
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

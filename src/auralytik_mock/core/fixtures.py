"""Read the YAML (or JSON) fixtures and turn them into the store's seed.

Owns: the fixtures' format, and checking every record against its schema in the spec,
so a bad fixture stops start-up with the file, the record and the field; ``files_digest``
(what a reload compares to tell whether the fixtures changed: their bytes, never what
loading them made, which carries the time of loading for records that omit ``createdAt``).
A client's keys, plan and its records' relations are checked by ``client_fields``.
No Flask, no IO beyond reading the files at load time (and the seed cache, ``seedfile``).
May import: ``spec``, ``validation``, ``store``, ``seed``, ``seedfile``, ``client_fields``, ``errors``, ``profile``,
``generate``, yaml.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from ..generate import GenerateError, follow_counts, generate_records, generate_value
from . import seedfile
from .client_fields import api_keys, plan, relate
from .errors import FixtureError
from .profile import profile_for
from .spec import record_defaults
from .store import ClientSeed, KindRules, Seed
from .types import Json
from .validation import SchemaSet

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: What PyYAML makes of an unquoted date or time (a record keeps it as text).
_DATE_TYPES = frozenset({date, datetime})
_SUFFIXES = {".yaml", ".yml", ".json"}
_CLIENT_FIELDS = {"id", "name", "apiKeys", "plan"}
#: Errors listed before the rest are summed up.
_MAX_LISTED = 20


class SeedCache:
    """Seeds already built, by the digest of what they were made from (``load_paths``):
    bounded (the least recently used goes first) and safe to share between threads.

    A seed is never changed after loading (the store copies each record it holds), so mocks
    built from the same bytes may share one: ``default_seeds`` is what every mock uses unless
    ``build_world(..., seeds=)`` names another (``SeedCache(kept=0)`` keeps nothing).
    """

    def __init__(self, kept: int = 8) -> None:
        self.kept = kept
        self._seeds: OrderedDict[str, Seed] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Seed | None:
        """The seed built from ``key``'s inputs, if kept."""
        with self._lock:
            seed = self._seeds.get(key)
            if seed is not None:
                self._seeds.move_to_end(key)
            return seed

    def put(self, key: str, seed: Seed) -> None:
        """Keep ``seed``, dropping the least recently used past ``kept``."""
        with self._lock:
            self._seeds[key] = seed
            while len(self._seeds) > self.kept:
                self._seeds.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._seeds)


#: The seeds every mock shares unless it is built with a ``SeedCache`` of its own.
default_seeds = SeedCache()


def fixture_files(paths: Iterable[Path]) -> list[Path]:
    """The fixture files named by ``paths``: files as given, folders' ``*.yaml|yml|json`` sorted by name.

    :raises FixtureError: a path does not exist, or names no fixture file.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())
            if not found:
                raise FixtureError(f"{path}: the folder holds no .yaml, .yml or .json fixture file")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FixtureError(f"{path}: no such fixture file or folder")
    return files


def _plain(value: Json) -> Json:
    """YAML reads unquoted timestamps as datetimes; the spec wants RFC 3339 strings."""
    if not isinstance(value, date):  # most values: one check (a datetime is a date)
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def read_document(path: Path) -> Json:
    """Parse one fixture file (YAML, or JSON for ``.json``).

    :raises FixtureError: unreadable or not parseable; names the file and line.
    """
    try:
        if path.suffix == ".json":
            return json.loads(path.read_text(encoding="utf-8"))
        with path.open(encoding="utf-8") as stream:  # a stream, so YAML errors name the file
            return yaml.load(stream, Loader=_YamlLoader)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise FixtureError(f"{path}{line}: not valid YAML: {exc}") from None


class FixtureLoader:
    """Check fixture documents against the spec and build the seed.

    :param schemas: the spec's validators.
    :param kinds: the resource kinds fixtures may hold, and the pointer of each
        kind's schema (``{"engagements": "/components/schemas/Engagement"}``).
    :param scopes: the scopes the spec uses; a key with another scope is a typo.
    :param rules: per kind, the relations of its records (``x-mock-ref``, ``-count``,
        ``-copy``): references must name a record of the same client, counts and copies
        are filled in.
    :param extras: per kind, data a record may carry for its sub-resources, and the
        schema each is checked against (``{"evaluations": {"transcript": pointer}}``).
    :param now: "now" for records that omit their server-set times (the pinned clock);
        ``None``: the time of loading.
    :param seeds: where built seeds are kept and looked up (default: ``default_seeds``).

    A record may omit any field a POST may omit: it takes the default a POST gives it
    (the schema's ``default``, or ``null``), and server-set times it omits (read-only
    ``date-time`` fields) take the latest time it gives, else ``now``, as a record
    created then and never changed.
    """

    def __init__(
        self,
        schemas: SchemaSet,
        kinds: Mapping[str, str],
        scopes: Iterable[str],
        *,
        rules: Mapping[str, KindRules] | None = None,
        extras: Mapping[str, Mapping[str, str]] | None = None,
        now: str | None = None,
        seeds: SeedCache | None = None,
    ) -> None:
        self.seeds = default_seeds if seeds is None else seeds
        self.schemas = schemas
        self.kinds = dict(kinds)
        self.scopes = frozenset(scopes)
        self.now = now
        self._defaults = {kind: record_defaults(schemas.spec, pointer) for kind, pointer in self.kinds.items()}
        self._times = {kind: _server_times(schemas.spec.schema_at(pointer)) for kind, pointer in self.kinds.items()}
        self.rules = dict(rules or {})
        self.extras = {kind: dict(found) for kind, found in (extras or {}).items()}
        #: Whether a count a fixture gives must equal the records it counts (files: yes;
        #: a state load: no, the count is recomputed).
        self.strict_counts = False
        self._inlined: dict[str, Json] = {}
        self._in_order: set[tuple[str, ...]] = set()  # (kind, field names) already in the schema's order
        self._orders: dict[str, list[str]] = {}
        self._generated = False  # the last load generated records
        self._stamped = False  # the last load gave a record the time of loading
        self._taken: dict[str, set[str]] = {}
        # What generated free text says: the vocabulary of the spec's profile (x-mock-profile),
        # read when a record is made (a seed read back from the cache needs none).
        self._profile = profile_for(schemas.spec.document)

    def load_paths(self, paths: Sequence[Path]) -> Seed:
        """Load every fixture file under ``paths`` into one seed.

        A seed already built in this process from the same bytes (spec and every fixture
        file) and the same pinned clock is reused: a suite that starts many ``MockServer``s
        generates their records once (the bundled evaluations take about 0.4 s to generate).
        A seed with generated records is also kept on disk (``seedfile``), so a later start,
        in another process, reads it instead of generating them again. Seeds are never
        changed after loading; the store copies each record it holds.

        :raises FixtureError: every problem found, each with file, record and field.
        """
        files = fixture_files(paths)
        key = self._cache_key(files)
        cached = self.seeds.get(key) if key is not None else None
        if cached is None and key is not None:
            cached = seedfile.read(key)
            if cached is not None:
                self.seeds.put(key, cached)
        if cached is not None:
            return cached
        documents = [(str(path), read_document(path)) for path in files]
        self.strict_counts = True
        try:
            seed = self.load_documents(documents)
        finally:
            self.strict_counts = False
        if key is not None:
            self.seeds.put(key, seed)
            # Generated records are kept on disk, for the next start; not when a record
            # took the time of loading (it would take this one's on the next start).
            if self._generated and not self._stamped:
                seedfile.write(key, seed, defer=self._deferrable())
        return seed

    def _deferrable(self) -> dict[str, frozenset[str]]:
        """Per kind, the fields a seed on disk may leave to be read when first asked for: the
        data kept with a record for its sub-resources (not the nested kinds' scope, which
        lists are filtered by)."""
        return {kind: rules.hidden - {rules.scope_field} for kind, rules in self.rules.items() if rules.hidden}

    def _cache_key(self, files: Sequence[Path]) -> str | None:
        """A digest of everything a seed is made from, or ``None`` (the spec is not a file)."""
        spec_file = Path(self.schemas.spec.source)
        try:
            digest = hashlib.sha256(spec_file.read_bytes())
            for path in files:
                digest.update(b"\0" + str(path.resolve()).encode() + b"\0" + path.read_bytes())
        except OSError:
            return None
        # Which fields a file on disk defers, too: a version that shows one of them must not read
        # a file that left it out of the records.
        deferred = sorted((kind, sorted(fields)) for kind, fields in self._deferrable().items())
        digest.update(b"\0" + repr((self.now, sorted(self.kinds.items()), deferred)).encode())
        digest.update(b"\0" + seedfile.maker_digest().encode())
        return digest.hexdigest()

    def load_documents(self, documents: Sequence[tuple[str, Json]]) -> Seed:
        """Check ``(source name, parsed document)`` pairs and build one seed from them.

        :raises FixtureError: every problem found, each with source, record and field.
        """
        self._generated = self._stamped = False
        errors: list[str] = []
        late: list[str] = []  # broken references: often the echo of another mistake, so listed last
        self._taken = {}
        clients: list[ClientSeed] = []
        client_ids: dict[str, str] = {}
        keys: dict[str, str] = {}
        ids: dict[tuple[str, str, str], str] = {}  # ids are unique per client: each client counts its own
        for source, document in documents:
            if not isinstance(document, dict) or not isinstance(document.get("clients"), list):
                errors.append(f"{source}: the file must hold a mapping with a 'clients' list")
                continue
            unknown = sorted(set(document) - {"clients"})
            if unknown:
                errors.append(f"{source}: unknown top-level field(s) {', '.join(unknown)} (allowed: clients)")
            for index, raw in enumerate(document["clients"]):
                where = f"{source}: clients[{index}]"
                positions: dict[str, list[int]] = {}
                client = self._client(raw, where, errors, late, positions)
                if client is None:
                    continue
                if client.id in client_ids:
                    errors.append(f"{where}.id: client {client.id!r} is also defined at {client_ids[client.id]}")
                client_ids.setdefault(client.id, where)
                for position, api_key in enumerate(client.api_keys):
                    key_where = f"{where}.apiKeys[{position}]"
                    if api_key.key in keys:
                        errors.append(f"{key_where}.key: {api_key.key!r} is also defined at {keys[api_key.key]}")
                    keys.setdefault(api_key.key, key_where)
                for kind, records in client.resources.items():
                    for position, record in zip(positions[kind], records, strict=True):
                        rid = (client.id, kind, str(record.get("id")))
                        if rid in ids:
                            errors.append(f"{where}.{kind}[{position}].id: {rid[2]!r} is also used at {ids[rid]}")
                        ids.setdefault(rid, f"{where}.{kind}[{position}]")
                clients.append(client)
        errors += late
        if errors:
            listed = errors[:_MAX_LISTED]
            if len(errors) > _MAX_LISTED:
                listed.append(f"... and {len(errors) - _MAX_LISTED} more")
            raise FixtureError("invalid fixtures:\n  " + "\n  ".join(listed))
        return tuple(clients)

    def _client(
        self, raw: Json, where: str, errors: list[str], late: list[str], positions: dict[str, list[int]]
    ) -> ClientSeed | None:
        if not isinstance(raw, dict):
            errors.append(f"{where}: must be a mapping with id, name, apiKeys and resources")
            return None
        client_id = raw.get("id")
        if not isinstance(client_id, str) or not client_id:
            errors.append(f"{where}.id: is required and must be a string")
            return None
        name = raw.get("name", client_id)
        if not isinstance(name, str):
            errors.append(f"{where}.name: must be a string")
        unknown = sorted(set(raw) - _CLIENT_FIELDS - set(self.kinds))
        if unknown:
            allowed = ", ".join(sorted(_CLIENT_FIELDS | set(self.kinds)))
            errors.append(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {allowed})")
        generated: set[int] = set()  # id() of the generated records: their counts are not given
        listed = {
            kind: self._expand(kind, raw.get(kind, []), f"{where}.{kind}", errors, client_id, generated)
            for kind in self.kinds
        }
        relate(self.rules, listed, where, errors, late, generated, strict_counts=self.strict_counts)
        return ClientSeed(
            id=client_id,
            name=str(name),
            api_keys=api_keys(raw.get("apiKeys", []), where, errors, self.scopes, self._profile),
            plan=plan(raw.get("plan"), f"{where}.plan", errors),
            resources={
                kind: self._records(kind, listed[kind], f"{where}.{kind}", errors, positions.setdefault(kind, []))
                for kind in self.kinds
            },
        )

    def _expand(
        self, kind: str, raw: Json, where: str, errors: list[str], client_id: str, generated: set[int]
    ) -> list[Json]:
        """The records a fixture list stands for, ``generate`` entries made (see ``generate``),
        before relations are filled and schemas checked."""
        if not isinstance(raw, list):
            errors.append(f"{where}: must be a list of records")
            return []
        taken = self._taken.setdefault(kind, set())
        id_field = self.rules[kind].id_field if kind in self.rules else "id"
        for item in raw:  # generated ids avoid every written one, wherever it is in the list
            if isinstance(item, dict) and "generate" not in item and isinstance(item.get(id_field), str):
                taken.add(item[id_field])
        out: list[Json] = []
        entries = 0
        for index, item in enumerate(raw):
            if isinstance(item, dict) and "generate" in item:
                made = self._generate(kind, item, f"{where}[{index}]", errors, (client_id, kind, entries))
                self._generate_extras(kind, made, client_id, f"{where}[{index}]", errors)
                generated.update(id(record) for record in made)
                entries += 1
                out.extend(made)
            elif isinstance(item, dict):
                dated = not _DATE_TYPES.isdisjoint(map(type, item.values()))  # YAML's unquoted dates
                out.append({key: _plain(value) for key, value in item.items()} if dated else dict(item))
            else:
                out.append(item)
        return out

    def _generate_extras(
        self, kind: str, records: list[dict[str, Json]], client_id: str, where: str, errors: list[str]
    ) -> None:
        """Give each generated record the data of its sub-resources (an evaluation's transcript);
        its counts then follow them (a conversation's ``messageCount``)."""
        spec = self.schemas.spec
        schema = self._inlined.get(self.kinds[kind])
        properties = schema.get("properties") if isinstance(schema, dict) else None
        for name, pointer in self.extras.get(kind, {}).items():
            if pointer not in self._inlined:
                self._inlined[pointer] = spec.inline(spec.lookup(pointer))
            for record in records:
                if name in record:
                    continue
                try:
                    record[name] = generate_value(
                        self._inlined[pointer],
                        key=(client_id, kind, str(record.get("id")), name),
                        name=name,
                        kind=kind,
                        parent=record,
                        vocabulary=self._profile.vocabulary,
                    )
                except GenerateError as exc:
                    errors.append(f"{where} (generate).{name}.{exc.field}: {exc.message}")
                    return
        if self.extras.get(kind) and isinstance(properties, dict):
            for record in records:
                follow_counts(record, properties)

    def _records(
        self, kind: str, raw: list[Json], where: str, errors: list[str], positions: list[int]
    ) -> list[dict[str, Json]]:
        """The valid records of ``raw``; ``positions`` gets each one's index in ``raw``
        (so a later error names the record as written, not as kept)."""
        pointer = self.kinds[kind]
        extras = self.extras.get(kind, {})
        rules = self.rules.get(kind, KindRules())
        hidden = rules.hidden
        copied = {c.field for c in rules.copies}
        records = []
        for index, item in enumerate(raw):
            if isinstance(item, dict):
                item = self._complete(kind, item)
            kept: dict[str, Json] = {}
            if isinstance(item, dict) and extras:
                # Data for a sub-resource (GET /things/{id}/transcript) rides with its record
                # and is checked against that operation's schema.
                for name, extra_pointer in extras.items():
                    if name not in item:
                        continue
                    for violation in self.schemas.check(extra_pointer, item[name], name, strict=True):
                        field = violation.field or name
                        errors.append(f"{where}[{index}].{field}: {violation.message}")
                    if name in hidden:
                        kept[name] = item[name]
                item = {k: v for k, v in item.items() if k not in kept}
            problems = self.schemas.check(pointer, item, "record", strict=True)
            if problems:
                record_where = f"{where}[{index}]"
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    record_where += f" (id {item['id']})"
                for violation in problems:
                    field = violation.field.removeprefix("record").lstrip(".") or "(record)"
                    if field in copied and violation.message == "is required":
                        continue  # its reference is broken, and said so
                    errors.append(f"{record_where}.{field}: {violation.message}")
                continue
            records.append({**item, **kept})
            positions.append(index)
        return records

    def _generate(
        self, kind: str, entry: dict[str, Json], where: str, errors: list[str], key: tuple[str, str, int]
    ) -> list[dict[str, Json]]:
        """Expand a ``generate`` entry (see ``generate``); check each record like a written one,
        reporting only the first bad record (the others share its cause)."""
        pointer = self.kinds[kind]
        if pointer not in self._inlined:
            spec = self.schemas.spec
            self._inlined[pointer] = spec.inline(spec.lookup(pointer))
        schema = self._inlined[pointer]
        if not isinstance(schema, dict):
            errors.append(f"{where}: the record schema at {pointer} is not an object schema")
            return []
        fixed = entry.get("with")
        if isinstance(fixed, dict):
            entry = {**entry, "with": {name: _plain(value) for name, value in fixed.items()}}
        self._generated = True
        try:
            records = generate_records(
                entry,
                schema,
                kind=kind,
                key=key,
                taken=self._taken.setdefault(kind, set()),
                vocabulary=self._profile.vocabulary,
            )
        except GenerateError as exc:
            errors.append(f"{where} (generate).{exc.field}: {exc.message}")
            return []
        for number, record in enumerate(records):
            problems = self.schemas.check(pointer, record, "record", strict=True)
            if problems:
                for violation in problems:
                    field = violation.field.removeprefix("record").lstrip(".") or "(record)"
                    errors.append(
                        f"{where} (generate, record {number}, id {record.get('id')}).{field}: {violation.message}"
                        " (set the field under 'with' to a valid value)"
                    )
                return []
        return records

    def _complete(self, kind: str, record: dict[str, Json]) -> dict[str, Json]:
        """``record`` with the fields it omits filled in as a POST fills them."""
        missing_times = [name for name in self._times[kind] if name not in record]
        if missing_times:
            given = [v for name in self._times[kind] if isinstance(v := record.get(name), str)]
            if not given and not self.now:
                self._stamped = True  # the time of loading
            when = max(given) if given else self.now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for name in missing_times:
                record[name] = when
        for name, value in self._defaults[kind].items():
            record.setdefault(name, value)
        # The schema's field order, as a POST answers it (a record whose fields are in that order
        # already, as most of a large file's are, is kept as it is).
        keys = (kind, *record)
        if keys in self._in_order:
            return record
        order = self._order(kind)
        ordered = {name: record[name] for name in order if name in record} | record
        if tuple(ordered) == keys[1:] and len(self._in_order) < 1024:
            self._in_order.add(keys)
        return ordered

    def _order(self, kind: str) -> list[str]:
        order = self._orders.get(kind)
        if order is None:
            order = self._orders[kind] = list(self.schemas.spec.schema_at(self.kinds[kind]).get("properties") or {})
        return order


def _server_times(schema: Mapping[str, Json]) -> list[str]:
    """The fields the server stamps: read-only ``date-time`` properties (``createdAt``, ``updatedAt``)."""
    return [
        name
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, dict) and prop.get("readOnly") and prop.get("format") == "date-time"
    ]


def files_digest(files: Iterable[Path]) -> str:
    """A digest of the names and bytes of ``files`` (a file that cannot be read counts as such).

    Equal digests mean the same files with the same content, whatever their modification
    times: a spec-only edit leaves the fixtures' digest as it was.
    """
    digest = hashlib.sha256()
    for path in files:
        digest.update(b"\0" + str(path).encode("utf-8", "surrogateescape") + b"\0")
        try:
            with path.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            digest.update(f"\0unreadable {exc.errno}".encode())
    return digest.hexdigest()

"""A fixture client's own fields and its records' relations, checked and filled.

Owns: ``apiKeys`` (scopes the spec uses; a secret exactly on the keys that sign), ``plan``
(the tier and included amounts usage reports against), and the relations of one client's
records (``x-mock-ref`` references that must resolve, ``-count`` counts and ``-copy`` copies
filled in). ``fixtures`` calls these while it loads; each error is a line of its report.
No IO.
May import: ``store`` (its seed types), ``profile``, ``types``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from .profile import Profile
from .store import ApiKey, KindRules
from .types import Json


def api_keys(
    raw: Json, where: str, errors: list[str], spec_scopes: frozenset[str], profile: Profile
) -> tuple[ApiKey, ...]:
    """A client's ``apiKeys``: each a non-empty key, scopes the spec uses, and a secret exactly
    when the profile says the key signs its requests (``ak_live_``...)."""
    if not isinstance(raw, list):
        errors.append(f"{where}.apiKeys: must be a list")
        return ()
    keys: list[ApiKey] = []
    for index, item in enumerate(raw):
        key_where = f"{where}.apiKeys[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
            errors.append(f"{key_where}.key: is required and must be a non-empty string")
            continue
        scopes = item.get("scopes", [])
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            errors.append(f"{key_where}.scopes: must be a list of strings")
            continue
        unknown = sorted(set(scopes) - spec_scopes)
        if unknown:
            errors.append(
                f"{key_where}.scopes: unknown scope(s) {', '.join(unknown)} "
                f"(the spec uses: {', '.join(sorted(spec_scopes))})"
            )
        extra = sorted(set(item) - {"key", "scopes", "secret"})
        if extra:
            errors.append(f"{key_where}: unknown field(s) {', '.join(extra)} (allowed: key, scopes, secret)")
        secret = item.get("secret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            errors.append(f"{key_where}.secret: must be a non-empty string (the key's HMAC secret)")
            continue
        signing = profile.is_signing_key(item["key"]) if profile.signing_key is not None else secret is not None
        if secret is not None and not signing:
            errors.append(
                f"{key_where}.key: a key with a secret signs its requests, so it must be "
                f"{profile.signing_format}, as the vendor's keys are"
            )
        elif secret is None and signing:
            errors.append(
                f"{key_where}.secret: an {profile.signing_prefix} key signs its requests; give it its HMAC secret"
            )
        keys.append(ApiKey(item["key"], tuple(scopes), secret))
    return tuple(keys)


def plan(raw: Json, where: str, errors: list[str]) -> dict[str, Json] | None:
    """A client's plan (``tier`` and the amounts it ``included``s per meter), what usage reports against."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("tier"), str) or not raw["tier"]:
        errors.append(f"{where}: must be a mapping with tier (a name) and included ({{meter: amount}})")
        return None
    unknown = sorted(set(raw) - {"tier", "included"})
    if unknown:
        errors.append(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: tier, included)")
    included = raw.get("included", {})
    if not isinstance(included, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
        for k, v in included.items()
    ):
        errors.append(f"{where}.included: must map each meter (calls, webhooks, ...) to the amount (>= 0) it includes")
        return None
    return {"tier": raw["tier"], "included": dict(included)}


def relate(
    rules_of: Mapping[str, KindRules],
    listed: Mapping[str, list[Json]],
    where: str,
    errors: list[str],
    late: list[str],
    generated: set[int],
    *,
    strict_counts: bool,
) -> None:
    """Check one client's references (``listed``: its records by kind), and fill its counts and
    copies (always current). ``strict_counts``: a count given must equal the records counted.

    Broken references are listed after every other error (one line per missing
    record, however many records name it): they are often the echo of another
    mistake, such as a mistyped id.
    """
    ids: dict[str, dict[str, dict[str, Json]]] = {}
    for kind, records in listed.items():
        id_field = rules_of[kind].id_field if kind in rules_of else "id"
        ids[kind] = {str(r[id_field]): r for r in records if isinstance(r, dict) and id_field in r}
    missing: dict[tuple[str, str, str], list[int]] = {}
    # How many records of a kind name each value in a field: counted once, not per record.
    tallies: dict[tuple[str, str], Counter[Json]] = {}
    for rules in rules_of.values():
        for count in rules.counts:
            if (count.of_kind, count.by) not in tallies:
                values = (o.get(count.by) for o in listed.get(count.of_kind, []) if isinstance(o, dict))
                tallies[(count.of_kind, count.by)] = Counter(v for v in values if countable(v))
    for kind, rules in rules_of.items():
        records = listed.get(kind, [])
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                continue
            here = f"{where}.{kind}[{index}]"
            for name, target in rules.refs.items():
                value = record.get(name)
                if value is not None and str(value) not in ids.get(target, {}):
                    missing.setdefault((kind, name, str(value)), []).append(index)
            for count in rules.counts:
                by_id = record.get(rules.id_field)
                if countable(by_id):
                    actual = tallies[(count.of_kind, count.by)][by_id]
                else:  # a list or an object: compared as == compares it
                    actual = sum(
                        1
                        for other in listed.get(count.of_kind, [])
                        if isinstance(other, dict) and other.get(count.by) == by_id
                    )
                given = record.get(count.field, actual)
                if given == actual or not strict_counts or id(record) in generated:
                    record[count.field] = actual
                else:  # left as given, so a schema error on it is reported too
                    errors.append(
                        f"{here}.{count.field}: is {given!r} but {actual} {count.of_kind} record(s) name "
                        f"{by_id!r} in {count.by}; omit it (it is counted) or fix it"
                    )
            for copy in rules.copies:
                parent = ids.get(copy.of_kind, {}).get(str(record.get(copy.via)))
                if parent is not None and copy.source in parent:
                    record[copy.field] = parent[copy.source]
    for (kind, name, value), indexes in missing.items():
        target = rules_of[kind].refs[name]
        more = f" (and {len(indexes) - 1} more record(s))" if len(indexes) > 1 else ""
        late.append(f"{where}.{kind}[{indexes[0]}].{name}{more}: no {target} record {value!r} in this client")


def countable(value: Json) -> bool:
    """Whether ``value`` can be counted in a ``Counter`` (which counts what ``==`` counts)."""
    return value is None or isinstance(value, str | int | float)

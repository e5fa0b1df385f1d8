"""Operations computed from the state: ``x-mock-aggregate`` counts, averages and shares
over a resource's records, as a whole, per group or per period.

Owns: reading an operation's ``x-mock-aggregate`` (the source schema, group-by field and
the ``names`` each group takes from the record it names, time buckets, metrics), its query
parameters as filters, and computing the answer from the calling client's records:
``{metrics}``, ``{data: [{<group>: value, <name>: ..., metrics}]}`` or
``{<bucket param>: value, data: [{period, metrics}]}``. An aggregate that names an unknown
schema, field or metric stops start-up. No Flask, no IO.
May import: ``crud`` (types only), ``errors``, ``resources``, ``spec``, ``store``, ``types``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from .errors import NotFoundError, SpecError
from .resources import Resource, Resources
from .spec import Operation, Spec
from .store import Condition, Store
from .types import Json, MockResponse

if TYPE_CHECKING:
    from .crud import Call

NAME = "x-mock-aggregate"
#: The metrics an aggregate may compute, and what each needs.
METRICS = ("count", "avg", "sum", "share")
#: Time buckets: the value of the bucket parameter -> how a date starts its period.
GRANULARITIES = ("daily", "weekly", "monthly")
#: The most periods one trend answers (a daily trend over ten years is 3,653).
MAX_PERIODS = 4000
#: The filter operators a query parameter of an aggregate may use (``x-mock-filter``).
_OPS = ("eq", "gte", "lte", "contains")


@dataclass(frozen=True)
class Metric:
    """One number (or set of shares) of the answer: ``op`` over ``field`` of the records."""

    name: str
    op: str
    field: str | None = None
    values: tuple[Json, ...] = ()  # share: every value the field may take (from its enum)


@dataclass(frozen=True)
class Aggregate:
    """What one operation computes: ``metrics`` over the ``kind`` records that pass ``filters``."""

    kind: str
    filters: tuple[tuple[str, str, str], ...]  # (query parameter, field, op)
    metrics: tuple[Metric, ...]
    group_by: str | None = None
    bucket_field: str | None = None
    bucket_param: str | None = None
    #: ``(answer field, field of the record the group names)``, and that record's kind.
    names: tuple[tuple[str, str], ...] = ()
    names_kind: str | None = None


def _fail(spec: Spec, where: str, message: str) -> SpecError:
    return SpecError(f"{spec.source}: {where}: {message}")


def _operation_node(spec: Spec, op: Operation) -> Mapping[str, Json]:
    item = spec.document["paths"][op.spec_path]
    node = item.get(op.method.lower()) if isinstance(item, dict) else None
    return node if isinstance(node, dict) else {}


def _param_node(spec: Spec, op: Operation, name: str) -> Mapping[str, Json]:
    item = spec.document["paths"][op.spec_path]
    for source in (_operation_node(spec, op), item):
        for param in source.get("parameters", []) or []:
            node, _ = spec.resolve(param, "")
            if isinstance(node, dict) and node.get("name") == name and node.get("in") == "query":
                return node
    return {}


def read_aggregate(spec: Spec, op: Operation, resources: Resources) -> Aggregate | None:
    """The operation's ``x-mock-aggregate``, checked against the spec; ``None`` when it has none.

    :raises SpecError: an unknown schema, field, metric or query parameter.
    """
    raw = _operation_node(spec, op).get(NAME)
    if raw is None:
        return None
    where = f"paths.{op.spec_path}.{op.method.lower()}.{NAME}"
    if not isinstance(raw, dict) or not isinstance(raw.get("of"), str) or not isinstance(raw.get("metrics"), dict):
        raise _fail(spec, where, "must be {of: <SchemaName>, metrics: {name: count | {avg|sum|share: field}}, ...}")
    extra = set(raw) - {"of", "metrics", "groupBy", "names", "bucket"}
    if extra:
        allowed = "of, metrics, groupBy, names, bucket"
        raise _fail(spec, where, f"unknown key(s) {', '.join(sorted(extra))} (allowed: {allowed})")
    source = next((r for r in resources.by_kind.values() if r.schema_name == raw["of"]), None)
    if source is None:
        known = ", ".join(sorted(r.schema_name for r in resources.by_kind.values()))
        raise _fail(spec, f"{where}.of", f"{raw['of']!r} is not the record schema of a resource ({known})")
    schema = spec.lookup(source.schema_pointer)
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}

    def field_of(value: Json, at: str) -> str:
        if not isinstance(value, str) or value not in source.properties:
            raise _fail(spec, at, f"{value!r} is not a field of {source.schema_name}")
        return value

    metrics = []
    for name, spec_metric in raw["metrics"].items():
        at = f"{where}.metrics.{name}"
        if spec_metric == "count":
            metrics.append(Metric(name, "count"))
            continue
        if not (isinstance(spec_metric, dict) and len(spec_metric) == 1 and next(iter(spec_metric)) in METRICS[1:]):
            raise _fail(spec, at, "must be `count` or one of {avg: field}, {sum: field}, {share: field}")
        op_name, field_name = next(iter(spec_metric.items()))
        field_name = field_of(field_name, f"{at}.{op_name}")
        values: tuple[Json, ...] = ()
        if op_name == "share":
            prop, _ = spec.resolve(props.get(field_name, {}), f"{source.schema_pointer}/properties/{field_name}")
            enum = prop.get("enum") if isinstance(prop, dict) else None
            if not isinstance(enum, list):
                raise _fail(spec, at, f"share needs a field with an enum; {source.schema_name}.{field_name} has none")
            values = tuple(enum)
        metrics.append(Metric(name, op_name, field_name, values))
    group_by = field_of(raw["groupBy"], f"{where}.groupBy") if "groupBy" in raw else None
    names: list[tuple[str, str]] = []
    names_kind = None
    if "names" in raw:
        spec_names = raw["names"]
        target = None
        if isinstance(spec_names, dict) and set(spec_names) == {"from", "fields"} and group_by is not None:
            target = next((r for r in resources.by_kind.values() if r.schema_name == spec_names["from"]), None)
        if target is None or not isinstance(spec_names["fields"], dict):
            message = "must be {from: <SchemaName>, fields: {answer field: field}}, with groupBy naming its ids"
            raise _fail(spec, f"{where}.names", message)
        for answer_field, field_name in spec_names["fields"].items():
            if not isinstance(field_name, str) or field_name not in target.properties:
                raise _fail(
                    spec, f"{where}.names.{answer_field}", f"{field_name!r} is not a field of {target.schema_name}"
                )
            names.append((str(answer_field), field_name))
        names_kind = target.kind
    bucket_field = bucket_param = None
    if "bucket" in raw:
        bucket = raw["bucket"]
        if not (isinstance(bucket, dict) and set(bucket) == {"field", "by"} and isinstance(bucket["by"], str)):
            raise _fail(spec, f"{where}.bucket", "must be {field: <date-time field>, by: <query parameter>}")
        bucket_field = field_of(bucket["field"], f"{where}.bucket.field")
        bucket_param = bucket["by"]
        enum = (_param_node(spec, op, bucket_param).get("schema") or {}).get("enum")
        if not isinstance(enum, list) or not set(enum) <= set(GRANULARITIES):
            message = f"the query parameter {bucket_param!r} needs an enum of {GRANULARITIES}"
            raise _fail(spec, f"{where}.bucket.by", message)
    filters = []
    for param in op.parameters:
        if param.location != "query" or param.name == bucket_param:
            continue
        node = _param_node(spec, op, param.name).get("x-mock-filter")
        if node is None:
            filters.append((param.name, field_of(param.name, f"{where} (query parameter {param.name})"), "eq"))
            continue
        if not (isinstance(node, dict) and isinstance(node.get("field"), str) and node.get("op", "eq") in _OPS):
            raise _fail(spec, f"{where} (query parameter {param.name})", "x-mock-filter must be {field, op}")
        field_name = field_of(node["field"], f"{where} (query parameter {param.name})")
        filters.append((param.name, field_name, str(node.get("op", "eq"))))
    return Aggregate(
        source.kind, tuple(filters), tuple(metrics), group_by, bucket_field, bucket_param, tuple(names), names_kind
    )


def _metric(metric: Metric, records: Sequence[Mapping[str, Json]]) -> Json:
    if metric.op == "count":
        return len(records)
    assert metric.field is not None
    if metric.op == "share":
        total = len(records)
        counts = {value: 0 for value in metric.values if isinstance(value, str)}
        for record in records:
            value = record.get(metric.field)
            if isinstance(value, str) and value in counts:
                counts[value] += 1
        return {value: round(count / total, 4) if total else 0 for value, count in counts.items()}
    numbers = [v for r in records if isinstance(v := r.get(metric.field), int | float) and not isinstance(v, bool)]
    if metric.op == "sum":
        return round(sum(numbers), 2)
    return round(sum(numbers) / len(numbers), 2) if numbers else None


def metrics_of(aggregate: Aggregate, records: Sequence[Mapping[str, Json]]) -> dict[str, Json]:
    """Every metric of ``aggregate`` over ``records``, in the spec's order."""
    return {m.name: _metric(m, records) for m in aggregate.metrics}


def _day(value: Json) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def period_start(day: date, granularity: str) -> date:
    """The first day of the period (``daily``, ``weekly`` from Monday, ``monthly``) holding ``day``."""
    if granularity == "weekly":
        return day - timedelta(days=day.weekday())
    if granularity == "monthly":
        return day.replace(day=1)
    return day


def _next(start: date, granularity: str) -> date:
    if granularity == "monthly":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=7 if granularity == "weekly" else 1)


def _periods(first: date, last: date, granularity: str) -> list[date]:
    periods: list[date] = []
    current = period_start(first, granularity)
    while current <= last and len(periods) < MAX_PERIODS:  # a longer range: its first MAX_PERIODS periods
        periods.append(current)
        if current.year == 9999 and current.month == 12:
            break
        current = _next(current, granularity)
    return periods


def compute(aggregate: Aggregate, records: Sequence[Mapping[str, Json]], query: Mapping[str, Json]) -> Json:
    """The answer of ``aggregate`` over ``records`` (already filtered) for ``query``; a trend
    over more than ``MAX_PERIODS`` periods answers the first ``MAX_PERIODS``."""
    if aggregate.group_by is not None:
        groups: dict[str, list[Mapping[str, Json]]] = {}
        for record in records:
            groups.setdefault(str(record.get(aggregate.group_by)), []).append(record)
        data: list[Json] = [{aggregate.group_by: key, **metrics_of(aggregate, groups[key])} for key in sorted(groups)]
        return {"data": data}
    if aggregate.bucket_field is not None and aggregate.bucket_param is not None:
        granularity = str(query.get(aggregate.bucket_param) or GRANULARITIES[0])
        by_period: dict[date, list[Mapping[str, Json]]] = {}
        for record in records:
            day = _day(record.get(aggregate.bucket_field))
            if day is not None:
                by_period.setdefault(period_start(day, granularity), []).append(record)
        bounds = {op: _day(query.get(p)) for p, field, op in aggregate.filters if field == aggregate.bucket_field}
        first = bounds.get("gte") or min(by_period, default=None)
        last = bounds.get("lte") or max(by_period, default=None)
        periods = _periods(first, last, granularity) if first and last else []
        points: list[Json] = [
            {"period": start.isoformat(), **metrics_of(aggregate, by_period.get(start, []))} for start in periods
        ]
        return {aggregate.bucket_param: granularity, "data": points}
    return metrics_of(aggregate, records)


def aggregate_handler(aggregate: Aggregate, status: int, store: Store) -> Callable[[Call], MockResponse]:
    """The handler that answers ``aggregate`` from the caller's records."""

    def answer(call: Call) -> MockResponse:
        query = call.request.query
        where = [Condition(field, op, query[param]) for param, field, op in aggregate.filters if param in query]
        records, _ = store.list(call.principal, aggregate.kind, offset=0, limit=2**62, where=where)
        body = compute(aggregate, records, query)
        if aggregate.names and aggregate.names_kind is not None and isinstance(body, dict):
            body["data"] = [_named(aggregate, row, call, store) for row in body["data"]]
        return MockResponse(status, body)

    return answer


def _named(aggregate: Aggregate, row: Json, call: Call, store: Store) -> Json:
    """``row`` with the fields ``names`` takes from the record its group names, after the group
    (``null`` when the state holds no such record)."""
    if not isinstance(row, dict) or aggregate.group_by is None or aggregate.names_kind is None:
        return row
    try:
        named = store.get(call.principal, aggregate.names_kind, str(row[aggregate.group_by]))
    except NotFoundError:  # fixtures without that record (recorded from a real API, which serves none)
        named = {}
    head = {aggregate.group_by: row[aggregate.group_by]}
    head |= {answer: named.get(source) for answer, source in aggregate.names}
    return head | row


def bind_aggregates(spec: Spec, resources: Resources, store: Store) -> dict[str, Callable[[Call], MockResponse]]:
    """A handler for every operation of ``spec`` that has ``x-mock-aggregate``, by operationId.

    :raises SpecError: an aggregate is wrong (see ``read_aggregate``).
    """
    bound: dict[str, Callable[[Call], MockResponse]] = {}
    for op in spec.operations:
        aggregate = read_aggregate(spec, op, resources)
        if aggregate is not None:
            bound[op.operation_id] = aggregate_handler(aggregate, op.success_status, store)
    return bound


def source_resource(resources: Resources, aggregate: Aggregate) -> Resource:
    """The resource an aggregate reads."""
    return resources.by_kind[aggregate.kind]

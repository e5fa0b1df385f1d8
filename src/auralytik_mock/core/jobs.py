"""Jobs that move a record through states on the mock's clock: ``x-mock-job``.

Owns: the three roles of ``x-mock-job`` and running a job's steps:

- ``{steps: [{at, set, effect}], seconds, field, from?, failWhen?, failed?, create?, range?}``
  on a POST: starts a job on the record the path names (``/audio-files/{id}/process``), or on
  a record it ``create``\\ s from the body (``/exports/ai-calls``). Step ``at: 0`` applies at
  once; each later one is a scheduler task (``call.scheduler``) due ``at`` x ``seconds`` later
  (``--job-seconds`` overrides every job's ``seconds``). A step ``set``\\ s fields (``$now``:
  the clock at that step) and may run an ``effect``: a function of the spec's vendor profile
  (``profiles/<name>/jobs.py``, ``EFFECTS``), which makes what the vendor makes (a transcript,
  an evaluation, a file) and emits its events. ``from`` lists the states the job may start in
  (else 409 ``INVALID_STATE``); ``failWhen: {field, contains}`` (the record's field, else the
  request body's) makes the job take the ``failed`` step (at its ``at``) instead of the steps
  from there on; ``range: {from, to, maxDays}`` refuses a body whose date range is longer
  (400 ``DATE_RANGE_TOO_LONG``);
- ``{reports: operationId}`` on a GET under the record's path: answers the record in the
  documented shape (``processing-status``), with ``<schema>Id`` (``audioFileId``);
- ``{file: name}`` on a GET under the record's path with no security: serves
  the profile's ``FILES[name]`` through a signed link (``links.check_link``), which an effect
  makes with ``JobRun.file_link(ttl)``.

A job's tasks carry its run token: a record started again (or reset) ignores the older run's
steps. What a job remembers (the host its links point at, the request body, the run token) is
kept with the record, hidden (``job``). Tasks are data, so ``--persist`` keeps pending steps.
No Flask, no IO.
May import: ``crud`` (``Crud``, ``Call``), ``discover``, ``errors``, ``events`` and ``scheduler``
(types), ``fill``, ``links``, ``profile``, ``resources``, ``spec``, ``store``, ``types``.
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .discover import Resource
from .errors import ApiError, ConflictError, InvalidRequestError, NotFoundError, SpecError, Violation
from .fill import conform
from .links import check_link, link_query
from .profile import Profile
from .resources import Resources
from .spec import Operation, Spec
from .store import Store
from .types import Json, MockResponse, Principal

if TYPE_CHECKING:
    from .crud import Call, Crud
    from .events import Events
    from .scheduler import Scheduler

NAME = "x-mock-job"
#: The scheduler's task kind of a job's step.
TASK = "x-mock-job.step"
#: Where a job's memory is kept with its record (hidden from the API).
JOB_FIELD = "job"


class Runtime(Protocol):
    """What runs a job's steps: the engine's scheduler and events, and each dataset's now."""

    @property
    def scheduler(self) -> Scheduler: ...

    @property
    def events(self) -> Events: ...

    def now(self, namespace: str = ...) -> str: ...


@dataclass(frozen=True)
class Step:
    """One step: at ``at`` of the job's time, ``set`` these fields, then run ``effect``."""

    at: float
    set: Mapping[str, Json]
    effect: str | None = None


@dataclass(frozen=True)
class JobSpec:
    """One ``x-mock-job`` starting operation, read from the spec."""

    operation: Operation
    resource: Resource
    steps: tuple[Step, ...]
    seconds: float
    state_field: str
    starts_from: frozenset[str] | None = None
    fail_when: tuple[str, str] | None = None
    failed: Step | None = None
    create: bool = False
    date_range: tuple[str, str, int] | None = None


@dataclass
class JobRun:
    """What an effect gets: the record, its owner, the clock, and ways to make what the vendor makes.

    :param record: the record as the API shows it, after the step's ``set``.
    :param memory: the job's hidden memory (``host``, ``request``: the body that started it).
    """

    spec: Spec
    resources: Resources
    store: Store
    runtime: Runtime
    principal: Principal
    resource: Resource
    record: dict[str, Json]
    now: str
    memory: dict[str, Json]
    jobs: Jobs
    changes: dict[str, Json] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.principal.namespace

    @property
    def record_id(self) -> str:
        return str(self.record[self.resource.id_field])

    def emit(self, event: str, data: dict[str, Json]) -> str:
        """Fire ``event`` for the record's client (webhooks hear it); returns its id."""
        return self.runtime.events.emit(self.namespace, self.principal.client_id, event, data)

    def update(self, changes: Mapping[str, Json]) -> dict[str, Json]:
        """Change the record (hidden fields included); returns it as the API shows it."""
        self.record = self.store.update(self.principal, self.resource.kind, self.record_id, changes)
        return self.record

    def file_link(self, ttl: int) -> tuple[str, str]:
        """A signed link to the record's file (its ``x-mock-job: {file}`` operation), valid ``ttl``
        seconds from now: ``(url, expiresAt)``.

        :raises LookupError: no operation serves a file of this record.
        """
        op = next((op for op, resource in self.jobs.files.values() if resource is self.resource), None)
        if op is None:
            raise LookupError(f"no x-mock-job file operation serves {self.resource.schema_name}")
        expires = int(_instant(self.now).timestamp()) + ttl
        query = link_query(self.namespace, self.principal.client_id, self.record_id, expires)
        path = op.path.replace("{" + self.resource.id_param + "}", quote(self.record_id, safe=""))
        host = str(self.memory.get("host") or "")
        url = (f"http://{host}" if host else "") + f"{path}?{urlencode(query)}"
        return url, datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: An effect of the vendor's profile: what a step makes besides its fields.
Effect = Callable[[JobRun], None]
#: A file of the vendor's profile: ``(bytes, content type, file name)`` for a job's record.
FileMaker = Callable[[JobRun], tuple[bytes, str, str]]


def _instant(moment: str) -> datetime:
    return datetime.fromisoformat(moment.upper().replace("Z", "+00:00")).astimezone(UTC)


def _later(moment: str, seconds: float) -> str:
    return (_instant(moment) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner(resources: Resources, op: Operation) -> Resource | None:
    for resource in resources.by_kind.values():
        if resource.item_path and (
            op.spec_path == resource.item_path or op.spec_path.startswith(resource.item_path + "/")
        ):
            return resource
    return None


def _profile_module(profile: Profile) -> tuple[dict[str, Effect], dict[str, FileMaker]]:
    """The profile's ``EFFECTS`` and ``FILES`` (``profiles/<name>/jobs.py``), if it has them."""
    try:
        module = importlib.import_module(f"auralytik_mock.profiles.{profile.name}.jobs")
    except ModuleNotFoundError:
        return {}, {}
    return dict(getattr(module, "EFFECTS", {})), dict(getattr(module, "FILES", {}))


class Jobs:
    """Every ``x-mock-job`` of one spec, bound to one store: the handlers and the step runner."""

    def __init__(
        self, spec: Spec, resources: Resources, store: Store, crud: Crud, profile: Profile, seconds: float | None
    ) -> None:
        self.spec, self.resources, self.store, self.crud = spec, resources, store, crud
        self.effects, self.makers = _profile_module(profile)
        self.starts: dict[str, JobSpec] = {}
        #: operationId -> (the operation serving a record's file, the record's resource)
        self.files: dict[str, tuple[Operation, Resource]] = {}
        self.handlers: dict[str, Callable[[Call], MockResponse]] = {}
        reports: list[tuple[Operation, str, str]] = []
        for op, raw, where in spec.operations_with(NAME):
            if not isinstance(raw, dict):
                raise SpecError(f"{where}: must be a mapping (steps, reports or file)")
            if "reports" in raw:
                reports.append((op, str(raw["reports"]), where))
            elif "file" in raw:
                self._file(op, raw, where)
            else:
                self.starts[op.operation_id] = self._start(op, raw, where, seconds)
                self.handlers[op.operation_id] = self._starter(self.starts[op.operation_id])
        for op, started_by, where in reports:
            job = self.starts.get(started_by)
            owner = _owner(resources, op)
            if job is None or owner is not job.resource:
                raise SpecError(f"{where}: reports names {started_by!r}, which must start a job on this record")
            self.handlers[op.operation_id] = self._reporter(op, owner)

    # -- reading the spec ---------------------------------------------------------------

    def _step(self, raw: Json, where: str, resource: Resource) -> Step:
        if not (isinstance(raw, dict) and set(raw) <= {"at", "set", "effect"} and isinstance(raw.get("set", {}), dict)):
            raise SpecError(f"{where}: a step is {{at: 0..1, set: {{field: value}}, effect: name}}")
        at = raw.get("at", 0)
        if not isinstance(at, int | float) or isinstance(at, bool) or not 0 <= at <= 1:
            raise SpecError(f"{where}.at: a share of the job's time, from 0 to 1")
        changes = dict(raw.get("set", {}))
        unknown = sorted(set(changes) - set(resource.properties))
        if unknown:
            raise SpecError(f"{where}.set: {resource.schema_name} has no field {', '.join(unknown)}")
        effect = raw.get("effect")
        if effect is not None and effect not in self.effects:
            known = ", ".join(sorted(self.effects)) or "none"
            raise SpecError(f"{where}.effect: the profile has no effect {effect!r} (it has: {known})")
        return Step(float(at), changes, None if effect is None else str(effect))

    def _start(self, op: Operation, raw: Mapping[str, Json], where: str, seconds: float | None) -> JobSpec:
        known = {"steps", "seconds", "field", "from", "failWhen", "failed", "create", "range"}
        if not set(raw) <= known or not isinstance(raw.get("steps"), list) or not raw["steps"]:
            raise SpecError(
                f"{where}: must be {{steps: [...], seconds, field, from?, failWhen?, failed?, create?, range?}}"
            )
        create = raw.get("create")
        if create is not None:
            resource = next((r for r in self.resources.by_kind.values() if r.schema_name == create), None)
            if resource is None:
                raise SpecError(f"{where}.create: {create!r} is not a resource's record schema")
        else:
            found = _owner(self.resources, op)
            if found is None:
                raise SpecError(f"{where}: a job without create goes on an operation under a record's path")
            resource = found
        steps = tuple(self._step(s, f"{where}.steps[{i}]", resource) for i, s in enumerate(raw["steps"]))
        if steps[0].at != 0 or [s.at for s in steps] != sorted(s.at for s in steps):
            raise SpecError(f"{where}.steps: the first step is at 0, and the steps go in order of `at`")
        failed = self._step(raw["failed"], f"{where}.failed", resource) if "failed" in raw else None
        fail_when = raw.get("failWhen")
        if fail_when is not None and not (
            isinstance(fail_when, dict) and set(fail_when) == {"field", "contains"} and failed is not None
        ):
            raise SpecError(f"{where}.failWhen: must be {{field: name, contains: text}}, with a `failed` step")
        span = raw.get("range")
        date_range = None
        if span is not None:
            if not (
                isinstance(span, dict) and set(span) == {"from", "to", "maxDays"} and isinstance(span["maxDays"], int)
            ):
                raise SpecError(f"{where}.range: must be {{from: field, to: field, maxDays: N}}")
            date_range = (str(span["from"]), str(span["to"]), int(span["maxDays"]))
        given = raw.get("seconds", 10)
        if not isinstance(given, int | float) or isinstance(given, bool) or given < 0:
            raise SpecError(f"{where}.seconds: a number of seconds")
        starts_from = raw.get("from")
        return JobSpec(
            op,
            resource,
            steps,
            float(given if seconds is None else seconds),
            str(raw.get("field", "status")),
            frozenset(map(str, starts_from)) if isinstance(starts_from, list) else None,
            (str(fail_when["field"]), str(fail_when["contains"]).lower()) if isinstance(fail_when, dict) else None,
            failed,
            create is not None,
            date_range,
        )

    def _file(self, op: Operation, raw: Mapping[str, Json], where: str) -> None:
        maker = self.makers.get(str(raw.get("file")))
        resource = _owner(self.resources, op)
        if set(raw) != {"file"} or maker is None or resource is None or op.method != "GET":
            known = ", ".join(sorted(self.makers)) or "none"
            raise SpecError(f"{where}: must be {{file: <a file of the profile: {known}>}} on a GET under a record")
        self.files[op.operation_id] = (op, resource)
        self.handlers[op.operation_id] = self._server(op, resource, maker)

    # -- the handlers ---------------------------------------------------------------------

    def view(self, op: Operation, resource: Resource, record: dict[str, Json]) -> Json:
        """``record`` as ``op`` documents its answer: the record itself, or a shape made from it."""
        response = op.response_for(op.success_status)
        if response is None or response.schema_pointer is None or response.schema_pointer == resource.schema_pointer:
            return record
        name = resource.schema_name[:1].lower() + resource.schema_name[1:] + "Id"
        node = self.spec.lookup(response.schema_pointer)
        return conform(self.spec, node, response.schema_pointer, {**record, name: record.get(resource.id_field)})

    def _reporter(self, op: Operation, resource: Resource) -> Callable[[Call], MockResponse]:
        def report(call: Call) -> MockResponse:
            record = self.store.get(call.principal, resource.kind, str(call.request.path[resource.id_param]))
            return MockResponse(op.success_status, self.view(op, resource, record))

        return report

    def _server(self, op: Operation, resource: Resource, maker: FileMaker) -> Callable[[Call], MockResponse]:
        def serve(call: Call) -> MockResponse:
            record_id = str(call.request.path[resource.id_param])
            owner = check_link(call, record_id, "poll the job for a new one")
            record = self.store.get(owner, resource.kind, record_id)
            memory = self.store.hidden(owner, resource.kind, record_id, JOB_FIELD)
            run = JobRun(
                self.spec, self.resources, self.store, _NoRuntime(), owner, resource, record, call.now,
                dict(memory) if isinstance(memory, dict) else {}, self,
            )  # fmt: skip
            data, content_type, name = maker(run)
            headers = {"Content-Disposition": f'attachment; filename="{name}"'}
            return MockResponse(op.success_status, None, headers, raw=data, content_type=content_type)

        return serve

    def _check_range(self, job: JobSpec, body: Mapping[str, Json]) -> None:
        if job.date_range is None:
            return
        start_name, end_name, days = job.date_range
        try:
            start = date.fromisoformat(str(body.get(start_name)))
            end = date.fromisoformat(str(body.get(end_name)))
        except ValueError:
            return  # the schema said so already
        if end < start:
            raise InvalidRequestError(
                f"{end_name} is before {start_name}.",
                details=[Violation(f"body.{end_name}", f"must be on or after {start_name} ({start.isoformat()})")],
            )
        span = (end - start).days + 1
        if span > days:
            raise InvalidRequestError(
                f"The date range is {span} days long; an export covers at most {days} days ({start_name} and "
                f"{end_name} both count).",
                details=[Violation(f"body.{end_name}", f"must be at most {days} days from {start_name}, both counted")],
                code="DATE_RANGE_TOO_LONG",
            )

    def _starter(self, job: JobSpec) -> Callable[[Call], MockResponse]:
        resource, op = job.resource, job.operation

        def start(call: Call) -> MockResponse:
            body = dict(call.request.body) if isinstance(call.request.body, dict) else {}
            if job.create:
                self._check_range(job, body)
                timezone = body.get("timezone")
                if isinstance(timezone, str):
                    try:
                        ZoneInfo(timezone)
                    except (ZoneInfoNotFoundError, ValueError):
                        raise InvalidRequestError(
                            f"timezone {timezone!r} is not an IANA time zone (such as America/Santiago).",
                            details=[Violation("body.timezone", "must be an IANA time zone name")],
                        ) from None
                fields = {k: v for k, v in body.items() if k in resource.properties and k != job.state_field}
                fields = self.crud.new_fields(resource, fields, call)
                record = self.store.create(call.principal, resource.kind, resource.id_prefix, fields)
                record_id = str(record[resource.id_field])
            else:
                record_id = str(call.request.path[resource.id_param])
                record = self.store.get(call.principal, resource.kind, record_id)
                state = record.get(job.state_field)
                if job.starts_from is not None and state not in job.starts_from:
                    allowed = ", ".join(sorted(job.starts_from))
                    raise ConflictError(
                        f"The {resource.noun()} {record_id!r} is {state}; "
                        f"{op.operation_id} takes one that is {allowed}.",
                        code="INVALID_STATE",
                    )
            token = secrets.token_hex(8)
            memory: dict[str, Json] = {"run": token, "host": call.request.host, "request": body}
            self.store.update(call.principal, resource.kind, record_id, {JOB_FIELD: memory})
            steps = list(job.steps)
            fails = (
                job.fail_when is not None
                and job.fail_when[1] in str(record.get(job.fail_when[0], body.get(job.fail_when[0], ""))).lower()
            )  # the record's field, else the request's (an export's filter is not stored)
            if fails and job.failed is not None:
                steps = [s for s in steps if s.at < job.failed.at] + [job.failed]
            scheduler = call.scheduler
            if scheduler is None:
                raise ApiError("This mock runs no scheduler: jobs need the Engine's (Engine, MockServer, create_app).")
            record = self.apply(job, steps[0], call.principal, record_id, call.now, _CallRuntime(call))
            namespace = call.principal.namespace
            for index, step in enumerate(steps[1:], start=1):
                payload: dict[str, Json] = {
                    "op": op.operation_id,
                    "client": call.principal.client_id,
                    "id": record_id,
                    "run": token,
                    "step": index,
                    "failed": fails,
                }
                scheduler.schedule(namespace, _later(call.now, step.at * job.seconds), TASK, payload)
            return MockResponse(op.success_status, self.view(op, resource, record))

        return start

    # -- running steps ----------------------------------------------------------------------

    def apply(
        self, job: JobSpec, step: Step, principal: Principal, record_id: str, now: str, runtime: Runtime
    ) -> dict[str, Json]:
        """Set the step's fields and run its effect; returns the record as the API shows it."""
        changes = {k: (now if v == "$now" else v) for k, v in step.set.items()}
        record = self.store.update(principal, job.resource.kind, record_id, changes)
        if step.effect is not None:
            memory = self.store.hidden(principal, job.resource.kind, record_id, JOB_FIELD)
            run = JobRun(
                self.spec, self.resources, self.store, runtime, principal, job.resource, record, now,
                dict(memory) if isinstance(memory, dict) else {}, self,
            )  # fmt: skip
            self.effects[step.effect](run)
            record = run.record
        return record

    def run_step(self, runtime: Runtime, namespace: str, payload: Mapping[str, Json]) -> None:
        """The scheduler's task: one later step of a job (skipped if the record was started again or is gone)."""
        job = self.starts.get(str(payload.get("op")))
        if job is None:
            return
        principal = Principal("", str(payload.get("client")), frozenset(), namespace)
        record_id = str(payload.get("id"))
        try:
            memory = self.store.hidden(principal, job.resource.kind, record_id, JOB_FIELD)
        except (NotFoundError, KeyError):
            return
        if not isinstance(memory, dict) or memory.get("run") != payload.get("run"):
            return
        steps = list(job.steps)
        if payload.get("failed") and job.failed is not None:
            steps = [s for s in steps if s.at < job.failed.at] + [job.failed]
        index = payload.get("step")
        if not isinstance(index, int) or not 0 <= index < len(steps):
            return
        self.apply(job, steps[index], principal, record_id, runtime.now(namespace), runtime)


class _CallRuntime:
    """A request's view of the engine (what a step applied at once needs)."""

    def __init__(self, call: Call) -> None:
        self._call = call

    @property
    def scheduler(self) -> Scheduler:
        assert self._call.scheduler is not None
        return self._call.scheduler

    @property
    def events(self) -> Events:
        assert self._call.events is not None
        return self._call.events

    def now(self, namespace: str = "") -> str:
        return self._call.now


class _NoRuntime:
    """Serving a file runs no step: nothing to schedule or emit."""

    @property
    def scheduler(self) -> Scheduler:
        raise RuntimeError("no scheduler while serving a file")

    @property
    def events(self) -> Events:
        raise RuntimeError("no events while serving a file")

    def now(self, namespace: str = "") -> str:
        raise RuntimeError("no clock while serving a file")

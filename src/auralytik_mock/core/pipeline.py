"""The request pipeline: one API call in, one ``MockResponse`` out, over one ``World``.

Owns: the immutable ``World`` built from one version of spec and fixtures (``build_world``),
and the order of the steps of an API call (route -> faults -> authenticate -> authorize ->
``Prefer`` -> validate -> handler -> self-check), CORS on the spec's paths (preflights).
Each step's work lives in its own module (routing, faults, auth, validation, handlers);
this module only runs them in order. What outlives one world (sessions, their journals,
fault rules and clocks, the admin API, reload, persistence) is the harness's
(``harness/sandbox.py``, the ``Engine``); the pipeline asks it through ``Datasets``.
No Flask, no IO, no harness.
May import: every other ``core`` module, ``config``.
"""

from __future__ import annotations

import gc
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ..config import Config, bundled_fixtures_dir
from .answers import Answers
from .auth import Authenticator, Caller
from .cors import Cors
from .crud import Crud
from .error_render import ErrorRenderer
from .errors import (
    ApiError,
    ContractViolationError,
    MethodNotAllowedError,
    NotFoundError,
    Violation,
)
from .events import Events
from .faults import FaultRules, forced_error, read_prefer
from .fixtures import FixtureLoader, SeedCache, files_digest, fixture_files
from .handlers import Call, Handler, HookRegistry, bind_handlers, default_registry, store_rules
from .jobs import Jobs
from .profile import Profile, profile_for, realm_for
from .resources import Resources, build_resources
from .routing import Match, Router
from .scheduler import Scheduler
from .spec import Operation, Spec
from .store import DEFAULT_NAMESPACE, ClientSeed, Store, timestamp
from .types import Json, MockRequest, MockResponse, Principal
from .validation import RequestValidator, ResponseChecker, SchemaSet
from .webhooks import WebhookRegistry

log = logging.getLogger("auralytik_mock")

#: The one client a spec served without fixtures has (no keys: any key is its, see ``World.lookup``).
DEFAULT_CLIENT = ClientSeed("default", "Default client", ())


@dataclass(frozen=True)
class World:
    """Everything built from one version of the spec and fixtures (swapped whole on reload)."""

    spec: Spec
    schemas: SchemaSet
    router: Router
    validator: RequestValidator
    checker: ResponseChecker
    handlers: dict[str, Handler]
    loader: FixtureLoader
    resources: Resources
    store: Store
    auth: Authenticator
    #: What is the vendor's (``x-mock-profile``; the generic profile for any other spec).
    profile: Profile
    #: Renders every refusal: the profile's envelope, or the spec's own shapes.
    errors: ErrorRenderer
    #: No fixtures: any well-formed key is the default client's, with every scope.
    open_keys: bool = False
    #: The fixture files' digest when they were loaded (``reload`` compares it, not the seed).
    fixtures_digest: str = ""
    #: The fixture files or folders loaded (``--watch`` polls them).
    fixture_paths: tuple[Path, ...] = ()
    #: The spec's ``x-mock-job``s: what the scheduler's job steps run (``Jobs.run_step``).
    jobs: Jobs | None = None


def key_lookup(world: World) -> Callable[[str], Principal | None]:
    """How ``world`` finds the principal of a key: the store's keys; without fixtures, any key
    not in the store (a session's keys are) is the default client's, with every scope."""
    if not world.open_keys:
        return world.store.lookup_key
    scopes = frozenset(world.spec.scopes) | {"*"}
    store = world.store

    def lookup(token: str) -> Principal | None:
        return store.lookup_key(token) or Principal(token, DEFAULT_CLIENT.id, scopes)

    return lookup


def build_world(config: Config, hooks: HookRegistry | None = None, seeds: SeedCache | None = None) -> World:
    """Load and check spec and fixtures, compile validators, bind handlers.

    :param hooks: the hooks to bind (default: ``@handles``' registry), read once here.
    :param seeds: where fixture seeds are kept between builds (default: ``default_seeds``,
        shared by every mock: a seed is never changed after loading).

    :raises SpecError: the spec cannot drive the mock.
    :raises FixtureError: a fixture is not valid.
    """
    with _no_collections():
        return _build_world(config, hooks, seeds)


@contextmanager
def _no_collections() -> Iterator[None]:
    """Building a world makes tens of thousands of objects (records, validators) and little
    garbage: the cyclic collector, run meanwhile, would walk them all again and again (a
    fifth of a build). It is paused for the build; then what the process holds is moved to
    the oldest generation as it is (``gc.freeze`` and ``unfreeze``, which walk nothing), so
    the first collections after the build do not walk the world either (they took 10 ms of
    the first request). Everything stays collectable, by the full collections. Both are
    process-wide: not done when something else froze objects on purpose (a save's fork)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if collecting:
            gc.enable()


def _build_world(config: Config, hooks: HookRegistry | None, seeds: SeedCache | None) -> World:
    spec = Spec.load(config.resolved_spec_path)
    profile = profile_for(spec.document)
    schemas = SchemaSet(spec)
    registry = (default_registry if hooks is None else hooks).copy()
    paths = fixture_paths(config, profile)
    resources = build_resources(spec, registry.hooked(), fixtures=bool(paths))
    loader = FixtureLoader(
        schemas,
        resources.kinds(),
        spec.scopes,
        rules=store_rules(resources),
        extras=resources.extras(),
        now=config.clock,
        seeds=seeds,
    )
    # Taken before the files are read: an edit made meanwhile shows as a change next time.
    digest = files_digest(fixture_files(paths))
    open_keys = not paths
    seed = loader.load_paths(paths) if not open_keys else (DEFAULT_CLIENT,)
    store = Store(seed, max_sessions=config.max_sessions, rules=store_rules(resources))
    answers = Answers(spec, schemas)
    jobs = Jobs(spec, resources, store, Crud(spec, store, answers, schemas.bad_fields), profile, config.job_seconds)
    return World(
        spec=spec,
        schemas=schemas,
        router=Router(spec.served, spec.base_paths),
        validator=RequestValidator(spec, schemas, config.max_body_bytes),
        checker=ResponseChecker(spec, schemas),
        handlers=bind_handlers(
            spec,
            resources,
            store,
            answer=answers,
            hooks=registry,
            misfits=schemas.bad_fields,
            computed_elsewhere=jobs.handlers,
        ),
        resources=resources,
        loader=loader,
        store=store,
        auth=Authenticator(
            spec,
            window=config.signature_window,
            reject_replays=config.reject_replays,
            profile=profile,
            realm=realm_for(profile, spec.document),
        ),
        profile=profile,
        errors=ErrorRenderer(spec, profile, strict=config.validate_responses),
        fixtures_digest=digest,
        open_keys=open_keys,
        fixture_paths=paths,
        jobs=jobs,
    )


def fixture_paths(config: Config, profile: Profile) -> tuple[Path, ...]:
    """The fixtures a world loads: ``--fixtures``; else the bundled ones for the bundled spec or
    a spec whose profile brings them (``fixtures: bundled``); else none (one default client)."""
    if config.resolved_fixtures:
        return config.resolved_fixtures
    return (bundled_fixtures_dir(),) if profile.bundled_fixtures else ()


@dataclass
class Seen:
    """What the pipeline learned before it answered (for the journal and the self-check)."""

    operation: Operation | None = None
    #: Who the request says it is (read once, before routing).
    caller: Caller | None = None
    principal: Principal | None = None
    body: Json = None
    body_parsed: bool = False
    #: Seconds every answer to this API call waits (latency, ``Prefer: delay=``, fault rules).
    delay: float = 0.0
    #: The code of the error answered, whatever shape the answer took (for the journal).
    error_code: str | None = None


def new_request_id() -> str:
    """A fresh request id (``req_`` and 16 hex digits)."""
    # Not os.urandom: a getrandom() syscall per request for nothing. A request id must be
    # unique enough to find a request in a log, not unpredictable.
    return f"req_{random.getrandbits(64):016x}"


_NOW: list[tuple[int, str]] = [(-1, "")]


def now_text() -> str:
    """The real UTC time to the second, in RFC 3339 (formatted once a second: a POST asked
    for it twice, and ``strftime`` was a tenth of the engine's time)."""
    second = int(time.time())
    cached = _NOW[0]
    if cached[0] == second:
        return cached[1]
    text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _NOW[0] = (second, text)  # one tuple swapped whole: safe across threads
    return text


class Datasets(Protocol):
    """What the pipeline asks about datasets (the default one and the sessions): the
    harness's ``Engine`` answers."""

    def has_fault_rules(self) -> bool:
        """Whether any dataset may hold fault rules (``False``: no key lookup for them)."""
        ...

    def fault_rules(self, namespace: str) -> FaultRules | None:
        """The fault rules of ``namespace`` (``None``: it has none yet)."""
        ...

    def pinned_clock(self, namespace: str) -> str | None:
        """``namespace``'s pinned clock (``None``: real time)."""
        ...

    @property
    def scheduler(self) -> Scheduler:
        """Work due later on a dataset's clock (handlers get it as ``call.scheduler``)."""
        ...

    @property
    def events(self) -> Events:
        """What happened, for the webhooks (handlers get it as ``call.events``)."""
        ...

    @property
    def webhooks(self) -> WebhookRegistry:
        """Each dataset's webhooks (handlers get it as ``call.webhooks``)."""
        ...


class Pipeline:
    """Answers the spec's paths (API calls and their CORS preflights) over a ``World``.

    :param config: the settings (auth on or off, latency, body limits, CORS origins).
    :param datasets: the fault rules and clocks of each dataset.
    """

    def __init__(self, config: Config, datasets: Datasets) -> None:
        self.config = config
        self.cors = Cors(config.cors_origins)
        self.datasets = datasets

    def answer(self, world: World, request: MockRequest, seen: Seen, request_id: str = "") -> MockResponse:
        """Answer one request to the spec's paths.

        :raises ApiError: the answer is an error (the caller renders it).
        """
        seen.caller = self.identify(world, request)
        if request.method == "OPTIONS":
            return self._options(world, request)
        return self._api(world, request, seen, request_id)

    def now(self, namespace: str = DEFAULT_NAMESPACE) -> str:
        """Now, as the handlers of ``namespace`` see it: its pinned clock or the real UTC time."""
        return self.datasets.pinned_clock(namespace) or now_text()

    def _options(self, world: World, request: MockRequest) -> MockResponse:
        allowed = world.router.allowed_methods(request.path)
        if allowed is None:
            raise NotFoundError(f"No route matches OPTIONS {request.path}.")
        origin = request.header("Origin")
        method = request.header("Access-Control-Request-Method")
        if origin is not None and method is not None:
            if not self.cors.allows(origin):
                return world.errors.render(
                    ApiError(
                        f"CORS: origin {origin!r} may not call this mock; "
                        "allow it with --cors-origin or AURALYTIK_MOCK_CORS_ORIGINS.",
                        code="CORS_ORIGIN_NOT_ALLOWED",
                    ),
                    "",
                    None,
                    403,
                )
            answer = self.cors.preflight(origin, method, request.header("Access-Control-Request-Headers"), allowed)
            if answer is None:
                raise MethodNotAllowedError(
                    f"CORS: {method} is not allowed on {request.path}; allowed: {', '.join(allowed)}.",
                    allowed=allowed,
                )
            return answer
        return MockResponse(204, None, {"Allow": ", ".join(allowed)})

    def _api(self, world: World, request: MockRequest, seen: Seen, request_id: str = "") -> MockResponse:
        # Latency first, so that every answer waits alike: 404, 405, 401, 403 and 400
        # included (a client's loading state shows on its error paths too).
        seen.delay = self._latency()
        prefer_text = request.header("Prefer")
        prefer = read_prefer(prefer_text) if prefer_text else None
        if prefer is not None:
            seen.delay += prefer.delay
        match = world.router.match(request.method, request.path, request.query)
        op = seen.operation = match.operation
        fault = None
        caller = seen.caller or self.identify(world, request)
        if self.datasets.has_fault_rules():
            rules = self.datasets.fault_rules(caller.namespace)
            fault = rules.take(request.method, op, request.path) if rules is not None else None
        if fault is not None:
            seen.delay += fault.delay_ms / 1000
            if fault.drop:
                return MockResponse(0, None, drop_connection=True)
            if fault.status is not None:
                raise self._forced(world, request, caller, match, fault.status, f"faultRule.{fault.id}", None)
        principal: Principal | None = None
        if op.security:
            if self.config.enforce_auth:
                principal = seen.principal = world.auth.authenticate(op, request, caller, self._now_seconds)
                world.auth.authorize(op, principal)
            else:  # --no-auth: the caller's key, else the first one, with every scope
                base = caller.principal or world.store.first_principal()
                principal = seen.principal = Principal(base.key, base.client_id, frozenset({"*"}), base.namespace)
        if prefer is not None:
            status = prefer.forced_status(op)
            if status is not None:
                raise self._forced(world, request, caller, match, status, "header.Prefer", principal)
        valid = world.validator.validate(op, request, match.path_params)
        seen.body, seen.body_parsed = valid.body, True
        handler = world.handlers[op.operation_id]
        if principal is None:
            principal = world.store.first_principal()
        datasets = self.datasets
        return handler(
            Call(
                op,
                principal,
                valid,
                self.now(principal.namespace),
                request_id,
                datasets.scheduler,
                datasets.events,
                datasets.webhooks,
                prefer_text,
            )
        )

    def _forced(
        self,
        world: World,
        request: MockRequest,
        caller: Caller,
        match: Match,
        status: int,
        source: str,
        principal: Principal | None,
    ) -> ApiError:
        """A forced error, rendered from this request as a real one would be (``source``:
        ``header.Prefer`` or ``faultRule.<id>``, what forced it); auth builds a 401 or 403."""
        rule = source.removeprefix("faultRule.")
        why = f"forced by fault rule {rule}" if rule != source else f"forced by 'Prefer: code={status}'"
        op = match.operation
        return forced_error(
            op,
            status,
            why,
            source=source,
            refusal=world.auth.forced(op, request, caller, status, principal) if status in (401, 403) else None,
            path_params=match.path_params,
            max_body_bytes=self.config.max_body_bytes,
        )

    def _now_seconds(self, principal: Principal) -> int:
        """Now in Unix seconds for a signed request's timestamp window (its dataset's pinned clock, if any)."""
        pinned = self.datasets.pinned_clock(principal.namespace)
        return int(timestamp(pinned)) if pinned else int(time.time())

    @staticmethod
    def identify(world: World, request: MockRequest) -> Caller:
        """Who ``request`` says it is, by ``world``'s keys (read once per request)."""
        return world.auth.identify(request, key_lookup(world))

    def _latency(self) -> float:
        low, high = self.config.latency_ms
        if high <= 0:
            return 0.0
        return random.uniform(low, high) / 1000

    def self_check(self, world: World, op: Operation, response: MockResponse, request_id: str) -> MockResponse:
        headers = {**response.headers, "X-Request-Id": request_id}
        if response.raw is not None:  # not JSON: which documented media type it is
            headers["Content-Type"] = response.content_type
        problems = world.checker.violations(op, response.status, response.body, headers)
        if not problems:
            return response
        log.error("contract violation in %s %s: %s", op.method, op.path, "; ".join(problems))
        error = ContractViolationError(
            f"The mock was about to answer outside openapi.yaml ({op.operation_id}, {response.status}).",
            details=[Violation("response", p) for p in problems],
        )
        return world.errors.render(error, request_id, op)

"""A verify run: the sequence sent to the target and to the mock, compared step by step.

Owns: ``Verifier`` (builds the mock in process from the configuration, the plan, both
sides and their keys; sends each step to the target then to the mock; stops when the
target refuses the main key or cannot be reached) and ``verify`` (a run, its report
printed and the files asked for written, every key masked).

Writes the report files. May import: every module of ``verify``, ``config``,
``core.pipeline``, ``core.spec``, ``core.validation``, ``core.journal``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..config import Config
from ..core.journal import mask_key
from ..core.spec import HMAC
from ..core.validation import SchemaSet
from ..harness.sandbox import Engine
from .answer import Transport
from .auth import mock_auths, scheme_for, vendor_auths
from .compare import Comparer
from .options import Options, VerifyError, scrub
from .outcome import Outcome, Sent, StepResult
from .paths import Placement
from .plan import Planner
from .record import Recorder
from .report import render_json, render_junit, render_text
from .sides import Sender, Side
from .transport import EngineTransport, HttpTransport, Limits


class Verifier:
    """Runs the sequence against the target and the mock, and collects drift.

    :param config: the mock's configuration (its spec and fixtures are the contract).
    :param options: target, keys and safety switches.
    :param target: the target's transport (``HttpTransport`` on ``options.base_url`` by default).
    :param say: where progress lines go (scrubbed of keys first).
    """

    def __init__(
        self,
        config: Config,
        options: Options,
        *,
        target: Transport | None = None,
        say: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.say_raw = say
        self.engine = Engine(config.with_options(access_log=False, validate_responses=False, watch=False))
        self.spec = self.engine.spec
        self.schemas = SchemaSet(self.spec)
        self.planner = Planner(self.spec, self.schemas)
        self.limits = Limits.of(options)
        self.http = HttpTransport(options.base_url, limits=self.limits, sleep=sleep, say=self.say)
        self.placement = Placement(self.spec, self.http.base_path)
        self.scheme = scheme_for(self.spec, self.placement.matched_base, secret=options.secret is not None)
        self.comparer = Comparer(self.planner, self.schemas)
        self.sender = Sender(self.planner)
        self.target_transport: Transport = target or self.http
        self.vendor = Side(
            "vendor", self.target_transport, vendor_auths(options, self.scheme), self.placement.target_prefix
        )
        auths = mock_auths(
            self.engine.store.seed,
            options,
            self.scheme,
            read_scopes=self.planner.read_scopes,
            all_scopes=self.planner.all_scopes,
            clock=self._mock_clock,
        )
        self.mock = Side("mock", EngineTransport(self.engine), auths, self.placement.mock_prefix)

    def say(self, text: str) -> None:
        self.say_raw(scrub(text, self.options.secrets()))

    def _mock_clock(self) -> int:
        """The mock's "now" (a pinned clock included), for the signatures it checks."""
        return int(datetime.fromisoformat(self.engine.now().replace("Z", "+00:00")).timestamp())

    def run(self) -> Outcome:
        o = self.options
        steps = self.planner.plan(
            read_only=bool(o.read_only_key),
            other=bool(o.other_client_key),
            allow_writes=o.allow_writes,
            signing=self.scheme == HMAC,
        )
        recorder = Recorder(self.planner, self.schemas, o, self.vendor, self.sender)
        planned = [s for s in steps if s.skip is None]
        writes = sum(1 for s in planned if s.write)
        paged = recorder.pageable_lists() if o.record is not None else []
        extra = len(paged) * o.record_pages
        if len(planned) + extra > o.max_calls:
            raise VerifyError(f"the plan needs {len(planned) + extra} calls, more than --max-calls {o.max_calls}")
        self.say(
            f"auralytik-mock verify: {o.base_url} with key {mask_key(o.key)}, "
            f"against the mock in process ({self.engine.config.resolved_spec_path.name})"
        )
        self.say(
            f"{len(planned)} calls to the target, one at a time ({writes} writes"
            + ("" if o.allow_writes else "; writes skipped: pass --allow-writes to send them")
            + (f"), then up to {extra} pages for --record" if extra else ")")
            + f"; at most {(len(planned) + extra) * (self.limits.max_retries + 1)} with every 429 waited out"
        )
        self.say(f"Limits: {self.limits.describe()}")
        results: list[StepResult] = []
        error: str | None = None
        for step in steps:
            if step.skip is not None:
                results.append(StepResult(step, Sent(skip=step.skip), Sent(skip=step.skip), f"skipped: {step.skip}"))
                continue
            try:
                vendor = self.sender.send(self.vendor, step)
            except VerifyError as exc:
                error = str(exc)
                break
            mock = self.sender.send(self.mock, step)
            result = StepResult(step, vendor, mock)
            if vendor.answer is None or mock.answer is None:
                result.verdict = f"skipped: {vendor.skip or mock.skip}"
            elif step.key == "main" and step.case == "success" and vendor.answer.status == 401:
                # Said once, in the error line: a row "401 200 ok" would call the refusal a match.
                error = (
                    f"the target refused the key {mask_key(o.key)} ({step.op.operation_id} answered 401"
                    + (f" {vendor.answer.error_code}" if vendor.answer.error_code else "")
                    + ")"
                )
                break
            else:
                self.comparer.compare(result)
            results.append(result)
        calls = self.http.calls if self.target_transport is self.http else sum(1 for r in results if r.vendor.answer)
        outcome = Outcome(
            target=o.base_url,
            results=results,
            drift=self.comparer.log.all(),
            created=list(self.vendor.created_records),
            calls=calls,
            planned=len(planned),
            error=error,
            waited=self.http.waited,
            limits=self.limits.as_json(),
        )
        if error is None and o.record is not None:
            notes = recorder.record_pages(paged, o.record_pages)
            if self.target_transport is self.http:
                outcome.calls = self.http.calls
            outcome.recorded = recorder.record(o.record, o.anonymize) + notes
        return outcome


def verify(
    config: Config,
    options: Options,
    *,
    report: Path | None = None,
    junit: Path | None = None,
    say: Callable[[str], None] = print,
    target: Transport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Run verify, print the report, write the files asked for; returns the outcome.

    :raises VerifyError: it could not start (bad base URL, the plan too long, no signing).
    """
    verifier = Verifier(config, options, target=target, say=say, sleep=sleep)
    outcome = verifier.run()
    secrets = options.secrets()
    say(scrub(render_text(outcome), secrets))
    if report is not None:
        report.write_text(scrub(json.dumps(render_json(outcome), indent=2), secrets) + "\n", encoding="utf-8")
    if junit is not None:
        junit.write_text(scrub(render_junit(outcome), secrets) + "\n", encoding="utf-8")
    return outcome

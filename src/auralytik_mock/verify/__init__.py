"""``auralytik-mock verify``: run the contract against the real API and report drift.

Builds, from the spec alone, a sequence of calls per operation (the documented success
and the failures the mock reproduces); sends it one call at a time to a target (the
vendor, a staging copy) and the same sequence to the mock in process; checks both
answers against the spec and against each other; reports (text, JSON, JUnit); records
what the target returned as a fixture file.

Safe against a live API: no write method is sent without ``allow_writes``; records it
creates carry ``MARK`` in their name and are listed; the number of calls is fixed before
the first one; keys never appear in any output; only the base URL's origin is contacted
and redirects are not followed (``http.client`` follows none). Which authentication the
target takes comes from the spec (the schemes its base path's servers accept).

Safe against a hostile or broken target (``transport.Limits``): each call ends within
``--timeout`` from connect to last byte, an answer over ``--max-body`` or JSON nested
deeper than ``transport.MAX_DEPTH`` is refused, 429s are waited out within ``--max-wait``
each and ``--max-total-wait`` in all, and at most ``compare.MAX_VIOLATIONS`` schema
violations are read per answer. Each limit reached ends the run with exit 2 and one line
saying what the target did; what a target sent is printed ``report.plain`` (no control
characters, no line over ``report.MAX_LINE``).

The modules, one job each: ``plan`` (the sequence), ``auth`` (schemes and keys per role),
``paths`` (where each operation lives), ``transport`` (HTTP to the target, the engine for
the mock), ``answer``, ``sides`` (sending a step, learning ids), ``compare`` (drift),
``outcome``, ``report`` (text, JSON, JUnit), ``record`` (``--record``), ``options``,
``run`` (the entry point).

The names below are imported when first used (PEP 562), so that ``cli`` reads
``verify.options`` (the flags) without loading the rest.

May import: ``harness.sandbox`` (the ``Engine``), ``core`` (pipeline, spec, validation, fixtures,
handlers, resources, journal, store, types, errors), ``signing``, ``config``; the standard library for HTTP.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .answer import Answer, Transport
    from .auth import SCHEMES, bearer, hmac_auth, make_auth
    from .options import Options, VerifyError, scrub
    from .outcome import Drift, Outcome, StepResult
    from .plan import MARK, Planner, Step
    from .report import render_json, render_junit, render_text
    from .run import Verifier, verify
    from .transport import EngineTransport, HttpTransport, Limits

#: Where each name of this package lives.
_MODULES = {
    "Answer": "answer",
    "Transport": "answer",
    "SCHEMES": "auth",
    "bearer": "auth",
    "hmac_auth": "auth",
    "make_auth": "auth",
    "Options": "options",
    "VerifyError": "options",
    "scrub": "options",
    "Drift": "outcome",
    "Outcome": "outcome",
    "StepResult": "outcome",
    "MARK": "plan",
    "Planner": "plan",
    "Step": "plan",
    "render_json": "report",
    "render_junit": "report",
    "render_text": "report",
    "Verifier": "run",
    "verify": "run",
    "EngineTransport": "transport",
    "HttpTransport": "transport",
    "Limits": "transport",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "MARK",
    "SCHEMES",
    "Answer",
    "Drift",
    "EngineTransport",
    "HttpTransport",
    "Limits",
    "Options",
    "Outcome",
    "Planner",
    "Step",
    "StepResult",
    "Transport",
    "Verifier",
    "VerifyError",
    "bearer",
    "hmac_auth",
    "make_auth",
    "render_json",
    "render_junit",
    "render_text",
    "scrub",
    "verify",
]

"""``auralytik-mock verify``: run the contract against the real API and report drift.

Builds, from the spec alone, a sequence of calls per operation (the documented success
and the failures the mock reproduces); sends it one call at a time to a target (the
vendor, a staging copy) and the same sequence to the mock in process; checks both
answers against the spec and against each other; reports (text, JSON, JUnit); records
what the target returned as a fixture file.

Safe against a live API: no write method is sent without ``allow_writes``; records it
creates carry ``MARK`` in their name and are listed; a 429 is waited out; the number of
calls is fixed before the first one; keys never appear in any output; only the base
URL's origin is contacted and redirects are not followed (``http.client`` follows none).

The modules, one job each: ``plan`` (the sequence), ``auth`` (schemes and keys per role),
``paths`` (where each operation lives), ``transport`` (HTTP to the target, the engine for
the mock), ``answer``, ``sides`` (sending a step, learning ids), ``compare`` (drift),
``outcome``, ``report`` (text, JSON, JUnit), ``record`` (``--record``), ``options``,
``run`` (the entry point).

May import: ``core`` (pipeline, spec, validation, fixtures, handlers, resources, journal,
store, types, errors), ``signing``, ``config``; the standard library for HTTP.
"""

from __future__ import annotations

from .answer import Answer, Transport
from .auth import SCHEMES, bearer, hmac_auth, make_auth
from .options import Options, VerifyError, scrub
from .outcome import Drift, Outcome, StepResult
from .plan import MARK, Planner, Step
from .report import render_json, render_junit, render_text
from .run import Verifier, verify
from .transport import EngineTransport, HttpTransport

__all__ = [
    "MARK",
    "SCHEMES",
    "Answer",
    "Drift",
    "EngineTransport",
    "HttpTransport",
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

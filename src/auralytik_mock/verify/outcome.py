"""What a run found: each step's two answers and verdict, each drift, the outcome.

Owns: ``Sent`` (what one side was sent and answered), ``StepResult``, ``Drift`` (one
disagreement, with the steps it was seen in) and ``Outcome`` (everything a run found,
and the exit code: 0 no drift, 1 drift, 2 could not run).

No IO. May import: ``answer``, ``plan``, ``core.types``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.types import Json
from .answer import Answer
from .plan import Step


@dataclass
class Sent:
    """What one side was sent for a step, and what it answered (or why it was not sent)."""

    method: str = ""
    path: str = ""
    answer: Answer | None = None
    skip: str | None = None


@dataclass
class Drift:
    """One disagreement, spelt out, with the steps it was seen in."""

    kind: str
    subject: str
    message: str
    steps: list[int] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Json]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message, "steps": self.steps}


@dataclass
class StepResult:
    step: Step
    vendor: Sent
    mock: Sent
    verdict: str = "ok"
    drift: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Json]:
        def side(sent: Sent) -> dict[str, Json]:
            return {
                "method": sent.method,
                "path": sent.path,
                "status": sent.answer.status if sent.answer else None,
                "errorCode": sent.answer.error_code if sent.answer else None,
                "requestId": sent.answer.headers.get("x-request-id") if sent.answer else None,
                "skipped": sent.skip,
            }

        return {
            "step": self.step.index,
            "operationId": self.step.op.operation_id,
            "case": self.step.case,
            "expected": self.step.expected,
            "vendor": side(self.vendor),
            "mock": side(self.mock),
            "verdict": self.verdict,
            "drift": self.drift,
        }


@dataclass
class Outcome:
    """Everything a run found; ``exit_code`` is what the command returns."""

    target: str
    results: list[StepResult]
    drift: list[Drift]
    created: list[dict[str, str]]
    calls: int
    planned: int
    error: str | None = None
    recorded: list[str] = field(default_factory=list)
    #: Seconds waited on the target's 429s.
    waited: float = 0.0
    #: The limits the run held the target to (``transport.Limits.as_json``).
    limits: dict[str, Json] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return 2
        return 1 if self.drift else 0

"""One side of the comparison (the target or the mock), and sending a step to it.

Owns: ``Side`` (a transport, a key per role, the ids it has shown) and ``Sender``: the
concrete path of a step on a side (a listed id, one verify created, one that does not
exist, a malformed one, another client's), its body and headers, sending it, and what
the answer teaches (ids from lists, records verify created, what ``--record`` keeps).

No IO of its own (the side's transport does it). May import: ``answer``, ``auth``,
``outcome``, ``paths``, ``plan``, ``core.spec``, ``core.types``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from ..core.spec import Operation
from ..core.types import Json
from .answer import Answer, Transport
from .auth import Auth
from .outcome import Sent
from .plan import Planner, Step, path_params

#: The most ids kept per list (a step needs the first; the rest tell a missing id apart).
MAX_IDS_KEPT = 10_000
#: The most records kept per kind for ``--record``: a real account's pages hold far fewer,
#: a hostile target's ten pages of 8 MiB would hold millions.
MAX_RECORDS_KEPT = 50_000


@dataclass
class Side:
    """The target or the mock: how to reach it, its keys, and the ids it has shown."""

    name: str
    transport: Transport
    auths: dict[str, Auth | None]
    prefix: Callable[[Operation], str | None]
    ids: dict[str, list[str]] = field(default_factory=dict)
    other_ids: dict[str, list[str]] = field(default_factory=dict)
    created: dict[str, list[str]] = field(default_factory=dict)
    created_records: list[dict[str, str]] = field(default_factory=list)
    records: dict[str, dict[str, dict[str, Json]]] = field(default_factory=dict)
    #: Kinds that had more records than ``MAX_RECORDS_KEPT`` (``--record`` says so).
    dropped: set[str] = field(default_factory=set)


def _keep_ids(known: list[str], ids: list[str]) -> None:
    """Add the new ``ids`` to ``known`` (in order, once each), up to ``MAX_IDS_KEPT``."""
    seen = set(known)  # a set: a list of a million ids must not cost a million squared
    room = MAX_IDS_KEPT - len(known)
    if room > 0:
        known.extend(list(i for i in dict.fromkeys(ids) if i not in seen)[:room])


def list_items(body: Json, array_field: str | None) -> list[Json]:
    """The items of a list answer: ``body[array_field]``, else its first list."""
    if isinstance(body, list):
        return body
    if not isinstance(body, dict):
        return []
    if array_field is not None and isinstance(body.get(array_field), list):
        return list(body[array_field])
    return next((list(v) for v in body.values() if isinstance(v, list)), [])


class Sender:
    """Sends steps to sides; what it learns from answers goes into the side."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner

    def resolve(self, side: Side, step: Step) -> tuple[str | None, str | None]:
        """The concrete path of ``step`` on ``side``, or why it cannot be sent there."""
        prefix = side.prefix(step.op)
        if prefix is None:
            return None, f"the spec places {step.op.path} outside the base URL"
        segments = step.op.spec_path.split("/")
        params = {p.name: p for p in path_params(step.op)}
        out = []
        names = [s[1:-1] for s in segments if s.startswith("{") and s.endswith("}")]
        for position, segment in enumerate(segments):
            if not (segment.startswith("{") and segment.endswith("}")):
                out.append(segment)
                continue
            name = segment[1:-1]
            collection = "/".join(segments[:position])
            last = name == names[-1]
            listed = side.ids.get(collection, [])
            own = side.created.get(collection, [])
            value: str | None
            if last and step.target_id == "missing":
                value = self.planner.missing_id(params[name], listed + own)
            elif last and step.target_id == "malformed":
                value = self.planner.malformed_id(params[name])
            elif last and step.target_id == "other":
                value = next(iter(side.other_ids.get(collection, [])), None)
                if value is None:
                    return None, "the other client's list gave no id"
            elif last and step.write:
                # A write only ever touches a record this run created, or an id that does not exist.
                if own:
                    value = own[0]
                elif step.case == "success":
                    return None, "no record created by verify to change"
                else:
                    value = self.planner.missing_id(params[name], listed)
            else:
                value = next(iter(listed or own), None)
                if value is None:
                    return None, f"the list at {collection or '/'} gave no id"
            out.append(quote(str(value), safe=""))
        return prefix + "/".join(out), None

    def _body(self, step: Step) -> bytes:
        if step.body is None:
            return b""
        if step.body == "example":
            value = self.planner.marked_body(step.op)
        elif step.body == "invalid":
            value = self.planner.invalid_body(step.op)
        else:
            value = {}
        return json.dumps(value).encode("utf-8")

    def send(self, side: Side, step: Step) -> Sent:
        path, why = self.resolve(side, step)
        if path is None:
            return Sent(step.op.method, "", None, why)
        if step.key not in side.auths:
            return Sent(step.op.method, path, None, f"no {step.key.replace('_', '-')} key for the {side.name}")
        body = self._body(step)
        headers = {"Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        auth = side.auths[step.key]
        if auth is not None:
            headers.update(auth(step.op.method, path, body))
        answer = side.transport.send(step.op.method, path, urlencode(list(step.query)), headers, body)
        self._learn(side, step, answer)
        return Sent(step.op.method, path, answer)

    def _learn(self, side: Side, step: Step, answer: Answer) -> None:
        """Ids from lists, records verify created, and what ``--record`` keeps."""
        op = step.op
        if op.method == "POST" and 200 <= answer.status < 300 and isinstance(answer.body, dict):
            # Whatever the case: a POST that should have been refused but created a record
            # (a read-only key that can write) is listed too.
            record_id = answer.body.get("id")
            if isinstance(record_id, str | int):
                side.created.setdefault(op.spec_path, []).append(str(record_id))
                name = next((answer.body[k] for k in ("name", "title", "label") if k in answer.body), "")
                side.created_records.append(
                    {"id": str(record_id), "name": str(name), "location": answer.headers.get("location", "")}
                )
            return
        if answer.status != step.expected or step.expected >= 300:
            return
        if op.method == "GET":
            is_list = self.planner.array_field(op) is not None or isinstance(answer.body, list)
            if is_list:
                items = list_items(answer.body, self.planner.array_field(op))
            else:
                items = [answer.body] if isinstance(answer.body, dict) else []
            ids = [str(i["id"]) for i in items if isinstance(i, dict) and isinstance(i.get("id"), str | int)]
            if step.case == "other-client-list":
                _keep_ids(side.other_ids.setdefault(op.spec_path, []), ids)
                return
            if is_list:
                _keep_ids(side.ids.setdefault(op.spec_path, []), ids)
            kind = self.planner.kind_of(op)
            if kind is not None and step.key == "main":
                kept = side.records.setdefault(kind, {})
                for record in items:
                    if isinstance(record, dict) and "id" in record:
                        record_id = str(record["id"])
                        if record_id in kept or len(kept) < MAX_RECORDS_KEPT:
                            kept[record_id] = record
                        else:
                            side.dropped.add(kind)

"""Usage and billing counted from the calls the mock answered: ``x-mock-usage``.

Owns: reading ``x-mock-usage`` (``{report: summary|details|by-key}``) on an operation and
answering it for the caller's client and the ``billingPeriod`` asked (``YYYY-MM``, default
the month of the mock's clock): the calls each key made (``Store.count_call``, which the
sandbox calls once per answered call), per day, per key (masked as the journal masks keys)
or in all against what the client's plan includes (its ``plan`` in the fixtures: a tier
and an amount per meter; a client without one is on tier ``none``, which includes nothing).
No Flask, no IO.
May import: ``crud`` (types only), ``errors``, ``journal`` (``mask_key``), ``spec``, ``store``, ``types``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .errors import SpecError
from .journal import mask_key
from .spec import Operation, Spec
from .store import Store
from .types import Json, MockResponse

if TYPE_CHECKING:
    from .crud import Call

NAME = "x-mock-usage"
REPORTS = ("summary", "details", "by-key")


def _config(spec: Spec, op: Operation) -> Mapping[str, Json] | None:
    found = spec.operation_extension(op, NAME)
    if found is None:
        return None
    raw, where = found
    if not (isinstance(raw, dict) and raw.get("report") in REPORTS and set(raw) == {"report"}):
        raise SpecError(
            f"{where}: must be {{report: summary|details|by-key}} (a client's tier and included amounts "
            "are its plan in the fixtures)"
        )
    return raw


def bind_usage(spec: Spec, store: Store) -> dict[str, Callable[[Call], MockResponse]]:
    """A handler for every operation of ``spec`` that has ``x-mock-usage``, by operationId.

    :raises SpecError: ``x-mock-usage`` is malformed.
    """
    bound: dict[str, Callable[[Call], MockResponse]] = {}
    for op in spec.operations:
        config = _config(spec, op)
        if config is not None:
            bound[op.operation_id] = _handler(op, config, store)
    return bound


def _handler(op: Operation, config: Mapping[str, Json], store: Store) -> Callable[[Call], MockResponse]:
    report = config["report"]

    def answer(call: Call) -> MockResponse:
        period = str(call.request.query.get("billingPeriod") or call.now[:7])
        rows = store.usage(call.principal, period)
        body: dict[str, Json] = {"billingPeriod": period}
        if report == "summary":
            used = {"calls": sum(calls for _, _, calls, _ in rows)}
            plan = store.client_plan(call.principal) or {}
            included = plan.get("included")
            amounts: Mapping[str, Json] = included if isinstance(included, dict) else {"calls": 0}
            meters: dict[str, Json] = {}
            for meter, amount in amounts.items():
                value = used.get(meter, 0)
                top = amount if isinstance(amount, int | float) else 0
                meters[meter] = {"used": value, "included": amount, "overage": max(0, value - top)}
            body |= {"tier": str(plan.get("tier", "none")), "usage": meters}
        elif report == "by-key":
            keys: list[Json] = []
            for number, key in enumerate(store.client_keys(call.principal), 1):
                mine = [(calls, last) for k, _, calls, last in rows if k == key]
                keys.append({
                    "keyId": mask_key(key),
                    "name": f"API key {number}",
                    "calls": sum(calls for calls, _ in mine),
                    "lastUsedAt": max((last for _, last in mine), default=None),
                })  # fmt: skip
            body["keys"] = keys
        else:
            query = call.request.query
            size = int(str(query.get("pageSize", 25)))
            page = int(str(query.get("page", 1)))
            items: list[Json] = [
                {"date": day, "keyId": mask_key(key), "calls": calls, "lastCallAt": last}
                for key, day, calls, last in sorted(rows, key=lambda r: (r[1], r[0]), reverse=True)
            ]
            body |= {
                "data": items[(page - 1) * size : page * size],
                "page": page,
                "pageSize": size,
                "totalCount": len(items),
            }
        return MockResponse(op.success_status, body)

    return answer

"""The calls the mock answered each key, per dataset and UTC day (``x-mock-usage`` reads them).

Owns: ``CallCounts`` (counted, read, forgotten with a session, dumped and restored for
``--persist``); kept across resets. Thread-safe.
May import: ``types``.
"""

from __future__ import annotations

import threading

from .types import Json, Principal


class CallCounts:
    """Per namespace: (client, key, day) -> [calls, last call]."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: dict[str, dict[tuple[str, str, str], list[Json]]] = {}

    def count(self, principal: Principal, at: str) -> None:
        """Count one call answered for ``principal``'s key, on the UTC day of ``at`` (RFC 3339)."""
        with self._lock:
            days = self._days.setdefault(principal.namespace, {})
            entry = days.setdefault((principal.client_id, principal.key, at[:10]), [0, at])
            entry[0] = int(str(entry[0])) + 1
            entry[1] = max(str(entry[1]), at)

    def of(self, principal: Principal, day_prefix: str) -> list[tuple[str, str, int, str]]:
        """``(key, day, calls, last call)`` of ``principal``'s client on the days starting ``day_prefix``."""
        with self._lock:
            days = dict(self._days.get(principal.namespace, {}))
        return sorted(
            (key, day, int(str(calls)), str(last))
            for (client, key, day), (calls, last) in days.items()
            if client == principal.client_id and day.startswith(day_prefix)
        )

    def forget(self, namespace: str) -> None:
        """Drop the counts of a deleted session."""
        with self._lock:
            self._days.pop(namespace, None)

    def dump(self) -> dict[str, Json]:
        """The call counts, for ``--persist``: ``{namespace: [[client, key, day, calls, last], ...]}``."""
        with self._lock:
            return {ns: [[*k, *v] for k, v in days.items()] for ns, days in self._days.items()}

    def restore(self, dumped: Json) -> None:
        """Take back what ``dump`` wrote (malformed rows are skipped)."""
        if not isinstance(dumped, dict):
            return
        with self._lock:
            for namespace, rows in dumped.items():
                for row in rows if isinstance(rows, list) else []:
                    if isinstance(row, list) and len(row) == 5 and all(isinstance(v, str) for v in row[:3]):
                        if isinstance(row[3], int) and isinstance(row[4], str):
                            days = self._days.setdefault(str(namespace), {})
                            days[(row[0], row[1], row[2])] = [row[3], row[4]]

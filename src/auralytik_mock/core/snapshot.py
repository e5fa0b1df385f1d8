"""A dataset written out in the fixtures' format (``/__mock/state``, ``--persist``).

Owns: ``dump`` (every client, its keys and its records oldest first, each as the API
shows it plus the data kept with it), taken under the dataset's lock.
May import: ``dataset``, ``types``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .dataset import Dataset
from .types import Json


def dump(dataset: Dataset) -> dict[str, Json]:
    """The whole dataset in the fixtures' format (records oldest first)."""
    with dataset.lock:
        clients = []
        for client in dataset.clients.values():
            entry: dict[str, Any] = {
                "id": client.id,
                "name": client.name,
                "apiKeys": [
                    {"key": k.key, "scopes": list(k.scopes), **({"secret": k.secret} if k.secret else {})}
                    for k in client.api_keys
                ],
            }
            if client.plan is not None:
                entry["plan"] = dict(client.plan)
            for (owner, kind), coll in dataset.collections.items():
                if owner == client.id:
                    entry[kind] = [_dumped(dataset, owner, kind, coll.by_id[k[2]]) for k in coll.order]
            clients.append(entry)
        return {"clients": clients}


def _dumped(dataset: Dataset, client_id: str, kind: str, record: Mapping[str, Json]) -> dict[str, Json]:
    rules = dataset.rules.get(kind)
    shown = dataset.view(client_id, kind, record)
    if rules is not None:
        shown.update({k: record[k] for k in rules.hidden if k in record})
    return shown

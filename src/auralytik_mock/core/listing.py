"""A list operation's answer: one page of a resource's records.

Owns: the list handler (page/pageSize, offset/limit, cursors ``after``/``before``, filters,
a nested collection's scope, the spec's envelope with its counts, cursors and ids filled, or
a bare array) and its ``Link`` header (RFC 8288 ``next``/``prev``) where the spec declares one.
No IO.
May import: ``bind``, ``discover``, ``fill``, ``records``, ``store``, ``types``; ``crud`` for
types only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from .bind import Binding, ListShape
from .discover import SCOPE_FIELD, Resource
from .fill import fill_layout
from .records import filled, scope_of
from .store import Condition, Store
from .types import Json, MockResponse

if TYPE_CHECKING:
    from .crud import Call, Handler


def list_handler(store: Store, binding: Binding, check_parent: Callable[[Resource, Call], None]) -> Handler:
    """The handler of a list binding over ``store`` (``check_parent``: 404 when the path's
    parent record is not held, asked only where the operation documents a 404)."""
    resource, shape, status = binding.resource, binding.shape, binding.operation.success_status
    assert resource is not None and shape is not None
    kind = resource.kind
    documents_404 = binding.operation.response_for(404) is not None

    def list_records(call: Call) -> MockResponse:
        query = call.request.query
        if resource.scope and documents_404:
            check_parent(resource, call)  # else: a parent not held has no records
        if shape.page_param is not None or shape.offset_param is None:
            size = int(query.get(shape.size_param or "", shape.default_size) or shape.default_size)
            if shape.size_param is None and shape.limit_param is not None:
                size = int(query.get(shape.limit_param, shape.default_size) or shape.default_size)
            page = int(query.get(shape.page_param or "", 1) or 1)
            offset = (page - 1) * size
        else:
            size = int(query.get(shape.limit_param or "", shape.default_size) or shape.default_size)
            offset = int(query.get(shape.offset_param, 0) or 0)
            page = offset // size + 1 if size else 1
        where = [Condition(f.field, f.op, query[f.param]) for f in shape.filters if f.param in query]
        if resource.scope:
            where.append(Condition(SCOPE_FIELD, "eq", scope_of(resource, call)))
        after = query.get(shape.after_param) if shape.after_param else None
        before = query.get(shape.before_param) if shape.before_param else None
        data, total, start = store.page(
            call.principal,
            kind,
            offset,
            size,
            where,
            after=None if after is None else str(after),
            before=None if before is None else str(before),
        )
        has_more = start + len(data) < total
        first = data[0].get(resource.id_field) if data else None
        last = data[-1].get(resource.id_field) if data else None
        values: dict[str, Json] = {
            "items": data,
            "page": page,
            "pageSize": size,
            "totalCount": total,
            "totalPages": math.ceil(total / size) if size else 0,
            "offset": start,
            "limit": size,
            "hasMore": has_more,
            "firstId": first,
            "lastId": last,
            "nextCursor": last if has_more else None,
            "prevCursor": first if start > 0 else None,
            "requestId": call.request_id,
            "timestamp": call.now,
        }
        body = data if shape.envelope.bare else fill_layout(shape.envelope.layout, values)
        headers: dict[str, str] = {}
        if shape.link:
            links = link_header(call, shape, page, size, start, last, has_more)
            if links:
                headers["Link"] = links
        return MockResponse(status, body, headers)

    return list_records


def link_header(call: Call, shape: ListShape, page: int, size: int, start: int, last: Json, more: bool) -> str:
    """The ``Link`` header of a page: ``next`` and ``prev`` in the list's own paging."""
    base = filled(call.operation.path, call.request.path)
    query = {k: str(v) for k, v in call.request.query.items()}
    out = []

    def link(rel: str, changes: Mapping[str, str]) -> None:
        out.append(f'<{base}?{urlencode({**query, **changes})}>; rel="{rel}"')

    if shape.after_param is not None:
        if more and last is not None:
            link("next", {shape.after_param: str(last)})
    elif shape.page_param is not None:
        if more:
            link("next", {shape.page_param: str(page + 1)})
        if page > 1:
            link("prev", {shape.page_param: str(page - 1)})
    elif shape.offset_param is not None:
        if more:
            link("next", {shape.offset_param: str(start + size)})
        if start > 0:
            link("prev", {shape.offset_param: str(max(start - size, 0))})
    return ", ".join(out)

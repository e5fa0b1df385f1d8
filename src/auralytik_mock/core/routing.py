"""Route a method and path to an operation of the spec.

Owns: the route table built from the spec's ``paths`` under their base path, and the
404 / 405 answers (with ``Allow``).
No Flask, no IO.
May import: ``spec``, ``errors``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .errors import MethodNotAllowedError, NotFoundError
from .spec import Operation

_PARAM = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True)
class Match:
    """A routed request: the operation and the raw (still text) path parameters."""

    operation: Operation
    path_params: Mapping[str, str]


@dataclass(frozen=True)
class _Route:
    template: str
    pattern: re.Pattern[str] | None
    methods: Mapping[str, Operation]
    #: Per method, the operations whose path names query values (``/responses?beta=true``):
    #: each with those ``(name, value)`` pairs, chosen when the request's query has them.
    variants: Mapping[str, tuple[tuple[tuple[tuple[str, str], ...], Operation], ...]] = field(default_factory=dict)

    @property
    def allowed(self) -> list[str]:
        allowed = set(self.methods)
        if "GET" in allowed:
            allowed.add("HEAD")
        allowed.add("OPTIONS")
        return sorted(allowed)


class Router:
    """Find the operation for ``(method, path)``.

    Static paths are a dict lookup; templated paths are tried in the spec's order
    after them, so ``/engagements/search`` would win over ``/engagements/{id}``.
    ``HEAD`` is routed to ``GET``, as HTTP says. An operation served outside every
    base path (by its path-level ``servers``) is also served under each of them.
    """

    def __init__(self, operations: Iterable[Operation], base_paths: Iterable[str] | str = ()) -> None:
        by_path: dict[str, dict[str, Operation]] = {}
        variants: dict[str, dict[str, list[tuple[tuple[tuple[str, str], ...], Operation]]]] = {}
        operations = tuple(operations)
        for op in operations:
            path, _, query = op.path.partition("?")
            if query:  # a path that names query values: a variant of the plain path's operation
                variants.setdefault(path, {}).setdefault(op.method, []).append((fixed_query(op.path), op))
                by_path.setdefault(path, {}).setdefault(op.method, op)  # the plain one, if any, replaces it
            else:
                by_path.setdefault(path, {})[op.method] = op
        # An operation whose path-level ``servers`` put it outside the API's base paths
        # (``/health`` at the root) answers under each of them too (``/v1/health``): most
        # tools and generated clients ignore path-level servers and call base URL + path.
        bases = [base_paths] if isinstance(base_paths, str) else list(base_paths)
        for base in (b for b in bases if b):
            for op in operations:
                alias = base + op.spec_path
                if not any(op.path.startswith(b + "/") for b in bases if b) and alias != op.path:
                    by_path.setdefault(alias, {}).setdefault(op.method, op)
        self._static: dict[str, _Route] = {}
        self._templated: list[_Route] = []
        for template, methods in by_path.items():
            kinds = {method: tuple(found) for method, found in variants.get(template, {}).items()}
            if _PARAM.search(template):
                regex = "".join(
                    f"(?P<{_group(part)}>[^/]+)" if i % 2 else re.escape(part)
                    for i, part in enumerate(_PARAM.split(template))
                )
                self._templated.append(_Route(template, re.compile(regex + r"\Z"), methods, kinds))
            else:
                self._static[template] = _Route(template, None, methods, kinds)
        self._names = {_group(name): name for route in self._templated for name in _PARAM.findall(route.template)}

    def route(self, path: str) -> tuple[_Route, dict[str, str]] | None:
        """Return the route for ``path`` and its raw parameters, or ``None``."""
        route = self._static.get(path)
        if route is not None:
            return route, {}
        for route in self._templated:
            found = route.pattern.match(path) if route.pattern else None
            if found:
                return route, {self._names[k]: v for k, v in found.groupdict().items()}
        return None

    def allowed_methods(self, path: str) -> list[str] | None:
        """The methods ``path`` answers (with HEAD and OPTIONS), or ``None`` if unknown."""
        found = self.route(path)
        return found[0].allowed if found else None

    def match(self, method: str, path: str, query: Mapping[str, list[str]] | None = None) -> Match:
        """Route ``method path``; ``query`` chooses among paths that name query values
        (``/responses?beta=true`` when the request says ``beta=true``, else ``/responses``).

        :raises NotFoundError: no path of the spec matches.
        :raises MethodNotAllowedError: the path exists, not with this method.
        """
        found = self.route(path)
        if found is None:
            raise NotFoundError(f"No route matches {method} {path}: no path of the OpenAPI document matches it.")
        route, params = found
        routed = "GET" if method == "HEAD" else method
        op = route.methods.get(routed)
        asked = query or {}
        for pairs, variant in route.variants.get(routed, ()) if asked else ():
            if all(value in asked.get(name, ()) for name, value in pairs):
                op = variant
                break
        if op is None:
            allowed = route.allowed
            raise MethodNotAllowedError(
                f"{method} is not allowed on {route.template}; allowed: {', '.join(allowed)}.",
                allowed=allowed,
            )
        return Match(op, params)


def _group(name: str) -> str:
    """A regex group name for a path parameter (any characters made safe)."""
    return "p_" + "".join(ch if ch.isalnum() else f"_{ord(ch):x}_" for ch in name)


def fixed_query(spec_path: str) -> tuple[tuple[str, str], ...]:
    """The ``(name, value)`` pairs a spec path names after ``?`` (OpenAI's
    ``/responses?beta=true``): the call that sends them is that path's operation."""
    _, _, query = spec_path.partition("?")
    return tuple(parse_qsl(query, keep_blank_values=True)) if query else ()

"""Route a method and path to an operation of the spec.

Owns: the route table built from the spec's ``paths`` under their base path, and the
404 / 405 answers (with ``Allow``).
No Flask, no IO.
May import: ``spec``, ``errors``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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
        operations = tuple(operations)
        for op in operations:
            by_path.setdefault(op.path, {})[op.method] = op
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
            if _PARAM.search(template):
                regex = "".join(
                    f"(?P<{_group(part)}>[^/]+)" if i % 2 else re.escape(part)
                    for i, part in enumerate(_PARAM.split(template))
                )
                self._templated.append(_Route(template, re.compile(regex + r"\Z"), methods))
            else:
                self._static[template] = _Route(template, None, methods)
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

    def match(self, method: str, path: str) -> Match:
        """Route ``method path``.

        :raises NotFoundError: no path of the spec matches.
        :raises MethodNotAllowedError: the path exists, not with this method.
        """
        found = self.route(path)
        if found is None:
            raise NotFoundError(f"No route matches {method} {path}: no path of the OpenAPI document matches it.")
        route, params = found
        op = route.methods.get("GET" if method == "HEAD" else method)
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

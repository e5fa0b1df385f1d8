"""Where each operation lives on the target and on the mock.

Owns: ``Placement``: which spec base path the target's base URL stands for (the longest
one its path ends with), and the prefix each operation takes on each side (``/v1``
operations under the base URL, ``/health`` at the origin's root beside it, an operation
the base URL cannot reach: ``None``).

No IO. May import: ``core.spec``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from ..core.spec import Operation, Spec


class Placement:
    """The prefixes of each operation on the target (``base_path``: its URL's path) and the mock.

    :param spec: the contract.
    :param base_path: the path of the target's base URL, without its trailing slash.
    """

    def __init__(self, spec: Spec, base_path: str) -> None:
        self.spec = spec
        self.base_path = base_path

    @staticmethod
    def op_base(op: Operation) -> str:
        return op.path[: len(op.path) - len(op.spec_path)] if op.path.endswith(op.spec_path) else ""

    def _served(self) -> Sequence[Operation]:
        """Every operation under every base path the mock serves it at (a spec with two
        servers, ``/v1`` and ``/api/v1``, serves each operation twice)."""
        return self.spec.served or self.spec.operations

    def _bases(self, op: Operation) -> list[str]:
        return [self.op_base(o) for o in self._served() if o.operation_id == op.operation_id]

    @cached_property
    def matched_base(self) -> str | None:
        """The spec base path the target's base URL stands for: the longest one its path
        ends with (``https://api.auralytik.ai/api/v1`` -> ``/api/v1``)."""
        bases = {self.op_base(o) for o in self._served()}
        found = sorted((b for b in bases if b and self.base_path.endswith(b)), key=len, reverse=True)
        return found[0] if found else None

    def target_prefix(self, op: Operation) -> str | None:
        bases = self._bases(op)
        matched = self.matched_base
        if matched is None:  # a base URL of its own (a staging copy): it stands for the spec's first base path
            return self.base_path if self.spec.base_path in bases else None
        if matched in bases:
            return self.base_path
        if "" in bases:  # /health: at the origin's root, beside the API's base path
            return self.base_path[: len(self.base_path) - len(matched)]
        return None

    def mock_prefix(self, op: Operation) -> str | None:
        bases = self._bases(op)
        matched = self.matched_base or self.spec.base_path
        return matched if matched in bases else (bases[0] if bases else None)

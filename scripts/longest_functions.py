"""The longest functions of the package, by lines (``def`` to its last line, docstring included).

    python scripts/longest_functions.py            # the ten longest
    python scripts/longest_functions.py -n 25      # more

Reads the source with ``ast`` (nothing is imported). A method is named ``Class.method``; a
function defined inside another counts on its own and inside its parent.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "auralytik_mock"


def functions(path: Path) -> Iterator[tuple[int, str, int]]:
    """``(lines, qualified name, first line)`` of every function in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[int, str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                assert child.end_lineno is not None
                yield child.end_lineno - first + 1, prefix + child.name, child.lineno
                yield from visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=10, help="how many (default: 10)")
    args = parser.parse_args()
    found = [
        (lines, f"{path.relative_to(PACKAGE.parent).as_posix()}:{line}", name)
        for path in sorted(PACKAGE.rglob("*.py"))
        for lines, name, line in functions(path)
    ]
    found.sort(key=lambda row: (-row[0], row[1]))
    for lines, where, name in found[: args.n]:
        print(f"{lines:5d}  {name}  ({where})")


if __name__ == "__main__":
    main()

"""``python -m auralytik_mock``: the same as the ``auralytik-mock`` command."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

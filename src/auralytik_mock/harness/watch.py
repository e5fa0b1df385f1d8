"""``--watch``: poll files and call back when any of them changes; tell a content change
from a touch.

Owns: the polling thread (what a reload compares is ``core.fixtures.files_digest``).
No Flask, no IO beyond ``stat`` and reading the watched files.
May import: the standard library only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path


class Watcher:
    """Poll ``files()`` every ``interval`` seconds in a daemon thread; call ``on_change()`` on change.

    :param files: the files to watch (asked again on every poll, so new fixtures count).
    :param on_change: what to do when a modification time changes, a file appears or vanishes.
    """

    def __init__(self, files: Callable[[], list[Path]], on_change: Callable[[], object], interval: float = 0.5) -> None:
        self.files = files
        self.on_change = on_change
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _stamps(self) -> dict[Path, float]:
        out = {}
        for path in self.files():
            try:
                out[path] = path.stat().st_mtime
            except OSError:
                out[path] = -1.0
        return out

    def _loop(self) -> None:
        last = self._stamps()
        while not self._stop.wait(self.interval):
            current = self._stamps()
            if current != last:
                last = current
                self.on_change()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="auralytik-mock-watch", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

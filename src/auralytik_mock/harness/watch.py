"""``--watch``: poll files and call back when any of them changes; tell a content change
from a touch.

Owns: the polling thread, and ``files_digest`` (what a reload compares to decide whether
the fixtures changed: their bytes, never what loading them made, which carries the time
of loading for records that omit ``createdAt``).
No Flask, no IO beyond ``stat`` and reading the watched files.
May import: the standard library only.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path


def files_digest(files: Iterable[Path]) -> str:
    """A digest of the names and bytes of ``files`` (a file that cannot be read counts as such).

    Equal digests mean the same files with the same content, whatever their modification
    times: a spec-only edit leaves the fixtures' digest as it was.
    """
    digest = hashlib.sha256()
    for path in files:
        digest.update(b"\0" + str(path).encode("utf-8", "surrogateescape") + b"\0")
        try:
            with path.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            digest.update(f"\0unreadable {exc.errno}".encode())
    return digest.hexdigest()


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

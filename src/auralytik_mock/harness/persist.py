"""``--persist PATH``: the state survives a restart.

Owns: loading the state file at start (checked like fixtures), and writing it back
atomically (a temporary file in the same folder, fsync, rename) within a second of
every change and at shutdown, so ``kill -9`` loses at most the last second and never
leaves a torn file.
File format: ``{"format": "auralytik-mock-state/1", "default": <fixtures format>,
"sessions": {"ses_...": <fixtures format>}}`` (the fixtures' format is what
``GET /__mock/state`` answers).
May import: ``errors``, ``store`` (types), ``types``; the engine is passed in.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ApiError, FixtureError
from ..core.store import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    from ..core.pipeline import Engine

log = logging.getLogger("auralytik_mock")

FORMAT = "auralytik-mock-state/1"
#: The longest a change waits before it is on disk, in seconds.
MAX_LAG = 1.0
#: Changes are gathered this long before a write (many calls, one write).
GATHER = 0.2


class Persister:
    """Keeps ``engine``'s state in ``path``.

    :param engine: the engine whose store is saved (read at each write: a reload swaps it).
    :param path: the state file; its folder must exist.
    """

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self.writes = 0
        self._exit_hook = False
        self._closed = False

    # -- start ---------------------------------------------------------------------

    def load(self) -> bool:
        """Load the file when it exists; returns whether it did.

        A missing folder is created; a folder that cannot be written stops start-up (rather
        than every change failing to save later, unseen).

        :raises FixtureError: the file is not JSON, not this format, or a dataset in it does
            not match the spec (the same messages as a bad fixture, naming the file); the
            folder cannot be created or written.
        """
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FixtureError(f"{self.path}: cannot create the folder for the state file: {exc}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise FixtureError(f"{self.path}: the folder {folder} is not writable; the state could not be saved")
        if self.path.is_dir():
            raise FixtureError(f"{self.path}: is a folder; --persist takes a file path (e.g. {self.path}/state.json)")
        if not self.path.exists():
            return False
        source = str(self.path)
        try:
            document = json.loads(self.path.read_bytes())
        except (OSError, ValueError) as exc:
            raise FixtureError(f"{source}: cannot read the state file ({exc})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise FixtureError(
                f'{source}: not an auralytik-mock state file (expected a JSON object with "format": '
                f'"{FORMAT}"); delete it or point --persist elsewhere'
            )
        unknown = sorted(set(document) - {"format", "default", "sessions"})
        if unknown:
            raise FixtureError(f"{source}: unknown top-level field(s) {', '.join(unknown)}")
        sessions = document.get("sessions") or {}
        if not isinstance(sessions, dict):
            raise FixtureError(f"{source}: sessions: must be a mapping of session id to dataset")
        loader = self.engine.world.loader
        store = self.engine.store
        datasets = [(DEFAULT_NAMESPACE, f"{source}: default", document.get("default"))]
        datasets += [(str(ns), f"{source}: sessions.{ns}", data) for ns, data in sessions.items()]
        for namespace, where, data in datasets:
            if namespace != DEFAULT_NAMESPACE and not (namespace.startswith("ses_") and namespace[4:].isalnum()):
                raise FixtureError(f"{where}: not a session id (ses_ and letters or digits)")
            try:
                seed = loader.load_documents([(where, data)])
            except FixtureError as exc:
                raise FixtureError(str(exc).replace("invalid fixtures:", "invalid state file:", 1)) from None
            try:
                store.restore(namespace, seed)
            except ApiError as exc:
                raise FixtureError(f"{where}: {exc.message}") from None
        log.warning("loaded the state from %s (%d session(s))", source, len(sessions))
        return True

    # -- writing -------------------------------------------------------------------

    def changed(self) -> None:
        """Something changed: write it within ``MAX_LAG`` seconds."""
        self._dirty.set()
        self.ensure_running()

    def ensure_running(self) -> None:
        """Start the writer thread (once; never again after ``close``)."""
        thread = self._thread
        if (thread is None or not thread.is_alive()) and not self._closed:
            with self._start_lock:
                if (self._thread is None or not self._thread.is_alive()) and not self._closed:
                    self._stop.clear()
                    self._thread = threading.Thread(target=self._run, name="auralytik-mock-persist", daemon=True)
                    self._thread.start()
                    if not self._exit_hook:
                        self._exit_hook = True
                        atexit.register(self.close)  # save the last changes at interpreter exit

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._dirty.wait(0.5):
                continue
            if self._stop.wait(GATHER):
                break
            try:
                self.write()
            except Exception:  # a bug must not stop saving: say so, and try again next round
                self._dirty.set()
                log.exception("cannot save the state to %s", self.path)

    def write(self) -> None:
        """Write the state now: temporary file, fsync, rename (never a torn file)."""
        with self._write_lock:
            self._dirty.clear()
            document = {"format": FORMAT, **self.engine.store.dump_all()}
            data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            folder = self.path.parent
            try:
                handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
                try:
                    with os.fdopen(handle, "wb") as out:
                        out.write(data)
                        out.flush()
                        os.fsync(out.fileno())
                    os.replace(temporary, self.path)
                except BaseException:
                    Path(temporary).unlink(missing_ok=True)
                    raise
            except OSError as exc:
                self._dirty.set()  # try again on the next round
                log.error("cannot save the state to %s: %s", self.path, exc)
                return
            self.writes += 1

    def close(self) -> None:
        """Stop the writer thread and write the last changes."""
        self._closed = True
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        if self._dirty.is_set():
            self.write()

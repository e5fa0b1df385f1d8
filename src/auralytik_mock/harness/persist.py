"""``--persist PATH``: the state survives a restart.

Owns: loading the state file at start (checked like fixtures), writing it back
atomically (a temporary file in the same folder, fsync, rename) within a second of
every change and at shutdown (where the OS forks, a child forked while the store is held
still renders and encodes the state as of that instant: the server's threads never wait for
it), so ``kill -9`` loses at most the last second and never leaves a torn file (the usage
counts of calls that changed nothing: within ``USAGE_LAG``), and the lock that keeps a second
server off the same file.
File format: ``{"format": "auralytik-mock-state/1", "default": <fixtures format>,
"sessions": {"ses_...": <fixtures format>}, "usage": ..., "tasks": {"<dataset>": [<task>]}}``
(the fixtures' format is what ``GET /__mock/state`` answers; ``tasks`` are the scheduler's
pending tasks: processing, exports, webhook retries; ``webhooks`` each dataset's webhooks with
their secrets).
A symlinked path keeps its link: the file it points to is read and replaced. The lock is
an OS file lock (``flock``; ``msvcrt`` on Windows) on ``.<name>-lock`` beside that file,
holding the owner's pid; the OS drops it when the process ends, however it ends.
May import: ``errors``, ``journal`` (``escape_control``), ``store`` (types), ``jsontext``
(``storable_problem``), ``types``; the engine is passed in.
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..core.errors import ApiError, FixtureError
from ..core.journal import escape_control
from ..core.jsontext import storable_problem
from ..core.store import DEFAULT_NAMESPACE
from ..core.types import Json

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from .sandbox import Engine

log = logging.getLogger("auralytik_mock")

FORMAT = "auralytik-mock-state/1"
#: The longest a change waits before it is on disk, in seconds.
MAX_LAG = 1.0
#: Changes are gathered this long before a write (many calls, one write).
GATHER = 0.2
#: The longest a call's usage count (``GET /usage/*``) waits before it is on disk, in
#: seconds, when nothing else changed: reads do not each cost a save of the whole state.
USAGE_LAG = 5.0
#: Whether a save renders and writes in a forked child process (where the OS can fork):
#: the records are encoded there, off the server's interpreter lock. ``False``: in the
#: writer thread, a batch of records at a time (``write_json``).
FORK_SAVES = hasattr(os, "fork") and hasattr(os, "waitstatus_to_exitcode")
#: Descriptors the save's child closes, from 3 up to this.
_MAX_FD = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1 << 16
# Python 3.12+ warns that fork() with threads may deadlock the child; ours runs no other
# thread's code and takes no lock (``_fork_writer``). Filtered here, once, for this module only.
warnings.filterwarnings(
    "ignore", message=r".*fork\(\) may lead to deadlocks", category=DeprecationWarning, module=__name__
)


class Persister:
    """Keeps ``engine``'s state in ``path``.

    :param engine: the engine whose store is saved (read at each write: a reload swaps it).
    :param path: the state file; its folder must exist.
    """

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        #: The path as given (what messages name).
        self.path = path
        #: The file written: ``path``, or what it links to (the link is kept, never replaced).
        self.target = Path(os.path.realpath(path))
        self._lock_file: IO[str] | None = None
        self._dirty = threading.Event()
        self._wake = threading.Event()  # a change, or close: the writer looks now
        self._counted = False  # a call was counted since the last write
        self._last_write = time.monotonic()
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
            folder cannot be created or written; another server holds the file.
        """
        self.target = Path(os.path.realpath(self.path))  # a link made since: follow it
        folder = self.target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FixtureError(f"{self.path}: cannot create the folder for the state file: {exc}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise FixtureError(f"{self.path}: the folder {folder} is not writable; the state could not be saved")
        if self.target.is_dir():
            raise FixtureError(f"{self.path}: is a folder; --persist takes a file path (e.g. {self.path}/state.json)")
        self._lock()
        try:
            return self._load()
        except BaseException:
            self._unlock()  # start-up stops here: the file is free for the next try
            raise

    def _load(self) -> bool:
        if not self.target.exists():
            return False
        source = str(self.path)
        document = self._read(source)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise FixtureError(
                f'{source}: not an auralytik-mock state file (expected a JSON object with "format": '
                f'"{FORMAT}"); delete it or point --persist elsewhere'
            )
        unknown = sorted(set(document) - {"format", "default", "sessions", "usage", "tasks", "webhooks"})
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
        store.restore_usage(document.get("usage"))  # the calls counted for GET /usage/*
        try:
            self.engine.webhooks.restore(document.get("webhooks"), f"{source}: webhooks")
            self.engine.scheduler.restore(document.get("tasks"), f"{source}: tasks")
        except (ValueError, ApiError) as exc:
            raise FixtureError(str(exc)) from None
        log.warning("loaded the state from %s (%d session(s))", source, len(sessions))
        return True

    def _read(self, source: str) -> object:
        """The state file parsed, or one line saying why not (never a traceback)."""
        try:
            document = json.loads(self.target.read_bytes())
        except RecursionError:
            raise FixtureError(f"{source}: cannot read the state file (it nests too deep to parse)") from None
        except (OSError, ValueError) as exc:
            raise FixtureError(f"{source}: cannot read the state file ({escape_control(str(exc))})") from None
        # What could not be saved back (a lone surrogate, a 65-bit integer, deep nesting).
        problem = storable_problem(document, "state")
        if problem is not None:
            detail = escape_control(f"{problem.field} {problem.message}")
            raise FixtureError(f"{source}: cannot read the state file ({detail})")
        return document

    # -- the lock ------------------------------------------------------------------

    def _lock(self) -> None:
        """Hold ``.<name>-lock`` beside the state file, or stop: another server writes it.

        :raises FixtureError: the lock is held (naming its holder's pid), or cannot be made.
        """
        lock_path = self.target.with_name(f".{self.target.name}-lock")
        try:
            handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held until close()
        except OSError as exc:
            raise FixtureError(f"{self.path}: cannot create the lock file {lock_path}: {exc.strerror}") from None
        try:
            _try_lock(handle)
        except OSError:
            try:
                handle.seek(0)
                holder = handle.read(32).strip()
            except OSError:  # Windows: the locked byte cannot be read
                holder = ""
            handle.close()
            who = f"pid {holder}" if holder.isdigit() else "another process"
            raise FixtureError(
                f"{self.path}: another auralytik-mock ({who}) keeps its state in this file; "
                "stop it, or give this one another --persist path"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle

    def _unlock(self) -> None:
        handle, self._lock_file = self._lock_file, None
        if handle is not None:
            try:
                handle.seek(0)
                handle.truncate()  # no stale pid for the next reader
                _unlock_file(handle)
            finally:
                handle.close()

    @property
    def locked(self) -> bool:
        """Whether this persister holds the state file's lock."""
        return self._lock_file is not None

    # -- writing -------------------------------------------------------------------

    def changed(self) -> None:
        """Something changed: write it within ``MAX_LAG`` seconds."""
        self._dirty.set()
        self._wake.set()
        self.ensure_running()

    def counted(self) -> None:
        """A call was counted: write it within ``USAGE_LAG`` seconds (sooner with a change)."""
        self._counted = True
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
            self._wake.wait(0.5)
            self._wake.clear()
            if self._stop.is_set():
                break  # close writes what is left
            if not self._dirty.is_set():
                if not (self._counted and time.monotonic() - self._last_write >= USAGE_LAG):
                    continue
            elif self._stop.wait(GATHER):
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
            self._counted = False
            self._last_write = time.monotonic()
            store = self.engine.store

            def rest() -> dict[str, Json]:
                return {
                    "usage": store.dump_usage(),
                    "tasks": self.engine.scheduler.dump(),
                    "webhooks": self.engine.webhooks.dump(),
                }

            target = self.target  # a symlinked path: replace what it points to, keep the link
            try:
                handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
                try:
                    pid = None
                    if FORK_SAVES:
                        with store.still() as records:  # writes wait only while the child is made
                            extra = rest()  # tasks as of the records (a job's record and its steps together)
                            pid = _fork_writer(handle, lambda: {"format": FORMAT, **records(), **extra})
                    if pid is not None:
                        _wait_for(pid)
                    else:  # no fork here, or it failed (no memory, a process limit): this thread writes
                        _write_file(handle, {"format": FORMAT, **store.dump_all(), **rest()})
                    os.replace(temporary, target)
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
        self._wake.set()  # the writer is waiting: it need not finish its half second
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        try:
            if self._dirty.is_set() or self._counted:
                self.write()
        finally:
            self._unlock()


def _write_file(handle: int, document: Json) -> None:
    with os.fdopen(handle, "wb") as out:
        write_json(document, out)
        out.flush()
        os.fsync(out.fileno())


def _fork_writer(handle: int, document: Callable[[], Json]) -> int | None:
    """Render and write ``document()`` into ``handle`` in a forked child process; returns its
    pid, or ``None`` when the OS would not fork (``handle`` is then still open: write it here).

    The child has the parent's memory as of the fork, copy on write (as Redis saves): with
    the store held still (``Store.still``) while it forks, that memory is the state as of
    one instant, and nothing is copied. The parent's threads never wait for the interpreter
    lock while 100,000 records are encoded: the server's loop only pays for the fork. The
    child first lets go of everything it inherited (every descriptor but ``handle``: the
    server's sockets, the state file's lock; the signal handlers and their wakeup descriptor),
    turns the garbage collector off (it would touch, and so copy, the whole heap), runs at a
    lower CPU priority, writes, and exits (``os._exit``).
    """
    gc.freeze()  # the heap as of now is never collected in the child: its pages stay shared
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        return None
    if pid == 0:  # pragma: no cover - the child: coverage does not follow it
        code = 1
        try:
            gc.disable()
            signal.set_wakeup_fd(-1)
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, signal.SIG_DFL)
            os.closerange(3, handle)
            os.closerange(handle + 1, _MAX_FD)
            os.nice(10)  # behind the server's calls, but never starved
            _write_file(handle, document())
            code = 0
        except BaseException:  # noqa: BLE001,S110 - the parent sees the exit code
            pass
        finally:
            os._exit(code)
    gc.unfreeze()
    os.close(handle)
    return pid


def _wait_for(pid: int) -> None:
    """Wait for ``_fork_writer``'s child.

    :raises OSError: it failed (the file is left for the caller to remove).
    """
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise OSError(f"the process that writes the state ended with {code}")


#: Containers this deep or deeper are encoded whole; shallower ones piece by piece.
_PIECEWISE_DEPTH = 6
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_WRITE_EVERY = 1 << 16
#: A list longer than this (records) is encoded this many items at a time.
_BATCH = 128


def write_json(document: Json, out: IO[bytes]) -> None:
    """Write ``document`` to ``out`` as ``json.dumps(document, ensure_ascii=False,
    separators=(",", ":"))`` would, byte for byte, a batch of records at a time.

    ``json.dumps`` holds the interpreter lock for the whole document: at 100,000 records
    that stalled the server's loop (GET p99 63 times its usual) for every save. Encoded
    128 records at a time, the loop gets the lock between pieces (the interpreter's
    switch interval), and the text is written in 64 KiB pieces, never held whole.
    """
    pending: list[str] = []
    size = 0
    for piece in _pieces(document, 0):
        pending.append(piece)
        size += len(piece)
        if size >= _WRITE_EVERY:
            out.write("".join(pending).encode("utf-8"))
            pending.clear()
            size = 0
    out.write("".join(pending).encode("utf-8"))


def _pieces(value: Json, depth: int) -> Iterator[str]:
    """``value``'s JSON text in pieces: a long list (records) ``_BATCH`` items a piece, a short
    one item by item, and the objects that hold records (or a long list) field by field; a
    record of scalars is one piece."""
    if depth < _PIECEWISE_DEPTH:
        if isinstance(value, list) and len(value) > _BATCH:  # records: a batch per piece
            yield "["
            for start in range(0, len(value), _BATCH):
                yield ("," if start else "") + _ENCODE(value[start : start + _BATCH])[1:-1]
            yield "]"
            return
        if isinstance(value, list) and value:
            yield "["
            for index, item in enumerate(value):
                if index:
                    yield ","
                yield from _pieces(item, depth + 1)
            yield "]"
            return
        if (
            isinstance(value, dict)
            and value
            and all(isinstance(key, str) for key in value)
            and (depth < 4 or any(isinstance(v, list | dict) and len(v) > 4 for v in value.values()))
        ):
            yield "{"
            for index, (key, item) in enumerate(value.items()):
                yield ("," if index else "") + _ENCODE(key) + ":"
                yield from _pieces(item, depth + 1)
            yield "}"
            return
    yield _ENCODE(value)


def _try_lock(handle: IO[str]) -> None:
    """Lock ``handle``'s file without waiting. :raises OSError: another process holds it."""
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:  # pragma: no cover - Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)


def _unlock_file(handle: IO[str]) -> None:
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    else:  # pragma: no cover - Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

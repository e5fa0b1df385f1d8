"""Memory under hostile load: the journal bomb and the slow-stderr case (issue 10).

Starts ``auralytik-mock serve`` on 127.0.0.1 (a free port) from this checkout or from a
git revision, sends a bounded load, and prints the server's RSS (the process and its
children: granian serves from a worker process) before and after.

- ``journal-bomb``: ``--count`` (370) POSTs of a 1 MiB ``[{},{},...]`` body as
  ``text/plain`` from a foreign ``Origin``, without a key. Stops early, and says so, when
  the RSS passes ``--max-rss-mib`` (this machine is shared).
- ``slow-stderr``: the access log on, stderr a pipe nobody reads; ``--threads`` clients
  send GETs for ``--seconds`` seconds. Reports answered calls, calls that hung (timeout),
  and the RSS.

Examples::

    python bench/memory.py                      # this checkout, both cases, granian
    python bench/memory.py --ref 9994401        # the code before issue 10
    python bench/memory.py --ref 7269cca --server werkzeug --case slow-stderr  # before issue 18
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and every descendant, in KiB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def _checkout(ref: str | None) -> Path:
    """The source tree to run: this checkout, or ``ref`` exported to a temporary folder."""
    if ref is None:
        return ROOT
    folder = Path(tempfile.mkdtemp(prefix="auralytik-mock-bench-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


class Server:
    def __init__(self, tree: Path, server: str, *, access_log: bool) -> None:
        self.port = _free_port()
        flags = [] if access_log else ["--quiet"]
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        env.pop("AURALYTIK_MOCK_ACCESS_LOG", None)
        # stderr: a pipe this script never reads (the slow consumer), or nowhere.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "auralytik_mock", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
            + ["--server", server, *flags],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE if access_log else subprocess.DEVNULL,
            env=env,
            cwd=tree,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.request("GET", "/__mock/health", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout=10.0
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def rss_mib(self) -> float:
        return _tree_rss_kib(self.process.pid) / 1024

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()


def journal_bomb(tree: Path, server: str, count: int, max_rss_mib: float) -> None:
    body = b"[" + b"{}," * ((MIB - 3) // 3) + b"{}]"
    body = body[: MIB - 3] + b"{}]" if len(body) > MIB else body
    mock = Server(tree, server, access_log=False)
    try:
        before = mock.rss_mib()
        sent, statuses, peak = 0, {}, before
        started = time.monotonic()
        for _ in range(count):
            headers = {"Content-Type": "text/plain", "Origin": "https://evil.example"}
            status, _ = mock.request("POST", "/v1/engagements", body, headers, timeout=60)
            statuses[status] = statuses.get(status, 0) + 1
            sent += 1
            peak = max(peak, mock.rss_mib())
            if peak > max_rss_mib:
                break
        journal = mock.request("GET", "/__mock/requests", timeout=60)
        peak = max(peak, mock.rss_mib())
        after = mock.rss_mib()
        stopped = f" (stopped: RSS passed {max_rss_mib:.0f} MiB)" if sent < count else ""
        per_request = (after - before) / max(sent, 1)
        print(
            f"journal-bomb  {server:<8} {sent} x {len(body) / MIB:.2f} MiB bodies{stopped}: "
            f"RSS {before:.0f} -> {after:.0f} MiB (peak {peak:.0f} MiB, {per_request:.2f} MiB/request); "
            f"answers {statuses}; GET /__mock/requests {journal[0]}, {len(journal[1]) / MIB:.1f} MiB; "
            f"{time.monotonic() - started:.0f} s"
        )
    finally:
        mock.stop()


def slow_stderr(tree: Path, server: str, seconds: float, threads: int) -> None:
    mock = Server(tree, server, access_log=True)
    answered, hung, errors = [0], [0], [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop_at:
            try:
                status, _ = mock.request(
                    "GET", "/v1/engagements/eng_456", headers={"Authorization": "Bearer YOUR_API_KEY"}, timeout=5
                )
                with lock:
                    answered[0] += 1
            except TimeoutError:
                with lock:
                    hung[0] += 1
                return  # a hung server: this client stops
            except OSError:
                with lock:
                    errors[0] += 1

    try:
        before = mock.rss_mib()
        workers = [threading.Thread(target=client) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(seconds + 10)
        after = mock.rss_mib()
        try:
            health = mock.request("GET", "/__mock/health", timeout=5)[0]
        except OSError:
            health = "no answer"
        print(
            f"slow-stderr   {server:<8} {seconds:.0f} s x {threads} clients: answered {answered[0]}, "
            f"hung {hung[0]}, errors {errors[0]}; RSS {before:.0f} -> {after:.0f} MiB; health after: {health}"
        )
    finally:
        mock.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", help="a git revision to measure instead of this checkout (e.g. 9994401)")
    # "granian" is the default server of older revisions; this one reads it as "asyncio".
    parser.add_argument("--server", choices=["granian", "asyncio", "werkzeug"], default="granian")
    parser.add_argument("--case", choices=["journal-bomb", "slow-stderr", "all"], default="all")
    parser.add_argument("--count", type=int, default=370, help="journal-bomb requests (default 370)")
    parser.add_argument("--max-rss-mib", type=float, default=4096, help="stop the bomb past this RSS (default 4096)")
    parser.add_argument("--seconds", type=float, default=20, help="slow-stderr duration (default 20)")
    parser.add_argument("--threads", type=int, default=8, help="slow-stderr clients (default 8)")
    args = parser.parse_args()
    tree = _checkout(args.ref)
    print(f"code: {args.ref or 'this checkout'}")
    if args.case in {"journal-bomb", "all"}:
        journal_bomb(tree, args.server, args.count, args.max_rss_mib)
    if args.case in {"slow-stderr", "all"}:
        slow_stderr(tree, args.server, args.seconds, args.threads)


if __name__ == "__main__":
    main()

"""Shared test helpers: the package on sys.path, golden vectors, a fake EWP/1 monitor, waits.

Importing this module puts agents/python on sys.path, so the tests run from any directory
(``python -m unittest discover -s agents/python/tests``) without installing the package.
"""

import os
import socket
import sys
import threading
import time
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
AGENT_ROOT = HERE.parent
REPO_ROOT = AGENT_ROOT.parent.parent
GOLDEN_DIR = REPO_ROOT / "agents" / "protocol" / "golden"
if str(AGENT_ROOT) not in sys.path:
    sys.path.insert(0, str(AGENT_ROOT))

from ergowatch import protocol as p  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_torch():
    """Returns the torch module, or skips the calling test module (fails it under CI=true).

    A suite that exists must run in CI: there a missing torch is an error, never a skip.
    """
    try:
        import torch
        return torch
    except ImportError as e:
        msg = (f"torch is not importable by {sys.executable} ({e}); the torch suites need it: run them with "
               f"/usr/bin/python3 after `apt-get install -y python3-torch`")
        if IN_CI:
            raise RuntimeError("CI=true: " + msg) from e
        raise unittest.SkipTest(msg)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Polls ``predicate`` until true; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


def free_port() -> int:
    """A TCP port nothing listens on (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- golden vectors -------------------------------------------------------------------------

@dataclass
class Vector:
    name: str
    frame: str
    expect: str
    max_frame: int
    what: str
    message: Optional[str]
    data: bytes

    @property
    def ok(self) -> bool:
        return self.expect == "ok"

    @property
    def error(self) -> Optional[str]:
        return None if self.ok else self.expect.split()[1]

    @property
    def length_prefix(self) -> int:
        return int.from_bytes(self.data[:4], "big")


def golden_vectors() -> List[Vector]:
    out = []
    for path in sorted(GOLDEN_DIR.glob("*.hex")):
        lines = path.read_text(encoding="utf-8").splitlines()
        header = {}
        for line in lines[:5]:  # frame, expect, max_frame, what; and message for a malformed vector
            key, _, value = line[1:].partition(":")
            header[key.strip()] = value.strip()
        hex_text = " ".join(line for line in lines if line.strip() and not line.startswith("#"))
        message = header.get("message") if header["expect"] != "ok" else None
        out.append(Vector(path.stem, header["frame"], header["expect"], int(header["max_frame"]), header["what"],
                          message, bytes.fromhex(hex_text)))
    return out


# ---- a fake monitor ---------------------------------------------------------------------------

@dataclass
class Session:
    """What the fake monitor knows of one (run, rank, session)."""
    hello: p.Hello
    acked: int = 0
    steps: List[p.Step] = field(default_factory=list)


class FakeMonitor:
    """A small EWP/1 server for transport tests: one thread per connection.

    It answers HELLO with WELCOME carrying the last seq it recorded (or with the ERROR that
    ``answer_hello`` returns), checks seq order exactly like the monitor (a gap is
    PROTOCOL_ORDER, a seq <= the last recorded is a silent resend), ACKs every ``ack_every``
    STEPs and whatever one read brought (never while ``acking`` is False), and answers BYE
    with the final ACK and closes. ``kill_after_steps`` drops a connection after that many
    STEPs received on it, losing those not acknowledged yet. Everything it saw is kept.
    """

    def __init__(self, port: int = 0, ack_every: int = 1, listen: bool = True):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.ack_every = ack_every
        self.acking = True
        self.answer_hello: Optional[Callable[[p.Hello], Optional[p.ErrorFrame]]] = None
        self.kill_after_steps: Optional[int] = None
        self.welcome_acked: Optional[Callable[[Session], int]] = None
        self.lock = threading.Lock()
        self.sessions: Dict[Tuple[str, int, int], Session] = {}
        self.hellos: List[p.Hello] = []
        self.heartbeats = 0
        self.byes: List[p.Bye] = []
        self.errors_sent: List[p.ErrorFrame] = []
        self.connections = 0
        self.duplicates = 0
        self._conns: List[socket.socket] = []
        self._stopped = False
        self._accept_thread: Optional[threading.Thread] = None
        if listen:
            self.start()

    def start(self) -> None:
        self.sock.listen(16)
        self._accept_thread = threading.Thread(target=self._accept, daemon=True, name="fake-monitor")
        self._accept_thread.start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name="fake-monitor-conn").start()

    def _send(self, conn: socket.socket, frame) -> None:
        try:
            conn.sendall(p.encode(frame))
        except OSError:
            pass  # the agent went away: nothing to tell it

    def _serve(self, conn: socket.socket) -> None:
        reader = p.FrameReader()
        session: Optional[Session] = None
        received = 0
        unacked = 0
        try:
            while True:
                if session is not None and self.acking and session.steps and session.steps[-1].seq > session.acked:
                    with self.lock:  # like the monitor's ack-interval: what arrived is acknowledged
                        session.acked = session.steps[-1].seq
                    unacked = 0
                    self._send(conn, p.Ack(session.acked))
                data = conn.recv(65536)
                if not data:
                    return
                reader.feed(data)
                for frame in reader:
                    if isinstance(frame, p.Hello):
                        with self.lock:
                            self.hellos.append(frame)
                        refusal = self.answer_hello(frame) if self.answer_hello else None
                        if refusal is not None:
                            self.errors_sent.append(refusal)
                            self._send(conn, refusal)
                            return
                        key = (frame.run, frame.rank, frame.session)
                        with self.lock:
                            session = self.sessions.get(key)
                            if session is None:
                                session = self.sessions[key] = Session(frame)
                            recorded = session.steps[-1].seq if session.steps else session.acked
                            acked = self.welcome_acked(session) if self.welcome_acked else recorded
                        self._send(conn, p.Welcome(acked, p.DEFAULT_MAX_FRAME))
                    elif isinstance(frame, p.Step):
                        if session is None:
                            self._send(conn, p.ErrorFrame(p.ErrorCode.PROTOCOL_ORDER, "STEP before HELLO"))
                            return
                        with self.lock:
                            last = session.steps[-1].seq if session.steps else session.acked
                            if frame.seq <= last:
                                self.duplicates += 1
                                continue
                            if frame.seq != last + 1:
                                err = p.ErrorFrame(p.ErrorCode.PROTOCOL_ORDER, f"seq {frame.seq} after {last}")
                                self.errors_sent.append(err)
                                self._send(conn, err)
                                return
                            if any(i >= len(session.hello.series) for i in frame.ids):
                                err = p.ErrorFrame(p.ErrorCode.BAD_FRAME, "series id out of range")
                                self.errors_sent.append(err)
                                self._send(conn, err)
                                return
                            session.steps.append(frame)
                        received += 1
                        unacked += 1
                        if self.kill_after_steps is not None and received >= self.kill_after_steps:
                            with self.lock:  # lost in flight: never applied, never acknowledged
                                session.steps = [st for st in session.steps if st.seq <= session.acked]
                            return
                        if self.acking and unacked >= self.ack_every:
                            with self.lock:
                                session.acked = session.steps[-1].seq
                            unacked = 0
                            self._send(conn, p.Ack(session.acked))
                    elif isinstance(frame, p.Heartbeat):
                        with self.lock:
                            self.heartbeats += 1
                    elif isinstance(frame, p.Bye):
                        with self.lock:
                            self.byes.append(frame)
                            if session is not None and session.steps:
                                session.acked = session.steps[-1].seq
                        self._send(conn, p.Ack(session.acked if session else 0))
                        return
        except (OSError, p.ProtocolError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def ack_pending(self) -> None:
        """Turns acking back on (the next STEP of a connection acknowledges everything)."""
        self.acking = True

    def all_steps(self, run: Optional[str] = None) -> List[Tuple[Session, p.Step]]:
        with self.lock:
            return [(s, st) for s in self.sessions.values() if run is None or s.hello.run == run for st in s.steps]

    def values(self, run: Optional[str] = None) -> List[Dict[str, float]]:
        """Every STEP received, in order of arrival per session, as {name: value} with 'step'."""
        out = []
        for s, st in self.all_steps(run):
            d = {s.hello.series[i]: v for i, v in zip(st.ids, st.values)}
            d["step"] = st.step
            out.append(d)
        return out

    def step_count(self) -> int:
        with self.lock:
            return sum(len(s.steps) for s in self.sessions.values())

    def drop_connections(self) -> None:
        """Closes every open connection, as a monitor crash would."""
        with self.lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._stopped = True
        try:
            self.sock.close()
        except OSError:
            pass
        self.drop_connections()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- the real monitor ---------------------------------------------------------------------------

class MonitorProcess:
    """The real monitor (monitor/target/ergowatch.jar) on free ports, in a temporary data dir.

    The ports come from its startup line on stderr: "ergowatch monitor listening: EWP/1 on
    HOST:PORT, HTTP on http://HOST:PORT/ ...". ``stop()`` sends SIGTERM (a graceful shutdown)
    and waits for the process.
    """

    def __init__(self, jar: Path, startup_timeout: float = 90.0, extra_args: Sequence[str] = (),
                 env: Optional[Dict[str, str]] = None):
        import re
        import subprocess
        import tempfile
        self.data_dir = tempfile.mkdtemp(prefix="ergowatch-e2e-")
        self.lines: List[str] = []
        self.proc = subprocess.Popen(["java", "-jar", str(jar), "serve", "--ingest-port", "0", "--http-port", "0",
                                      "--data-dir", self.data_dir, *extra_args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     env=None if env is None else {**os.environ, **env})
        pattern = re.compile(r"listening: EWP/1(?: over TLS)? on [^\s]+:(\d+), HTTP on https?://[^\s/]+:(\d+)/")
        found = threading.Event()
        ports: List[int] = []

        def drain():
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                m = pattern.search(line)
                if m and not found.is_set():
                    ports.extend(int(g) for g in m.groups())
                    found.set()

        threading.Thread(target=drain, daemon=True, name="monitor-stderr").start()
        if not found.wait(startup_timeout):
            self.stop()
            raise AssertionError(f"the monitor did not log its ports within {startup_timeout} s; stderr:\n"
                                 + "\n".join(self.lines[-30:]))
        self.ingest_port, self.http_port = ports
        self.address = f"127.0.0.1:{self.ingest_port}"

    def https(self, path: str, context) -> Tuple[int, str]:
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{self.http_port}{path}", timeout=10,
                                        context=context) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8")

    def http(self, path: str) -> Tuple[int, str]:
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=10) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8")

    def run(self, run: str) -> Optional[dict]:
        import json
        status, body = self.http(f"/api/runs/{run}")
        return json.loads(body) if status == 200 else None

    def metric(self, name: str, run: str) -> Optional[float]:
        """The value of ``name{...run="<run>"...}`` on /metrics, or None."""
        _, text = self.http("/metrics")
        for line in text.splitlines():
            if line.startswith(name + "{") and f'run="{run}"' in line:
                return float(line.rsplit(" ", 1)[1])
        return None

    def __enter__(self) -> "MonitorProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> int:
        import signal
        import subprocess
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def monitor_jar() -> Path:
    """The monitor's shaded jar, or a skip (a failure under CI=true) when it is not built."""
    import shutil
    jar = Path(os.environ.get("ERGOWATCH_MONITOR_JAR", REPO_ROOT / "monitor" / "target" / "ergowatch.jar"))
    problem = None
    if not jar.is_file():
        problem = f"{jar} is not built (mvn -B -q install -DskipTests -pl monitor -am)"
    elif shutil.which("java") is None:
        problem = "java is not on PATH"
    if problem:
        if IN_CI:
            raise RuntimeError("CI=true: the end-to-end tests need the monitor: " + problem)
        raise unittest.SkipTest(problem)
    return jar

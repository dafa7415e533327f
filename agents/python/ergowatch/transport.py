"""The EWP/1 connection machinery of the agent: the reconnect backoff, the window of records
in flight, one TCP connection with its reader thread, and the address and error wording.

Used by :class:`ergowatch.agent.Agent`'s network thread; standard library only.
"""

import collections
import random
import select
import socket
import struct
import threading
import time
from typing import Optional, Tuple

from . import protocol as p

__all__ = ["Backoff", "InFlightWindow", "Connection", "describe_error", "parse_address"]

_SEQ = struct.Struct(">Q")


class Backoff:
    """Reconnect delays: exponential backoff with full jitter.

    Attempt k waits a uniform random time in [0, min(max, initial * 2^k)]; ``reset()`` after a
    WELCOME. Full jitter keeps many agents that lost the same monitor from reconnecting in
    lockstep. Network thread only.
    """

    def __init__(self, initial: float, maximum: float, rng: random.Random):
        self.initial = initial
        self.maximum = maximum
        self.rng = rng
        self.attempt = 0

    def ceiling(self) -> float:
        return min(self.maximum, self.initial * (2.0 ** min(self.attempt, 62)))

    def next_delay(self) -> float:
        bound = self.ceiling()
        self.attempt = min(self.attempt + 1, 62)
        return self.rng.uniform(0.0, bound)

    def max_delay(self) -> float:
        """A delay under the maximum bound, for failures a quick retry will not cure."""
        self.attempt = 62
        return self.rng.uniform(0.0, self.maximum)

    def reset(self) -> None:
        self.attempt = 0


class InFlightWindow:
    """Records that have a seq but no ACK yet, as encoded STEP frames (a resend is a copy).

    Seqs are contiguous, (acked, last]. A record leaves only when acknowledged, never because
    the window is full (the sender stops taking records instead), so a resend from any
    acked_seq + 1 the monitor names finds every record and never leaves a gap. A record read
    from the spool carries its spool ref, so that its ACK can release it from the disk.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.frames = collections.deque()  # (frame bytes, buffer position, spool ref or None)
        self.acked = 0
        self.last = 0
        self.released_ref = None  # the spool ref of the latest record release() or skip_to() let go

    def size(self) -> int:
        return len(self.frames)

    def is_full(self) -> bool:
        return len(self.frames) >= self.capacity

    def is_empty(self) -> bool:
        return not self.frames

    def append(self, step: int, time_ns: int, count: int, entries: bytes, position: int, ref=None) -> int:
        seq = self.last + 1
        self.frames.append((p.encode_step(seq, step, time_ns, count, entries), position, ref))
        self.last = seq
        return seq

    def frame(self, seq: int) -> bytes:
        return self.frames[seq - self.acked - 1][0]

    def first_position(self) -> int:
        return self.frames[0][1]

    def release(self, upto: int) -> int:
        """Drops every record with seq <= upto; returns how many."""
        n = 0
        upto = min(upto, self.last)
        while self.acked < upto:
            ref = self.frames.popleft()[2]
            if ref is not None:
                self.released_ref = ref
            self.acked += 1
            n += 1
        return n

    def skip_to(self, seq: int) -> int:
        """The monitor knows more than was sent: everything here is acknowledged."""
        n = len(self.frames)
        for _, _, ref in self.frames:
            if ref is not None:
                self.released_ref = ref
        self.frames.clear()
        self.acked = self.last = seq
        return n

    def renumber_from_one(self) -> None:
        """A new session: the records still here get seqs 1..size."""
        renumbered = collections.deque()
        for i, (frame, pos, ref) in enumerate(self.frames, start=1):
            renumbered.append((frame[:5] + _SEQ.pack(i) + frame[13:], pos, ref))
        self.frames = renumbered
        self.acked = 0
        self.last = len(renumbered)


class Connection:
    """One TCP connection: written by the network thread, read by a reader thread of its own.

    The first failure (I/O error, EOF, ERROR frame, bad frame, a stalled write, or ``fail``
    from any thread) is kept as the reason, shuts the socket down and wakes the network
    thread; later ones are ignored. Never logs: the network thread reports the reason once.
    """

    def __init__(self, sock: socket.socket, wake, tick: float):
        self.sock = sock
        self.wake = wake
        self.tick = tick
        self.reader = p.FrameReader(p.DEFAULT_MAX_FRAME)
        self.acked = -1
        self.failure: Optional[str] = None
        self.error: Optional[p.ErrorFrame] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    def handshake(self, hello: bytes, timeout: float):
        """Sends the HELLO and waits (at most ``timeout``) for the monitor's answer."""
        self.sock.sendall(hello)
        deadline = time.monotonic() + timeout
        while True:
            frame = self.reader.next_frame()
            if frame is not None:
                return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no answer to HELLO")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("monitor closed the connection")
            self.reader.feed(data)

    def start_reader(self, name: str, write_timeout: float) -> None:
        self.sock.settimeout(write_timeout)  # bounds a sendall the monitor stopped reading
        self._thread = threading.Thread(target=self._read_loop, name=name, daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        try:
            while self.failure is None:
                for frame in self.reader:
                    if isinstance(frame, p.Ack):
                        if frame.acked_seq > self.acked:
                            self.acked = frame.acked_seq
                            self.wake()
                    elif isinstance(frame, p.ErrorFrame):
                        self.error = frame
                        self.fail(f"monitor sent ERROR {frame.code.name}: {frame.message}")
                        return
                    else:
                        self.fail(f"monitor sent an unexpected {frame.type.name} frame")
                        return
                # A TLS socket may hold decrypted bytes that select() cannot see: read those first.
                pending = getattr(self.sock, "pending", None)
                if not (pending and pending()):
                    readable, _, _ = select.select([self.sock], [], [], self.tick)
                    if not readable:
                        continue
                data = self.sock.recv(65536)
                if not data:
                    self.fail("monitor closed the connection")
                    return
                self.reader.feed(data)
        except p.ProtocolError as e:
            self.fail(f"bad frame from the monitor: {e}")
        except (OSError, ValueError) as e:
            self.fail(describe_error(e))

    def write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.fail(describe_error(e) if not isinstance(e, socket.timeout) else
                      "a write to the monitor was blocked for too long")
            raise

    def fail(self, reason: str) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = reason
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected any more: nothing left to shut down
        self.wake()

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def close(self) -> None:
        """Ends the connection and waits briefly for the reader thread."""
        if self.failure is None:
            self.fail("closed by the agent")
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(1.0)
        try:
            self.sock.close()
        except OSError:
            pass  # closing a socket that failed: nothing left to do


def describe_error(e: BaseException) -> str:
    """A network failure in a few words, for the one line the network thread logs."""
    if isinstance(e, socket.timeout):
        return f"timed out ({e})"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, socket.gaierror):
        return f"unknown host ({e})"
    msg = str(e)
    return msg if msg else type(e).__name__


def parse_address(address: str) -> Tuple[str, int]:
    """(host, port) of "host:port" or "[v6]:port".

    Raises:
        TypeError, ValueError: an address a person should fix, with an example.
    """
    if not isinstance(address, str):
        raise TypeError(f"address must be a str like 'localhost:7479', got {type(address).__name__}")
    host, sep, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""
    if not sep or not host or not port.isdigit():
        raise ValueError(f"address {p.quote(address)} must be host:port, e.g. localhost:7479")
    n = int(port)
    if not 1 <= n <= 65535:
        raise ValueError(f"address {p.quote(address)} has port {n}, must be 1..65535")
    return host, n

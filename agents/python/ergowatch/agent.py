"""The EWP/1 transport: streams the records of one (run, rank) to the ergowatch monitor.

A Python port of the Java agent (agents/java, ``ErgowatchAgent`` and ``NetworkLoop``), with the
same delivery rules; see :class:`Agent`. Standard library only: it must import and run
without torch.
"""

import collections
import logging
import os
import random
import secrets
import socket
import struct
import threading
import time
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

from . import protocol as p
from .spool import DEFAULT_SPOOL_BYTES, MIN_SPOOL_BYTES, Spool
from .transport import Backoff, Connection, InFlightWindow, describe_error, parse_address

__all__ = ["Agent", "AGENT_DROPPED", "DEFAULT_PORT"]

log = logging.getLogger(__name__)

AGENT_DROPPED = "agent_dropped"
"""The series every HELLO declares last: the number of records this agent dropped so far."""
DEFAULT_PORT = 7479

_REFUSALS = frozenset({p.ErrorCode.UNAUTHORIZED, p.ErrorCode.INVALID_NAME, p.ErrorCode.UNSUPPORTED_VERSION,
                       p.ErrorCode.BAD_FRAME, p.ErrorCode.LIMIT_EXCEEDED})
_DEFAULT_BUFFER_BYTES = 64 << 20
_DEFAULT_WINDOW_BYTES = 16 << 20
_MAX_BATCH_BYTES = 1 << 20
_BYE_WAIT = 1.0
_REFUSED_POLL = 0.1
_DROP_LOG_INTERVAL = 60.0
_HEARTBEAT = p.encode(p.Heartbeat())
_DROPPED_ENTRY = struct.Struct(">Hd")
_MAX_STEP = p.U63_MAX


def _mono() -> float:
    return time.monotonic()


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not 0 < value <= 86400:
        raise ValueError(f"{name} must be > 0 and at most 1 day (seconds), got {value}")
    return value


def _at_least_one(name: str, value: int) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return int(value)


class Agent:
    """Streams the records of one training run (one rank of it) to the ergowatch monitor.

    The constructor starts one daemon thread, ``ergowatch-agent-<run>``, and returns at once
    without waiting for the monitor. That thread connects, sends HELLO, resends what the
    WELCOME asks for, streams STEP frames in batches (many frames per write; a batch leaves
    when full, when the agent was idle, or at most ``flush_interval`` after its first record),
    sends a HEARTBEAT after ``heartbeat_interval`` without a STEP, and reconnects after any
    failure with exponential backoff and full jitter. Each connection has a reader thread for
    ACKs.

    Delivery, drops and seq numbers (as agents/java): a record stays in memory until the
    monitor acknowledges it, first in the buffer (``buffer_capacity`` records not sent yet),
    then in the in-flight window (``max_in_flight`` records sent, not acknowledged). A record
    gets its seq when it enters the window, just before its first send, so the seqs of a
    session are 1..last without a hole and every seq above the monitor's acked_seq is still in
    the window: only the buffer drops, and only unsent records (the oldest first, counted);
    the window never drops (when full, sending waits for ACKs and the buffer absorbs the
    backlog); after a reconnect the agent resends from WELCOME.acked_seq + 1. Once anything
    was dropped, every later STEP carries the running total in the series ``agent_dropped``,
    which every HELLO declares after the user's series. A WELCOME that knows less than was
    already acknowledged (the monitor lost records) starts a new session, renumbering the
    records in flight from 1.

    Disk spool (``spool_dir``, off by default): unsent records that do not fit in memory go
    to a bounded, append-only spool on disk (docs/protocol.md, "Delivery"). The network thread,
    never ``record()``, moves the oldest unsent records from memory to the spool whenever the
    buffer is half full (down to a quarter, so ``record()`` keeps headroom), and moves every
    unsent record there when the agent closes without having delivered it. Records are sent
    oldest first: the window, then the spool, then memory; a spooled record leaves the disk once
    the monitor acknowledges it. When the spool would exceed ``spool_max_bytes`` its oldest
    segment is deleted and its unsent records are counted as dropped (in ``agent_dropped``);
    ``record()`` still drops the oldest in memory when the network thread cannot keep up (e.g.
    during a blocking connect). A later agent of the same run and rank with the same
    ``spool_dir`` (typically the restarted training process, in a new session) sends what the
    spool still holds first, after its HELLO, numbered in its own session; a record that was
    sent but not acknowledged when the earlier process ended may then be recorded twice. A lock
    file keeps two live agents from sharing a spool (:class:`ergowatch.SpoolInUseError`); a torn
    tail (a crash mid-write) is truncated with a warning. Format: :mod:`ergowatch.spool`.

    If the monitor refuses the HELLO (UNAUTHORIZED, INVALID_NAME, UNSUPPORTED_VERSION,
    BAD_FRAME, LIMIT_EXCEEDED) the agent logs it once and stops trying; records are then
    counted as dropped. Other ERRORs are retried with backoff.

    ``close()`` sends what is buffered, then BYE, and waits for the final ACK, all within
    ``close_timeout``; what is still undelivered then counts as dropped. Safe to call twice;
    the agent is also a context manager (an exception ends the run with BYE status failed).

    ``record()`` never blocks on the network or the monitor, never raises for anything they
    do, and never replaces NaN or infinity: they are sent bit for bit. It raises only for a
    wrong call (an undeclared series, a negative step).

    Example:
        >>> import ergowatch
        >>> with ergowatch.Agent("localhost:1", "doc-run", series=["loss", "lr"],
        ...                      close_timeout=0.2) as agent:   # no monitor there: never blocks
        ...     for step in range(3):
        ...         agent.record(step, loss=1.0 / (step + 1), lr=0.1)
        >>> agent.recorded_count, agent.dropped_count
        (3, 3)

    Args:
        address: the monitor, ``host:port`` (``[v6]:port`` for IPv6).
        run: the run id, 1..128 chars of [A-Za-z0-9._:-].
        series: the series this agent records, 1..64 chars of [a-z0-9_.] each.
        job: the group of runs (a sweep, a project), 0..128 chars of [A-Za-z0-9._:-].
        labels: run metadata; keys [a-z_][a-z0-9_]{0,63}, values at most 256 UTF-8 bytes.
        token: the auth token, at most 256 UTF-8 bytes.
        rank: this process's rank, 0 <= rank < world.
        world: the ranks of the run.
        mode: "replicated" (data parallel) or "sharded" (FSDP, tensor parallel).
        session: the session id (any u64); random by default.
        buffer_capacity: unsent records held before the oldest are dropped. Default 65536, or
            fewer with many series (about 64 MiB at most).
        max_in_flight: records sent but not acknowledged. Default 16384, or fewer with many
            series (about 16 MiB at most).
        batch_max_records: STEP frames per write at most (and at most 1 MiB).
        flush_interval: the longest a record waits for a fuller batch, seconds.
        heartbeat_interval: a HEARTBEAT goes out after this long without a STEP, seconds.
        reconnect_backoff: (initial, max) seconds of the reconnect backoff.
        connect_timeout: TCP connect timeout, seconds.
        read_timeout: how long to wait for the WELCOME, and for ACK progress while records are
            unacknowledged, before the connection is replaced, seconds.
        close_timeout: how long ``close()`` waits for buffered records to be acknowledged.
        spool_dir: a directory for the disk spool (see above), shared by any number of runs and
            ranks (each gets ``<spool_dir>/<run>/rank-<rank>``); None: memory only. Read at
            construction: records an earlier process left there are recovered then.
        spool_max_bytes: the most bytes the spool takes on disk (default 256 MiB, at least
            64 KiB).
        tls: an :class:`ssl.SSLContext` to connect over TLS (a monitor started with
            ``tls-keystore``), True for ``ssl.create_default_context()``, None for plain TCP. The
            host name of ``address`` is checked against the monitor's certificate.

    Raises:
        ValueError: a bad setting; :class:`ergowatch.ProtocolError` (a ValueError) names the
            EWP code for a bad run, job, series, label or token.
        ergowatch.SpoolInUseError: another live agent holds this run and rank's spool.
        OSError: the spool directory cannot be created or read.
    """

    def __init__(self, address: str, run: str, series: Sequence[str] = (), *, job: str = "",
                 labels: Optional[Mapping[str, str]] = None, token: str = "", rank: int = 0, world: int = 1,
                 mode: Union[str, int, p.Mode] = "replicated", session: Optional[int] = None,
                 buffer_capacity: Optional[int] = None, max_in_flight: Optional[int] = None,
                 batch_max_records: int = 256, flush_interval: float = 0.02, heartbeat_interval: float = 5.0,
                 reconnect_backoff: Tuple[float, float] = (0.1, 10.0), connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, close_timeout: float = 10.0,
                 spool_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
                 spool_max_bytes: int = DEFAULT_SPOOL_BYTES,
                 tls: Union[None, bool, "ssl.SSLContext"] = None):
        self._host, self._port = parse_address(address)
        if tls is True:
            import ssl
            tls = ssl.create_default_context()
        elif tls is not None and tls is not False and not hasattr(tls, "wrap_socket"):
            raise TypeError(f"tls must be an ssl.SSLContext, True or None, got {type(tls).__name__}")
        self._tls = tls or None
        self.address = address
        if isinstance(series, str):
            raise TypeError("series must be a list of names, not a str")
        user = list(series)
        if not user:
            raise ValueError("at least one series is required")
        seen = set()
        for name in user:
            if not isinstance(name, str):
                raise TypeError(f"series names must be str, got {name!r}")
            p.check_series(name)
            if name == AGENT_DROPPED:
                raise ValueError('series "agent_dropped" is reserved: the agent declares it and fills it with '
                                 'its drop count')
            if name in seen:
                raise ValueError(f"duplicate series name {p.quote(name)}")
            seen.add(name)
        if isinstance(mode, str):
            try:
                mode = p.Mode[mode.upper()]
            except KeyError:
                raise ValueError(f"mode must be 'replicated' or 'sharded', got {mode!r}") from None
        if not isinstance(world, int) or world < 1:
            raise ValueError(f"world must be >= 1, got {world}")
        if not isinstance(rank, int) or not 0 <= rank < world:
            raise ValueError(f"rank {rank} must be within 0..{world - 1} (world {world})")
        backoff_initial, backoff_max = (_positive("reconnect_backoff initial", reconnect_backoff[0]),
                                        _positive("reconnect_backoff max", reconnect_backoff[1]))
        if backoff_max < backoff_initial:
            raise ValueError(f"reconnect_backoff max {backoff_max} must be >= initial {backoff_initial}")
        self._flush_interval = _positive("flush_interval", flush_interval)
        self._heartbeat_interval = _positive("heartbeat_interval", heartbeat_interval)
        self._connect_timeout = _positive("connect_timeout", connect_timeout)
        self._read_timeout = _positive("read_timeout", read_timeout)
        self._close_timeout = _positive("close_timeout", close_timeout)
        all_series = tuple(user) + (AGENT_DROPPED,)
        self._hello = p.Hello(run, job, token, secrets.randbits(64) if session is None else session,
                              rank, world, mode, all_series, tuple((labels or {}).items()))
        self._hello_bytes = p.encode(self._hello)
        if len(self._hello_bytes) - p.LENGTH_BYTES > p.DEFAULT_MAX_FRAME:
            raise ValueError(f"HELLO would be {len(self._hello_bytes) - 4} bytes, more than max_frame "
                             f"{p.DEFAULT_MAX_FRAME}: declare fewer series or labels")
        n = len(user)
        self._ids: Dict[str, int] = {name: i for i, name in enumerate(user)}
        self._dropped_id = n
        self._max_step_bytes = p.step_frame_bytes(n + 1)
        self._capacity = (_at_least_one("buffer_capacity", buffer_capacity) if buffer_capacity is not None
                          else max(64, min(65536, _DEFAULT_BUFFER_BYTES // (170 + 10 * n))))
        self._window = InFlightWindow(_at_least_one("max_in_flight", max_in_flight) if max_in_flight is not None
                               else max(64, min(16384, _DEFAULT_WINDOW_BYTES // (120 + self._max_step_bytes))))
        self._batch_max = min(_at_least_one("batch_max_records", batch_max_records),
                              max(1, _MAX_BATCH_BYTES // self._max_step_bytes))
        self._rng = random.Random(secrets.randbits(64))
        self._backoff = Backoff(backoff_initial, backoff_max, self._rng)
        if int(spool_max_bytes) != spool_max_bytes or spool_max_bytes < MIN_SPOOL_BYTES:
            raise ValueError(f"spool_max_bytes must be an integer >= {MIN_SPOOL_BYTES} (64 KiB), got {spool_max_bytes}")
        self._spill_at = max(1, self._capacity // 2)
        self._spill_keep = self._capacity // 4
        self._spill_signalled = False
        self._spool_drops = 0
        # Last: nothing may fail after the lock is taken (the constructor would leave it held).
        self._spool: Optional[Spool] = (Spool(spool_dir, run, rank, user, int(spool_max_bytes))
                                        if spool_dir is not None else None)

        # Shared state, guarded by _lock (record() holds it for O(1) work only).
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._buffer = collections.deque()  # (position, step, time_ns, count, entries)
        self._recorded = 0
        self._buffer_drops = 0
        self._rejected = 0
        self._sleeping = False
        self._waiters = 0

        # Written by the network thread, read anywhere.
        self._current: Optional[Connection] = None
        self._connecting: Optional[socket.socket] = None
        self._connected = False
        self._acked_records = 0
        self._sent_records = 0
        self._window_drops = 0
        self._settled = 0
        self.refusal: Optional[str] = None
        """Why the monitor refused this run ("CODE message"), or None."""
        self._terminated = False
        self._spool_left = 0

        # Written by other threads.
        self._closing = False
        self._close_started = False
        self._bye = p.Bye(p.ByeStatus.COMPLETED, "")
        self._close_deadline = 0.0
        self._stopped = False
        self._warned_after_close = False

        # Network thread only.
        self._highest_sent = 0
        self._outage = False
        self._welcomed = False
        self._attempted_since_close = False
        self._dropped_logged = 0
        self._last_drop_log = 0.0

        self._thread = threading.Thread(target=self._run, name=f"ergowatch-agent-{run}", daemon=True)
        self._thread.start()

    # ---- recording -----------------------------------------------------------------------

    def record(self, step: int, mapping: Optional[Mapping[str, float]] = None, /, **values: float) -> None:
        """Records values of declared series at a training step. Never blocks.

        Names with dots (``proj.0``) go in ``mapping``; the rest may be keyword arguments.
        NaN and infinities are data and are sent as they are.

        Args:
            step: the training iteration, 0 <= step < 2^63.
            mapping: optional values by series name.
            **values: values by series name.

        Raises:
            ValueError: a negative step, an undeclared series, or a value that is not a number.
        """
        if mapping:
            if values:
                merged = dict(mapping)
                merged.update(values)
                values = merged
            else:
                values = mapping
        self.record_at(step, time.time_ns(), values)

    def record_at(self, step: int, time_ns: int, values: Mapping[str, float]) -> None:
        """Like :meth:`record`, with the record's wall-clock time (Unix epoch ns) given."""
        if not isinstance(step, int) or not 0 <= step <= _MAX_STEP:
            raise ValueError(f"step must be an int within 0..2^63-1, got {step!r}")
        ids = self._ids
        flat = []
        try:
            for name, v in values.items():
                flat.append(ids[name])
                flat.append(float(v))
        except KeyError:
            raise self._unknown(name) from None
        except (TypeError, ValueError):
            raise ValueError(f"series {p.quote(name)}: value {v!r} is not a number") from None
        count = len(flat) >> 1
        entries = p.entries_struct(count).pack(*flat)
        with self._lock:
            if self._closing:
                self._rejected += 1
                self._recorded += 1
                warn = not self._warned_after_close
                self._warned_after_close = True
            else:
                warn = False
                if len(self._buffer) >= self._capacity:
                    self._buffer.popleft()
                    self._buffer_drops += 1
                self._buffer.append((self._recorded, step, time_ns, count, entries))
                self._recorded += 1
                if self._sleeping:
                    self._sleeping = False
                    self._cond.notify()
                if self._spool is not None and len(self._buffer) >= self._spill_at and not self._spill_signalled:
                    self._spill_signalled = True  # the network thread moves the oldest to the spool
                    self._cond.notify_all()
        if warn:
            log.warning("ergowatch: record() after close() on run %s: the record is dropped", self._hello.run)

    def series_id(self, name: str) -> int:
        """The id of a declared series in this agent's HELLO."""
        try:
            return self._ids[name]
        except KeyError:
            raise self._unknown(name) from None

    def _unknown(self, name) -> ValueError:
        if name == AGENT_DROPPED:
            return ValueError('series "agent_dropped" is filled by the agent, not by record()')
        return ValueError(f"unknown series {p.quote(str(name))}; declared: {list(self._ids)}")

    # ---- flushing and closing ------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Waits until every record recorded before this call is acknowledged or dropped (a
        record waiting in the spool is neither).

        Returns:
            False if ``timeout`` seconds passed first.
        """
        with self._lock:
            target = self._recorded
            deadline = _mono() + timeout
            self._waiters += 1
            self._cond.notify_all()
            try:
                while self._settled < target and not self._terminated:
                    left = deadline - _mono()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
                return self._settled >= target
            finally:
                self._waiters -= 1

    def close(self, status: Union[str, int, p.ByeStatus] = "completed", message: str = "") -> None:
        """Ends the run: sends what is buffered, BYE(status, message), waits for the final ACK.

        Waits at most ``close_timeout`` (plus a little for the final ACK); records still
        undelivered are then counted as dropped. Safe to call twice: later calls only wait for
        the first to finish. Later ``record()`` calls drop their record.

        Args:
            status: "completed", "failed" or "cancelled".
            message: a short human-readable message for the monitor.
        """
        if isinstance(status, str):
            try:
                status = p.ByeStatus[status.upper()]
            except KeyError:
                raise ValueError(f"status must be completed, failed or cancelled, got {status!r}") from None
        bye = p.Bye(status, message[:16000])
        with self._lock:
            first = not self._close_started
            if first:
                self._close_started = True
                self._bye = bye
                self._close_deadline = _mono() + self._close_timeout
                self._closing = True
                self._cond.notify_all()
        join = self._close_timeout + 2.0 + self._connect_timeout
        self._thread.join(join)
        if self._thread.is_alive():
            log.warning("ergowatch: network thread of run %s did not stop in %.1f s; stopping it",
                        self._hello.run, join)
            self._stop()
            self._thread.join(2.0)

    def __enter__(self) -> "Agent":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        else:
            self.close("failed", f"{exc_type.__name__}: {exc}")

    # ---- state, for tests, examples and health checks -----------------------------------

    @property
    def connected(self) -> bool:
        """True while a connection is established (between its WELCOME and its end)."""
        return self._connected

    @property
    def acked_seq(self) -> int:
        """The highest seq of the current session the monitor acknowledged."""
        return self._window.acked

    @property
    def sent_count(self) -> int:
        """Records written to the monitor at least once."""
        return self._sent_records

    @property
    def acked_count(self) -> int:
        """Records the monitor acknowledged."""
        return self._acked_records

    @property
    def recorded_count(self) -> int:
        """Calls of ``record()`` that returned normally (whatever became of the record)."""
        return self._recorded

    @property
    def dropped_count(self) -> int:
        """Records dropped so far: overwritten in a full buffer (or spool), recorded after
        close, or undelivered when the agent closed or the monitor refused the run (records
        left in the spool for a later process are not dropped)."""
        if self._terminated:
            return self._recorded + self.recovered_count - self._acked_records - self._spool_left
        return self._total_dropped()

    @property
    def spooled_count(self) -> int:
        """Records in the disk spool not acknowledged yet (0 without a spool); after close,
        those left there for the next agent of this run and rank."""
        if self._terminated:
            return self._spool_left
        s = self._spool
        return s.pending if s is not None else 0

    @property
    def recovered_count(self) -> int:
        """Records an earlier process left in the spool, found when this agent started; they
        count in ``acked_count`` once delivered."""
        s = self._spool
        return s.recovered if s is not None else 0

    @property
    def session(self) -> int:
        """The current session id (a new one replaces it if the monitor lost records)."""
        return self._hello.session

    @property
    def series(self) -> Tuple[str, ...]:
        """The series of the HELLO, id = index: the declared ones, then ``agent_dropped``."""
        return self._hello.series

    @property
    def closed(self) -> bool:
        """True once ``close()`` has begun."""
        return self._close_started

    def force_reconnect(self) -> None:
        """Tests and fault injection: drops the current connection as if the network failed."""
        c = self._current
        if c is not None:
            c.fail("reconnect forced (test hook)")

    def __repr__(self) -> str:
        h = self._hello
        return f"Agent(run={h.run!r}, rank={h.rank}/{h.world}, monitor={self.address!r})"

    # ---- network thread ------------------------------------------------------------------

    def _total_dropped(self) -> int:
        s = self._spool
        return (self._buffer_drops + self._window_drops + self._rejected + self._spool_drops
                + (s.dropped if s is not None else 0))

    def _wake(self) -> None:
        with self._lock:
            self._cond.notify_all()

    def _run(self) -> None:
        try:
            while not self._stopped:
                if self.refusal is not None:
                    self._discard_all()
                    if self._closing:
                        break
                    self._wait(_REFUSED_POLL)
                    continue
                if self._closing and (_mono() >= self._close_deadline or (not self._has_work() and not self._welcomed)):
                    break  # out of time; or nothing to deliver to a monitor that never knew this run
                c = self._connect()
                if c is not None and self._stream(c):
                    break
        except BaseException:
            log.exception("ergowatch: the network thread of run %s failed; its records are no longer sent",
                          self._hello.run)
            raise
        finally:
            self._finish()

    def _wait(self, seconds: float, for_records: bool = False) -> None:
        """Sleeps up to ``seconds``; ACKs, failures, close, a buffer to spill and (if asked) new
        records wake it."""
        if seconds <= 0:
            return
        with self._lock:
            if self._stopped or (for_records and (self._buffer or self._closing)) or self._spill_due():
                return  # (a flush() waiting needs no spin: it notifies, and sending is decided above)
            self._sleeping = for_records
            self._cond.wait(seconds)
            self._sleeping = False

    def _has_work(self) -> bool:
        return bool(self._buffer) or not self._window.is_empty() or self._spool_unread() > 0

    # ---- the spool (network thread) ----------------------------------------------------------

    def _spool_unread(self) -> int:
        s = self._spool
        return s.unread if s is not None else 0

    def _spill_due(self) -> bool:
        """Whether memory is past its spill mark (call with the lock held, or accept a stale answer)."""
        s = self._spool
        return s is not None and s.failed is None and self.refusal is None and len(self._buffer) >= self._spill_at

    def _spill(self, everything: bool = False) -> None:
        """Moves the oldest unsent records from memory to the spool: down to a quarter of the
        buffer once it is half full, or all of them. The disk is written outside the lock."""
        s = self._spool
        if s is None or s.failed is not None or self.refusal is not None:
            return
        with self._lock:
            buf = self._buffer
            n = len(buf) if everything else (len(buf) - self._spill_keep if len(buf) >= self._spill_at else 0)
            records = [buf.popleft() for _ in range(n)]
            self._spill_signalled = False
        if not records:
            return
        try:
            s.append(records)
        except OSError as e:
            s.failed = describe_error(e)
            self._spool_drops += len(records)
            log.error("ergowatch: cannot write the spool %s of run %s: %s; %d records dropped, no longer spooling "
                      "(memory only from now on)", s.dir, self._hello.run, s.failed, len(records))
        self._publish_progress()

    def _spool_mark(self, now: float) -> float:
        """Writes the spool's consumed mark when due; returns when it is due next (inf: not)."""
        s = self._spool
        due = s.mark_due() if s is not None else None
        if due is None:
            return float("inf")
        if now < due:
            return due
        try:
            s.write_mark()
        except OSError as e:
            log.warning("ergowatch: cannot update the spool %s of run %s: %s (a later process may resend records "
                        "the monitor already has)", s.dir, self._hello.run, describe_error(e))
        return float("inf")

    def _acknowledge_spool(self) -> None:
        w = self._window
        ref = w.released_ref
        if ref is None:
            return
        w.released_ref = None
        try:
            self._spool.acknowledge(ref)
        except OSError as e:
            log.warning("ergowatch: cannot update the spool %s of run %s: %s (a later process may resend records "
                        "the monitor already has)", self._spool.dir, self._hello.run, describe_error(e))

    def _open_socket(self) -> socket.socket:
        err: Optional[OSError] = None
        for family, kind, proto, _, addr in socket.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            self._connecting = sock
            try:
                sock.settimeout(self._connect_timeout)
                sock.connect(addr)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                if self._tls is not None:
                    # The handshake happens here, under the connect timeout; the host name is
                    # checked against the monitor's certificate (the context's check_hostname).
                    sock = self._tls.wrap_socket(sock, server_hostname=self._host)
                    self._connecting = sock
                return sock
            except OSError as e:
                err = e
                sock.close()
            if self._stopped:
                break
        raise err if err is not None else OSError(f"no address for {self._host}")

    def _connect(self) -> Optional[Connection]:
        if self._closing:
            self._attempted_since_close = True
        c = None
        try:
            if self._stopped:
                return None
            sock = self._open_socket()
            c = Connection(sock, self._wake, tick=max(0.01, min(1.0, self._read_timeout / 2)))
            answer = c.handshake(self._hello_bytes, self._read_timeout)
        except OSError as e:
            if c is not None:
                c.close()
            self._unreachable(describe_error(e))
            return None
        except p.ProtocolError as e:
            c.close()
            self._unreachable(f"bad answer to HELLO: {e}")
            return None
        finally:
            self._connecting = None
        if isinstance(answer, p.ErrorFrame):
            c.close()
            self._refused_or_retry(answer)
            return None
        if not isinstance(answer, p.Welcome):
            c.close()
            self._unreachable(f"monitor answered HELLO with {answer.type.name} instead of WELCOME")
            return None
        if self._max_step_bytes - p.LENGTH_BYTES > answer.max_frame:
            c.close()
            self._refuse(f"its max_frame {answer.max_frame} is smaller than this run's largest STEP "
                         f"({self._max_step_bytes - p.LENGTH_BYTES} bytes)")
            return None
        if not self._welcome(answer):
            c.close()
            return None  # a new session: the caller reconnects at once with the new HELLO
        c.start_reader(self._thread.name + "-reader", self._read_timeout)
        self._current = c
        self._connected = True
        self._welcomed = True
        self._outage = False
        self._backoff.reset()
        w = self._window
        log.info("ergowatch: connected to %s as run %s rank %d/%d (session %x)%s", self.address, self._hello.run,
                 self._hello.rank, self._hello.world, self._hello.session,
                 "" if w.is_empty() else f", resending from seq {w.acked + 1}")
        return c

    def _welcome(self, welcome: p.Welcome) -> bool:
        a = welcome.acked_seq
        w = self._window
        if a < w.acked:
            old_session, old_acked = self._hello.session, w.acked
            w.renumber_from_one()
            self._highest_sent = max(0, self._highest_sent - old_acked)
            self._new_session()
            self._publish_progress()
            log.warning("ergowatch: monitor at %s knows seq %d of session %x but had acknowledged %d: it lost "
                        "records; continuing as new session %x with the %d unacknowledged records renumbered from 1",
                        self.address, a, old_session, old_acked, self._hello.session, w.size())
            return False
        if a > w.last:
            log.warning("ergowatch: monitor at %s has seq %d of session %x but this agent sent only up to %d; "
                        "numbering continues at %d", self.address, a, self._hello.session, w.last, a + 1)
            self._acked_records += w.skip_to(a)
            self._highest_sent = a
        else:
            self._acked_records += w.release(a)
        self._acknowledge_spool()
        self._publish_progress()
        return True

    def _new_session(self) -> None:
        h = self._hello
        self._hello = p.Hello(h.run, h.job, h.token, self._rng.getrandbits(64), h.rank, h.world, h.mode,
                              h.series, h.labels)
        self._hello_bytes = p.encode(self._hello)

    def _refused_or_retry(self, e: p.ErrorFrame) -> None:
        if e.code in _REFUSALS:
            self._refuse(f"{e.code.name} {e.message}")
            return
        delay = self._backoff.next_delay()
        log.warning("ergowatch: monitor at %s answered the HELLO of run %s with %s %s; retrying in %d ms",
                    self.address, self._hello.run, e.code.name, e.message, delay * 1000)
        self._outage = True
        self._pause(delay)

    def _refuse(self, why: str) -> None:
        self.refusal = why
        self._connected = False
        log.error("ergowatch: monitor at %s refused run %s rank %d/%d: %s; not retrying, records of this run are "
                  "being dropped", self.address, self._hello.run, self._hello.rank, self._hello.world, why)
        self._drop_in_flight()
        self._discard_all()

    def _drop_in_flight(self) -> None:
        """Gives up the records in flight: those read from the spool stay there (for a later
        process), the others are dropped."""
        w = self._window
        n = sum(1 for _, _, ref in w.frames if ref is None)
        w.release(w.last)
        w.released_ref = None
        self._window_drops += n

    def _unreachable(self, reason: str) -> None:
        self._connected = False
        delay = self._backoff.next_delay()
        if not self._outage:
            self._outage = True
            s = self._spool
            log.warning("ergowatch: cannot reach the monitor at %s: %s; retrying in %d ms, buffering up to %d "
                        "records%s", self.address, reason, delay * 1000, self._capacity,
                        "" if s is None else f", then spooling up to {s.max_bytes} bytes in {s.dir}")
        else:
            log.debug("ergowatch: cannot reach the monitor at %s: %s; retrying in %d ms", self.address, reason,
                      delay * 1000)
        self._pause(delay)

    def _pause(self, delay: float) -> None:
        """Waits out a backoff; a close ends it at once (one prompt attempt to deliver and say
        BYE), and during a close it ends at the close deadline."""
        until = _mono() + delay
        while not self._stopped and not (self._closing and not self._attempted_since_close):
            self._spill()
            now = _mono()
            limit = min(until, self._close_deadline) if self._closing else until
            if now >= limit:
                return
            self._log_drops(now)
            self._wait(min(limit, self._spool_mark(now)) - now)

    def _take(self, n: int):
        """The oldest unsent records: from the spool while it has any (they are older), else
        from memory."""
        if self._spool_unread() > 0:
            return self._spool.read(n)
        with self._lock:
            buf = self._buffer
            k = min(n, len(buf))
            return [buf.popleft() for _ in range(k)]

    def _append(self, record) -> None:
        position, step, time_ns, count, entries = record[:5]
        dropped = self._total_dropped()
        if dropped > 0:
            entries += _DROPPED_ENTRY.pack(self._dropped_id, float(dropped))
            count += 1
        self._window.append(step, time_ns, count, entries, position, record[5] if len(record) > 5 else None)

    def _stream(self, c: Connection) -> bool:
        """Streams on a live connection until it fails (False, after the backoff) or the agent
        has closed (True)."""
        w = self._window
        flush_interval = self._flush_interval
        heartbeat = self._heartbeat_interval
        read_timeout = self._read_timeout
        batch_max = self._batch_max
        now = _mono()
        send_seq = w.acked + 1
        last_step = now - flush_interval  # idle: the first records go out at once
        last_beat = now
        last_ack_progress = now
        batch_start = now
        batch = []
        try:
            while True:
                if c.failed:
                    return self._disconnected(c)
                if self._stopped:
                    c.close()
                    return True
                if self._spill_signalled:
                    self._spill()
                now = _mono()
                a = c.acked
                if a > w.acked:
                    self._apply_ack(a)
                    last_ack_progress = now
                if send_seq <= w.acked:
                    send_seq = w.acked + 1
                closing = self._closing
                if closing and ((send_seq > w.last and not self._buffer and self._spool_unread() == 0)
                                or now >= self._close_deadline):
                    # Everything is on the wire (or time is up): the final ACK of the BYE covers it.
                    if batch:
                        c.write(b"".join(batch))
                        self._sent_up_to(send_seq - 1)
                    return self._say_bye(c) or self._disconnected(c)

                batch_full = window_full = False
                while True:
                    if len(batch) >= batch_max:
                        batch_full = True
                        break
                    if send_seq <= w.last:
                        if not batch:
                            batch_start = now
                        batch.append(w.frame(send_seq))
                        send_seq += 1
                        continue
                    if w.is_full():
                        window_full = True
                        break
                    taken = self._take(min(batch_max - len(batch), w.capacity - w.size()))
                    if not taken:
                        break
                    if w.is_empty():
                        last_ack_progress = now
                    for record in taken:
                        self._append(record)
                self._publish_progress()

                if batch:
                    if (batch_full or window_full or closing or self._waiters or now - last_step >= flush_interval
                            or now - batch_start >= flush_interval):
                        c.write(b"".join(batch))
                        self._sent_up_to(send_seq - 1)
                        batch = []
                        last_step = now
                        continue
                elif now - max(last_step, last_beat) >= heartbeat:
                    c.write(_HEARTBEAT)
                    last_beat = now
                    continue
                if not w.is_empty() and now - last_ack_progress >= read_timeout:
                    c.fail(f"no ACK from the monitor for {int((now - last_ack_progress) * 1000)} ms")
                    continue
                self._log_drops(now)
                due = min(max(last_step, last_beat) + heartbeat, self._spool_mark(now))
                if not w.is_empty():
                    due = min(due, last_ack_progress + read_timeout)
                if batch:
                    due = min(due, batch_start + flush_interval)  # lingering for a fuller batch
                self._wait(due - _mono(), for_records=not batch and not window_full)
        except OSError:
            return self._disconnected(c)  # the connection recorded the reason

    def _apply_ack(self, a: int) -> None:
        w = self._window
        if a > w.last:
            log.warning("ergowatch: monitor at %s acknowledged seq %d but this agent sent only up to %d",
                        self.address, a, w.last)
        self._acked_records += w.release(a)
        self._acknowledge_spool()
        self._publish_progress()

    def _sent_up_to(self, seq: int) -> None:
        if seq > self._highest_sent:
            self._sent_records += seq - self._highest_sent
            self._highest_sent = seq

    def _say_bye(self, c: Connection) -> bool:
        """Sends BYE and waits (bounded) for the monitor's final ACK and close.

        Returns:
            True when the run is over (everything acknowledged, or out of time); False when the
            connection ended with records unacknowledged and there is time to reconnect.
        """
        c.write(p.encode(self._bye))
        until = max(self._close_deadline, _mono() + _BYE_WAIT)
        while not c.failed and not self._stopped:
            left = until - _mono()
            if left <= 0:
                break
            self._wait(left)
        a = c.acked
        if a > self._window.acked:
            self._apply_ack(a)
        if not self._window.is_empty() and not self._stopped and _mono() < self._close_deadline:
            return False
        c.close()
        self._current = None
        self._connected = False
        return True

    def _disconnected(self, c: Connection) -> bool:
        c.close()
        self._current = None
        self._connected = False
        self._outage = True
        if c.error is not None:
            delay = self._backoff.max_delay()
            log.error("ergowatch: monitor at %s ended the connection of run %s with %s %s; reconnecting in %d ms",
                      self.address, self._hello.run, c.error.code.name, c.error.message, delay * 1000)
        else:
            delay = self._backoff.next_delay()
            log.warning("ergowatch: disconnected from %s: %s; reconnecting in %d ms", self.address, c.failure,
                        delay * 1000)
        self._pause(delay)
        return False

    def _discard_all(self) -> None:
        with self._lock:
            self._buffer_drops += len(self._buffer)
            self._buffer.clear()
        self._publish_progress()

    def _publish_progress(self) -> None:
        with self._lock:
            w = self._window
            head = self._spool.head_position() if self._spool is not None else None
            if not w.is_empty():
                self._settled = max(0, w.first_position())  # -1: an earlier process's record
            elif head is not None:
                self._settled = max(0, head)
            elif self._buffer:
                self._settled = self._buffer[0][0]
            else:
                self._settled = self._recorded
            if self._waiters:
                self._cond.notify_all()

    def _log_drops(self, now: float) -> None:
        d = self._total_dropped()
        if d > self._dropped_logged and (self._last_drop_log == 0 or now - self._last_drop_log >= _DROP_LOG_INTERVAL):
            s = self._spool
            full = (f"buffer of run {self._hello.run} is full ({self._capacity} records)" if s is None else
                    f"buffer ({self._capacity} records) and spool ({s.max_bytes} bytes in {s.dir}) of run "
                    f"{self._hello.run} are full")
            log.warning("ergowatch: %s: dropped the oldest unsent records, %d so far", full, d)
            self._dropped_logged = d
            self._last_drop_log = now

    def _finish(self) -> None:
        c = self._current
        if c is not None:
            c.close()
        self._current = None
        self._connected = False
        s = self._spool
        with self._lock:
            self._closing = True  # later record() calls are rejected
        self._spill(everything=True)  # unsent records outlive the process in the spool, when there is one
        with self._lock:
            unsent = len(self._buffer)
            self._buffer_drops += unsent
            self._buffer.clear()
        unacked = sum(1 for _, _, ref in self._window.frames if ref is None)
        self._drop_in_flight()
        if s is not None:
            try:
                s.close()
            except OSError as e:
                log.warning("ergowatch: cannot close the spool %s of run %s cleanly: %s", s.dir, self._hello.run,
                            describe_error(e))
            self._spool_left = s.pending
        self._terminated = True
        self._publish_progress()
        if unsent + unacked > 0 and self.refusal is None:
            log.warning("ergowatch: run %s closed with %d records undelivered (%d never sent, %d not acknowledged)",
                        self._hello.run, unsent + unacked, unsent, unacked)
        if self._spool_left > 0:
            log.warning("ergowatch: run %s closed with %d records in the spool %s: the next agent of this run and "
                        "rank with this spool_dir sends them", self._hello.run, self._spool_left, s.dir)
        log.info("ergowatch: run %s closed: %d records recorded, %d acknowledged, %d dropped, %d left in the spool",
                 self._hello.run, self._recorded, self._acked_records, self.dropped_count, self._spool_left)

    def _stop(self) -> None:
        """Gives up at once: closes the connection or the connect in progress."""
        self._stopped = True
        s = self._connecting
        if s is not None:
            try:
                s.close()
            except OSError:
                pass  # already closed
        c = self._current
        if c is not None:
            c.fail("agent stopped")
        self._wake()

"""The agent's disk spool: unsent records that did not fit in memory, kept on disk until the
monitor acknowledges them, also across a restart of the training process.

Only the agent's network thread uses a :class:`Spool` (``record()`` never touches the disk);
it is not thread-safe. See :class:`ergowatch.Agent` for when records go to the spool.

Layout, one directory per (run, rank) so that every rank on a host can share one ``spool_dir``::

    <spool_dir>/<run>/rank-<rank>/
        lock                              held (flock) by the live agent; contains its pid
        consumed                          how far the monitor acknowledged the spool
        00000000000000000000.spool        segments, named by a number that only grows
        00000000000000000001.spool

In ``<run>`` a ":" is written "%3A" (and a run named "." or ".." has its dots written "%2E"), so
the name is a valid, injective directory name on every platform.

A segment is append-only, framed like the monitor's record log (after Kafka's log): entries
``u32 length | u32 crc | body``, big-endian, the crc being CRC-32 (ISO-HDLC, ``zlib.crc32``,
the polynomial of zip and PNG; the monitor's log uses CRC-32C, which the standard library
lacks) of the body. The first entry of every segment is a header naming the series, so a
segment can be read alone and a later process whose series differ can map ids by name::

    header:  u8 1 | u32 magic 0x45575350 ("EWSP") | u16 version 1 | string run | u32 rank
             | u16 n | n strings: the series names, ids 0..n-1 (agent_dropped is not one)
    record:  u8 2 | u64 step | i64 time (Unix ns) | u16 count | count x (u16 id, f64 value)

(a string: u16 byte length, UTF-8). A record is a STEP without a seq: it gets its seq when it
is sent, in the session of the process that sends it. ``consumed`` is ``u64 segment | u64
offset | u32 crc`` of the 16 bytes before it: every record before that offset of that segment
(and of every older segment) was acknowledged; it is replaced atomically (``os.replace``), at
most every 50 ms and at close.

Recovery (at construction) reads every segment, checks each entry's length, crc and shape, and
truncates a segment at its first bad entry with a warning (a torn tail after a crash, never an
error); a segment without a valid header is deleted. Writes are not fsynced except at close:
the spool survives the training process (a crash, ``kill -9``); an operating-system crash may
lose its tail, which recovery then truncates.
"""

import collections
import logging
import os
import struct
import time
import zlib
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from . import protocol as p

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

__all__ = ["Spool", "SpoolInUseError", "DEFAULT_SPOOL_BYTES", "MIN_SPOOL_BYTES"]

log = logging.getLogger(__name__)

DEFAULT_SPOOL_BYTES = 256 << 20
MIN_SPOOL_BYTES = 64 << 10
MAGIC = 0x45575350  # "EWSP"
VERSION = 1
SUFFIX = ".spool"

_KIND_HEADER = 1
_KIND_RECORD = 2
_ENTRY = struct.Struct(">II")  # body length, crc32 of the body
_RECORD = struct.Struct(">BQqH")  # kind, step, time, count
_HEADER = struct.Struct(">BIH")  # kind, magic, version
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_CONSUMED = struct.Struct(">QQ")
_MAX_BODY = p.DEFAULT_MAX_FRAME
_MAX_SEGMENT = 16 << 20
_MIN_SEGMENT = 8 << 10
_READ_CHUNK = 256 << 10
_CHECKPOINT_INTERVAL = 0.05
_O_BINARY = getattr(os, "O_BINARY", 0)


class SpoolInUseError(RuntimeError):
    """Another live agent holds the spool of this (run, rank) in this spool directory."""


def spool_path(spool_dir, run: str, rank: int) -> Path:
    """The directory of one (run, rank)'s spool under ``spool_dir``."""
    name = run.replace(":", "%3A")
    if set(name) == {"."}:
        name = name.replace(".", "%2E")
    return Path(spool_dir) / name / f"rank-{rank}"


class _Segment:
    """One segment file: what it holds and how far it was read and acknowledged."""

    __slots__ = ("number", "path", "size", "records", "read", "read_offset", "acked", "mapping", "deleted")

    def __init__(self, number: int, path: Path, size: int, records: int, read: int, read_offset: int,
                 mapping: Optional[Tuple[int, ...]]):
        self.number = number
        self.path = path
        self.size = size  # valid bytes
        self.records = records
        self.read = read  # records handed out (or acknowledged by an earlier process)
        self.read_offset = read_offset  # byte offset of the next unread entry
        self.acked = read  # records acknowledged (the first ``acked`` of the segment)
        self.mapping = mapping  # old id -> this agent's id (-1: not declared); None: identity
        self.deleted = False


def _string(s: str) -> bytes:
    b = s.encode("utf-8")
    return _U16.pack(len(b)) + b


def _entry(body: bytes) -> bytes:
    return _ENTRY.pack(len(body), zlib.crc32(body)) + body


class Spool:
    """The spool of one (run, rank): a bounded, segmented, append-only queue of unsent records.

    Records go in with :meth:`append` (the oldest unsent records, from memory), come out
    oldest first with :meth:`read`, and leave the disk once :meth:`acknowledge` says the
    monitor acknowledged them. When ``max_bytes`` would be exceeded, whole segments are deleted,
    oldest first, and their unread records are counted in :attr:`dropped`.

    Example:
        >>> import shutil, tempfile
        >>> d = tempfile.mkdtemp()
        >>> s = Spool(d, "doc-run", 0, ["loss"])
        >>> s.append([(0, 7, 0, 1, struct.pack(">Hd", 0, 0.5))])   # (position, step, time, count, entries)
        >>> [(position, step, time_ns, count, entries, ref)] = s.read(10)
        >>> step, struct.unpack(">Hd", entries), s.unread, s.pending
        (7, (0, 0.5), 0, 1)
        >>> s.acknowledge(ref)
        >>> s.pending
        0
        >>> s.close(); shutil.rmtree(d)

    Raises:
        SpoolInUseError: another live agent holds this spool.
        OSError: the directory cannot be created, locked or read.
    """

    def __init__(self, spool_dir, run: str, rank: int, series: Sequence[str], max_bytes: int = DEFAULT_SPOOL_BYTES):
        self.dir = spool_path(spool_dir, run, rank)
        self.run = run
        self.rank = rank
        self.series = tuple(series)
        self._index = {name: i for i, name in enumerate(self.series)}
        self.max_bytes = int(max_bytes)
        self.segment_bytes = max(_MIN_SEGMENT, min(_MAX_SEGMENT, self.max_bytes // 8))
        self.segments = collections.deque()
        self.bytes = 0
        self.dropped = 0
        """Records lost from the spool: unread when their segment was deleted for room, or unreadable."""
        self.recovered = 0
        """Unacknowledged records found on disk at start (an earlier process's)."""
        self.failed: Optional[str] = None
        self._recovered_unread = 0
        self._positions = collections.deque()  # [first position, count] runs of this process's unread records
        self._writer: Optional[int] = None
        self._active: Optional[_Segment] = None
        self._reader = None
        self._reader_seg: Optional[_Segment] = None
        self._rbuf = b""  # read-ahead of the reader's segment, from byte _rbuf_at
        self._rbuf_at = 0
        self._next_number = 0
        self._consumed: Optional[Tuple[int, int]] = None
        self._consumed_written: Optional[Tuple[int, int]] = None
        self._last_checkpoint = 0.0
        self._header = _entry(_HEADER.pack(_KIND_HEADER, MAGIC, VERSION) + _string(run) + _U32.pack(rank)
                              + _U16.pack(len(self.series)) + b"".join(_string(s) for s in self.series))
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd: Optional[int] = self._lock()
        try:
            self._recover()
        except BaseException:
            self._unlock()
            raise

    # ---- state ---------------------------------------------------------------------------

    @property
    def unread(self) -> int:
        """Records in the spool not handed out by :meth:`read` yet."""
        return sum(s.records - s.read for s in tuple(self.segments))  # (a snapshot: read from any thread)

    @property
    def pending(self) -> int:
        """Records in the spool not acknowledged yet (unread, or read and in flight)."""
        return sum(s.records - s.acked for s in tuple(self.segments))

    def head_position(self) -> Optional[int]:
        """The record() position of the oldest unread record: -1 for an earlier process's; None if none."""
        if self._recovered_unread > 0:
            return -1
        if self._positions:
            return self._positions[0][0]
        return None

    # ---- writing -------------------------------------------------------------------------

    def append(self, records) -> None:
        """Appends records (position, step, time_ns, count, entries) in order, entries being
        ``count`` packed (u16 id, f64 value) pairs with this agent's ids. Makes room by deleting
        the oldest segments (their unread records count in :attr:`dropped`).

        Raises:
            OSError: the disk failed; the caller should stop using the spool.
        """
        chunk = bytearray()
        n = 0
        for position, step, time_ns, count, entries in records:
            body = _RECORD.pack(_KIND_RECORD, step, time_ns, count) + entries
            e = _entry(body)
            a = self._active
            if a is None or (a.size + len(chunk) + len(e) > self.segment_bytes and a.records + n > 0):
                if chunk:
                    self._write(chunk, n)
                    chunk = bytearray()
                    n = 0
                self._roll()
            chunk += e
            n += 1
            runs = self._positions
            if runs and runs[-1][0] + runs[-1][1] == position:
                runs[-1][1] += 1
            else:
                runs.append([position, 1])
        if chunk:
            self._write(chunk, n)

    def _write(self, chunk: bytes, n: int) -> None:
        self._make_room(len(chunk))
        view = memoryview(chunk)
        while view:
            written = os.write(self._writer, view)
            view = view[written:]
        a = self._active
        a.size += len(chunk)
        a.records += n
        self.bytes += len(chunk)

    def _roll(self) -> None:
        """Starts a new segment (its header first) and makes it the one appended to."""
        if self._writer is not None:
            os.close(self._writer)
            self._writer = None
        self._make_room(len(self._header))
        number = self._next_number
        self._next_number += 1
        path = self.dir / f"{number:020d}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | _O_BINARY, 0o644)
        try:
            os.write(fd, self._header)
        except BaseException:
            os.close(fd)
            raise
        self._writer = fd
        seg = _Segment(number, path, len(self._header), 0, 0, len(self._header), None)
        self._active = seg
        self.segments.append(seg)
        self.bytes += seg.size

    def _make_room(self, need: int) -> None:
        while self.bytes + need > self.max_bytes and self.segments and self.segments[0] is not self._active:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        seg = self.segments.popleft()
        lost = seg.records - seg.read
        if lost > 0:
            self.dropped += lost
            self._forget(lost)
        self._delete(seg)

    def _forget(self, n: int) -> None:
        """The n oldest unread records are gone: their positions too."""
        k = min(n, self._recovered_unread)
        self._recovered_unread -= k
        n -= k
        runs = self._positions
        while n > 0 and runs:
            if runs[0][1] <= n:
                n -= runs.popleft()[1]
            else:
                runs[0][0] += n
                runs[0][1] -= n
                n = 0

    def _delete(self, seg: _Segment) -> None:
        seg.deleted = True
        self.bytes -= seg.size
        if self._reader_seg is seg:
            self._close_reader()
        if seg is self._active:
            os.close(self._writer)
            self._writer = None
            self._active = None
        try:
            os.unlink(seg.path)
        except FileNotFoundError:
            pass  # already gone: nothing to delete

    # ---- reading -------------------------------------------------------------------------

    def read(self, n: int) -> List[tuple]:
        """Hands out up to n unread records, oldest first, as (position, step, time_ns, count,
        entries, ref): entries with this agent's ids (values of series it does not declare are
        left out), position -1 for an earlier process's records, ``ref`` for :meth:`acknowledge`.
        A record that cannot be read is counted in :attr:`dropped` with the rest of its segment."""
        out: List[tuple] = []
        for seg in list(self.segments):
            if len(out) >= n:
                break
            if seg.read < seg.records:
                self._read_segment(seg, n, out)
        return out

    def _read_segment(self, seg: _Segment, n: int, out: List[tuple]) -> None:
        try:
            if self._reader_seg is not seg:
                self._close_reader()
                self._reader = open(seg.path, "rb")
                self._reader_seg = seg
            while len(out) < n and seg.read < seg.records:
                entry = self._entry_at(seg, seg.read_offset)
                if entry is None:
                    self._unreadable(seg, f"the entry at byte {seg.read_offset} runs past the segment's end")
                    return
                length, crc, body = entry
                record = self._decode(seg, body, crc)
                if record is None:
                    self._unreadable(seg, f"bad entry at byte {seg.read_offset}")
                    return
                seg.read_offset += _ENTRY.size + length
                seg.read += 1
                out.append(record + ((seg, seg.read, seg.read_offset),))
        except OSError as e:
            self._unreadable(seg, str(e) or type(e).__name__)

    def _entry_at(self, seg: _Segment, offset: int):
        """(length, crc, body) of the entry at ``offset`` of the reader's segment, through a
        read-ahead buffer of up to 256 KiB; None if the segment ends inside it."""
        buf = self._rbuf
        rel = offset - self._rbuf_at
        if (rel < 0 or rel + _ENTRY.size > len(buf)
                or rel + _ENTRY.size + _ENTRY.unpack_from(buf, rel)[0] > len(buf)):
            avail = seg.size - offset
            f = self._reader
            f.seek(offset)
            buf = f.read(min(avail, _READ_CHUNK))
            rel = 0
            if len(buf) < _ENTRY.size:
                return None
            need = _ENTRY.size + _ENTRY.unpack_from(buf, 0)[0]
            if need > len(buf):
                if need > avail:
                    return None
                buf += f.read(need - len(buf))  # one entry longer than the read-ahead
                if need > len(buf):
                    return None
            self._rbuf, self._rbuf_at = buf, offset
        length, crc = _ENTRY.unpack_from(buf, rel)
        return length, crc, buf[rel + _ENTRY.size:rel + _ENTRY.size + length]

    def _decode(self, seg: _Segment, body: bytes, crc: int):
        if zlib.crc32(body) != crc or len(body) < _RECORD.size or body[0] != _KIND_RECORD:
            return None
        _, step, time_ns, count = _RECORD.unpack_from(body, 0)
        if len(body) != _RECORD.size + p.STEP_ENTRY_BYTES * count:
            return None
        entries = body[_RECORD.size:]
        if seg.mapping is not None:
            pairs = p.entries_struct(count).unpack(entries)
            kept = []
            for i in range(0, len(pairs), 2):
                old = pairs[i]
                new = seg.mapping[old] if old < len(seg.mapping) else -1
                if new >= 0:
                    kept.append(new)
                    kept.append(pairs[i + 1])
            count = len(kept) >> 1
            entries = p.entries_struct(count).pack(*kept)
        return (self._next_position(), step, time_ns, count, entries)

    def _next_position(self) -> int:
        if self._recovered_unread > 0:
            self._recovered_unread -= 1
            return -1
        runs = self._positions
        if not runs:
            return -1
        first = runs[0][0]
        if runs[0][1] == 1:
            runs.popleft()
        else:
            runs[0][0] += 1
            runs[0][1] -= 1
        return first

    def _unreadable(self, seg: _Segment, why: str) -> None:
        lost = seg.records - seg.read
        log.error("ergowatch: spool segment %s cannot be read (%s): %d records lost", seg.path, why, lost)
        self.dropped += lost
        self._forget(lost)
        seg.read = seg.records
        seg.read_offset = seg.size

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader = None
        self._reader_seg = None
        self._rbuf = b""
        self._rbuf_at = 0

    # ---- acknowledging -------------------------------------------------------------------

    def acknowledge(self, ref) -> None:
        """The monitor acknowledged every record read up to and including ``ref``."""
        seg, index, offset = ref
        self._consumed = (seg.number, offset)
        if not seg.deleted:
            if index > seg.acked:
                seg.acked = index
            while self.segments and self.segments[0] is not seg:
                self._delete(self.segments.popleft())  # read before seg, so acknowledged with it
            if seg.acked >= seg.records and seg is not self._active:
                self._delete(self.segments.popleft())
        if time.monotonic() - self._last_checkpoint >= _CHECKPOINT_INTERVAL:
            self._checkpoint()

    def mark_due(self) -> Optional[float]:
        """When (time.monotonic()) the consumed mark, behind the acknowledgements, is due; None if it is current."""
        if self._consumed is None or self._consumed == self._consumed_written:
            return None
        return self._last_checkpoint + _CHECKPOINT_INTERVAL

    def write_mark(self) -> None:
        """Writes the consumed mark if it is behind the acknowledgements."""
        self._checkpoint()

    def _checkpoint(self) -> None:
        c = self._consumed
        if c is None or c == self._consumed_written:
            return
        data = _CONSUMED.pack(*c)
        tmp = self.dir / "consumed.tmp"
        with open(tmp, "wb") as f:
            f.write(data + _U32.pack(zlib.crc32(data)))
        os.replace(tmp, self.dir / "consumed")
        self._consumed_written = c
        self._last_checkpoint = time.monotonic()

    # ---- recovery ------------------------------------------------------------------------

    def _recover(self) -> None:
        numbers = []
        for name in os.listdir(self.dir):
            if name.endswith(SUFFIX) and name[:-len(SUFFIX)].isdigit():
                numbers.append(int(name[:-len(SUFFIX)]))
        numbers.sort()
        consumed = self._read_consumed()
        for number in numbers:
            self._next_number = number + 1
            path = self.dir / f"{number:020d}{SUFFIX}"
            if consumed is not None and number < consumed[0]:
                os.unlink(path)  # acknowledged before the previous process could delete it
                continue
            skip_before = consumed[1] if consumed is not None and number == consumed[0] else 0
            seg = self._scan(number, path, skip_before)
            if seg is not None:
                self.segments.append(seg)
                self.bytes += seg.size
        self._consumed = self._consumed_written = consumed
        if consumed is not None:  # a new segment must never be taken for an acknowledged one
            self._next_number = max(self._next_number, consumed[0] + 1)
        self.recovered = self._recovered_unread = self.unread
        if self.recovered:
            log.info("ergowatch: spool %s holds %d unacknowledged records of an earlier process (%d bytes); they "
                     "are sent first, in this process's session", self.dir, self.recovered, self.bytes)

    def _read_consumed(self) -> Optional[Tuple[int, int]]:
        path = self.dir / "consumed"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if len(data) != _CONSUMED.size + 4 or zlib.crc32(data[:_CONSUMED.size]) != _U32.unpack_from(data,
                                                                                                   _CONSUMED.size)[0]:
            log.warning("ergowatch: spool %s: its consumed mark is corrupt; resending everything the spool holds "
                        "(the monitor may record some records twice)", path)
            return None
        return _CONSUMED.unpack_from(data, 0)

    def _scan(self, number: int, path: Path, skip_before: int) -> Optional[_Segment]:
        """Validates one segment; truncates it at its first bad entry; None when nothing is left to send."""
        data = path.read_bytes()
        off = 0
        valid = 0
        records = 0
        skipped = 0
        first_unread = None
        mapping: Optional[Tuple[int, ...]] = None
        header = False
        problem = "torn or corrupt entry"
        while off + _ENTRY.size <= len(data):
            length, crc = _ENTRY.unpack_from(data, off)
            end = off + _ENTRY.size + length
            if length < 1 or length > _MAX_BODY or end > len(data):
                break
            body = data[off + _ENTRY.size:end]
            if zlib.crc32(body) != crc:
                break
            if not header:
                parsed = self._parse_header(body)
                if parsed is None:
                    problem = "no valid header"
                    break
                run, rank, names = parsed
                if (run, rank) != (self.run, self.rank):
                    problem = f"header of run {p.quote(run)} rank {rank}"
                    break
                mapping = self._mapping(names, path)
                header = True
            elif body[0] == _KIND_RECORD and len(body) >= _RECORD.size and \
                    len(body) == _RECORD.size + p.STEP_ENTRY_BYTES * _U16.unpack_from(body, _RECORD.size - 2)[0]:
                if off < skip_before:
                    skipped += 1
                elif first_unread is None:
                    first_unread = off
                records += 1
            else:
                break
            off = end
            valid = end
        if valid < len(data):
            if not header and problem == "torn or corrupt entry":
                problem = "no valid header"
            log.warning("ergowatch: spool %s: %s at byte %d (%d bytes dropped); truncated there", path, problem, valid,
                        len(data) - valid)
            if valid > 0:
                os.truncate(path, valid)
        if records - skipped <= 0:
            os.unlink(path)
            return None
        seg = _Segment(number, path, valid, records, skipped, first_unread, mapping)
        seg.acked = skipped
        return seg

    @staticmethod
    def _parse_header(body: bytes):
        try:
            kind, magic, version = _HEADER.unpack_from(body, 0)
            if kind != _KIND_HEADER or magic != MAGIC or version != VERSION:
                return None
            off = _HEADER.size
            strings = []

            def string():
                nonlocal off
                (n,) = _U16.unpack_from(body, off)
                s = body[off + 2:off + 2 + n]
                if len(s) != n:
                    raise ValueError("string past the end")
                off += 2 + n
                return s.decode("utf-8")

            run = string()
            (rank,) = _U32.unpack_from(body, off)
            off += 4
            (n,) = _U16.unpack_from(body, off)
            off += 2
            for _ in range(n):
                strings.append(string())
            if off != len(body):
                return None
            return run, rank, tuple(strings)
        except (struct.error, ValueError):
            return None

    def _mapping(self, names: Tuple[str, ...], path: Path) -> Optional[Tuple[int, ...]]:
        if names == self.series:
            return None
        unknown = [n for n in names if n not in self._index]
        if unknown:
            log.warning("ergowatch: spool %s was written with series %s that this agent does not declare; their "
                        "values are left out when its records are sent", path, unknown)
        return tuple(self._index.get(n, -1) for n in names)

    # ---- lock and close ------------------------------------------------------------------

    def _lock(self) -> int:
        path = self.dir / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _O_BINARY, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            try:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            except OSError:
                holder = "unknown"
            os.close(fd)
            raise SpoolInUseError(f"spool {self.dir} is in use by another live agent (pid {holder}); give every "
                                  f"agent of run {p.quote(self.run)} rank {self.rank} its own spool, or close the "
                                  f"other first") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        return fd

    def _unlock(self) -> None:
        fd = self._lock_fd
        if fd is None:
            return
        self._lock_fd = None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            else:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass  # closing the descriptor releases the lock anyway
        os.close(fd)

    def close(self) -> None:
        """Writes the consumed mark, syncs what is left to disk, deletes the segments if nothing
        is left, and releases the lock. Safe to call twice."""
        if self._lock_fd is None:
            return
        try:
            self._close_reader()
            if self.pending == 0:
                # The mark first: segments without a mark are resent, a mark without its segments
                # would hide the next process's segments of the same numbers.
                try:
                    os.unlink(self.dir / "consumed")
                except FileNotFoundError:
                    pass  # never written: nothing to delete
                while self.segments:
                    self._delete(self.segments.popleft())
            else:
                self._checkpoint()
                if self._writer is not None:
                    os.fsync(self._writer)
            if self._writer is not None:
                os.close(self._writer)
                self._writer = None
                self._active = None
        finally:
            self._unlock()

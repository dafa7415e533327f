"""EWP/1 frames and a pure codec: bytes in, frames out, and back again. No I/O.

The wire contract is docs/protocol.md at the repository root; where it leaves a choice this
module decides exactly as the Java codec (agents/protocol) does, and the shared golden byte
vectors in agents/protocol/golden/ pin every such decision down. Anything wrong in a frame
raises :class:`ProtocolError`, whose ``code`` is the EWP ERROR code the monitor would answer
with; nothing else escapes the decoder (no ``struct.error``, no ``UnicodeDecodeError``).

Example:
    >>> from ergowatch import protocol as p
    >>> data = p.encode(p.Ack(42))
    >>> data.hex(" ")
    '00 00 00 09 82 00 00 00 00 00 00 00 2a'
    >>> p.decode_frame(data)
    Ack(acked_seq=42)
    >>> try:
    ...     p.decode_frame(bytes(4))
    ... except p.ProtocolError as e:
    ...     print(e.code.name)
    BAD_FRAME

This module must never do I/O, log, or replace a NaN or infinity by anything else: values
are re-encoded bit for bit.
"""

import enum
import re
import struct
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

__all__ = [
    "DEFAULT_MAX_FRAME", "LENGTH_BYTES", "MAGIC", "VERSION", "U63_MAX",
    "ErrorCode", "FrameType", "Mode", "ByeStatus", "ProtocolError",
    "Hello", "Step", "Heartbeat", "Bye", "Welcome", "Ack", "ErrorFrame", "Frame",
    "encode", "decode", "decode_frame", "check_length", "encode_step", "encode_entries",
    "step_frame_bytes", "FrameReader",
    "check_run", "check_job", "check_token", "check_series", "check_label_key",
    "check_label_value", "quote",
]

DEFAULT_MAX_FRAME = 1 << 20
"""The default max_frame: 1 MiB of type + payload."""
LENGTH_BYTES = 4
MAGIC = 0x45575031
VERSION = 1
U63_MAX = (1 << 63) - 1
#: Bytes of a STEP before its values: type + seq + step + time + count.
STEP_HEADER_BYTES = 1 + 8 + 8 + 8 + 2
#: Bytes of one STEP value: u16 id + f64.
STEP_ENTRY_BYTES = 10
#: The longest frame body the codec holds in memory, whatever max_frame says (as in Java).
MAX_BODY = (1 << 31) - 1 - 8

MAX_RUN = 128
MAX_JOB = 128
MAX_TOKEN_BYTES = 256
MAX_SERIES_NAME = 64
MAX_LABEL_KEY = 64
MAX_LABEL_VALUE_BYTES = 256
MAX_COUNT = 0xFFFF


class ErrorCode(enum.IntEnum):
    """The EWP/1 ERROR codes; ``code.name`` is the name protocol.md uses."""

    BAD_FRAME = 1
    UNSUPPORTED_VERSION = 2
    UNAUTHORIZED = 3
    INVALID_NAME = 4
    LIMIT_EXCEEDED = 5
    PROTOCOL_ORDER = 6
    OVERLOADED = 7
    INTERNAL = 8


class FrameType(enum.IntEnum):
    """The type byte of a frame."""

    HELLO = 0x01
    STEP = 0x02
    HEARTBEAT = 0x03
    BYE = 0x04
    WELCOME = 0x81
    ACK = 0x82
    ERROR = 0x83


class Mode(enum.IntEnum):
    """How the ranks of a run split the work (HELLO.mode)."""

    REPLICATED = 0
    SHARDED = 1


class ByeStatus(enum.IntEnum):
    """How a run ended (BYE.status)."""

    COMPLETED = 0
    FAILED = 1
    CANCELLED = 2


class ProtocolError(ValueError):
    """A frame, or a value meant for one, breaks EWP/1.

    Attributes:
        code: the :class:`ErrorCode` the monitor answers such a frame with.
        message: what was wrong and, where safe, the offending value.
    """

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"

    def __reduce__(self):
        return (ProtocolError, (self.code, self.message))


# ---- names -------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z0-9._:-]*")
_SERIES = re.compile(r"[a-z0-9_.]{1,64}")
_LABEL_KEY = re.compile(r"[a-z_][a-z0-9_]{0,63}")


def quote(value: str) -> str:
    """Quotes a client-supplied value for an error message: at most 80 chars, controls escaped."""
    cut = value[:80]
    out = []
    for ch in cut:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0 or ch in '"\\':
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return '"' + "".join(out) + ("..." if len(value) > 80 else "") + '"'


def _utf8(field: str, value: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"{field} is not valid UTF-8 (it holds a lone surrogate)") from None


def _check_identifier(field: str, value: str, low: int, high: int) -> None:
    if not (low <= len(value) <= high) or _IDENT.fullmatch(value) is None:
        raise ProtocolError(ErrorCode.INVALID_NAME,
                            f"{field} {quote(value)} must be {low}..{high} chars of [A-Za-z0-9._:-]")


def check_run(run: str) -> None:
    """A run id: 1..128 chars of [A-Za-z0-9._:-] (INVALID_NAME otherwise)."""
    _check_identifier("run", run, 1, MAX_RUN)


def check_job(job: str) -> None:
    """A job: 0..128 chars of [A-Za-z0-9._:-] (INVALID_NAME otherwise)."""
    _check_identifier("job", job, 0, MAX_JOB)


def check_token(token: str) -> None:
    """A token: at most 256 UTF-8 bytes (LIMIT_EXCEEDED otherwise)."""
    n = len(_utf8("token", token))
    if n > MAX_TOKEN_BYTES:
        raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, f"token is {n} bytes, at most {MAX_TOKEN_BYTES} allowed")


def check_series(name: str) -> None:
    """A series name: 1..64 chars of [a-z0-9_.] (INVALID_NAME otherwise)."""
    if _SERIES.fullmatch(name) is None:
        raise ProtocolError(ErrorCode.INVALID_NAME,
                            f"series name {quote(name)} must be 1..{MAX_SERIES_NAME} chars of [a-z0-9_.]")


def check_label_key(key: str) -> None:
    """A label key: [a-z_][a-z0-9_]{0,63} (INVALID_NAME otherwise)."""
    if _LABEL_KEY.fullmatch(key) is None:
        raise ProtocolError(ErrorCode.INVALID_NAME, f"label key {quote(key)} must match [a-z_][a-z0-9_]{{0,63}}")


def check_label_value(key: str, value: str) -> None:
    """A label value: at most 256 UTF-8 bytes (LIMIT_EXCEEDED otherwise)."""
    n = len(_utf8(f"label {key} value", value))
    if n > MAX_LABEL_VALUE_BYTES:
        raise ProtocolError(ErrorCode.LIMIT_EXCEEDED,
                            f"label {key} value is {n} bytes, at most {MAX_LABEL_VALUE_BYTES} allowed")


def _check_string(field: str, value: str) -> None:
    n = len(_utf8(field, value))
    if n > 0xFFFF:
        raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, f"{field} is {n} bytes, a string holds at most 65535")


def _u63(field: str, value: int) -> None:
    if not 0 <= value <= U63_MAX:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"{field} {value} exceeds 2^63-1" if value > 0
                            else f"{field} must be >= 0, got {value}")


# ---- frames ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hello:
    """HELLO (0x01): opens a connection for one (run, rank) of one agent session.

    Validated on construction; ``labels`` is a tuple of (key, value) pairs.
    """

    run: str
    job: str
    token: str
    session: int
    rank: int
    world: int
    mode: Mode
    series: Tuple[str, ...]
    labels: Tuple[Tuple[str, str], ...] = ()

    type = FrameType.HELLO

    def __post_init__(self):
        object.__setattr__(self, "series", tuple(self.series))
        object.__setattr__(self, "labels", tuple((k, v) for k, v in self.labels))
        check_run(self.run)
        check_job(self.job)
        check_token(self.token)
        if not 0 <= self.session <= 0xFFFF_FFFF_FFFF_FFFF:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"session {self.session} outside u64")
        if not 1 <= self.world <= 0xFFFF_FFFF:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"world must be >= 1, got {self.world}")
        if not 0 <= self.rank < self.world:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"rank {self.rank} must be < world {self.world}")
        if not isinstance(self.mode, Mode):
            if self.mode not in (0, 1):
                raise ProtocolError(ErrorCode.BAD_FRAME, f"unknown mode {self.mode} (0 REPLICATED, 1 SHARDED)")
            object.__setattr__(self, "mode", Mode(self.mode))
        if len(self.series) > MAX_COUNT or len(self.labels) > MAX_COUNT:
            raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, "at most 65535 series and labels per HELLO")
        seen = set()
        for s in self.series:
            check_series(s)
            if s in seen:
                raise ProtocolError(ErrorCode.INVALID_NAME, f"duplicate series name {quote(s)}")
            seen.add(s)
        seen = set()
        for k, v in self.labels:
            check_label_key(k)
            check_label_value(k, v)
            if k in seen:
                raise ProtocolError(ErrorCode.INVALID_NAME, f"duplicate label key {quote(k)}")
            seen.add(k)

    def __repr__(self) -> str:  # never shows the token
        return (f"Hello(run={self.run!r}, job={self.job!r}, session={self.session:#x}, rank={self.rank}/"
                f"{self.world}, mode={self.mode.name}, series={len(self.series)}, labels={list(self.labels)})")


@dataclass(frozen=True)
class Step:
    """STEP (0x02): the values of some series at one training iteration.

    ``ids`` and ``values`` are parallel tuples; values may be NaN or infinite (they are data).
    """

    seq: int
    step: int
    time_ns: int
    ids: Tuple[int, ...] = ()
    values: Tuple[float, ...] = ()

    type = FrameType.STEP

    def __post_init__(self):
        object.__setattr__(self, "ids", tuple(self.ids))
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        if len(self.ids) != len(self.values):
            raise ValueError(f"ids and values differ in length: {len(self.ids)} vs {len(self.values)}")
        if self.seq < 1:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"seq must be >= 1, got {self.seq}")
        if self.seq > U63_MAX:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"seq {self.seq} exceeds 2^63-1")
        _u63("step", self.step)
        if not -(1 << 63) <= self.time_ns < (1 << 63):
            raise ProtocolError(ErrorCode.BAD_FRAME, f"time {self.time_ns} outside i64")
        if len(self.ids) > MAX_COUNT:
            raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, "at most 65535 values per STEP")
        _check_ids(self.ids)

    def as_dict(self) -> dict:
        """The values by series id."""
        return dict(zip(self.ids, self.values))


def _check_ids(ids: Sequence[int]) -> None:
    seen = set()
    for i in ids:
        if not 0 <= i <= 0xFFFF:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"series id {i} outside u16")
        if i in seen:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"series id {i} appears twice in one STEP")
        seen.add(i)


@dataclass(frozen=True)
class Heartbeat:
    """HEARTBEAT (0x03): empty; sent after a while without a STEP."""

    type = FrameType.HEARTBEAT


@dataclass(frozen=True)
class Bye:
    """BYE (0x04): the run ends; the monitor answers with a final ACK and closes."""

    status: ByeStatus = ByeStatus.COMPLETED
    message: str = ""

    type = FrameType.BYE

    def __post_init__(self):
        if not isinstance(self.status, ByeStatus):
            if self.status not in (0, 1, 2):
                raise ProtocolError(ErrorCode.BAD_FRAME,
                                    f"unknown BYE status {self.status} (0 completed, 1 failed, 2 cancelled)")
            object.__setattr__(self, "status", ByeStatus(self.status))
        _check_string("message", self.message)


@dataclass(frozen=True)
class Welcome:
    """WELCOME (0x81): the monitor accepts a HELLO."""

    acked_seq: int
    max_frame: int = DEFAULT_MAX_FRAME

    type = FrameType.WELCOME

    def __post_init__(self):
        _u63("acked_seq", self.acked_seq)
        if not 1 <= self.max_frame <= 0xFFFF_FFFF:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"max_frame {self.max_frame} outside 1..2^32-1")


@dataclass(frozen=True)
class Ack:
    """ACK (0x82): cumulative; every seq <= acked_seq of the session is recorded."""

    acked_seq: int

    type = FrameType.ACK

    def __post_init__(self):
        _u63("acked_seq", self.acked_seq)


@dataclass(frozen=True)
class ErrorFrame:
    """ERROR (0x83): the monitor refuses something and closes the connection."""

    code: ErrorCode
    message: str = ""

    type = FrameType.ERROR

    def __post_init__(self):
        if not isinstance(self.code, ErrorCode):
            if self.code not in range(1, 9):
                raise ProtocolError(ErrorCode.BAD_FRAME, f"unknown ERROR code {self.code}")
            object.__setattr__(self, "code", ErrorCode(self.code))
        _check_string("message", self.message)


Frame = Union[Hello, Step, Heartbeat, Bye, Welcome, Ack, ErrorFrame]

# ---- encoding ----------------------------------------------------------------------------

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_HEAD = struct.Struct(">IB")
_STEP_HEAD = struct.Struct(">IBQQqH")
_ENTRY = struct.Struct(">Hd")
_entry_structs = {}


def entries_struct(n: int) -> struct.Struct:
    """The packed layout of n STEP entries (u16 id, f64 value each), cached for n seen before.

    Public because the agent's buffer and the spool pack and unpack entries with it directly.
    """
    s = _entry_structs.get(n)
    if s is None:
        s = struct.Struct(">" + "Hd" * n)
        if len(_entry_structs) < 4096:
            _entry_structs[n] = s
    return s


def _string(value: str) -> bytes:
    b = value.encode("utf-8")
    return _U16.pack(len(b)) + b


def encode_entries(ids: Sequence[int], values: Sequence[float]) -> bytes:
    """The (u16 id, f64 value) entries of a STEP, for agents that encode values once."""
    flat = [None] * (2 * len(ids))
    flat[0::2] = ids
    flat[1::2] = values
    return entries_struct(len(ids)).pack(*flat)


def encode_step(seq: int, step: int, time_ns: int, count: int, entries: bytes) -> bytes:
    """A whole STEP frame from already encoded entries (the agent's hot path; no validation)."""
    return _STEP_HEAD.pack(STEP_HEADER_BYTES + len(entries), FrameType.STEP, seq, step, time_ns, count) + entries


def step_frame_bytes(count: int) -> int:
    """Bytes of a STEP frame with ``count`` values, length prefix included."""
    return LENGTH_BYTES + STEP_HEADER_BYTES + STEP_ENTRY_BYTES * count


def encode(frame: Frame) -> bytes:
    """Encodes a frame, length prefix included.

    Args:
        frame: a validated frame object of this module.

    Returns:
        The bytes on the wire.
    """
    t = frame.type
    if t == FrameType.STEP:
        return encode_step(frame.seq, frame.step, frame.time_ns, len(frame.ids),
                           encode_entries(frame.ids, frame.values))
    if t == FrameType.HELLO:
        parts = [struct.pack(">IH", MAGIC, VERSION), _string(frame.run), _string(frame.job), _string(frame.token),
                 struct.pack(">QIIBH", frame.session, frame.rank, frame.world, frame.mode, len(frame.series))]
        parts.extend(_string(s) for s in frame.series)
        parts.append(_U16.pack(len(frame.labels)))
        for k, v in frame.labels:
            parts.append(_string(k))
            parts.append(_string(v))
        body = b"".join(parts)
    elif t == FrameType.HEARTBEAT:
        body = b""
    elif t == FrameType.BYE:
        body = bytes([frame.status]) + _string(frame.message)
    elif t == FrameType.WELCOME:
        body = struct.pack(">QI", frame.acked_seq, frame.max_frame)
    elif t == FrameType.ACK:
        body = struct.pack(">Q", frame.acked_seq)
    elif t == FrameType.ERROR:
        body = _U16.pack(frame.code) + _string(frame.message)
    else:
        raise TypeError(f"not an EWP/1 frame: {frame!r}")
    return _HEAD.pack(len(body) + 1, t) + body


# ---- decoding ----------------------------------------------------------------------------

def check_length(length: int, max_frame: int = DEFAULT_MAX_FRAME) -> int:
    """Checks a length prefix before any of the body is read.

    Raises:
        ProtocolError: BAD_FRAME for 0, LIMIT_EXCEEDED above ``max_frame`` (or 2^31-9).
    """
    if length == 0:
        raise ProtocolError(ErrorCode.BAD_FRAME, "frame length 0 (a frame has at least its type byte)")
    if length > max_frame:
        raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, f"frame length {length} exceeds max_frame {max_frame}")
    if length > MAX_BODY:
        raise ProtocolError(ErrorCode.LIMIT_EXCEEDED,
                            f"frame length {length} exceeds {MAX_BODY}, the most one frame can hold in memory")
    return length


class _Cursor:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: memoryview):
        self.buf = buf
        self.pos = 0

    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def need(self, n: int, field: str) -> None:
        if self.remaining() < n:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"frame ends inside {field}: needs {n} bytes, "
                                                     f"{self.remaining()} left")

    def unpack(self, st: struct.Struct, field: str):
        self.need(st.size, field)
        v = st.unpack_from(self.buf, self.pos)
        self.pos += st.size
        return v

    def string(self, field: str) -> str:
        (n,) = self.unpack(_U16, field + " length")
        self.need(n, field)
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        try:
            return raw.decode("utf-8", "strict")
        except UnicodeDecodeError:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"{field} is not valid UTF-8") from None


_U8 = struct.Struct(">B")
_U64 = struct.Struct(">Q")
_HELLO_MID = struct.Struct(">QIIB")


def decode(body: Union[bytes, bytearray, memoryview]) -> Frame:
    """Decodes one frame body: the type byte and its payload, without the length prefix.

    Raises:
        ProtocolError: for anything protocol.md or the repository's decisions reject.
    """
    c = _Cursor(memoryview(body).cast("B"))
    if c.remaining() == 0:
        raise ProtocolError(ErrorCode.BAD_FRAME, "frame length 0 (a frame has at least its type byte)")
    (t,) = c.unpack(_U8, "type")
    try:
        ftype = FrameType(t)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_FRAME, "unknown frame type 0x%02x" % t) from None
    if ftype == FrameType.HELLO:
        frame = _hello(c)
    elif ftype == FrameType.STEP:
        frame = _step(c)
    elif ftype == FrameType.HEARTBEAT:
        frame = Heartbeat()
    elif ftype == FrameType.BYE:
        (status,) = c.unpack(_U8, "status")
        if status > 2:
            raise ProtocolError(ErrorCode.BAD_FRAME,
                                f"unknown BYE status {status} (0 completed, 1 failed, 2 cancelled)")
        frame = Bye(ByeStatus(status), c.string("message"))
    elif ftype == FrameType.WELCOME:
        (acked,) = c.unpack(_U64, "acked_seq")
        (max_frame,) = c.unpack(_U32, "max_frame")
        frame = Welcome(acked, max_frame)
    elif ftype == FrameType.ACK:
        (acked,) = c.unpack(_U64, "acked_seq")
        frame = Ack(acked)
    else:
        (code,) = c.unpack(_U16, "code")
        if not 1 <= code <= 8:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"unknown ERROR code {code}")
        frame = ErrorFrame(ErrorCode(code), c.string("message"))
    if c.remaining():
        n = c.remaining()
        raise ProtocolError(ErrorCode.BAD_FRAME, f"{n} trailing byte{'' if n == 1 else 's'} after the {ftype.name} payload")
    return frame


def _hello(c: _Cursor) -> Hello:
    (magic,) = c.unpack(_U32, "magic")
    if magic != MAGIC:
        raise ProtocolError(ErrorCode.BAD_FRAME, 'bad magic 0x%08x, expected 0x%08x ("EWP1")' % (magic, MAGIC))
    (version,) = c.unpack(_U16, "version")
    if version != VERSION:
        raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION,
                            f"protocol version {version} is not supported; this monitor speaks version {VERSION}")
    run = c.string("run")
    job = c.string("job")
    token = c.string("token")
    session, rank, world, mode = c.unpack(_HELLO_MID, "session, rank, world, mode")
    (n_series,) = c.unpack(_U16, "n_series")
    series = [c.string(f"series name {i}") for i in range(n_series)]
    (n_labels,) = c.unpack(_U16, "n_labels")
    labels = []
    for i in range(n_labels):
        key = c.string(f"label key {i}")
        value = c.string(f"label value {i}")
        check_label_key(key)
        check_label_value(key, value)
        labels.append((key, value))
    if mode > 1:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"unknown mode {mode} (0 REPLICATED, 1 SHARDED)")
    return Hello(run, job, token, session, rank, world, Mode(mode), tuple(series), tuple(labels))


def _step(c: _Cursor) -> Step:
    seq, step, time_ns, count = c.unpack(_STEP_HEAD_BODY, "STEP header")
    if c.remaining() < count * STEP_ENTRY_BYTES:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"STEP count {count} needs {count * STEP_ENTRY_BYTES} bytes of "
                                                 f"values, only {c.remaining()} follow")
    flat = entries_struct(count).unpack_from(c.buf, c.pos)
    c.pos += count * STEP_ENTRY_BYTES
    return Step(seq, step, time_ns, flat[0::2], flat[1::2])


_STEP_HEAD_BODY = struct.Struct(">QQqH")


def decode_frame(data: Union[bytes, bytearray, memoryview], max_frame: int = DEFAULT_MAX_FRAME) -> Frame:
    """Decodes exactly one whole frame, length prefix included (tests, tools, golden vectors).

    Args:
        data: the frame's bytes, nothing before or after.
        max_frame: the decoder's limit on the length prefix.

    Raises:
        ProtocolError: as :func:`decode`, plus BAD_FRAME when ``data`` is shorter or longer
            than its length prefix says, and LIMIT_EXCEEDED (decided from the prefix alone).
    """
    mv = memoryview(data).cast("B")
    if len(mv) < LENGTH_BYTES:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"frame ends inside length: needs 4 bytes, {len(mv)} left")
    (length,) = _U32.unpack_from(mv, 0)
    check_length(length, max_frame)
    rest = len(mv) - LENGTH_BYTES
    if rest < length:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"frame length {length} but only {rest} bytes follow")
    if rest > length:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"{rest - length} bytes after the frame's end")
    return decode(mv[LENGTH_BYTES:])


class FrameReader:
    """Cuts a byte stream (a socket's reads, of any size) into frames.

    The length prefix is checked as soon as its 4 bytes are in, before the body arrives.
    Not thread-safe; one per connection.

    Example:
        >>> r = FrameReader()
        >>> data = encode(Ack(7)) + encode(Heartbeat())
        >>> r.feed(data[:3]); list(r)
        []
        >>> r.feed(data[3:]); list(r)
        [Ack(acked_seq=7), Heartbeat()]
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME):
        self.max_frame = max_frame
        self._buf = bytearray()
        self._need: Optional[int] = None

    def feed(self, data: bytes) -> None:
        """Appends received bytes."""
        self._buf += data

    def buffered(self) -> int:
        """Bytes received and not yet returned as a frame."""
        return len(self._buf)

    def next_frame(self) -> Optional[Frame]:
        """The next whole frame, or None until more bytes arrive.

        Raises:
            ProtocolError: the stream holds a bad frame; the stream cannot be resumed.
        """
        if self._need is None:
            if len(self._buf) < LENGTH_BYTES:
                return None
            (length,) = _U32.unpack_from(self._buf, 0)
            self._need = check_length(length, self.max_frame)
        if len(self._buf) < LENGTH_BYTES + self._need:
            return None
        end = LENGTH_BYTES + self._need
        body = bytes(self._buf[LENGTH_BYTES:end])
        del self._buf[:end]
        self._need = None
        return decode(body)

    def __iter__(self):
        while True:
            f = self.next_frame()
            if f is None:
                return
            yield f

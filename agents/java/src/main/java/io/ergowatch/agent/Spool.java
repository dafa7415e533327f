package io.ergowatch.agent;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's bounded spool on disk for one (run, rank): the unacknowledged records that did
 * not fit in memory, and at close everything still undelivered, kept in record order so that
 * this agent after a reconnect, or the next agent process after a restart, sends them first.
 *
 * <p>Layout, after Kafka's log and the monitor's record log: a directory per (run, rank)
 * ({@link #directory}) holding segments named by the zero-padded index of their first record
 * ({@code 00000000000000000000.spool}, format in {@link SpoolEntry}), a {@code checkpoint} file
 * (u64 index of the first unacknowledged record + CRC32C, replaced atomically) and the {@code
 * lock} file ({@link SpoolLock}).
 *
 * <p>Records are numbered by index. Three cursors, {@code start ≤ read ≤ end}: {@code [start,
 * read)} were handed to the network thread and are in its in-flight window, not yet
 * acknowledged; {@code [read, end)} wait to be taken. A record leaves the spool only when it is
 * acknowledged ({@link #acknowledge}), so a crash loses nothing that reached the spool; whole
 * segments below {@code start} are deleted. When an append would exceed {@code maxBytes}, the
 * oldest segment (about 1/8 of the spool) is deleted and its records not yet taken are counted
 * in {@link #droppedCount()}.
 *
 * <p>Recovery ({@link #open}) reads every segment, checks lengths and CRCs, truncates at the
 * first torn or corrupt entry with a warning (dropping later segments) and resumes from the
 * checkpoint; the records found are those of the previous agent process ({@link #inherited()}).
 *
 * <p>Network thread only (and {@code build()} for {@link #open}), except the volatile counters.
 * Never throws after {@link #open}: an I/O error is logged once and turns the spool off
 * ({@link #usable()} false), as if it were absent. Appends go through a buffer; {@link #flush}
 * hands them to the OS (they then survive a crash of the process), {@link #close} also fsyncs.
 */
final class Spool {
  private static final Logger log = LoggerFactory.getLogger(ErgowatchAgent.class);
  /** The smallest maxBytes accepted. */
  static final long MIN_BYTES = 64 * 1024;
  /** A segment is at most 1/SEGMENTS of maxBytes: what a full spool drops at once. */
  static final int SEGMENTS = 8;
  static final String SUFFIX = ".spool";
  static final String CHECKPOINT = "checkpoint";
  private static final long CHECKPOINT_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  private static final int BUFFER_BYTES = 64 * 1024;

  private static final class Segment {
    final long base;
    final Path path;
    long bytes;

    Segment(long base, Path path, long bytes) {
      this.base = base;
      this.path = path;
      this.bytes = bytes;
    }
  }

  private final Path dir;
  private final SpoolLock lock;
  private final String run;
  private final int rank;
  private final List<String> series;
  private final long maxBytes;
  private final long segmentBytes;
  private final byte[] header;
  private final List<Segment> segments = new ArrayList<>();
  private final ByteBuffer wbuf;
  private final CRC32C crc = new CRC32C();
  private final SpoolReader reader;
  /** The next record to take, read ahead (valid when {@code hasNext}). */
  private final PendingRecord next;

  private long start;
  private long readIndex;
  private long end;
  /** Records below this index were written by an earlier agent process. */
  private long inheritedEnd;
  private long inherited;
  private long totalBytes;

  private Segment active;
  private FileOutputStream out;

  private Segment readSeg;
  /** Index of the next RECORD the reader returns. */
  private long readerIndex;
  private int[] remap;
  private boolean hasNext;

  private boolean failed;
  private boolean closed;
  private long checkpointed = -1;
  private long lastCheckpointNanos;

  private volatile long liveCount;
  private volatile long dropped;

  private Spool(Path dir, SpoolLock lock, String run, int rank, List<String> series, long maxBytes) {
    this.dir = dir;
    this.lock = lock;
    this.run = run;
    this.rank = rank;
    this.series = List.copyOf(series);
    this.maxBytes = maxBytes;
    this.header = SpoolEntry.header(run, rank, this.series);
    this.segmentBytes = Math.max(maxBytes / SEGMENTS, header.length + SpoolEntry.recordBytes(series.size()));
    int largest = Math.max(BUFFER_BYTES, header.length + SpoolEntry.recordBytes(series.size()));
    this.wbuf = ByteBuffer.allocate(largest);
    this.reader = new SpoolReader(largest);
    this.next = new PendingRecord(series.size() + 1);
  }

  /** The directory of the spool of (run, rank) under {@code root}: {@code <run>.rank-<rank>}. */
  static Path directory(Path root, String run, int rank) {
    // ':' is legal in a run id but not in every file system's names; '%' is not legal in a run id.
    return root.resolve(run.replace(":", "%3A") + ".rank-" + rank);
  }

  /** The smallest maxBytes for a run's spool: room for {@link #SEGMENTS} of its largest entries. */
  static long minBytes(String run, List<String> series) {
    long largest = SpoolEntry.headerBytes(run, series) + (long) SpoolEntry.recordBytes(series.size());
    return Math.max(MIN_BYTES, SEGMENTS * largest);
  }

  /**
   * Locks and recovers the spool of (run, rank) under {@code root}, creating it if needed.
   *
   * @param series the series record() takes (without agent_dropped)
   * @throws IllegalStateException if another live agent holds the spool, or it belongs to
   *     another run (files moved by hand) or a newer format
   * @throws UncheckedIOException if the directory cannot be created, locked or read
   */
  static Spool open(Path root, String run, int rank, List<String> series, long maxBytes, long session) {
    Path dir = directory(root, run, rank);
    SpoolLock lock;
    try {
      Files.createDirectories(dir);
      lock = SpoolLock.acquire(dir, run, rank, session);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the spool " + dir + ": " + e, e);
    }
    Spool spool = new Spool(dir, lock, run, rank, series, maxBytes);
    try {
      spool.recover();
      return spool;
    } catch (IOException e) {
      spool.abandon();
      throw new UncheckedIOException("cannot recover the spool " + dir + ": " + e, e);
    } catch (RuntimeException e) {
      spool.abandon();
      throw e;
    }
  }

  // ---- recovery -------------------------------------------------------------------------------

  private void recover() throws IOException {
    List<Segment> found = listSegments();
    long expected = -1;
    for (int i = 0; i < found.size(); i++) {
      Segment seg = found.get(i);
      if (expected >= 0 && seg.base != expected) {
        log.warn("ergowatch: spool segment {} starts at record {} but the one before ends at {}: it is dropped{}",
            seg.path, seg.base, expected, later(found, i));
        deleteFrom(found, i);
        break;
      }
      long size = Files.size(seg.path);
      reader.open(seg.path);
      long records = 0;
      int kind;
      while ((kind = reader.next()) == SpoolReader.HEADER || kind == SpoolReader.RECORD) {
        if (kind == SpoolReader.HEADER) {
          checkHeader(seg.path);
        } else {
          records++;
        }
      }
      long valid = reader.offset();
      String problem = kind == SpoolReader.BAD ? reader.badReason() : null;
      reader.close();
      if (problem != null) {
        log.warn("ergowatch: spool segment {} has a torn or corrupt entry at byte {} ({}): truncated there,"
            + " {} bytes dropped{}; {} records before it are kept", seg.path, valid, problem, size - valid,
            later(found, i), records);
        deleteFrom(found, i + 1);
        if (records > 0) {
          truncate(seg.path, valid);
          seg.bytes = valid;
          segments.add(seg);
          expected = seg.base + records;
        } else {
          Files.deleteIfExists(seg.path);
        }
        break;
      }
      if (records == 0) {
        Files.deleteIfExists(seg.path); // a header alone (or an empty file): nothing to keep
        expected = expected >= 0 ? expected : seg.base;
        continue;
      }
      seg.bytes = valid;
      segments.add(seg);
      expected = seg.base + records;
    }
    long checkpoint = readCheckpoint();
    if (segments.isEmpty()) {
      end = Math.max(0, Math.max(expected, checkpoint));
      start = end;
    } else {
      end = expected;
      long first = segments.get(0).base;
      start = Math.min(Math.max(checkpoint < 0 ? first : checkpoint, first), end);
    }
    readIndex = start;
    inheritedEnd = end;
    inherited = end - start;
    for (Segment s : segments) {
      totalBytes += s.bytes;
    }
    deleteAcknowledgedSegments();
    if (checkpoint != start) {
      writeCheckpoint(false);
    }
    publish();
    if (inherited > 0) {
      log.info("ergowatch: spool {} holds {} records of an earlier agent of run {} rank {} that the monitor never"
          + " acknowledged; they are sent first, under this agent's session", dir, inherited, run, rank);
    }
  }

  private void checkHeader(Path seg) {
    if (reader.headerVersion() != SpoolEntry.VERSION) {
      throw new IllegalStateException("spool segment " + seg + " has format version " + reader.headerVersion()
          + "; this agent reads version " + SpoolEntry.VERSION);
    }
    if (!reader.headerRun().equals(run) || reader.headerRank() != rank) {
      throw new IllegalStateException("spool segment " + seg + " belongs to run " + reader.headerRun() + " rank "
          + reader.headerRank() + ", not to run " + run + " rank " + rank + ": move it back to its own directory");
    }
  }

  private static String later(List<Segment> found, int i) {
    int n = found.size() - i - 1;
    return n > 0 ? " and " + n + " later segment(s) dropped" : "";
  }

  private static void deleteFrom(List<Segment> found, int from) throws IOException {
    for (int j = from; j < found.size(); j++) {
      Files.deleteIfExists(found.get(j).path);
    }
  }

  private static void truncate(Path path, long length) throws IOException {
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(path.toFile(), "rw")) {
      f.setLength(length);
      f.getFD().sync();
    }
  }

  private List<Segment> listSegments() throws IOException {
    List<Segment> found = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String name = p.getFileName().toString();
        if (name.length() == 20 + SUFFIX.length() && name.endsWith(SUFFIX) && name.chars().limit(20)
            .allMatch(c -> c >= '0' && c <= '9')) {
          found.add(new Segment(Long.parseLong(name.substring(0, 20)), p, 0));
        }
      }
    }
    found.sort((a, b) -> Long.compare(a.base, b.base));
    return found;
  }

  private long readCheckpoint() {
    Path p = dir.resolve(CHECKPOINT);
    if (!Files.exists(p)) {
      return -1;
    }
    try {
      byte[] b = Files.readAllBytes(p);
      if (b.length == 12) {
        crc.reset();
        crc.update(b, 0, 8);
        ByteBuffer bb = ByteBuffer.wrap(b);
        long value = bb.getLong(0);
        if ((int) crc.getValue() == bb.getInt(8) && value >= 0) {
          return value;
        }
      }
      log.warn("ergowatch: spool checkpoint {} is damaged; resending from the oldest spooled record", p);
    } catch (IOException e) {
      log.warn("ergowatch: cannot read the spool checkpoint {}: {}; resending from the oldest spooled record", p,
          e.toString());
    }
    return -1;
  }

  // ---- writing --------------------------------------------------------------------------------

  /**
   * Appends a record (ids below the series count, agent_dropped left out) after every record in
   * the spool. {@code taken}: the record is already in the in-flight window (allowed only while
   * nothing waits to be taken), so it counts as handed out. To make room, drops the oldest
   * segments. Buffered: see {@link #flush()}.
   *
   * @return false if the spool is off or failed now; a record not taken is then counted as dropped
   */
  boolean append(PendingRecord r, boolean taken) {
    if (failed || closed) {
      if (!taken) {
        dropped++;
      }
      return false;
    }
    if (taken && readIndex != end) {
      throw new IllegalStateException("a taken record appended while " + (end - readIndex) + " wait to be taken");
    }
    int e = SpoolEntry.recordBytes(r.count);
    try {
      if (active != null && active.bytes + e > segmentBytes) {
        closeActive();
      }
      long need = e + (active == null ? header.length : 0);
      while (totalBytes + need > maxBytes && !segments.isEmpty() && segments.get(0) != active) {
        dropOldestSegment();
      }
      if (active == null) {
        openSegment();
      }
      if (wbuf.remaining() < e) {
        flushBuffer();
      }
      SpoolEntry.writeRecord(wbuf, crc, r.position, r.step, r.timeNanos, r.ids, r.values, r.count);
      active.bytes += e;
      totalBytes += e;
      end++;
      if (taken) {
        readIndex = end;
      }
      publish();
      return true;
    } catch (IOException ex) {
      fail("write to", ex);
      if (!taken) {
        dropped++;
      }
      return false;
    }
  }

  /** Hands appended records to the OS: from now on they survive a crash of this process. */
  void flush() {
    if (failed || closed) {
      return;
    }
    try {
      flushBuffer();
    } catch (IOException e) {
      fail("write to", e);
    }
  }

  private void openSegment() throws IOException {
    Path path = dir.resolve(String.format("%020d%s", end, SUFFIX));
    out = new FileOutputStream(path.toFile(), false);
    active = new Segment(end, path, 0);
    segments.add(active);
    if (wbuf.remaining() < header.length) {
      flushBuffer();
    }
    wbuf.put(header);
    active.bytes += header.length;
    totalBytes += header.length;
  }

  private void closeActive() throws IOException {
    if (active == null) {
      return;
    }
    flushBuffer();
    FileOutputStream o = out;
    out = null;
    active = null;
    o.close();
  }

  private void flushBuffer() throws IOException {
    if (wbuf.position() > 0) {
      out.write(wbuf.array(), 0, wbuf.position());
      wbuf.clear();
    }
  }

  /** Deletes the oldest (never the active) segment to make room; its untaken records are lost. */
  private void dropOldestSegment() throws IOException {
    Segment s = segments.remove(0);
    long segEnd = segments.isEmpty() ? end : segments.get(0).base;
    if (readIndex < segEnd) {
      dropped += segEnd - readIndex;
      readIndex = segEnd;
      hasNext = false;
    }
    start = Math.max(start, segEnd);
    if (readSeg == s) {
      closeReader();
    }
    Files.deleteIfExists(s.path);
    totalBytes -= s.bytes;
    publish();
  }

  // ---- reading --------------------------------------------------------------------------------

  /** True when records wait to be taken. */
  boolean hasUntaken() {
    return !failed && !closed && readIndex < end;
  }

  /**
   * The position of the next record to take: its record() position in this process, or a
   * negative number for records of an earlier process (older than any of this one's). Only when
   * {@link #hasUntaken()}; {@code Long.MAX_VALUE} if it turns out unreadable.
   */
  long nextPosition() {
    return ensureNext() ? next.position : Long.MAX_VALUE;
  }

  /**
   * Moves the oldest untaken record into {@code out}, its ids mapped to this agent's series.
   *
   * @return false when none is left (or the rest is unreadable: counted as dropped)
   */
  boolean take(PendingRecord out) {
    if (!ensureNext()) {
      return false;
    }
    out.position = next.position;
    out.step = next.step;
    out.timeNanos = next.timeNanos;
    out.count = next.count;
    System.arraycopy(next.ids, 0, out.ids, 0, next.count);
    System.arraycopy(next.values, 0, out.values, 0, next.count);
    readIndex++;
    hasNext = false;
    return true;
  }

  private boolean ensureNext() {
    if (hasNext) {
      return true;
    }
    while (!failed && !closed && readIndex < end) {
      try {
        if (active != null && wbuf.position() > 0) {
          flushBuffer(); // the reader may reach the active segment
        }
        if (readSeg == null || readerIndex > readIndex || readIndex >= segmentEnd(readSeg)) {
          seek();
        }
        int kind = reader.next();
        if (kind == SpoolReader.HEADER) {
          remap = mapping(reader.headerSeries());
        } else if (kind == SpoolReader.RECORD) {
          long index = readerIndex++;
          if (index == readIndex) {
            reader.copyRecord(next, remap);
            next.position = index < inheritedEnd ? index - inheritedEnd : reader.position();
            hasNext = true;
            return true;
          }
        } else if (kind == SpoolReader.END) {
          damaged("it ends at record " + readerIndex + " but should hold records up to " + (segmentEnd(readSeg) - 1));
        } else {
          damaged(reader.badReason() + " at byte " + reader.offset());
        }
      } catch (IOException e) {
        fail("read from", e);
      }
    }
    return false;
  }

  /** Positions the reader at the segment holding {@code readIndex}. */
  private void seek() throws IOException {
    Segment target = null;
    for (Segment s : segments) {
      if (s.base <= readIndex) {
        target = s;
      }
    }
    if (target == null) {
      throw new IOException("no segment holds record " + readIndex);
    }
    reader.open(target.path);
    readSeg = target;
    readerIndex = target.base;
    remap = null;
  }

  private long segmentEnd(Segment s) {
    int i = segments.indexOf(s);
    return i < 0 || i + 1 >= segments.size() ? end : segments.get(i + 1).base;
  }

  /** A damaged segment found while draining: its remaining records are skipped and counted. */
  private void damaged(String why) throws IOException {
    Segment s = readSeg;
    long segEnd = segmentEnd(s);
    log.warn("ergowatch: spool segment {} is damaged ({}): skipping its {} remaining records", s.path, why,
        segEnd - readIndex);
    dropped += Math.max(0, segEnd - readIndex);
    readIndex = segEnd;
    closeReader();
    if (s == active) {
      closeActive(); // new records go to a fresh segment, not after the damage
    }
    publish();
  }

  private int[] mapping(List<String> written) {
    if (written.equals(series)) {
      return null;
    }
    int[] map = new int[written.size()];
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < map.length; i++) {
      map[i] = series.indexOf(written.get(i));
      if (map[i] < 0) {
        missing.add(written.get(i));
      }
    }
    if (!missing.isEmpty()) {
      log.warn("ergowatch: spool segment {} was written by an agent with series {}; this agent does not declare {},"
          + " so their values are left out of the spooled records", readSeg.path, written, missing);
    }
    return map;
  }

  private void closeReader() throws IOException {
    readSeg = null;
    hasNext = false;
    reader.close();
  }

  // ---- acknowledging ----------------------------------------------------------------------------

  /**
   * The network thread's window now holds {@code unackedTaken} records taken from the spool
   * without an ACK (the newest ones taken): every older record taken is acknowledged and leaves
   * the spool. Deletes segments that hold nothing else; writes the checkpoint (before deleting,
   * else at most every 200 ms).
   */
  void acknowledge(long unackedTaken) {
    if (failed || closed) {
      return;
    }
    long s = readIndex - unackedTaken;
    if (s <= start) {
      return;
    }
    start = s;
    publish();
    try {
      if (!segments.isEmpty() && segmentEnd(segments.get(0)) <= start) {
        writeCheckpoint(false);
        deleteAcknowledgedSegments();
      } else if (System.nanoTime() - lastCheckpointNanos >= CHECKPOINT_INTERVAL_NANOS) {
        writeCheckpoint(false);
      }
    } catch (IOException e) {
      fail("update", e);
    }
  }

  private void deleteAcknowledgedSegments() throws IOException {
    while (!segments.isEmpty() && segmentEnd(segments.get(0)) <= start) {
      Segment s = segments.get(0);
      if (s == active) {
        closeActive();
      }
      if (s == readSeg) {
        closeReader();
      }
      segments.remove(0);
      Files.deleteIfExists(s.path);
      totalBytes -= s.bytes;
    }
  }

  /** Records taken but not acknowledged wait to be taken again (the window gave them up). */
  void untake() {
    if (failed || closed || readIndex == start) {
      return;
    }
    readIndex = start;
    hasNext = false;
    readSeg = null;
    try {
      reader.close();
    } catch (IOException e) {
      fail("read from", e);
    }
  }

  private void writeCheckpoint(boolean sync) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(12);
    b.putLong(0, start);
    crc.reset();
    crc.update(b.array(), 0, 8);
    b.putInt(8, (int) crc.getValue());
    Path tmp = dir.resolve(CHECKPOINT + ".tmp");
    try (FileOutputStream o = new FileOutputStream(tmp.toFile())) {
      o.write(b.array());
      if (sync) {
        o.getFD().sync();
      }
    }
    Files.move(tmp, dir.resolve(CHECKPOINT), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    checkpointed = start;
    lastCheckpointNanos = System.nanoTime();
  }

  // ---- state and shutdown -----------------------------------------------------------------------

  private void publish() {
    liveCount = end - start;
  }

  private void fail(String what, IOException e) {
    if (failed) {
      return;
    }
    log.error("ergowatch: cannot {} the spool {}: {}; continuing without it: the {} records it held for sending"
        + " are given up, and records that do not fit in memory are dropped", what, dir, e.toString(), end - readIndex);
    failed = true;
    dropped += end - readIndex;
    liveCount = 0;
    hasNext = false;
    closeQuietly();
  }

  /** False once an I/O error turned the spool off (or it was closed). */
  boolean usable() {
    return !failed && !closed;
  }

  /** Records in the spool not yet acknowledged (taken or not); any thread. */
  long liveCount() {
    return liveCount;
  }

  /** Records the spool lost: oldest ones dropped for room, unreadable ones; any thread. */
  long droppedCount() {
    return dropped;
  }

  /** Records of an earlier agent process found at open. */
  long inherited() {
    return inherited;
  }

  /** Bytes of all segments (buffered appends included). */
  long bytes() {
    return totalBytes;
  }

  Path dir() {
    return dir;
  }

  long maxBytes() {
    return maxBytes;
  }

  /**
   * Ends the spool cleanly: appended records go to the disk (fsync), the checkpoint is written,
   * the lock released. Records taken but unacknowledged must have been {@link #untake untaken}.
   */
  void close() {
    if (closed) {
      return;
    }
    try {
      if (!failed) {
        flushBuffer();
        if (out != null) {
          out.getFD().sync();
        }
        deleteAcknowledgedSegments();
        if (checkpointed != start || !segments.isEmpty()) {
          writeCheckpoint(true);
        }
      }
    } catch (IOException e) {
      fail("close", e);
    } finally {
      closed = true;
      closeQuietly();
      lock.close();
    }
  }

  /** Ends the spool as a crash would: nothing more is written; the lock is released. */
  void abandon() {
    closed = true;
    wbuf.clear();
    closeQuietly();
    lock.close();
  }

  private void closeQuietly() {
    try {
      reader.close();
    } catch (IOException ignored) {
      // nothing more will be read
    }
    readSeg = null;
    FileOutputStream o = out;
    out = null;
    active = null;
    if (o != null) {
      try {
        o.close();
      } catch (IOException ignored) {
        // what was buffered is lost with the spool
      }
    }
  }

  @Override
  public String toString() {
    return "Spool[" + dir + ", records " + start + ".." + end + " (read " + readIndex + "), " + totalBytes + "/"
        + maxBytes + " bytes, segments " + Arrays.toString(segments.stream().mapToLong(s -> s.base).toArray()) + "]";
  }
}

package io.ergowatch.monitor.store;

import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameEncoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append-only, segmented, CRC32C-framed log of one run (after Kafka's log): segments named
 * by the zero-padded index of their first entry, each entry {@code u32 length | u32 crc32c |
 * body}.
 *
 * <p>Recovery never throws away acknowledged data. A torn tail of the last segment (a crash
 * during a write: never forced, so never acknowledged) is truncated silently. Damage anywhere
 * else (a bad entry followed by good ones, or a bad tail of an earlier segment) is salvaged: the
 * segment is first copied whole into the quarantine directory (never deleted by the monitor),
 * recovery resynchronises past the damage to the next entry whose length, frame and checksum
 * validate, keeps every such entry, rewrites the segment without the damaged bytes, and reports
 * what was lost ({@link #damage()}: STEP records, from the seq gaps they leave, and bytes).
 *
 * <p>Not thread-safe: a run's log is used by its lane only. Appends go to a 64 KiB buffer;
 * {@link #flush()} hands them to the OS, {@link #force()} to the disk (fsync);
 * {@link #flushForForce()} and {@link #force(Path)} split a force between the writer's thread
 * and another one.
 */
public final class RunLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger("io.ergowatch.monitor.store");
  private static final String SUFFIX = ".log";

  /**
   * What recovery could not keep: STEP records lost (seq gaps after damage, at least one per
   * damaged span), damaged bytes, one line per damaged segment, and where the originals are.
   */
  public record Damage(long records, long bytes, List<String> segments) {
    public static final Damage NONE = new Damage(0, 0, List.of());

    public Damage {
      segments = List.copyOf(segments);
    }

    public boolean any() {
      return bytes > 0;
    }
  }

  private final Path dir;
  private final long segmentBytes;
  private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
  private final CRC32C crc = new CRC32C();
  /**
   * A FileOutputStream, not a FileChannel: NIO channels close themselves when the writing thread
   * is interrupted, and Reactor interrupts a lane thread when it cancels a task that is running
   * (a connection closing). Stream writes and FileDescriptor.sync() ignore interrupts.
   */
  private java.io.FileOutputStream out;
  private Path path;
  private long segmentSize;
  private long entries;
  private long totalBytes;
  private boolean dirty;
  private boolean unforced;
  private Damage damage = Damage.NONE;

  private RunLog(Path dir, long segmentBytes, long entries, long totalBytes) {
    this.dir = dir;
    this.segmentBytes = segmentBytes;
    this.entries = entries;
    this.totalBytes = totalBytes;
  }

  /** As {@link #open(Path, long, Consumer, Path)} with the quarantine beside the run's directory. */
  public static RunLog open(Path dir, long segmentBytes, Consumer<LogEntry> sink) {
    return open(dir, segmentBytes, sink, dir.resolveSibling("quarantine").resolve(dir.getFileName()));
  }

  /**
   * Opens a run's log for appending after replaying what it holds into {@code sink}: a torn tail
   * is truncated, damage elsewhere is salvaged (the class comment), its originals copied into
   * {@code quarantine}.
   */
  public static RunLog open(Path dir, long segmentBytes, Consumer<LogEntry> sink, Path quarantine) {
    try {
      Files.createDirectories(dir);
      List<Path> segments = segments(dir);
      long entries = 0;
      long total = 0;
      long lastBase = 0;
      long gaps = 0;
      long spans = 0;
      long lostBytes = 0;
      List<String> damaged = new ArrayList<>();
      FrameDecoder decoder = new FrameDecoder();
      java.util.Map<String, Long> lastSeq = new java.util.HashMap<>();
      for (int i = 0; i < segments.size(); i++) {
        Path seg = segments.get(i);
        boolean last = i == segments.size() - 1;
        Replay r = replaySegment(seg, decoder, sink, lastSeq, last);
        entries += r.entries;
        total += r.keptBytes;
        lastBase = base(seg);
        gaps += r.lostRecords;
        if (r.damagedBytes > 0) {
          Path copy = quarantine(seg, quarantine);
          rewrite(seg, r);
          spans += r.spans.size();
          lostBytes += r.damagedBytes;
          String line = String.format("%s: %d damaged byte(s) at %s; the original is in %s", seg.getFileName(),
              r.damagedBytes, String.join(", ", r.spans), copy);
          damaged.add(line);
          log.error("record log {}: {}; every later entry whose checksum validates was kept", dir.getFileName(), line);
        } else if (r.tornBytes > 0) {
          log.info("record log {}: truncated a torn tail of {} byte(s) in {} (written, never acknowledged)",
              dir.getFileName(), r.tornBytes, seg.getFileName());
          try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE)) {
            ch.truncate(r.keptBytes);
            ch.force(true);
          }
        }
        if (last) {
          entries = Math.max(entries, lastBase + r.entries); // later segments' names must sort after
        }
      }
      RunLog runLog = new RunLog(dir, segmentBytes, entries, total);
      // A gap in a source's seq shows up at the first record after the damage, which may be in the
      // next segment; a damaged span that swallowed only non-STEP entries loses at least one.
      runLog.damage = lostBytes == 0 ? Damage.NONE : new Damage(Math.max(gaps, spans), lostBytes, damaged);
      if (lostBytes > 0) {
        log.error("record log {}: {} record(s) and {} byte(s) lost in all", dir.getFileName(), runLog.damage.records(),
            lostBytes);
      }
      List<Path> left = segments(dir);
      if (left.isEmpty()) {
        runLog.openSegment(segmentPath(dir, 0));
      } else {
        runLog.openSegment(left.get(left.size() - 1));
      }
      return runLog;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the record log in " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads a run's log into {@code sink} without changing anything on disk: no truncation of a
   * torn tail, no quarantine, no rewrite, no lock, so it is safe beside a live monitor that is
   * appending (the newest entry may be half-written: it is left out, as a torn tail). Damaged
   * stretches are skipped as {@link #open} would skip them, and counted in the result.
   *
   * @return what could not be read (records and bytes lost to damage, where)
   */
  public static Damage read(Path dir, Consumer<LogEntry> sink) {
    try {
      List<Path> segments = segments(dir);
      long gaps = 0;
      long spans = 0;
      long lostBytes = 0;
      List<String> damaged = new ArrayList<>();
      FrameDecoder decoder = new FrameDecoder();
      java.util.Map<String, Long> lastSeq = new java.util.HashMap<>();
      for (int i = 0; i < segments.size(); i++) {
        Path seg = segments.get(i);
        Replay r;
        try {
          r = replaySegment(seg, decoder, sink, lastSeq, i == segments.size() - 1);
        } catch (java.nio.file.NoSuchFileException gone) {
          continue; // deleted by the live monitor's retention meanwhile
        }
        gaps += r.lostRecords;
        if (r.damagedBytes > 0) {
          spans += r.spans.size();
          lostBytes += r.damagedBytes;
          damaged.add(String.format("%s: %d damaged byte(s) at %s", seg.getFileName(), r.damagedBytes,
              String.join(", ", r.spans)));
        }
      }
      return lostBytes == 0 ? Damage.NONE : new Damage(Math.max(gaps, spans), lostBytes, damaged);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the record log in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** What recovery could not keep when this log was opened. */
  public Damage damage() {
    return damage;
  }

  /** The result of replaying one segment. */
  private static final class Replay {
    long entries;
    long keptBytes;
    long damagedBytes;
    long tornBytes;
    long lostRecords;
    final List<String> spans = new ArrayList<>();
    /** [start, end) byte ranges of the valid entries, in order. */
    final List<long[]> kept = new ArrayList<>();
    byte[] bytes;
  }

  /**
   * Reads one segment, resynchronising past damaged bytes. A bad stretch that runs to the end of
   * the last segment is a torn tail; anywhere else it is damage.
   */
  private static Replay replaySegment(Path seg, FrameDecoder decoder, Consumer<LogEntry> sink,
      java.util.Map<String, Long> lastSeq, boolean lastSegment) throws IOException {
    byte[] all = Files.readAllBytes(seg);
    Replay r = new Replay();
    r.bytes = all;
    CRC32C crc = new CRC32C();
    int pos = 0;
    while (pos < all.length) {
      LogEntry entry = all.length - pos >= LogEntry.HEADER ? entryAt(all, pos, crc, decoder) : null;
      if (entry == null) {
        int next = nextEntry(all, pos + 1, crc, decoder);
        if (next < 0 && lastSegment) {
          r.tornBytes = all.length - pos;
          break;
        }
        int end = next < 0 ? all.length : next;
        r.damagedBytes += end - pos;
        r.spans.add("[" + pos + ", " + end + ")");
        pos = end;
        continue;
      }
      int length = ByteBuffer.wrap(all, pos, 4).getInt();
      int end = pos + LogEntry.HEADER + length;
      if (entry.frame() instanceof io.ergowatch.protocol.Step step) {
        String source = entry.rank() + "/" + entry.session();
        Long before = lastSeq.put(source, step.seq());
        // The log holds every seq of a source from 1 (a session starts at 1): a gap is loss.
        long expected = before == null ? 1 : before + 1;
        if (step.seq() > expected) {
          r.lostRecords += step.seq() - expected;
        }
      }
      if (r.kept.isEmpty() || r.kept.get(r.kept.size() - 1)[1] != pos) {
        r.kept.add(new long[] {pos, end});
      } else {
        r.kept.get(r.kept.size() - 1)[1] = end;
      }
      r.keptBytes += end - pos;
      r.entries++;
      sink.accept(entry);
      pos = end;
    }
    return r;
  }

  /** The entry at {@code pos} if its length, checksum and frame are valid, else null. */
  private static LogEntry entryAt(byte[] all, int pos, CRC32C crc, FrameDecoder decoder) {
    ByteBuffer b = ByteBuffer.wrap(all, pos, all.length - pos);
    int length = b.getInt();
    int expected = b.getInt();
    if (length <= LogEntry.bodyLength(4) || length > b.remaining()) {
      return null;
    }
    int bodyStart = pos + LogEntry.HEADER;
    // Cheap checks before the checksum, so that scanning damaged bytes stays linear in practice:
    // the kind byte, and the frame's own length prefix, which must fill the rest of the body.
    if (all[bodyStart] != LogEntry.KIND_FRAME
        || ByteBuffer.wrap(all, bodyStart + LogEntry.bodyLength(0), 4).getInt() != length - LogEntry.bodyLength(4)) {
      return null;
    }
    crc.reset();
    crc.update(all, bodyStart, length);
    if ((int) crc.getValue() != expected) {
      return null;
    }
    try {
      return LogEntry.readBody(ByteBuffer.wrap(all, bodyStart, length).slice(), decoder);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The first offset ≥ from where a valid entry starts, or -1. */
  private static int nextEntry(byte[] all, int from, CRC32C crc, FrameDecoder decoder) {
    for (int q = from; q + LogEntry.HEADER <= all.length; q++) {
      if (entryAt(all, q, crc, decoder) != null) {
        return q;
      }
    }
    return -1;
  }

  /** Copies a damaged segment, as it is, into the quarantine directory; returns the copy. */
  private static Path quarantine(Path seg, Path quarantine) throws IOException {
    Files.createDirectories(quarantine);
    Path copy = quarantine.resolve(seg.getFileName() + "." + System.currentTimeMillis() + ".damaged");
    Files.copy(seg, copy, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
    try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    return copy;
  }

  /** Rewrites a segment with its valid entries only: a temporary file, forced, moved over it. */
  private static void rewrite(Path seg, Replay r) throws IOException {
    Path tmp = seg.resolveSibling(seg.getFileName() + ".salvage");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long[] k : r.kept) {
        ByteBuffer b = ByteBuffer.wrap(r.bytes, (int) k[0], (int) (k[1] - k[0]));
        while (b.hasRemaining()) {
          ch.write(b);
        }
      }
      ch.force(true);
    }
    Files.move(tmp, seg, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static long base(Path seg) {
    String name = seg.getFileName().toString();
    try {
      return Long.parseLong(name.substring(0, name.length() - SUFFIX.length()));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** Appends an entry for a frame of (rank, session). Buffered: see {@link #flush()}. */
  public void append(int rank, long session, Frame frame) {
    int frameBytes = FrameEncoder.encodedLength(frame);
    ByteBuffer b = begin(frameBytes, rank, session);
    FrameEncoder.encode(frame, b);
    end(b, frameBytes);
  }

  /**
   * Appends an entry for a frame of (rank, session) already encoded, length prefix included,
   * between {@code frame}'s position and limit (consumed): the bytes a connection received,
   * copied as they came (no second encoding). The caller has decoded and checked them.
   */
  public void append(int rank, long session, ByteBuffer frame) {
    int length = frame.remaining();
    ByteBuffer b = begin(length, rank, session);
    b.put(frame);
    end(b, length);
  }

  private int entryStart;

  /** Starts an entry of {@code frameBytes} of frame: a new segment if due, header, rank, session. */
  private ByteBuffer begin(int frameBytes, int rank, long session) {
    int body = LogEntry.bodyLength(frameBytes);
    int total = LogEntry.HEADER + body;
    try {
      if (segmentSize + buffer.position() + total > segmentBytes && segmentSize + buffer.position() > 0) {
        flush();
        if (unforced) { // a segment is closed forced: a force in flight covers the open one only
          out.getFD().sync();
          unforced = false;
        }
        out.close();
        openSegment(segmentPath(dir, entries));
      }
    } catch (IOException e) {
      throw failure(e);
    }
    ByteBuffer b = buffer;
    if (total > buffer.remaining()) {
      flush();
      if (total > buffer.capacity()) {
        b = ByteBuffer.allocate(total); // an entry larger than the buffer: written on its own
      }
    }
    entryStart = b.position();
    b.putInt(body);
    b.putInt(0);
    b.put(LogEntry.KIND_FRAME);
    b.putInt(rank);
    b.putLong(session);
    return b;
  }

  /** Ends the entry begun in {@code b}: its CRC, and the write of an entry too large to buffer. */
  private void end(ByteBuffer b, int frameBytes) {
    int body = LogEntry.bodyLength(frameBytes);
    int bodyStart = entryStart + LogEntry.HEADER;
    crc.reset();
    crc.update(b.array(), bodyStart, body);
    b.putInt(entryStart + 4, (int) crc.getValue());
    try {
      if (b != buffer) {
        out.write(b.array(), 0, b.position());
        segmentSize += b.position();
      }
    } catch (IOException e) {
      throw failure(e);
    }
    entries++;
    totalBytes += LogEntry.HEADER + body;
    dirty = true;
    unforced = true;
  }

  private UncheckedIOException failure(IOException e) {
    return new UncheckedIOException("cannot append to the record log in " + dir + ": " + e.getMessage(), e);
  }

  /** Hands buffered entries to the OS (they survive a process crash). */
  public void flush() {
    if (buffer.position() == 0) {
      dirty = false;
      return;
    }
    try {
      out.write(buffer.array(), 0, buffer.position());
      segmentSize += buffer.position();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the record log in " + dir + ": " + e.getMessage(), e);
    } finally {
      buffer.clear();
    }
    dirty = false;
  }

  /**
   * Flushes and forces to disk (they survive a power failure), whatever was forced before: a
   * force handed to another thread ({@link #flushForForce()}) may still be running.
   */
  public void force() {
    flush();
    try {
      out.getFD().sync();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot force the record log in " + dir + ": " + e.getMessage(), e);
    }
    unforced = false;
  }

  /**
   * For a force on another thread: hands the buffered entries to the OS and returns the segment
   * file that holds every entry not forced yet (earlier segments were forced when they were
   * closed), or null when everything is forced. The caller then owes {@link #force(Path)} on it.
   */
  public Path flushForForce() {
    flush();
    if (!unforced) {
      return null;
    }
    unforced = false;
    return path;
  }

  /**
   * Forces a segment file to disk through a descriptor of its own: fsync acts on the file, so
   * this covers what the writer's stream handed to the OS, from any thread, without touching
   * the writer (which may be appending, or may have closed the segment meanwhile).
   */
  public static void force(Path segment) {
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(segment.toFile(), "rw")) {
      f.getFD().sync();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot force the record log segment " + segment + ": " + e.getMessage(), e);
    }
  }

  public boolean dirty() {
    return dirty || buffer.position() > 0;
  }

  public boolean unforced() {
    return unforced;
  }

  public long entries() {
    return entries;
  }

  public long bytes() {
    return totalBytes;
  }

  public Path dir() {
    return dir;
  }

  private void openSegment(Path path) throws IOException {
    this.path = path;
    out = new java.io.FileOutputStream(path.toFile(), true);
    segmentSize = Files.size(path);
  }

  static Path segmentPath(Path dir, long baseEntry) {
    return dir.resolve(String.format("%020d%s", baseEntry, SUFFIX));
  }

  static List<Path> segments(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return new ArrayList<>();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return new ArrayList<>(s.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).sorted().toList());
    }
  }

  @Override
  public void close() {
    try {
      force();
      out.close();
    } catch (IOException | UncheckedIOException e) {
      log.warn("closing the record log in {}: {}", dir, e.getMessage());
    }
  }
}

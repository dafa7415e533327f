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
 * body}. Recovery reads entries until the first that is torn or corrupt, truncates the log there
 * with a warning and drops later segments: what was acknowledged was forced before the ACK, so
 * only an unacknowledged tail can be lost, and the agents resend it.
 *
 * <p>Not thread-safe: a run's log is used by its lane only. Appends go to a 64 KiB buffer;
 * {@link #flush()} hands them to the OS, {@link #force()} to the disk (fsync);
 * {@link #flushForForce()} and {@link #force(Path)} split a force between the writer's thread
 * and another one.
 */
public final class RunLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger("io.ergowatch.monitor.store");
  private static final String SUFFIX = ".log";

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

  private RunLog(Path dir, long segmentBytes, long entries, long totalBytes) {
    this.dir = dir;
    this.segmentBytes = segmentBytes;
    this.entries = entries;
    this.totalBytes = totalBytes;
  }

  /**
   * Opens a run's log for appending after replaying what it holds into {@code sink}; a torn or
   * corrupt tail is truncated.
   */
  public static RunLog open(Path dir, long segmentBytes, Consumer<LogEntry> sink) {
    try {
      Files.createDirectories(dir);
      List<Path> segments = segments(dir);
      long entries = 0;
      long total = 0;
      FrameDecoder decoder = new FrameDecoder();
      for (int i = 0; i < segments.size(); i++) {
        Path seg = segments.get(i);
        long[] read = replaySegment(seg, decoder, sink);
        entries += read[0];
        long valid = read[1];
        long size = Files.size(seg);
        total += valid;
        if (valid < size) {
          log.warn("log {}: bad or torn entry at byte {} of {} ({} bytes dropped); truncating there{}", seg, valid,
              seg.getFileName(), size - valid, i + 1 < segments.size() ? " and dropping " + (segments.size() - i - 1)
                  + " later segment(s)" : "");
          try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE)) {
            ch.truncate(valid);
            ch.force(true);
          }
          for (int j = i + 1; j < segments.size(); j++) {
            Files.deleteIfExists(segments.get(j));
          }
          break;
        }
      }
      RunLog runLog = new RunLog(dir, segmentBytes, entries, total);
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

  /** Reads one segment; returns {entries read, bytes of valid entries}. */
  private static long[] replaySegment(Path seg, FrameDecoder decoder, Consumer<LogEntry> sink) throws IOException {
    byte[] all = Files.readAllBytes(seg);
    ByteBuffer b = ByteBuffer.wrap(all);
    CRC32C crc = new CRC32C();
    long n = 0;
    while (b.remaining() >= LogEntry.HEADER) {
      int start = b.position();
      int length = b.getInt();
      int expected = b.getInt();
      if (length <= 0 || length > b.remaining()) {
        b.position(start);
        break;
      }
      crc.reset();
      crc.update(all, b.position(), length);
      if ((int) crc.getValue() != expected) {
        b.position(start);
        break;
      }
      ByteBuffer body = ByteBuffer.wrap(all, b.position(), length).slice();
      LogEntry entry;
      try {
        entry = LogEntry.readBody(body, decoder);
      } catch (RuntimeException e) {
        b.position(start);
        break;
      }
      b.position(b.position() + length);
      sink.accept(entry);
      n++;
    }
    return new long[] {n, b.position()};
  }

  /** Appends an entry for a frame of (rank, session). Buffered: see {@link #flush()}. */
  public void append(int rank, long session, Frame frame) {
    int frameBytes = FrameEncoder.encodedLength(frame);
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
      ByteBuffer b = buffer;
      if (total > buffer.remaining()) {
        flush();
        if (total > buffer.capacity()) {
          b = ByteBuffer.allocate(total); // an entry larger than the buffer: written on its own
        }
      }
      int start = b.position();
      b.putInt(body);
      b.putInt(0);
      int bodyStart = b.position();
      b.put(LogEntry.KIND_FRAME);
      b.putInt(rank);
      b.putLong(session);
      FrameEncoder.encode(frame, b);
      crc.reset();
      crc.update(b.array(), bodyStart, body);
      b.putInt(start + 4, (int) crc.getValue());
      if (b != buffer) {
        out.write(b.array(), 0, b.position());
        segmentSize += b.position();
      }
      entries++;
      totalBytes += total;
      dirty = true;
      unforced = true;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to the record log in " + dir + ": " + e.getMessage(), e);
    }
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

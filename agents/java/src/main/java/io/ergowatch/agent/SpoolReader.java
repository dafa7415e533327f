package io.ergowatch.agent;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads the entries of one spool segment ({@link SpoolEntry}) in order, checking each one's
 * length and CRC32C, for recovery and for draining. Stops at the first entry that is torn,
 * corrupt or malformed ({@link #BAD}, with a reason) and never throws for bad content; only
 * I/O errors escape. Reading a RECORD allocates nothing. Network thread (or build()) only.
 *
 * <p>Uses {@link RandomAccessFile}, whose reads, unlike an NIO channel's, are not aborted (and
 * the file closed) by an interrupt of the reading thread.
 */
final class SpoolReader implements AutoCloseable {
  static final int BAD = -1;
  static final int END = 0;
  static final int HEADER = SpoolEntry.HEADER;
  static final int RECORD = SpoolEntry.RECORD;
  /** No entry is longer: a HEADER of 65535 series of 64 chars takes about 4.3 MB. */
  private static final int MAX_ENTRY = 8 << 20;

  private final CRC32C crc = new CRC32C();
  private byte[] buf;
  private ByteBuffer view;
  /** File bytes {@code [bufStart, bufStart + bufLen)} are in {@code buf}. */
  private long bufStart;
  private int bufLen;
  private RandomAccessFile file;
  private long offset;
  private String badReason;

  private boolean sawHeader;
  private String headerRun;
  private int headerRank;
  private int headerVersion;
  private List<String> headerSeries = List.of();

  private long position;
  private long step;
  private long timeNanos;
  private int count;
  private int valuesAt;

  SpoolReader(int bufferBytes) {
    buf = new byte[Math.max(4096, bufferBytes)];
    view = ByteBuffer.wrap(buf);
  }

  /** Starts reading a segment from its beginning. */
  void open(Path segment) throws IOException {
    close();
    file = new RandomAccessFile(segment.toFile(), "r");
    offset = 0;
    bufStart = 0;
    bufLen = 0;
    sawHeader = false;
    headerSeries = List.of();
  }

  /**
   * Reads the next entry.
   *
   * @return {@link #HEADER} or {@link #RECORD} (its fields are then available), {@link #END} at
   *     the exact end of the file, or {@link #BAD} (see {@link #badReason()}); after BAD or END
   *     the offset stays at the start of the entry that could not be read
   */
  int next() throws IOException {
    badReason = null;
    if (!fill(offset, SpoolEntry.FRAME_BYTES)) {
      long present = bufStart + bufLen - offset;
      return present == 0 ? END : bad("torn entry: " + present + " bytes of an 8-byte entry header");
    }
    int at = (int) (offset - bufStart);
    int length = view.getInt(at);
    int expected = view.getInt(at + 4);
    if (length <= 0 || length > MAX_ENTRY - SpoolEntry.FRAME_BYTES) {
      return bad("impossible entry length " + Integer.toUnsignedString(length));
    }
    int total = SpoolEntry.FRAME_BYTES + length;
    if (total > buf.length) {
      buf = new byte[total];
      view = ByteBuffer.wrap(buf);
      bufLen = 0;
    }
    if (!fill(offset, total)) {
      long present = bufStart + bufLen - offset;
      return bad("torn entry: " + present + " of " + total + " bytes");
    }
    at = (int) (offset - bufStart);
    int body = at + SpoolEntry.FRAME_BYTES;
    crc.reset();
    crc.update(buf, body, length);
    if ((int) crc.getValue() != expected) {
      return bad("CRC32C mismatch");
    }
    int kind = buf[body];
    int result;
    if (kind == HEADER) {
      result = sawHeader ? bad("a second header") : readHeader(body, length);
    } else if (kind == RECORD) {
      result = sawHeader ? readRecord(body, length) : bad("a record before the segment header");
    } else {
      result = bad("unknown entry kind " + kind);
    }
    if (result != BAD) {
      offset += total;
    }
    return result;
  }

  private int readHeader(int body, int length) {
    ByteBuffer b = ByteBuffer.wrap(buf, body + 1, length - 1);
    try {
      headerVersion = b.getShort() & 0xFFFF;
      headerRun = string(b);
      headerRank = b.getInt();
      int n = b.getShort() & 0xFFFF;
      List<String> series = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        series.add(string(b));
      }
      if (b.hasRemaining()) {
        return bad(b.remaining() + " trailing bytes after the segment header");
      }
      headerSeries = List.copyOf(series);
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      return bad("malformed segment header");
    }
    sawHeader = true;
    return HEADER;
  }

  private int readRecord(int body, int length) {
    if (length < SpoolEntry.RECORD_FIXED) {
      return bad("record of " + length + " bytes, shorter than its fixed part");
    }
    int n = view.getShort(body + 1 + 8 + 8 + 8) & 0xFFFF;
    if (length != SpoolEntry.RECORD_FIXED + SpoolEntry.VALUE_BYTES * n) {
      return bad("record of " + length + " bytes with " + n + " values");
    }
    int values = body + SpoolEntry.RECORD_FIXED;
    int series = headerSeries.size();
    for (int i = 0; i < n; i++) {
      int id = view.getShort(values + i * SpoolEntry.VALUE_BYTES) & 0xFFFF;
      if (id >= series) {
        return bad("series id " + id + " outside the header's " + series + " series");
      }
    }
    position = view.getLong(body + 1);
    step = view.getLong(body + 1 + 8);
    timeNanos = view.getLong(body + 1 + 8 + 8);
    count = n;
    valuesAt = values;
    return RECORD;
  }

  /**
   * Copies the last RECORD into {@code out} (not its position), mapping each id through {@code
   * remap} (null: unchanged); ids mapped to -1 are left out. Allocates nothing.
   */
  void copyRecord(PendingRecord out, int[] remap) {
    out.step = step;
    out.timeNanos = timeNanos;
    int n = 0;
    for (int i = 0; i < count; i++) {
      int at = valuesAt + i * SpoolEntry.VALUE_BYTES;
      int id = view.getShort(at) & 0xFFFF;
      int mapped = remap == null ? id : remap[id];
      if (mapped >= 0) {
        out.ids[n] = mapped;
        out.values[n] = view.getDouble(at + 2);
        n++;
      }
    }
    out.count = n;
  }

  /** Makes file bytes [pos, pos + n) available in the buffer; false at the end of the file. */
  private boolean fill(long pos, int n) throws IOException {
    if (pos >= bufStart && pos + n <= bufStart + bufLen) {
      return true;
    }
    bufStart = pos;
    bufLen = 0;
    file.seek(pos);
    while (bufLen < buf.length) {
      int r = file.read(buf, bufLen, buf.length - bufLen);
      if (r < 0) {
        break;
      }
      bufLen += r;
    }
    return bufLen >= n;
  }

  private static String string(ByteBuffer b) {
    int len = b.getShort() & 0xFFFF;
    if (len > b.remaining()) {
      throw new BufferUnderflowException();
    }
    String s = new String(b.array(), b.arrayOffset() + b.position(), len, StandardCharsets.UTF_8);
    b.position(b.position() + len);
    return s;
  }

  private int bad(String reason) {
    badReason = reason;
    return BAD;
  }

  /** Byte offset of the next entry (after BAD or END: of the entry that could not be read). */
  long offset() {
    return offset;
  }

  String badReason() {
    return badReason;
  }

  int headerVersion() {
    return headerVersion;
  }

  String headerRun() {
    return headerRun;
  }

  int headerRank() {
    return headerRank;
  }

  /** The series of the segment's writer, id = index. */
  List<String> headerSeries() {
    return headerSeries;
  }

  /** The writer's record() position of the last RECORD. */
  long position() {
    return position;
  }

  @Override
  public void close() throws IOException {
    RandomAccessFile f = file;
    file = null;
    bufLen = 0;
    if (f != null) {
      f.close();
    }
  }
}

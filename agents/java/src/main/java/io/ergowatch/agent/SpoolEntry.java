package io.ergowatch.agent;

import io.ergowatch.protocol.FrameEncoder;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The layout of a spool segment: a sequence of entries framed like the monitor's record log
 * (monitor/.../store/RunLog, after Kafka's log), each {@code u32 length | u32 crc32c(body) |
 * body}, big-endian. Two kinds of body:
 *
 * <pre>
 * HEADER  u8 1 | u16 version (1) | string run | u32 rank | u16 n | n × string
 *         the series record() took in the agent that wrote the segment: ids 0..n-1
 * RECORD  u8 2 | i64 position | u64 step | i64 time | u16 count | count × (u16 id, f64 value)
 *         one record without a seq (seqs are given at send time), agent_dropped never included
 * </pre>
 *
 * Strings are EWP/1 strings (u16 byte length, UTF-8). Every segment starts with a HEADER, so a
 * segment can be read on its own and its ids mapped to names by an agent that declares other
 * series. {@code position} is the writer's record() position, meaningful only to that process.
 *
 * <p>Writing a RECORD allocates nothing.
 */
final class SpoolEntry {
  /** u32 length + u32 crc32c. */
  static final int FRAME_BYTES = 8;
  static final byte HEADER = 1;
  static final byte RECORD = 2;
  static final int VERSION = 1;
  /** Body bytes of a RECORD before its values: kind, position, step, time, count. */
  static final int RECORD_FIXED = 1 + 8 + 8 + 8 + 2;
  static final int VALUE_BYTES = 2 + 8;

  private SpoolEntry() {}

  /** Bytes of a RECORD entry with {@code count} values, framing included. */
  static int recordBytes(int count) {
    return FRAME_BYTES + RECORD_FIXED + VALUE_BYTES * count;
  }

  /** Bytes of the HEADER entry for a run, rank and series list, framing included. */
  static int headerBytes(String run, List<String> series) {
    int n = FRAME_BYTES + 1 + 2 + FrameEncoder.str(run) + 4 + 2;
    for (String s : series) {
      n += FrameEncoder.str(s);
    }
    return n;
  }

  /** The whole HEADER entry, framing included. */
  static byte[] header(String run, int rank, List<String> series) {
    int total = headerBytes(run, series);
    ByteBuffer b = ByteBuffer.allocate(total);
    b.putInt(total - FRAME_BYTES);
    b.putInt(0);
    b.put(HEADER);
    b.putShort((short) VERSION);
    FrameEncoder.putString(b, run);
    b.putInt(rank);
    b.putShort((short) series.size());
    for (String s : series) {
      FrameEncoder.putString(b, s);
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), FRAME_BYTES, total - FRAME_BYTES);
    b.putInt(4, (int) crc.getValue());
    return b.array();
  }

  /**
   * Appends a RECORD entry to {@code out} (a heap buffer with room for it) without allocating.
   * Values {@code [0, count)} of {@code ids}/{@code values}.
   */
  static void writeRecord(ByteBuffer out, CRC32C crc, long position, long step, long timeNanos,
      int[] ids, double[] values, int count) {
    int start = out.position();
    int body = RECORD_FIXED + VALUE_BYTES * count;
    out.putInt(body);
    out.putInt(0);
    out.put(RECORD);
    out.putLong(position);
    out.putLong(step);
    out.putLong(timeNanos);
    out.putShort((short) count);
    for (int i = 0; i < count; i++) {
      out.putShort((short) ids[i]);
      out.putDouble(values[i]);
    }
    crc.reset();
    crc.update(out.array(), out.arrayOffset() + start + FRAME_BYTES, body);
    out.putInt(start + 4, (int) crc.getValue());
  }

}

package io.ergowatch.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes EWP/1 frames, length prefix included, in network byte order. Stateless.
 *
 * <p>Usage: {@code byte[] bytes = FrameEncoder.encode(new Ack(42));}. The hot path of an agent
 * uses {@link #writeStep} straight from its own arrays, without building a {@link Step}.
 */
public final class FrameEncoder {
  private FrameEncoder() {}

  public static byte[] encode(Frame frame) {
    ByteBuffer buf = ByteBuffer.allocate(encodedLength(frame));
    encode(frame, buf);
    return buf.array();
  }

  /** Total bytes of the frame on the wire, length prefix included. */
  public static int encodedLength(Frame frame) {
    return Codec.LENGTH_BYTES + bodyLength(frame);
  }

  /** Writes the frame at the buffer's position; the buffer must have room. */
  public static void encode(Frame frame, ByteBuffer out) {
    out.putInt(bodyLength(frame));
    out.put((byte) frame.type().wire());
    if (frame instanceof Hello h) {
      out.putInt(Hello.MAGIC);
      out.putShort((short) Hello.VERSION);
      putString(out, h.run());
      putString(out, h.job());
      putString(out, h.token());
      out.putLong(h.session());
      out.putInt(h.rank());
      out.putInt(h.world());
      out.put((byte) h.mode().wire());
      out.putShort((short) h.series().size());
      for (String s : h.series()) {
        putString(out, s);
      }
      out.putShort((short) h.labels().size());
      for (Label l : h.labels()) {
        putString(out, l.key());
        putString(out, l.value());
      }
    } else if (frame instanceof Step s) {
      out.putLong(s.seq());
      out.putLong(s.step());
      out.putLong(s.timeNanos());
      out.putShort((short) s.count());
      for (int i = 0; i < s.count(); i++) {
        out.putShort((short) s.seriesId(i));
        out.putDouble(s.value(i));
      }
    } else if (frame instanceof Bye b) {
      out.put((byte) b.status().wire());
      putString(out, b.message());
    } else if (frame instanceof Welcome w) {
      out.putLong(w.ackedSeq());
      out.putInt((int) w.maxFrame());
    } else if (frame instanceof Ack a) {
      out.putLong(a.ackedSeq());
    } else if (frame instanceof ErrorFrame e) {
      out.putShort((short) e.code().wire());
      putString(out, e.message());
    }
    // Heartbeat: no payload.
  }

  /**
   * Writes a STEP frame from parallel arrays without allocating. The caller guarantees what
   * {@link Step#of} would check (seq ≥ 1, ids unique and &lt; 65536); agents hold their ids
   * from their own HELLO, so they do by construction.
   */
  public static void writeStep(ByteBuffer out, long seq, long step, long timeNanos,
      int[] ids, double[] values, int count) {
    out.putInt(Codec.STEP_HEADER_BYTES + Codec.STEP_ENTRY_BYTES * count);
    out.put((byte) FrameType.STEP.wire());
    out.putLong(seq);
    out.putLong(step);
    out.putLong(timeNanos);
    out.putShort((short) count);
    for (int i = 0; i < count; i++) {
      out.putShort((short) ids[i]);
      out.putDouble(values[i]);
    }
  }

  private static int bodyLength(Frame frame) {
    int n = 1;
    if (frame instanceof Hello h) {
      n += 4 + 2 + str(h.run()) + str(h.job()) + str(h.token()) + 8 + 4 + 4 + 1 + 2 + 2;
      for (String s : h.series()) {
        n += str(s);
      }
      for (Label l : h.labels()) {
        n += str(l.key()) + str(l.value());
      }
    } else if (frame instanceof Step s) {
      n = Codec.STEP_HEADER_BYTES + Codec.STEP_ENTRY_BYTES * s.count();
    } else if (frame instanceof Bye b) {
      n += 1 + str(b.message());
    } else if (frame instanceof Welcome) {
      n += 8 + 4;
    } else if (frame instanceof Ack) {
      n += 8;
    } else if (frame instanceof ErrorFrame e) {
      n += 2 + str(e.message());
    }
    return n;
  }

  /** Bytes of an EWP/1 string: a u16 length, then the UTF-8 bytes (also the agents' spool format). */
  public static int str(String s) {
    return 2 + s.getBytes(StandardCharsets.UTF_8).length;
  }

  /** Writes an EWP/1 string: a u16 length, then the UTF-8 bytes. */
  public static void putString(ByteBuffer out, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.putShort((short) b.length);
    out.put(b);
  }

  /** Encodes several frames back to back (tests and tools). */
  public static byte[] encodeAll(List<? extends Frame> frames) {
    List<byte[]> parts = new ArrayList<>(frames.size());
    int total = 0;
    for (Frame f : frames) {
      byte[] b = encode(f);
      parts.add(b);
      total += b.length;
    }
    ByteBuffer all = ByteBuffer.allocate(total);
    parts.forEach(all::put);
    return all.array();
  }
}

package io.ergowatch.monitor.store;

import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameEncoder;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Step;
import java.nio.ByteBuffer;

/**
 * What the record log holds for a run: the HELLO of every accepted connection (it maps the STEP
 * ids of that connection to series names) and every accepted STEP and BYE, each tagged with
 * its (rank, session). Replaying them through the pipeline rebuilds the run exactly. The
 * payloads are EWP/1 frames, so the log needs no second format.
 *
 * <p>Entry on disk: {@code u32 length | u32 crc32c(body) | body}, body = {@code u8 kind |
 * u32 rank | u64 session | EWP/1 frame with its length prefix}.
 */
public record LogEntry(int rank, long session, Object frame) {
  static final int HEADER = 4 + 4;
  static final byte KIND_FRAME = 1;

  /** Bytes of the body of an entry holding {@code frameBytes} bytes of frame. */
  static int bodyLength(int frameBytes) {
    return 1 + 4 + 8 + frameBytes;
  }

  public Hello hello() {
    return (Hello) frame;
  }

  public Step step() {
    return (Step) frame;
  }

  public Bye bye() {
    return (Bye) frame;
  }

  /** Writes the body of an entry for a frame already encoded in {@code frame}. */
  static void writeBody(ByteBuffer out, int rank, long session, ByteBuffer frame) {
    out.put(KIND_FRAME);
    out.putInt(rank);
    out.putLong(session);
    out.put(frame);
  }

  static LogEntry readBody(ByteBuffer body, FrameDecoder decoder) {
    byte kind = body.get();
    if (kind != KIND_FRAME) {
      throw new IllegalStateException("unknown log entry kind " + kind);
    }
    int rank = body.getInt();
    long session = body.getLong();
    return new LogEntry(rank, session, decoder.decodeWithLength(body, Integer.MAX_VALUE - 8));
  }

  static byte[] encodeFrame(io.ergowatch.protocol.Frame f) {
    return FrameEncoder.encode(f);
  }
}

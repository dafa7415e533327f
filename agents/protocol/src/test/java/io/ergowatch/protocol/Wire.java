package io.ergowatch.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Writes raw EWP/1 bytes field by field, valid or not, so tests can build frames the
 * encoder (which only takes valid frames) refuses to produce.
 */
final class Wire {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  static Wire body(FrameType type) {
    return new Wire().u8(type.wire());
  }

  Wire u8(int v) {
    out.write(v);
    return this;
  }

  Wire u16(int v) {
    return raw(ByteBuffer.allocate(2).putShort((short) v).array());
  }

  Wire u32(long v) {
    return raw(ByteBuffer.allocate(4).putInt((int) v).array());
  }

  Wire u64(long v) {
    return raw(ByteBuffer.allocate(8).putLong(v).array());
  }

  Wire f64(double v) {
    return raw(ByteBuffer.allocate(8).putDouble(v).array());
  }

  /** A string: u16 byte length, then its UTF-8 bytes. */
  Wire str(String s) {
    return bytesStr(s.getBytes(StandardCharsets.UTF_8));
  }

  /** A string made of arbitrary (possibly invalid UTF-8) bytes. */
  Wire bytesStr(byte[] b) {
    u16(b.length);
    return raw(b);
  }

  Wire raw(byte... b) {
    out.write(b, 0, b.length);
    return this;
  }

  /** The bytes written so far (a frame body when started with {@link #body}). */
  byte[] bytes() {
    return out.toByteArray();
  }

  /** The bytes written so far behind a u32 length prefix that counts them. */
  byte[] frame() {
    byte[] body = bytes();
    return ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array();
  }

  /**
   * A HELLO body with every field valid (hello-minimal: run "r1", session 1, rank 0 of 1),
   * each overridable, so a test changes exactly one thing.
   */
  static final class HelloSpec {
    int magic = Hello.MAGIC;
    int version = Hello.VERSION;
    String run = "r1";
    String job = "";
    String token = "";
    long session = 1;
    long rank = 0;
    long world = 1;
    int mode = 0;
    String[] series = {};
    String[][] labels = {};

    HelloSpec magic(int v) { magic = v; return this; }
    HelloSpec version(int v) { version = v; return this; }
    HelloSpec run(String v) { run = v; return this; }
    HelloSpec job(String v) { job = v; return this; }
    HelloSpec token(String v) { token = v; return this; }
    HelloSpec rank(long v) { rank = v; return this; }
    HelloSpec world(long v) { world = v; return this; }
    HelloSpec mode(int v) { mode = v; return this; }
    HelloSpec series(String... v) { series = v; return this; }
    HelloSpec labels(String[]... v) { labels = v; return this; }

    Wire wire() {
      Wire w = body(FrameType.HELLO).u32(magic).u16(version).str(run).str(job).str(token)
          .u64(session).u32(rank).u32(world).u8(mode).u16(series.length);
      for (String s : series) {
        w.str(s);
      }
      w.u16(labels.length);
      for (String[] l : labels) {
        w.str(l[0]).str(l[1]);
      }
      return w;
    }

    byte[] frame() {
      return wire().frame();
    }
  }

  static HelloSpec hello() {
    return new HelloSpec();
  }

  /** A STEP body: seq, step 0, time 0, then (id, value) pairs. */
  static Wire step(long seq, int[] ids, double[] values) {
    Wire w = body(FrameType.STEP).u64(seq).u64(0).u64(0).u16(ids.length);
    for (int i = 0; i < ids.length; i++) {
      w.u16(ids[i]).f64(values[i]);
    }
    return w;
  }
}

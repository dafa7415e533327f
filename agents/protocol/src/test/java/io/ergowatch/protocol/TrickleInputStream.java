package io.ergowatch.protocol;

import java.io.InputStream;

/**
 * An InputStream over a byte array that hands out its bytes in small pieces, as a socket
 * does: each read returns at most the next chunk size (cycling through the sizes given).
 * It counts what was consumed and can refuse, as a test failure, any read past a given
 * offset (to prove a decoder never touched a frame's body).
 */
final class TrickleInputStream extends InputStream {
  private final byte[] data;
  private final int[] chunks;
  private final int readLimit;
  private int pos;
  private int nextChunk;
  private int reads;

  private TrickleInputStream(byte[] data, int[] chunks, int readLimit) {
    this.data = data.clone();
    this.chunks = chunks.clone();
    this.readLimit = readLimit;
  }

  static TrickleInputStream oneByteAtATime(byte[] data) {
    return new TrickleInputStream(data, new int[] {1}, Integer.MAX_VALUE);
  }

  /** Each read delivers at most the next of {@code chunkSizes} (all ≥ 1), cycling. */
  static TrickleInputStream inChunks(byte[] data, int... chunkSizes) {
    return new TrickleInputStream(data, chunkSizes, Integer.MAX_VALUE);
  }

  /** Fails the test if anything asks for byte {@code limit} or later. */
  static TrickleInputStream failingReadsPast(byte[] data, int limit) {
    return new TrickleInputStream(data, new int[] {Integer.MAX_VALUE}, limit);
  }

  /** Bytes handed out so far. */
  int consumed() {
    return pos;
  }

  /** read calls that returned data. */
  int reads() {
    return reads;
  }

  @Override
  public int read() {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) {
    if (len == 0) {
      return 0;
    }
    if (pos >= readLimit) {
      throw new AssertionError("read past byte " + readLimit + " of the stream");
    }
    if (pos >= data.length) {
      return -1;
    }
    int chunk = chunks[nextChunk++ % chunks.length];
    int n = Math.min(Math.min(len, chunk), Math.min(data.length, readLimit) - pos);
    System.arraycopy(data, pos, b, off, n);
    pos += n;
    reads++;
    return n;
  }
}

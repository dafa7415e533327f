package io.ergowatch.agent;

import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.FrameEncoder;
import java.nio.ByteBuffer;

/**
 * The records that have a seq but no ACK yet, held as encoded STEP frames so that a resend
 * is a copy of bytes. Network thread only.
 *
 * <p>Seqs in the window are contiguous: {@code (acked, last]}. A record enters with the next
 * seq ({@link #append}) and leaves only when acknowledged ({@link #release}) — never because
 * the window is full (the sender stops taking new records instead) — so a resend from any
 * {@code acked_seq + 1} the monitor names finds every record it needs and never leaves a gap.
 *
 * <p>Memory: {@code capacity × bytesPerRecord(maxValues)}, about {@code capacity × (45 + 10 ×
 * values)} bytes.
 */
final class InFlightWindow {
  /** Offset of the seq field in an encoded STEP: u32 length, u8 type. */
  private static final int SEQ_OFFSET = Codec.LENGTH_BYTES + 1;

  private final int capacity;
  private final int stride;
  private final byte[] frames;
  private final ByteBuffer view;
  private final int[] lengths;
  private final long[] positions;
  private long acked;
  private long last;
  /** Added to a seq to find its slot; changes when a new session renumbers the window. */
  private long slotShift;

  /** Memory one record takes: its largest encoded STEP, its length and its position. */
  static long bytesPerRecord(int maxValues) {
    return Codec.stepFrameBytes(maxValues) + 12L;
  }

  /**
   * @param capacity records held at most, ≥ 1
   * @param maxValues most values in one STEP (all series of the HELLO)
   */
  InFlightWindow(int capacity, int maxValues) {
    this.capacity = capacity;
    this.stride = Codec.stepFrameBytes(maxValues);
    this.frames = new byte[Math.multiplyExact(capacity, stride)];
    this.view = ByteBuffer.wrap(frames);
    this.lengths = new int[capacity];
    this.positions = new long[capacity];
  }

  /** Gives the record the next seq and encodes it; the window must not be full. */
  long append(PendingRecord r) {
    if (isFull()) {
      throw new IllegalStateException("window full: " + size() + " records in flight");
    }
    long seq = last + 1;
    int s = slot(seq);
    int start = s * stride;
    view.limit(start + stride).position(start);
    FrameEncoder.writeStep(view, seq, r.step, r.timeNanos, r.ids, r.values, r.count);
    lengths[s] = view.position() - start;
    positions[s] = r.position;
    last = seq;
    return seq;
  }

  /** Appends the encoded frame of {@code seq} (in the window) to {@code out}. */
  void copyFrame(long seq, ByteBuffer out) {
    check(seq);
    int s = slot(seq);
    out.put(frames, s * stride, lengths[s]);
  }

  /**
   * Decodes the record of {@code seq} (in the window) back into {@code out}, leaving out the
   * series {@code skipId} (agent_dropped, which is filled at send time). Allocates nothing.
   */
  void readRecord(long seq, PendingRecord out, int skipId) {
    check(seq);
    int s = slot(seq);
    int at = s * stride + SEQ_OFFSET + 8;
    view.limit(frames.length);
    out.step = view.getLong(at);
    out.timeNanos = view.getLong(at + 8);
    int count = view.getShort(at + 16) & 0xFFFF;
    int p = at + 18;
    int n = 0;
    for (int i = 0; i < count; i++, p += Codec.STEP_ENTRY_BYTES) {
      int id = view.getShort(p) & 0xFFFF;
      if (id != skipId) {
        out.ids[n] = id;
        out.values[n] = view.getDouble(p + 2);
        n++;
      }
    }
    out.count = n;
    out.position = positions[s];
  }

  /** The buffer position of the record with this seq (in the window). */
  long positionOf(long seq) {
    check(seq);
    return positions[slot(seq)];
  }

  /** Acknowledges every seq ≤ upTo (clamped to the window); returns how many left it. */
  long release(long upTo) {
    long target = Math.min(upTo, last);
    if (target <= acked) {
      return 0;
    }
    long released = target - acked;
    acked = target;
    return released;
  }

  /**
   * Starts a new session: the records in flight are renumbered 1..size(), in order, and
   * nothing counts as acknowledged any more.
   */
  void renumberFromOne() {
    long base = acked;
    for (long seq = acked + 1; seq <= last; seq++) {
      int start = slot(seq) * stride;
      view.limit(frames.length);
      view.putLong(start + SEQ_OFFSET, seq - base);
    }
    slotShift += base;
    last -= base;
    acked = 0;
  }

  /**
   * The monitor says {@code seq} is recorded although this window never got that far: forget
   * what is in flight (it is acknowledged) and continue numbering after {@code seq}.
   */
  long skipTo(long seq) {
    long released = last - acked;
    acked = seq;
    last = seq;
    return released;
  }

  long acked() {
    return acked;
  }

  long last() {
    return last;
  }

  int size() {
    return (int) (last - acked);
  }

  boolean isEmpty() {
    return last == acked;
  }

  boolean isFull() {
    return last - acked >= capacity;
  }

  int capacity() {
    return capacity;
  }

  /** Bytes of the largest frame the window holds. */
  int maxFrameBytes() {
    return stride;
  }

  private int slot(long seq) {
    return (int) Math.floorMod(seq + slotShift, (long) capacity);
  }

  private void check(long seq) {
    if (seq <= acked || seq > last) {
      throw new IllegalArgumentException("seq " + seq + " is not in flight (" + acked + ", " + last + "]");
    }
  }
}

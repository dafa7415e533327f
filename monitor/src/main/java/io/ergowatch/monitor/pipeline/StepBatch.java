package io.ergowatch.monitor.pipeline;

import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.Step;

/**
 * STEPs of one connection, in seq order, handed to the run's lane together: one queue hop and
 * one lane task per batch instead of per record. Optionally with the bytes they were decoded
 * from, so the record log stores the frames as received instead of encoding them again. Filled
 * by one thread, then read by the lane.
 */
public final class StepBatch {
  private final Step[] steps;
  private final byte[] frames;
  private final int[] offsets;
  private int count;

  /** A batch without the received bytes (the log encodes each STEP). */
  public StepBatch(int capacity) {
    this(capacity, null);
  }

  /**
   * @param frames the bytes the STEPs were decoded from, each frame whole (length prefix
   *     included) at the offset given to {@link #add(Step, int)}; null for none
   */
  public StepBatch(int capacity, byte[] frames) {
    this.steps = new Step[capacity];
    this.frames = frames;
    this.offsets = frames == null ? null : new int[capacity];
  }

  /** A batch of one (a connection that sends one frame per write, tests). */
  public static StepBatch of(Step s) {
    StepBatch b = new StepBatch(1);
    b.add(s, -1);
    return b;
  }

  /**
   * @param offset where the STEP's frame starts in the batch's bytes (ignored without them)
   * @throws ArrayIndexOutOfBoundsException beyond the capacity (a bug of the caller)
   */
  public void add(Step s, int offset) {
    if (offsets != null) {
      offsets[count] = offset;
    }
    steps[count++] = s;
  }

  public int count() {
    return count;
  }

  public Step get(int i) {
    return steps[i];
  }

  /** The last STEP of the batch; the batch is never empty when handed on. */
  public Step last() {
    return steps[count - 1];
  }

  /** The received bytes, null when the batch has none. */
  byte[] frames() {
    return frames;
  }

  /** Where STEP {@code i}'s frame starts in {@link #frames()}. */
  int offset(int i) {
    return offsets[i];
  }

  /** Bytes of STEP {@code i}'s frame, length prefix included. */
  int frameLength(int i) {
    return Codec.stepFrameBytes(steps[i].count());
  }
}

package io.ergowatch.monitor.pipeline;

import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.Step;
import java.nio.ByteBuffer;

/**
 * STEPs of one connection, in seq order, handed to the run's lane together: one queue hop and
 * one lane task per batch instead of per record. Optionally with the bytes they were decoded
 * from (the connection's receive buffer, not a copy), so the record log stores the frames as
 * received instead of encoding them again; those bytes are owned by the batch until
 * {@link #release()}, which the lane calls once it has applied the batch (and the pipeline
 * when it discards one unapplied). Filled by one thread, then read by the lane.
 */
public final class StepBatch {
  private static final Runnable NOTHING = () -> { };

  private final Step[] steps;
  private final ByteBuffer frames;
  private final int[] offsets;
  private final Runnable release;
  private int count;
  private boolean released;

  /** A batch without the received bytes (the log encodes each STEP). */
  public StepBatch(int capacity) {
    this(capacity, null, NOTHING);
  }

  /**
   * @param frames the bytes the STEPs were decoded from, each frame whole (length prefix
   *     included) at the offset given to {@link #add(Step, int)}; null for none
   * @param release frees {@code frames}; called once
   */
  public StepBatch(int capacity, ByteBuffer frames, Runnable release) {
    this.steps = new Step[capacity];
    this.frames = frames;
    this.offsets = frames == null ? null : new int[capacity];
    this.release = release;
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

  /** True when the batch carries the bytes its STEPs were decoded from. */
  boolean hasFrames() {
    return frames != null;
  }

  /**
   * STEP {@code i}'s frame as received, length prefix included: the batch's buffer with its
   * position and limit set around it (one view, reused: read it before asking for the next).
   */
  ByteBuffer frame(int i) {
    int at = offsets[i];
    frames.limit(at + Codec.stepFrameBytes(steps[i].count())).position(at);
    return frames;
  }

  /** Frees the received bytes; idempotent. */
  public void release() {
    if (!released) {
      released = true;
      release.run();
    }
  }
}

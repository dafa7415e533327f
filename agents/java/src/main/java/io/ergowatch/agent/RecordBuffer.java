package io.ergowatch.agent;

/**
 * Where records wait between {@code record()} and the network thread: bounded, never blocking
 * the producer, dropping the oldest unsent records when full and counting them.
 *
 * <p>Two sides. The producer side ({@code put}) may be called from any number of threads and
 * must never block, lock or allocate. The consumer side ({@code take}, {@code discardAll},
 * {@link #consumedPosition()}) belongs to the single network thread.
 *
 * <p>Every accepted {@code put} gets a position 0, 1, 2, ... in call order; the buffer hands
 * records out in position order, and each position ends either taken exactly once or dropped
 * (counted in {@link #droppedCount()}), never both. Records handed out here have no seq yet:
 * the network thread numbers them when it sends them, so a dropped record never leaves a gap
 * in the seq numbering (see {@link ErgowatchAgent}).
 *
 * <p>{@link MemoryRecordBuffer} is the in-memory implementation. The spool on disk ({@link
 * Spool}) is not behind this interface: the network thread moves records from the buffer to
 * the spool when the buffer fills, and back out of it (oldest first) when it can send, because
 * only that thread may touch the disk and the spool must also take in-flight records at close.
 *
 * <p>Implementations trust their input: the agent validates ids, counts and steps first.
 */
interface RecordBuffer {

  /** Producer side: one value per user series, in id order. */
  void put(long step, long timeNanos, double[] values);

  /** Producer side: {@code count} (id, value) pairs; ids distinct and below the series count. */
  void put(long step, long timeNanos, int[] ids, double[] values, int count);

  /**
   * Consumer side: moves the oldest buffered record into {@code out} (ids in ascending order).
   *
   * @return false when nothing is ready (empty, or the oldest record is still being written)
   */
  boolean take(PendingRecord out);

  /** Consumer side: drops everything buffered now (counted); returns how many. */
  long discardAll();

  /** Consumer side: every position below this one was taken or dropped. */
  long consumedPosition();

  /** Positions handed out so far: the number of accepted puts. */
  long recordedCount();

  /** Records lost so far because the buffer was full (or, rarely, producers collided). */
  long droppedCount();

  /**
   * Puts not yet taken or dropped, at most {@link #capacity()}; any thread (the agent reads it in
   * {@code record()} to wake the network thread for a spill). May be stale by a few records.
   */
  long pendingCount();

  /** True when some put has not been taken or dropped yet. */
  boolean hasPending();

  /** How many records the buffer holds at most. */
  int capacity();
}

package io.ergowatch.agent;

import java.time.Instant;

/**
 * Unix epoch nanoseconds for record timestamps, read without allocating: a monotonic
 * {@code System.nanoTime()} plus an offset to the wall clock. The network thread calls
 * {@link #reanchor()} now and then so that the offset follows wall-clock corrections larger
 * than a millisecond.
 */
final class EpochClock {
  private static final long TOLERANCE_NANOS = 1_000_000L;
  private volatile long offset;

  EpochClock() {
    offset = wallOffset();
  }

  /** Any thread; allocation-free. */
  long nowNanos() {
    return offset + System.nanoTime();
  }

  /** Re-reads the wall clock; moves the offset only when it drifted by more than 1 ms. */
  void reanchor() {
    long fresh = wallOffset();
    if (Math.abs(fresh - offset) > TOLERANCE_NANOS) {
      offset = fresh;
    }
  }

  private static long wallOffset() {
    Instant now = Instant.now();
    long mono = System.nanoTime();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano() - mono;
  }
}

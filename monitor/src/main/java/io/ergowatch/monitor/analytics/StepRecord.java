package io.ergowatch.monitor.analytics;

import java.util.Arrays;

/**
 * One assembled record of a run at one step: the values of the run's series by run-level
 * index, and which of them are present.
 *
 * <p>Deliberately mutable and reused: it is the hand-off between the rank assembler and the
 * core on the per-record hot path, where an allocation per record would cost more than the
 * analytics. It never leaves the run's lane; snapshots are what other threads see.
 */
public final class StepRecord {
  long step;
  long agentTimeNanos;
  boolean rewind;
  boolean partial;
  double[] values;
  int[] present;
  int presentCount;

  public StepRecord(int capacity) {
    values = new double[Math.max(capacity, 4)];
    present = new int[values.length];
  }

  /** Clears the record for a new step. */
  public StepRecord reset(long step, long agentTimeNanos) {
    this.step = step;
    this.agentTimeNanos = agentTimeNanos;
    this.rewind = false;
    this.partial = false;
    this.presentCount = 0;
    return this;
  }

  /** Sets a value; each index at most once per step. */
  public StepRecord put(int seriesIndex, double value) {
    ensureCapacity(seriesIndex + 1);
    values[seriesIndex] = value;
    present[presentCount++] = seriesIndex;
    return this;
  }

  public StepRecord rewind(boolean rewind) {
    this.rewind = rewind;
    return this;
  }

  public StepRecord partial(boolean partial) {
    this.partial = partial;
    return this;
  }

  public long step() {
    return step;
  }

  public long agentTimeNanos() {
    return agentTimeNanos;
  }

  public int presentCount() {
    return presentCount;
  }

  public int presentIndex(int i) {
    return present[i];
  }

  public double valueOf(int seriesIndex) {
    return values[seriesIndex];
  }

  public boolean isRewind() {
    return rewind;
  }

  public boolean isPartial() {
    return partial;
  }

  void ensureCapacity(int n) {
    if (n > values.length) {
      int cap = Math.max(n, values.length * 2);
      values = Arrays.copyOf(values, cap);
      present = Arrays.copyOf(present, cap);
    }
  }
}

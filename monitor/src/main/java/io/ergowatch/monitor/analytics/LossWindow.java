package io.ergowatch.monitor.analytics;

/**
 * The run's finite losses at full resolution, the last {@code capacity} of them, in a ring.
 * The loss drives the verdict, so unlike other series it is never thinned: τ̂, Geweke, the
 * trend and the sign changes of Δloss all need consecutive values.
 */
final class LossWindow {
  private final double[] ring;
  private long count;

  LossWindow(int capacity) {
    ring = new double[capacity];
  }

  void add(double loss) {
    ring[(int) (count % ring.length)] = loss;
    count++;
  }

  /** Finite losses seen since the run started. */
  long count() {
    return count;
  }

  /**
   * Copies the last {@code n} losses, oldest first, into {@code dst}, skipping the most recent
   * {@code skip}; returns how many were available and copied.
   */
  int copyLast(int n, int skip, double[] dst) {
    long end = count - skip;
    long start = Math.max(Math.max(0, count - ring.length), end - n);
    int k = 0;
    for (long i = start; i < end; i++) {
      dst[k++] = ring[(int) (i % ring.length)];
    }
    return Math.max(k, 0);
  }

  int capacity() {
    return ring.length;
  }
}

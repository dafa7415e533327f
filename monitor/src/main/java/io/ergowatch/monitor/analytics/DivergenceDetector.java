package io.ergowatch.monitor.analytics;

import io.ergowatch.monitor.analytics.stats.Quantiles;

/**
 * The DIVERGED rule of docs/math.md §5 for the loss: the median of the last 200 losses above
 * 10× the smallest such 200-step median seen so far, for 3 consecutive evaluations.
 * Evaluated every {@code every} finite losses, and only for a positive loss. O(window) memory, no allocation after
 * construction; the median is selected (not sorted) once per evaluation, not per record.
 */
final class DivergenceDetector {
  private final double[] ring;
  private final double[] scratch;
  private final double factor;
  private final int needed;
  private final int every;
  private int filled;
  private int next;
  private long sinceEvaluation;
  private int consecutive;
  private double minMedian = Double.POSITIVE_INFINITY;
  private double lastMedian = Double.NaN;

  DivergenceDetector(int window, double factor, int consecutiveEvaluations, int every) {
    this.ring = new double[window];
    this.scratch = new double[window];
    this.factor = factor;
    this.needed = consecutiveEvaluations;
    this.every = every;
  }

  /** Feeds one finite loss; returns true once the rule has fired. */
  boolean accept(double loss) {
    ring[next] = loss;
    next = (next + 1) % ring.length;
    if (filled < ring.length) {
      filled++;
    }
    if (filled < ring.length || ++sinceEvaluation < every) {
      return fired();
    }
    sinceEvaluation = 0;
    System.arraycopy(ring, 0, scratch, 0, ring.length);
    int n = scratch.length;
    double upper = Quantiles.select(scratch, n, n / 2);
    // After select, everything left of n/2 is <= upper: the lower middle is their maximum.
    lastMedian = (n % 2 == 1) ? upper : 0.5 * (max(scratch, n / 2) + upper);
    minMedian = Math.min(minMedian, lastMedian);
    // A ratio of medians only means something for a positive loss; losses that can be
    // negative (log-likelihoods) are judged by the non-finite rule alone.
    if (minMedian > 0 && lastMedian > factor * minMedian) {
      consecutive++;
    } else if (!fired()) {
      consecutive = 0;
    }
    return fired();
  }

  private static double max(double[] a, int end) {
    double m = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < end; i++) {
      m = Math.max(m, a[i]);
    }
    return m;
  }

  boolean fired() {
    return consecutive >= needed;
  }

  double lastMedian() {
    return lastMedian;
  }

  double minMedian() {
    return minMedian;
  }

  int window() {
    return ring.length;
  }

  double factor() {
    return factor;
  }
}

package io.ergowatch.monitor.analytics;

import io.ergowatch.monitor.analytics.stats.Quantiles;

/**
 * The loss rule for DIVERGED (docs/math.md §5), which the run leaves again when its evidence is
 * gone: the median of the last {@code window} losses is above the reference, and did not fall, at
 * each of the last {@code needed} checks (one every {@code every} losses): a loss that blew up and
 * rises or stays up, not one that is coming back down from a spike. The reference is
 * max(factor × m, 2 × M), m the smallest median of any evaluated window with ESS ≥ ess-min and
 * M the largest loss of that same window (before any such window, factor × the smallest
 * 100-step median so far): a heavy-tailed stationary loss (a one-dimensional χ²)
 * often has a 100-step median 10× its window median, almost never twice its window maximum,
 * while a divergence passes both within a few dozen steps. Only positive losses are judged
 * (a ratio of medians means nothing for log-likelihoods; non-finite values are handled at once).
 *
 * <p>O(window) memory, no allocation after construction; the median is selected once per check.
 */
final class DivergenceRule {
  private final double[] ring;
  private final double[] scratch;
  private final double factor;
  private final int needed;
  private final int every;
  private int filled;
  private int next;
  private long sinceCheck;
  private int rising;
  private double lastMedian = Double.NaN;
  private double baselineMedian = Double.POSITIVE_INFINITY;
  private double baselineMax = Double.NaN;
  private boolean holds;
  /** The smallest median of any check, the baseline until a window has been evaluated. */
  private double smallestMedian = Double.POSITIVE_INFINITY;

  DivergenceRule(int window, double factor, int needed, int every) {
    this.ring = new double[window];
    this.scratch = new double[window];
    this.factor = factor;
    this.needed = needed;
    this.every = every;
  }

  /** An evaluated window (ESS ≥ ess-min) with its median and maximum: a candidate baseline. */
  void noteWindow(double median, double max) {
    if (median > 0 && median < baselineMedian && Double.isFinite(max)) {
      baselineMedian = median;
      baselineMax = max;
    }
  }


  /** Feeds one finite loss; returns whether the rule holds after it. */
  boolean accept(double loss) {
    ring[next] = loss;
    next = (next + 1) % ring.length;
    if (filled < ring.length) {
      filled++;
    }
    if (filled < ring.length || ++sinceCheck < every) {
      return holds;
    }
    sinceCheck = 0;
    System.arraycopy(ring, 0, scratch, 0, ring.length);
    int n = scratch.length;
    double median = Quantiles.select(scratch, n, n / 2);
    boolean notFalling = !(median < lastMedian);
    lastMedian = median;
    smallestMedian = Math.min(smallestMedian, median);
    double ref = reference();
    boolean above = Double.isFinite(ref) && median > ref;
    rising = above && notFalling ? rising + 1 : 0;
    holds = above && (holds || rising >= needed);
    return holds;
  }

  /**
   * max(factor·m, 2·M); before any window was evaluated (a run diverging from its first steps),
   * factor × the smallest 100-step median so far.
   */
  double reference() {
    if (!Double.isFinite(baselineMedian)) {
      return smallestMedian > 0 && Double.isFinite(smallestMedian) ? factor * smallestMedian : Double.NaN;
    }
    return Math.max(factor * baselineMedian, 2 * baselineMax);
  }

  boolean holds() {
    return holds;
  }

  double lastMedian() {
    return lastMedian;
  }

  double baselineMedian() {
    return Double.isFinite(baselineMedian) ? baselineMedian : smallestMedian;
  }

  int window() {
    return ring.length;
  }
}

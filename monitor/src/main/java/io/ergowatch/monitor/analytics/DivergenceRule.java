package io.ergowatch.monitor.analytics;

import io.ergowatch.monitor.analytics.stats.Quantiles;

/**
 * The loss rule for DIVERGED (docs/math.md §5), which the run leaves again when its evidence is
 * gone. Checked every {@code every} losses over the last four disjoint blocks of
 * {@code window} losses: their medians m₁ &lt; m₂ &lt; m₃ &lt; m₄ rise by at least 5% each, and m₄ is
 * above the reference, for {@code needed} checks in a row; it holds then while m₄ stays above the
 * reference. Disjoint blocks because a median whose block still fills with the losses of a short
 * spike rises too, and four because one block may straddle the spike's start: a loss that
 * diverges keeps rising block after block, one that spiked (an lr ×50 for 20 steps on an MLP on
 * digits, 50-step medians 0.008 → 2.31 → 2.26 → 2.17 …) does not.
 *
 * <p>The reference is max(factor × m, 2 × M), m the smallest median of any evaluated window with
 * ESS ≥ ess-min whose loss neither falls nor rises, and M the largest loss of that same window
 * (before any such window, factor × the smallest block median so far): a heavy-tailed stationary
 * loss (a one-dimensional χ²) often has a 50-step median 10× its window median, almost never
 * twice its window maximum. Only positive
 * losses are judged (a ratio of medians means nothing for log-likelihoods; non-finite values are
 * handled at once).
 *
 * <p>O(window) memory, no allocation after construction; four medians are selected per check.
 */
final class DivergenceRule {
  private static final double GROWTH = 1.05;
  private static final int BLOCKS = 4;
  private final int block;
  private final double[] ring;
  private final double[] scratch;
  private final double factor;
  private final int needed;
  private final int every;
  private long seen;
  private long sinceCheck;
  private int rising;
  private double lastMedian = Double.NaN;
  private double baselineMedian = Double.POSITIVE_INFINITY;
  private double baselineMax = Double.NaN;
  private boolean holds;
  /** The smallest block median of any check, the baseline until a window has been evaluated. */
  private double smallestMedian = Double.POSITIVE_INFINITY;

  DivergenceRule(int window, double factor, int needed, int every) {
    this.block = window;
    this.ring = new double[BLOCKS * window];
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
    ring[(int) (seen % ring.length)] = loss;
    seen++;
    if (seen < block || ++sinceCheck < every) {
      return holds;
    }
    sinceCheck = 0;
    double m3 = median(0);
    lastMedian = m3;
    smallestMedian = Math.min(smallestMedian, m3);
    double ref = reference();
    boolean above = Double.isFinite(ref) && m3 > ref;
    if (seen >= ring.length) {
      boolean growing = true;
      double later = m3;
      for (int back = 1; back < BLOCKS && growing; back++) {
        double earlier = median(back);
        growing = later >= GROWTH * earlier;
        later = earlier;
      }
      rising = above && growing ? rising + 1 : 0;
    }
    holds = above && (holds || rising >= needed);
    return holds;
  }

  /** The median of the block {@code back} blocks before the latest loss (0: the last block). */
  private double median(int back) {
    long end = seen - (long) back * block;
    for (int i = 0; i < block; i++) {
      scratch[i] = ring[(int) ((end - block + i) % ring.length)];
    }
    return Quantiles.select(scratch, block, block / 2);
  }

  /**
   * max(factor·m, 2·M); before any window was evaluated (a run diverging from its first steps),
   * factor × the smallest block median so far.
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
    return block;
  }
}

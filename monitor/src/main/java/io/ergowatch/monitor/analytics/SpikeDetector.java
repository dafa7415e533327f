package io.ergowatch.monitor.analytics;

/**
 * Loss spikes that recover (docs/math.md §5: an event of the run, not a state). A spike starts
 * when a positive loss exceeds {@code factor} × the largest loss of the latest evaluated window
 * (one with ESS ≥ ess-min, so the run was near a noise floor), and ends when the loss is back
 * below that largest loss for 10 records in a row: then {@link #accept} reports it once, with its step, height (peak over
 * the window median) and length. A rise that has not come back after {@code maxLength} records
 * is reported as a level change instead. Thresholds are frozen while a spike lasts.
 * Allocation-free until a spike is reported.
 */
final class SpikeDetector {
  private final double factor;
  private final int maxLength;
  private double windowMedian = Double.NaN;
  private double windowMax = Double.NaN;
  private boolean inSpike;
  private long startStep;
  private long length;
  private double peak;
  private double frozenMedian;
  private double frozenMax;
  /** Consecutive losses back below the window's largest, and the step the first of them came. */
  private int below;
  private long backAt;
  private static final int RECOVERED_AFTER = 10;

  SpikeDetector(double factor, int maxLength) {
    this.factor = factor;
    this.maxLength = maxLength;
  }

  /** The latest stationary-enough window: its median and maximum; NaN to suspend detection. */
  void noteWindow(double median, double max) {
    windowMedian = median;
    windowMax = max;
  }

  /** Feeds one finite loss; returns a sentence when a spike ended, else null. */
  String accept(long step, double loss) {
    if (!inSpike) {
      if (windowMax > 0 && windowMedian > 0 && loss > factor * windowMax) {
        inSpike = true;
        startStep = step;
        length = 0;
        peak = loss;
        frozenMedian = windowMedian;
        frozenMax = windowMax;
        below = 0;
      }
      return null;
    }
    length++;
    peak = Math.max(peak, loss);
    if (loss <= frozenMax) {
      if (below++ == 0) {
        backAt = step;
      }
      if (below >= RECOVERED_AFTER) {
        inSpike = false;
        return String.format(java.util.Locale.ROOT,
            "loss spike at step %d: x%s its window median %s (peak %s), recovered after %d steps", startStep,
            Reasons.g(peak / frozenMedian), Reasons.g(frozenMedian), Reasons.g(peak), backAt - startStep);
      }
      return null;
    }
    below = 0;
    if (length >= maxLength) {
      inSpike = false;
      return String.format(java.util.Locale.ROOT,
          "loss rose at step %d to x%s its window median %s and has not come back in %d steps", startStep,
          Reasons.g(peak / frozenMedian), Reasons.g(frozenMedian), length);
    }
    return null;
  }

  boolean inSpike() {
    return inSpike;
  }
}

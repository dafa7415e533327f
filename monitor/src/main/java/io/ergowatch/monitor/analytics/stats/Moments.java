package io.ergowatch.monitor.analytics.stats;

/**
 * Mean and centred sum of squares of a range, the two-pass way (accurate when the mean is large
 * against the spread, as for a loss that has settled). A range whose values are all equal has
 * exactly that value as mean and exactly 0 as sum of squares, without the rounding of
 * {@code sum / n}: the degenerate windows of docs/math.md §4 then come out exactly degenerate.
 */
public final class Moments {
  private Moments() {}

  /** Mean of {@code x[from..to)}; NaN for an empty range; NaN if the range holds a NaN. */
  public static double mean(double[] x, int from, int to) {
    int n = to - from;
    if (n <= 0) {
      return Double.NaN;
    }
    double first = x[from];
    boolean constant = true;
    double sum = 0;
    for (int i = from; i < to; i++) {
      double v = x[i];
      sum += v;
      constant &= v == first;
    }
    if (constant) {
      return first;
    }
    double mean = sum / n;
    if (!Double.isFinite(mean)) {
      return mean;
    }
    // Second pass: the mean of the residuals corrects the rounding of the first sum.
    double residual = 0;
    for (int i = from; i < to; i++) {
      residual += x[i] - mean;
    }
    return mean + residual / n;
  }

  /** Sum of {@code (x[i] - mean)^2} over {@code x[from..to)}. */
  public static double sumOfSquares(double[] x, int from, int to, double mean) {
    double ss = 0;
    for (int i = from; i < to; i++) {
      double d = x[i] - mean;
      ss += d * d;
    }
    return ss;
  }
}

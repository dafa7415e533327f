package io.ergowatch.monitor.analytics.stats;

/**
 * Geweke's convergence diagnostic for a window (docs/math.md §4): the z-score of the difference
 * between the mean of its first 10% and the mean of its last 50%. Each segment's variance of
 * the mean is τ̂·Var(segment)/n_segment, with the window's one τ̂ (short segments estimate τ
 * badly, so the segments do not estimate their own). Under stationarity z is approximately
 * N(0, 1); the engine requires |z| &lt; 2.
 *
 * <pre>{@code
 * double tau = Autocorrelation.geyerTau(loss, n, scratch);
 * double z = Geweke.z(loss, n, tau);
 * boolean meansAgree = Math.abs(z) < 2;
 * }</pre>
 *
 * <p>Never allocates; data never makes it throw.
 */
public final class Geweke {
  private Geweke() {}

  /**
   * z = (m_a − m_b) / √(τ·s_a²/n_a + τ·s_b²/n_b), where segment a is {@code x[0..n_a)} with
   * n_a = ⌊n/10⌋, segment b is {@code x[n−n_b..n)} with n_b = ⌊n/2⌋, m the segment means and s²
   * the sample variances (divisor n_seg − 1).
   *
   * <p>Degenerate input, documented: n &lt; 20 (a first segment of fewer than 2 values) or
   * tau not &gt; 0 gives NaN; both segments constant (zero variance) gives 0 if their means are
   * equal, else ±Infinity with the sign of m_a − m_b (a step between two flat stretches is
   * infinitely significant). A NaN in either segment gives NaN.
   *
   * @param tau the integrated autocorrelation time to use for both segments (≥ 1 in practice,
   *     {@link Autocorrelation#geyerTau}); used as given
   * @throws IllegalArgumentException if n does not fit x
   */
  public static double z(double[] x, int n, double tau) {
    Checks.length(x, n, "x");
    int na = n / 10;
    int nb = n / 2;
    if (na < 2 || !(tau > 0)) {
      return Double.NaN;
    }
    double meanA = Moments.mean(x, 0, na);
    double meanB = Moments.mean(x, n - nb, n);
    double varA = Moments.sumOfSquares(x, 0, na, meanA) / (na - 1);
    double varB = Moments.sumOfSquares(x, n - nb, n, meanB) / (nb - 1);
    double diff = meanA - meanB;
    if (varA == 0 && varB == 0) {
      if (diff == 0) {
        return 0.0;
      }
      return diff > 0 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
    }
    return diff / Math.sqrt(tau * varA / na + tau * varB / nb);
  }
}

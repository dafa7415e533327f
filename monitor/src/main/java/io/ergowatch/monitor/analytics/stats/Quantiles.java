package io.ergowatch.monitor.analytics.stats;

/**
 * Order statistics of a window without sorting it: in-place selection and the sample quantile
 * of Hyndman &amp; Fan type 7 (R's and NumPy's default), in O(n) on average.
 *
 * <p>Used for the robust pooled μ̂ and L̂ of docs/math.md §4 (5th percentile of RSI, 95th of EB)
 * and window medians.
 *
 * <pre>{@code
 * double[] scratch = new double[window.length];          // once, outside the hot path
 * double mu = Quantiles.quantile(rsi, n, 0.05, scratch);  // rsi[0..n) is left untouched
 * double median = Quantiles.select(values, n, n / 2);     // rearranges values[0..n)
 * }</pre>
 *
 * <p>Never allocates. Data never makes it throw: an empty window or a q outside [0, 1] gives
 * NaN, and so does a NaN in the data for {@link #quantile}.
 */
public final class Quantiles {
  private Quantiles() {}

  /**
   * The k-th smallest (0-based) of {@code a[0..n)}, by quickselect in place: afterwards
   * {@code a[k]} holds it, {@code a[0..k)} is {@code <=} it and {@code a(k..n)} is {@code >=}
   * it. Average O(n), worst case O(n log n) (heapsort fallback). With a NaN in the range the
   * result and the order left are unspecified (it still terminates).
   *
   * @throws IllegalArgumentException if {@code n} does not fit {@code a} or {@code k} is not in
   *     {@code [0, n)}: a broken contract, not bad data
   */
  public static double select(double[] a, int n, int k) {
    Checks.length(a, n, "a");
    if (k < 0 || k >= n) {
      throw new IllegalArgumentException("k = " + k + " is outside [0, n = " + n + ")");
    }
    return DoubleSort.select(a, 0, n, k);
  }

  /**
   * The type-7 sample quantile of {@code x[0..n)}: with {@code h = (n − 1)·q}, the order
   * statistics {@code x(⌊h⌋)} and {@code x(⌊h⌋+1)} (0-based) interpolated linearly,
   * {@code x(⌊h⌋) + (h − ⌊h⌋)·(x(⌊h⌋+1) − x(⌊h⌋))}. q = 0 is the minimum, q = 1 the maximum.
   * {@code x} is copied into {@code scratch[0..n)} first and left untouched.
   *
   * @return the quantile; NaN when n = 0, when q is NaN or outside [0, 1], or when x[0..n) holds
   *     a NaN
   * @throws IllegalArgumentException if {@code n} does not fit {@code x} or {@code scratch}
   */
  public static double quantile(double[] x, int n, double q, double[] scratch) {
    Checks.length(x, n, "x");
    Checks.scratch(scratch, n, "scratch");
    if (n == 0 || !(q >= 0 && q <= 1)) {
      return Double.NaN;
    }
    boolean hasNaN = false;
    for (int i = 0; i < n; i++) {
      double v = x[i];
      hasNaN |= v != v;
      scratch[i] = v;
    }
    if (hasNaN) {
      return Double.NaN;
    }
    double h = (n - 1) * q;
    int lo = (int) Math.floor(h);
    double frac = h - lo;
    double low = DoubleSort.select(scratch, 0, n, lo);
    if (frac == 0 || lo == n - 1) {
      return low;
    }
    // After the selection everything right of lo is >= low: the next order statistic is their
    // minimum.
    double high = scratch[lo + 1];
    for (int i = lo + 2; i < n; i++) {
      if (scratch[i] < high) {
        high = scratch[i];
      }
    }
    return low + frac * (high - low);
  }
}

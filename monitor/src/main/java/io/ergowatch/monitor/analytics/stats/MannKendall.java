package io.ergowatch.monitor.analytics.stats;

/**
 * The Mann–Kendall trend test: S = Σ_{i<j} sign(x_j − x_i), its variance under "no trend" with
 * the tie correction, and the continuity-corrected z (docs/math.md §6.7: 0..9 gives S = 45,
 * Var = 125, Z = 3.9355). Rank-based, so a trend test that heavy tails and outliers cannot fool;
 * O(n²) time, meant for windows of at most a few thousand values.
 *
 * <pre>{@code
 * MannKendall.Result mk = MannKendall.test(loss, n);
 * boolean decreasing = mk.z() < -2;
 * }</pre>
 *
 * <p>Allocates only the returned record (three fields; escape analysis usually removes it);
 * data never makes it throw.
 */
public final class MannKendall {
  private MannKendall() {}

  /**
   * The test's statistics.
   *
   * @param s Mann–Kendall's S
   * @param variance Var(S) = [n(n−1)(2n+5) − Σ_g t_g(t_g−1)(2t_g+5)] / 18 over the groups g of
   *     t_g tied values
   * @param z (S − 1)/√Var for S &gt; 0, (S + 1)/√Var for S &lt; 0, 0 for S = 0
   */
  public record Result(long s, double variance, double z) {}

  /**
   * Tests {@code x[0..n)} for a monotone trend.
   *
   * <p>Degenerate input, documented: n &lt; 2 gives S = 0, Var = 0, z = NaN (nothing to
   * test); all values tied (Var = 0) gives z = 0. A NaN anywhere in x[0..n) gives Var and z NaN
   * (S is then meaningless).
   *
   * @throws IllegalArgumentException if n does not fit x
   */
  public static Result test(double[] x, int n) {
    Checks.length(x, n, "x");
    if (n < 2) {
      return new Result(0, 0.0, Double.NaN);
    }
    long s = 0;
    double ties = 0;
    boolean hasNaN = false;
    for (int i = 0; i < n; i++) {
      double xi = x[i];
      hasNaN |= xi != xi;
      int later = 0; // values after i equal to x[i]
      for (int j = i + 1; j < n; j++) {
        double xj = x[j];
        if (xj > xi) {
          s++;
        } else if (xj < xi) {
          s--;
        } else {
          later++;
        }
      }
      // In a group of t ties, the members have 0, 1, ..., t−1 equal values after them, and
      // g(c+1) − g(c) = 6c(c+2) for g(t) = t(t−1)(2t+5): summing the increments gives g(t)
      // without finding the groups (which would need a sort, hence a scratch).
      ties += 6.0 * later * (later + 2.0);
    }
    if (hasNaN) {
      return new Result(s, Double.NaN, Double.NaN);
    }
    double variance = ((double) n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0;
    double z;
    if (s == 0 || variance <= 0) {
      z = 0.0;
    } else {
      z = (s > 0 ? s - 1 : s + 1) / Math.sqrt(variance);
    }
    return new Result(s, variance, z);
  }
}

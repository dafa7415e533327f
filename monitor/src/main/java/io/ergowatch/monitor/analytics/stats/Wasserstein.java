package io.ergowatch.monitor.analytics.stats;

import com.datadoghq.sketch.ddsketch.DDSketch;

/**
 * Wasserstein distances between one-dimensional distributions, for the invariant-measure drift
 * of docs/math.md §4: W₁ between the previous and the current window of a scalar (from their
 * quantile sketches), and W₂² between two samples, the building block of the sliced distance
 * over the weight projections proj.j (the engine averages {@link #w2sq1d} over the
 * projections; docs/math.md §6.6: SW₂²(N(m₁, I), N(m₂, I)) = ‖m₁ − m₂‖²/d).
 *
 * <pre>{@code
 * double[] sa = new double[maxWindow], sb = new double[maxWindow];  // once
 * double sw = 0;
 * for (int j = 0; j < projections; j++) {
 *   sw += Wasserstein.w2sq1d(previous[j], n, current[j], n, sa, sb);
 * }
 * sw /= projections;
 * double drift = Wasserstein.w1FromSketches(previousSketch, currentSketch, 100);
 * }</pre>
 *
 * <p>{@link #w2sq1d} never allocates; data never makes either method throw.
 */
public final class Wasserstein {
  private Wasserstein() {}

  /**
   * W₂² between the empirical distributions of {@code a[0..na)} and {@code b[0..nb)}:
   * ∫₀¹ (Q_a(p) − Q_b(p))² dp with Q the empirical quantile functions (step functions). The
   * samples are copied into the scratches and sorted there (a and b are left untouched).
   * Equal sizes: the mean of the squared differences of the order statistics. Unequal sizes:
   * the integral is taken exactly over the merged grid of cumulative weights i/na and j/nb
   * (kept as integers, i·nb and j·na, so no breakpoint is lost to rounding). O((na + nb)·log).
   *
   * @param scratchA at least na elements, not {@code b} (it is written before b is read)
   * @param scratchB at least nb elements, distinct from scratchA
   * @return the squared distance; NaN if either sample is empty or holds a NaN
   * @throws IllegalArgumentException if na, nb do not fit their arrays or a scratch is too short
   */
  public static double w2sq1d(
      double[] a, int na, double[] b, int nb, double[] scratchA, double[] scratchB) {
    Checks.length(a, na, "a");
    Checks.length(b, nb, "b");
    Checks.scratch(scratchA, na, "scratchA");
    Checks.scratch(scratchB, nb, "scratchB");
    if (na == 0 || nb == 0) {
      return Double.NaN;
    }
    System.arraycopy(a, 0, scratchA, 0, na);
    System.arraycopy(b, 0, scratchB, 0, nb);
    DoubleSort.sort(scratchA, 0, na);
    DoubleSort.sort(scratchB, 0, nb);
    if (na == nb) {
      double sum = 0;
      for (int i = 0; i < na; i++) {
        double d = scratchA[i] - scratchB[i];
        sum += d * d;
      }
      return sum / na;
    }
    // Positions on [0, 1] in units of 1/(na·nb): Q_a steps at multiples of nb, Q_b at
    // multiples of na.
    long endA = nb;
    long endB = na;
    long position = 0;
    int i = 0;
    int j = 0;
    double sum = 0;
    long total = (long) na * nb;
    while (position < total) {
      long next = Math.min(endA, endB);
      double d = scratchA[i] - scratchB[j];
      sum += (next - position) * (d * d);
      position = next;
      if (next == endA && i + 1 < na) {
        i++;
        endA += nb;
      }
      if (next == endB && j + 1 < nb) {
        j++;
        endB += na;
      }
    }
    return sum / total;
  }

  /**
   * W₁ between two sketched distributions, by the midpoint rule on the quantile functions:
   * (1/points) Σ_{i<points} |Q_a(p_i) − Q_b(p_i)| with p_i = (i + 0.5)/points. The error is the
   * sketches' relative accuracy (α of each value) plus the quadrature's, which is O(1/points²)
   * inside and whatever the tails beyond p_0 and p_{points−1} hold.
   *
   * <p>Not allocation-free: {@link DDSketch#getValueAtQuantile} walks the bins with an
   * iterator, O(bins) per point. Called once per evaluation, not per record.
   *
   * @return the distance; NaN if either sketch is empty
   * @throws IllegalArgumentException if points &lt; 1
   */
  public static double w1FromSketches(DDSketch a, DDSketch b, int points) {
    if (points < 1) {
      throw new IllegalArgumentException("points = " + points + " is below 1");
    }
    if (a.isEmpty() || b.isEmpty()) {
      return Double.NaN;
    }
    double sum = 0;
    for (int i = 0; i < points; i++) {
      double p = (i + 0.5) / points;
      sum += Math.abs(a.getValueAtQuantile(p) - b.getValueAtQuantile(p));
    }
    return sum / points;
  }
}

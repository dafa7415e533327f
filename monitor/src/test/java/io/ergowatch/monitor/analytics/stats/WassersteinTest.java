package io.ergowatch.monitor.analytics.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.within;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.DDSketches;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WassersteinTest {
  private final double[] sa = new double[200_000];
  private final double[] sb = new double[200_000];

  @Test
  void equalSizesGiveTheMeanSquaredDifferenceOfOrderStatistics() {
    // Hand computation: sorted a = (0, 1, 2), sorted b = (1, 1, 5): ((−1)² + 0² + (−3)²)/3.
    double[] a = {2, 0, 1};
    double[] b = {5, 1, 1};
    assertThat(Wasserstein.w2sq1d(a, 3, b, 3, sa, sb)).isEqualTo(10.0 / 3.0);
  }

  @Test
  void unequalSizesIntegrateTheQuantileFunctionsExactly() {
    // Hand computation: Q_a = 0 on (0, 1/2], 1 on (1/2, 1]; Q_b = 0, 0.5, 1 on thirds.
    // Segments: (0, 1/3] 0; (1/3, 1/2] 0.25·(1/6); (1/2, 2/3] 0.25·(1/6); (2/3, 1] 0 → 1/12.
    double[] a = {1, 0};
    double[] b = {0.5, 1, 0};
    assertThat(Wasserstein.w2sq1d(a, 2, b, 3, sa, sb)).isCloseTo(1.0 / 12.0, within(1e-16));
    assertThat(Wasserstein.w2sq1d(b, 3, a, 2, sa, sb)).isCloseTo(1.0 / 12.0, within(1e-16));
  }

  @Test
  void repeatingASampleDoesNotChangeItsDistribution() {
    // The empirical law of (a, a) is that of a: the merged grid must give the same integral.
    SplittableRandom random = new SplittableRandom(7);
    for (int rep = 0; rep < 30; rep++) {
      int na = 1 + random.nextInt(60);
      int nb = 1 + random.nextInt(60);
      double[] a = Streams.normal(rep, na, 0, 1);
      double[] b = Streams.normal(rep + 1000, nb, 0.3, 2);
      double[] aa = new double[2 * na];
      System.arraycopy(a, 0, aa, 0, na);
      System.arraycopy(a, 0, aa, na, na);
      double once = Wasserstein.w2sq1d(a, na, b, nb, sa, sb);
      assertThat(Wasserstein.w2sq1d(aa, 2 * na, b, nb, sa, sb)).isCloseTo(once, within(1e-12));
      assertThat(Wasserstein.w2sq1d(b, nb, a, na, sa, sb)).isCloseTo(once, within(1e-12));
    }
  }

  @Test
  void identicalSamplesAreAtDistanceZeroAndInputsAreUntouched() {
    double[] a = Streams.normal(1, 1000, 0, 1);
    double[] b = a.clone();
    double[] reversed = new double[1000];
    for (int i = 0; i < 1000; i++) {
      reversed[i] = a[999 - i];
    }
    assertThat(Wasserstein.w2sq1d(a, 1000, reversed, 1000, sa, sb)).isEqualTo(0.0);
    assertThat(a).isEqualTo(b);
  }

  @Test
  void gaussianLocationShiftGivesTheSquaredShift() {
    // math.md §6.6 in one dimension: W₂²(N(m₁, 1), N(m₂, 1)) = (m₁ − m₂)² = 1 for m = 0, 1.
    // n = 100000 each: the dominant error is 2·Δ·(mean difference), sd 2·√(2/n) = 0.009; the
    // empirical-measure bias is O(log log n / n) (20 other seeds: mean 0.9994, sd 0.0093).
    // Tolerance 0.03 ≈ 3.4 sd. Seeds 1, 2; observed 0.992 (equal sizes), 0.985 (unequal).
    double[] a = Streams.normal(1, 100_000, 0, 1);
    double[] b = Streams.normal(2, 100_000, 1, 1);
    assertThat(Wasserstein.w2sq1d(a, 100_000, b, 100_000, sa, sb)).isCloseTo(1.0, within(0.03));
    // Unequal sizes converge to the same value.
    assertThat(Wasserstein.w2sq1d(a, 100_000, b, 70_001, sa, sb)).isCloseTo(1.0, within(0.03));
  }

  @Test
  void gaussianScaleChangeGivesTheSquaredSdDifference() {
    // math.md §6.6: W₂²(N(0, σ₁²), N(0, σ₂²)) = (σ₁ − σ₂)² = 1 for σ = 1, 2. The error is that
    // of the two sample sds' difference and of the order statistics in the tails, sd ≈ 0.01 at
    // n = 100000 (20 other seeds: mean 0.9997, sd 0.0079). Tolerance 0.03 ≈ 3.8 sd. Seeds 3, 4;
    // observed 0.998 (equal sizes), 0.995 (unequal).
    double[] a = Streams.normal(3, 100_000, 0, 1);
    double[] b = Streams.normal(4, 100_000, 0, 2);
    assertThat(Wasserstein.w2sq1d(a, 100_000, b, 100_000, sa, sb)).isCloseTo(1.0, within(0.03));
    assertThat(Wasserstein.w2sq1d(a, 61_234, b, 100_000, sa, sb)).isCloseTo(1.0, within(0.03));
  }

  @Test
  void slicedAverageOverRandomFramesGivesSquaredMeanDistanceOverD() {
    // math.md §6.6: SW₂²(N(m₁, I_d), N(m₂, I_d)) = E_θ (θ·(m₁ − m₂))² = ‖m₁ − m₂‖²/d, the
    // formula the engine relies on (it averages w2sq1d over projections). Each direction is
    // uniform on the sphere; drawing them as random orthonormal frames makes Σ over a frame of
    // (θ·Δ)² exactly ‖Δ‖², which removes the direction-sampling variance, so what is left is
    // the sampling of the points: ≈ 2·‖Δ‖·√(2/n)/d = 0.007 for the shared mean difference.
    // d = 8, n = 20000 per cloud, 25 frames (200 directions), ‖Δ‖² = 8.5: target 1.0625.
    // Tolerance 0.03 (≈ 4 sd). Seeds 31..33; observed 1.0572.
    int d = 8;
    int n = 20_000;
    double[] m1 = {0, 0, 0, 0, 0, 0, 0, 0};
    double[] m2 = {1, -1, 2, 0, 0.5, -0.5, 1, -1}; // ‖Δ‖² = 1+1+4+0+0.25+0.25+1+1 = 8.5
    double expected = 8.5 / d;
    double[][] p = cloud(31, n, m1, 1);
    double[][] q = cloud(32, n, m2, 1);
    SplittableRandom random = new SplittableRandom(33);
    double sum = 0;
    int directions = 0;
    for (int frame = 0; frame < 25; frame++) {
      for (double[] theta : randomFrame(random, d)) {
        sum += w2sq1dAlong(theta, p, q);
        directions++;
      }
    }
    assertThat(sum / directions).isCloseTo(expected, within(0.03));
  }

  @Test
  void slicedAverageOverIndependentDirectionsGivesSquaredMeanDistanceOverD() {
    // The same with independent uniform directions, as a projection scheme might draw them.
    // Now (θ·Δ)² varies between directions: for d = 4, Var((θ·Δ)²) = ‖Δ‖⁴/d²·(3d/(d + 2) − 1)
    // = (‖Δ‖²/d)², a relative sd of 1 per direction, 1/√2000 = 2.2% for 2000 directions.
    // n = 2000 points per cloud adds ≈ 1%. Tolerance 8% of the target (≈ 3.3 sd). Seeds 41..43;
    // observed 0.953.
    int d = 4;
    int n = 2000;
    double[] m1 = {0.5, 0, 0, 0};
    double[] m2 = {-0.5, 1, 1, -1}; // ‖Δ‖² = 4, target 1
    double[][] p = cloud(41, n, m1, 1);
    double[][] q = cloud(42, n, m2, 1);
    SplittableRandom random = new SplittableRandom(43);
    double sum = 0;
    for (int k = 0; k < 2000; k++) {
      sum += w2sq1dAlong(randomDirection(random, d), p, q);
    }
    assertThat(sum / 2000).isCloseTo(1.0, within(0.08));
  }

  @Test
  void slicedDistanceOfScaledGaussiansIsTheSquaredSdDifference() {
    // math.md §6.6: SW₂²(N(0, σ₁²I), N(0, σ₂²I)) = (σ₁ − σ₂)²: every projection is N(0, σ²).
    // σ = 1, 3 → 4; n = 20000, 40 directions: sampling error ≈ 2%. Tolerance 0.15 (≈ 4%).
    // Seeds 51..53; observed 3.979.
    int d = 6;
    double[][] p = cloud(51, 20_000, new double[d], 1);
    double[][] q = cloud(52, 20_000, new double[d], 3);
    SplittableRandom random = new SplittableRandom(53);
    double sum = 0;
    for (int k = 0; k < 40; k++) {
      sum += w2sq1dAlong(randomDirection(random, d), p, q);
    }
    assertThat(sum / 40).isCloseTo(4.0, within(0.15));
  }

  @Test
  void w1FromSketchesOfShiftedGaussiansIsTheShift() {
    // W₁(N(0, 1), N(1, 1)) = 1: the quantile functions differ by exactly 1 everywhere, so the
    // midpoint rule is exact and the error is the sketches' (α = 1% of each quantile value,
    // mostly cancelling) plus sampling (sd √(2/n) = 0.0045 at n = 100000). Tolerance 0.03 to
    // the law, 0.02 to the exact W₁ of the two samples (mean |a(i) − b(i)|). Seeds 61, 62;
    // observed 0.9869 (exact sample W₁ 0.9878).
    double[] a = Streams.normal(61, 100_000, 0, 1);
    double[] b = Streams.normal(62, 100_000, 1, 1);
    DDSketch sketchA = DDSketches.unboundedDense(0.01);
    DDSketch sketchB = DDSketches.unboundedDense(0.01);
    for (int i = 0; i < a.length; i++) {
      sketchA.accept(a[i]);
      sketchB.accept(b[i]);
    }
    double w1 = Wasserstein.w1FromSketches(sketchA, sketchB, 200);
    assertThat(w1).isCloseTo(1.0, within(0.03));
    assertThat(w1).isCloseTo(exactW1(a, b), within(0.02));
  }

  @Test
  void w1FromSketchesOfScaledGaussians() {
    // W₁(N(0, 1), N(0, 4)) = |σ₁ − σ₂|·E|Z| = √(2/π) = 0.7979. The midpoint rule on |Φ⁻¹| with
    // 1000 points misses only the far tails (< 0.001). Tolerance 0.02, as above. Seeds 63, 64;
    // observed 0.7959 (exact sample W₁ 0.7966).
    double[] a = Streams.normal(63, 100_000, 0, 1);
    double[] b = Streams.normal(64, 100_000, 0, 2);
    DDSketch sketchA = DDSketches.unboundedDense(0.01);
    DDSketch sketchB = DDSketches.unboundedDense(0.01);
    for (int i = 0; i < a.length; i++) {
      sketchA.accept(a[i]);
      sketchB.accept(b[i]);
    }
    double w1 = Wasserstein.w1FromSketches(sketchA, sketchB, 1000);
    assertThat(w1).isCloseTo(Math.sqrt(2 / Math.PI), within(0.02));
    assertThat(w1).isCloseTo(exactW1(a, b), within(0.02));
  }

  @Test
  void degenerateInputIsDocumented() {
    assertThat(Wasserstein.w2sq1d(new double[3], 0, new double[3], 3, sa, sb)).isNaN();
    assertThat(Wasserstein.w2sq1d(new double[] {1, Double.NaN}, 2, new double[] {1, 2, 3}, 3, sa, sb))
        .isNaN();
    DDSketch empty = DDSketches.unboundedDense(0.01);
    DDSketch one = DDSketches.unboundedDense(0.01);
    one.accept(1.0);
    assertThat(Wasserstein.w1FromSketches(empty, one, 10)).isNaN();
    assertThat(Wasserstein.w1FromSketches(one, one, 10)).isEqualTo(0.0);
  }

  @Test
  void readsOnlyTheFirstNValues() {
    double[] a = Streams.normal(1, 500, 0, 1);
    double[] b = Streams.normal(2, 300, 1, 1);
    assertThat(
            Wasserstein.w2sq1d(
                Streams.withGarbageAfter(a, 500, 5), 500, Streams.withGarbageAfter(b, 300, 9), 300,
                sa, sb))
        .isEqualTo(Wasserstein.w2sq1d(a, 500, b, 300, sa, sb));
  }

  @Test
  void rejectsBrokenContracts() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Wasserstein.w2sq1d(new double[5], 5, new double[5], 5, new double[4], sb))
        .withMessage("scratchA.length = 4 is shorter than n = 5");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Wasserstein.w2sq1d(new double[5], 5, new double[5], 6, sa, sb))
        .withMessage("n = 6 is outside [0, b.length = 5]");
    DDSketch one = DDSketches.unboundedDense(0.01);
    one.accept(1.0);
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Wasserstein.w1FromSketches(one, one, 0))
        .withMessage("points = 0 is below 1");
  }

  private double w2sq1dAlong(double[] theta, double[][] p, double[][] q) {
    int n = p.length;
    double[] pa = new double[n];
    double[] qa = new double[n];
    for (int i = 0; i < n; i++) {
      pa[i] = dot(theta, p[i]);
      qa[i] = dot(theta, q[i]);
    }
    return Wasserstein.w2sq1d(pa, n, qa, n, sa, sb);
  }

  private static double[][] cloud(long seed, int n, double[] mean, double sd) {
    SplittableRandom random = new SplittableRandom(seed);
    double[][] points = new double[n][mean.length];
    for (double[] point : points) {
      for (int k = 0; k < mean.length; k++) {
        point[k] = mean[k] + sd * random.nextGaussian();
      }
    }
    return points;
  }

  private static double[] randomDirection(SplittableRandom random, int d) {
    double[] theta = new double[d];
    for (int k = 0; k < d; k++) {
      theta[k] = random.nextGaussian();
    }
    double norm = Math.sqrt(dot(theta, theta));
    for (int k = 0; k < d; k++) {
      theta[k] /= norm;
    }
    return theta;
  }

  /** Gram–Schmidt on Gaussian vectors: a Haar-random orthonormal frame. */
  private static double[][] randomFrame(SplittableRandom random, int d) {
    double[][] frame = new double[d][];
    for (int k = 0; k < d; k++) {
      double[] v = randomDirection(random, d);
      for (int j = 0; j < k; j++) {
        double c = dot(v, frame[j]);
        for (int i = 0; i < d; i++) {
          v[i] -= c * frame[j][i];
        }
      }
      double norm = Math.sqrt(dot(v, v));
      for (int i = 0; i < d; i++) {
        v[i] /= norm;
      }
      frame[k] = v;
    }
    return frame;
  }

  private static double dot(double[] u, double[] v) {
    double s = 0;
    for (int i = 0; i < u.length; i++) {
      s += u[i] * v[i];
    }
    return s;
  }

  private static double exactW1(double[] a, double[] b) {
    double[] x = a.clone();
    double[] y = b.clone();
    java.util.Arrays.sort(x);
    java.util.Arrays.sort(y);
    double s = 0;
    for (int i = 0; i < x.length; i++) {
      s += Math.abs(x[i] - y[i]);
    }
    return s / x.length;
  }
}

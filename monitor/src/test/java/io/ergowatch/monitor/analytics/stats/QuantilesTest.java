package io.ergowatch.monitor.analytics.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QuantilesTest {

  @Test
  void selectAgreesWithSortingOnRandomDataWithTies() {
    SplittableRandom random = new SplittableRandom(1);
    for (int rep = 0; rep < 300; rep++) {
      double[] a = randomWithTies(random, 1 + random.nextInt(rep < 100 ? 40 : 2000));
      double[] sorted = a.clone();
      Arrays.sort(sorted);
      int k = random.nextInt(a.length);
      double[] work = a.clone();
      assertThat(Quantiles.select(work, a.length, k)).isEqualTo(sorted[k]);
      // Partitioned around k, and a permutation of the input.
      for (int i = 0; i < a.length; i++) {
        if (i < k) {
          assertThat(work[i]).isLessThanOrEqualTo(work[k]);
        } else if (i > k) {
          assertThat(work[i]).isGreaterThanOrEqualTo(work[k]);
        }
      }
      double[] permuted = work.clone();
      Arrays.sort(permuted);
      assertThat(permuted).isEqualTo(sorted);
    }
  }

  @Test
  void quantileAgreesWithTypeSevenOnSortedData() {
    SplittableRandom random = new SplittableRandom(2);
    double[] scratch = new double[3000];
    for (int rep = 0; rep < 300; rep++) {
      double[] x = randomWithTies(random, 1 + random.nextInt(rep < 100 ? 30 : 3000));
      double[] before = x.clone();
      double[] sorted = x.clone();
      Arrays.sort(sorted);
      for (double q : new double[] {0, 1, 0.5, 0.05, 0.95, random.nextDouble()}) {
        double h = (x.length - 1) * q;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, x.length - 1);
        double expected = sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
        assertThat(Quantiles.quantile(x, x.length, q, scratch)).isCloseTo(expected, within(1e-12));
      }
      assertThat(x).isEqualTo(before);
    }
  }

  @Test
  void matchesKnownTypeSevenValues() {
    // R: quantile(1:4, c(0, .25, .5, .9, 1)) = 1, 1.75, 2.5, 3.7, 4 (type 7 is R's default).
    double[] x = {4, 2, 1, 3};
    double[] scratch = new double[4];
    assertThat(Quantiles.quantile(x, 4, 0, scratch)).isEqualTo(1.0);
    assertThat(Quantiles.quantile(x, 4, 0.25, scratch)).isEqualTo(1.75);
    assertThat(Quantiles.quantile(x, 4, 0.5, scratch)).isEqualTo(2.5);
    assertThat(Quantiles.quantile(x, 4, 0.9, scratch)).isCloseTo(3.7, within(1e-15));
    assertThat(Quantiles.quantile(x, 4, 1, scratch)).isEqualTo(4.0);
    assertThat(Quantiles.quantile(new double[] {7}, 1, 0.3, scratch)).isEqualTo(7.0);
  }

  @Test
  void degenerateInputIsDocumented() {
    double[] scratch = new double[4];
    assertThat(Quantiles.quantile(new double[0], 0, 0.5, scratch)).isNaN();
    assertThat(Quantiles.quantile(new double[] {1, 2}, 2, 1.5, scratch)).isNaN();
    assertThat(Quantiles.quantile(new double[] {1, 2}, 2, -0.1, scratch)).isNaN();
    assertThat(Quantiles.quantile(new double[] {1, 2}, 2, Double.NaN, scratch)).isNaN();
    assertThat(Quantiles.quantile(new double[] {1, Double.NaN, 3}, 3, 0.5, scratch)).isNaN();
  }

  @Test
  void readsOnlyTheFirstNValues() {
    double[] x = Streams.normal(1, 100, 0, 1);
    double[] scratch = new double[200];
    assertThat(Quantiles.quantile(Streams.withGarbageAfter(x, 100, 50), 100, 0.3, scratch))
        .isEqualTo(Quantiles.quantile(x, 100, 0.3, scratch));
    double[] padded = Streams.withGarbageAfter(x, 100, 50);
    double[] sorted = x.clone();
    Arrays.sort(sorted);
    assertThat(Quantiles.select(padded, 100, 99)).isEqualTo(sorted[99]);
  }

  @Test
  void adversarialOrdersStayFast() {
    // The heapsort fallback bounds the worst case by O(n log n); these orders (sorted,
    // reversed, organ pipe, all equal, few values, sawtooth) finish well inside the timeout.
    int n = 200_000;
    double[][] inputs = new double[6][n];
    for (int i = 0; i < n; i++) {
      inputs[0][i] = i;
      inputs[1][i] = n - i;
      inputs[2][i] = Math.min(i, n - i);
      inputs[3][i] = 1.0;
      inputs[4][i] = i % 3;
      inputs[5][i] = i % 1000;
    }
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
        Duration.ofSeconds(10),
        () -> {
          for (double[] input : inputs) {
            double[] sorted = input.clone();
            Arrays.sort(sorted);
            for (int k : new int[] {0, n / 2, n - 1, n / 3}) {
              assertThat(Quantiles.select(input.clone(), n, k)).isEqualTo(sorted[k]);
            }
            double[] mine = input.clone();
            DoubleSort.sort(mine, 0, n);
            assertThat(mine).isEqualTo(sorted);
          }
        });
  }

  @Test
  void sortAgreesWithArraysSort() {
    SplittableRandom random = new SplittableRandom(3);
    for (int rep = 0; rep < 200; rep++) {
      double[] a = randomWithTies(random, random.nextInt(3000));
      double[] expected = a.clone();
      Arrays.sort(expected);
      DoubleSort.sort(a, 0, a.length);
      assertThat(a).isEqualTo(expected);
    }
  }

  @Test
  void rejectsBrokenContracts() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Quantiles.select(new double[3], 3, 3))
        .withMessage("k = 3 is outside [0, n = 3)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Quantiles.select(new double[0], 0, 0))
        .withMessage("k = 0 is outside [0, n = 0)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Quantiles.quantile(new double[3], 3, 0.5, new double[2]))
        .withMessage("scratch.length = 2 is shorter than n = 3");
  }

  private static double[] randomWithTies(SplittableRandom random, int n) {
    double[] a = new double[n];
    int levels = 1 + random.nextInt(10);
    for (int i = 0; i < n; i++) {
      a[i] = random.nextInt(3) == 0 ? random.nextInt(levels) : random.nextGaussian();
    }
    return a;
  }
}

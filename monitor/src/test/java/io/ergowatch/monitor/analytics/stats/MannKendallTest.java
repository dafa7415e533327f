package io.ergowatch.monitor.analytics.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MannKendallTest {

  @Test
  void zeroToNineMatchesMathMd() {
    // math.md §6.7: S = 45 (all 45 pairs increase), Var = 10·9·25/18 = 125,
    // Z = (45 − 1)/√125 = 3.93548. Exact up to the rounding of one square root.
    double[] x = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    MannKendall.Result r = MannKendall.test(x, 10);
    assertThat(r.s()).isEqualTo(45);
    assertThat(r.variance()).isEqualTo(125.0);
    assertThat(r.z()).isCloseTo(3.9355, within(5e-5));
    assertThat(r.z()).isCloseTo(44 / Math.sqrt(125), within(1e-15));
  }

  @Test
  void decreasingSequenceIsTheMirrorImage() {
    double[] x = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
    MannKendall.Result r = MannKendall.test(x, 10);
    assertThat(r.s()).isEqualTo(-45);
    assertThat(r.z()).isCloseTo(-44 / Math.sqrt(125), within(1e-15));
  }

  @Test
  void appliesTheTieCorrection() {
    // Hand computation: x = (1, 2, 2, 3). Pairs: (1,2)+ (1,2)+ (1,3)+ (2,2)0 (2,3)+ (2,3)+ → S = 5.
    // One tie group of t = 2: Var = [4·3·13 − 2·1·9]/18 = 138/18; Z = (5 − 1)/√(138/18).
    MannKendall.Result r = MannKendall.test(new double[] {1, 2, 2, 3}, 4);
    assertThat(r.s()).isEqualTo(5);
    assertThat(r.variance()).isCloseTo(138.0 / 18.0, within(1e-12));
    assertThat(r.z()).isCloseTo(4 / Math.sqrt(138.0 / 18.0), within(1e-12));
  }

  @Test
  void agreesWithTieGroupsFoundBySorting() {
    // The routine sums per-value increments instead of finding the groups; a sort finds them.
    SplittableRandom random = new SplittableRandom(42);
    for (int rep = 0; rep < 50; rep++) {
      int n = 2 + random.nextInt(120);
      double[] x = new double[n];
      for (int i = 0; i < n; i++) {
        x[i] = random.nextInt(1 + random.nextInt(12)) + (rep % 2) * 0.01 * i; // many ties
      }
      MannKendall.Result r = MannKendall.test(x, n);
      long s = 0;
      for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
          s += (long) Math.signum(x[j] - x[i]);
        }
      }
      double[] sorted = x.clone();
      Arrays.sort(sorted);
      double ties = 0;
      for (int i = 0; i < n; ) {
        int j = i;
        while (j < n && sorted[j] == sorted[i]) {
          j++;
        }
        double t = j - i;
        ties += t * (t - 1) * (2 * t + 5);
        i = j;
      }
      assertThat(r.s()).isEqualTo(s);
      assertThat(r.variance())
          .isCloseTo(((double) n * (n - 1) * (2 * n + 5) - ties) / 18, within(1e-9));
    }
  }

  @Test
  void degenerateInputIsDocumented() {
    assertThat(MannKendall.test(new double[0], 0)).isEqualTo(new MannKendall.Result(0, 0, Double.NaN));
    assertThat(MannKendall.test(new double[] {1}, 1))
        .isEqualTo(new MannKendall.Result(0, 0, Double.NaN));
    double[] tied = new double[30];
    Arrays.fill(tied, 2.5);
    assertThat(MannKendall.test(tied, 30)).isEqualTo(new MannKendall.Result(0, 0, 0));
    double[] withNaN = {1, 2, Double.NaN, 4};
    assertThat(MannKendall.test(withNaN, 4).z()).isNaN();
    assertThat(MannKendall.test(withNaN, 4).variance()).isNaN();
  }

  @Test
  void readsOnlyTheFirstNValues() {
    double[] x = Streams.ar1(3, 200, 0.5);
    assertThat(MannKendall.test(Streams.withGarbageAfter(x, 200, 20), 200))
        .isEqualTo(MannKendall.test(x, 200));
  }

  @Test
  void rejectsALengthThatDoesNotFit() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> MannKendall.test(new double[2], -1))
        .withMessage("n = -1 is outside [0, x.length = 2]");
  }
}

package io.ergowatch.monitor.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class DivergenceDetectorTest {
  @RepeatedTest(20)
  void selectAgreesWithSortingOnRandomData(org.junit.jupiter.api.RepetitionInfo rep) {
    SplittableRandom rng = new SplittableRandom(rep.getCurrentRepetition());
    int n = 1 + rng.nextInt(300);
    double[] a = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = rng.nextInt(4) == 0 ? rng.nextInt(5) : rng.nextGaussian(); // with ties
    }
    double[] sorted = a.clone();
    Arrays.sort(sorted);
    int k = rng.nextInt(n);
    assertThat(DivergenceDetector.select(a.clone(), k)).isEqualTo(sorted[k]);
  }

  @Test
  void medianOfAnEvenWindowIsTheMeanOfTheTwoMiddleValues() {
    DivergenceDetector d = new DivergenceDetector(4, 10, 3, 1);
    for (double x : new double[] {4, 1, 3, 2}) {
      d.accept(x);
    }
    d.accept(5); // window {1, 3, 2, 5} -> evaluated: median (2 + 3) / 2
    assertThat(d.lastMedian()).isEqualTo(2.5);
  }
}

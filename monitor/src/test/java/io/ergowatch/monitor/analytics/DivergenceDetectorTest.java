package io.ergowatch.monitor.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DivergenceDetectorTest {
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

package io.ergowatch.monitor.analytics.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;

class EwmaTest {

  @Test
  void startsAtTheFirstValueAndMovesByAlpha() {
    // Hand computation, α = 0.5: 1 → 1; 2 → 1 + 0.5·(2 − 1) = 1.5; 3 → 1.5 + 0.5·1.5 = 2.25.
    Ewma ewma = new Ewma(0.5);
    assertThat(ewma.value()).isNaN();
    assertThat(ewma.isEmpty()).isTrue();
    ewma.accept(1);
    assertThat(ewma.value()).isEqualTo(1.0);
    ewma.accept(2);
    assertThat(ewma.value()).isEqualTo(1.5);
    ewma.accept(3);
    assertThat(ewma.value()).isEqualTo(2.25);
    assertThat(ewma.isEmpty()).isFalse();
  }

  @Test
  void alphaOneKeepsTheLastValue() {
    Ewma ewma = new Ewma(1.0);
    ewma.accept(5);
    ewma.accept(-2);
    assertThat(ewma.value()).isEqualTo(-2.0);
  }

  @Test
  void constantInputStaysExact() {
    Ewma ewma = new Ewma(0.1);
    for (int i = 0; i < 1000; i++) {
      ewma.accept(0.1);
    }
    assertThat(ewma.value()).isEqualTo(0.1);
  }

  @Test
  void nanIsKeptUntilClear() {
    Ewma ewma = new Ewma(0.3);
    ewma.accept(1);
    ewma.accept(Double.NaN);
    ewma.accept(1);
    assertThat(ewma.value()).isNaN();
    ewma.clear();
    ewma.accept(4);
    assertThat(ewma.value()).isEqualTo(4.0);
  }

  @Test
  void clearEqualsNew() {
    double[] x = Streams.ar1(1, 500, 0.5);
    Ewma reused = new Ewma(0.2);
    for (double v : Streams.normal(2, 77, 5, 1)) {
      reused.accept(v);
    }
    reused.clear();
    assertThat(reused.value()).isNaN();
    assertThat(reused.isEmpty()).isTrue();
    Ewma fresh = new Ewma(0.2);
    for (double v : x) {
      reused.accept(v);
      fresh.accept(v);
    }
    assertThat(reused.value()).isEqualTo(fresh.value());
  }

  @Test
  void rejectsAlphaOutsideTheUnitInterval() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new Ewma(0))
        .withMessage("alpha = 0.0 is outside (0, 1]");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new Ewma(1.5))
        .withMessage("alpha = 1.5 is outside (0, 1]");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new Ewma(Double.NaN))
        .withMessage("alpha = NaN is outside (0, 1]");
  }
}

package io.ergowatch.monitor.analytics.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class GewekeTest {
  private final double[] scratch = new double[2_000];

  @Test
  void falseAlarmRateOnIidNormalIsAboutFivePercent() {
    // math.md §6.3: on a stationary stream z ~ N(0, 1), so P(|z| > 2) = 4.55%. With τ = 1 (the
    // true τ of iid noise), n = 1000, seeds 1..2000: the rate has a binomial sd of 0.47%, the
    // brief's band [2%, 9%] is ≥ 5 sd wide on each side. Observed: 3.8% (10000 seeds: 4.5%).
    int alarms = 0;
    for (long seed = 1; seed <= 2000; seed++) {
      double[] x = Streams.normal(seed, 1000, 0, 1);
      if (Math.abs(Geweke.z(x, 1000, 1.0)) > 2) {
        alarms++;
      }
    }
    assertThat(alarms / 2000.0).isBetween(0.02, 0.09);
  }

  @Test
  void falseAlarmRateWithTheWindowsOwnTauIsAtMostNominal() {
    // As the engine calls it (math.md §4): τ̂ from Geyer on the same window. τ̂ ≥ 1 (clamped,
    // slightly above 1 on noise) widens the variances a little, so the rate is at or below 5%.
    // n = 1000, seeds 1..2000. Observed: 3.3%.
    int alarms = 0;
    for (long seed = 1; seed <= 2000; seed++) {
      double[] x = Streams.normal(seed, 1000, 0, 1);
      double tau = Autocorrelation.geyerTau(x, 1000, scratch);
      if (Math.abs(Geweke.z(x, 1000, tau)) > 2) {
        alarms++;
      }
    }
    assertThat(alarms / 2000.0).isBetween(0.02, 0.09);
  }

  @Test
  void falseAlarmRateOnAr1WithTheWindowsTauIsAboutFivePercent() {
    // math.md §6.3 with a = 0.9 (τ = 19) on a window of W = 50·19 = 950 steps, the window the
    // engine would size (math.md §4), z with Geyer's τ̂ of that window. Seeds 1..1000 (sd of
    // the rate 0.7%). Observed: 5.0%.
    int alarms = 0;
    for (long seed = 1; seed <= 1000; seed++) {
      double[] x = Streams.ar1(seed, 950, 0.9);
      double tau = Autocorrelation.geyerTau(x, 950, scratch);
      if (Math.abs(Geweke.z(x, 950, tau)) > 2) {
        alarms++;
      }
    }
    assertThat(alarms / 1000.0).isBetween(0.02, 0.09);
  }

  @Test
  void shiftedSecondHalfGivesALargeZ() {
    // A level shift of one sd at mid-window: E z = (0 − 1)/√(1/100 + 1/500) = −9.1 with τ = 1
    // (observed −9.06). Note for the engine: Geyer's τ̂ of this very window reads the step as
    // correlation (τ̂ = 55.8 here) and z with it is only −1.2; a shift inside the window is
    // left to the trend test.
    double[] x = Streams.normal(3, 1000, 0, 1);
    for (int i = 500; i < 1000; i++) {
      x[i] += 1.0;
    }
    assertThat(Geweke.z(x, 1000, 1.0)).isLessThan(-6);
    for (int i = 0; i < 1000; i++) {
      x[i] = -x[i]; // and upward
    }
    assertThat(Geweke.z(x, 1000, 1.0)).isGreaterThan(6);
  }

  @Test
  void matchesAHandComputation() {
    // n = 20: segment a = x[0..2) = {1, 3}: mean 2, s² = 2; segment b = x[10..20) = 0..9:
    // mean 4.5, s² = 55/6. τ = 2: z = (2 − 4.5)/√(2·2/2 + 2·(55/6)/10) = −2.5/√(23/6).
    double[] x = new double[20];
    x[0] = 1;
    x[1] = 3;
    for (int i = 2; i < 10; i++) {
      x[i] = 100; // the middle 40% is not used
    }
    for (int i = 10; i < 20; i++) {
      x[i] = i - 10;
    }
    assertThat(Geweke.z(x, 20, 2.0)).isCloseTo(-2.5 / Math.sqrt(23.0 / 6.0), within(1e-12));
  }

  @Test
  void constantSegmentsGiveZeroOrInfinity() {
    double[] x = new double[200];
    Arrays.fill(x, 0.1);
    assertThat(Geweke.z(x, 200, 1.0)).isEqualTo(0.0);
    Arrays.fill(x, 100, 200, 0.3);
    assertThat(Geweke.z(x, 200, 1.0)).isEqualTo(Double.NEGATIVE_INFINITY);
    Arrays.fill(x, 100, 200, -0.3);
    assertThat(Geweke.z(x, 200, 1.0)).isEqualTo(Double.POSITIVE_INFINITY);
  }

  @Test
  void tooShortWindowsAndBadTauGiveNaN() {
    double[] x = Streams.normal(1, 100, 0, 1);
    assertThat(Geweke.z(x, 19, 1.0)).isNaN(); // first segment of 1 value: no variance
    assertThat(Geweke.z(x, 20, 1.0)).isFinite();
    assertThat(Geweke.z(x, 100, 0.0)).isNaN();
    assertThat(Geweke.z(x, 100, Double.NaN)).isNaN();
  }

  @Test
  void nanInASegmentGivesNaN() {
    double[] x = Streams.normal(1, 100, 0, 1);
    x[95] = Double.NaN;
    assertThat(Geweke.z(x, 100, 1.0)).isNaN();
  }

  @Test
  void readsOnlyTheFirstNValues() {
    double[] x = Streams.ar1(4, 500, 0.5);
    assertThat(Geweke.z(Streams.withGarbageAfter(x, 500, 50), 500, 3.0))
        .isEqualTo(Geweke.z(x, 500, 3.0));
  }

  @Test
  void rejectsALengthThatDoesNotFit() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Geweke.z(new double[10], 11, 1.0))
        .withMessage("n = 11 is outside [0, x.length = 10]");
  }
}

package io.ergowatch.monitor.analytics.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class AutocorrelationTest {
  private final double[] scratch = new double[20_000];

  @Test
  void ar1WithA09HasTauNineteen() {
    // math.md §6.3: τ = (1 + a)/(1 − a) = 19; "Geyer within 10% needs n ≳ 8000". One estimate
    // at n = 16000 has a relative sd of about 12% (Sokal: √(2(2M+1)/n) with a cut-off M ≈ 5τ),
    // so the mean of 10 seeds (sd ≈ 4%) is held to 10%. Seeds 1..10; observed mean 18.30
    // (individual values 15.6 .. 22.9): Geyer's truncation biases slightly low.
    double sum = 0;
    for (long seed = 1; seed <= 10; seed++) {
      sum += Autocorrelation.geyerTau(Streams.ar1(seed, 16_000, 0.9), 16_000, scratch);
    }
    assertThat(sum / 10).isCloseTo(19.0, withinPercentage(10));
  }

  @Test
  void ar1WithA05HasTauThree() {
    // math.md §6.3: τ = 1.5/0.5 = 3. Relative sd per estimate ≈ 3% at n = 16000; seeds 1..10,
    // observed mean 2.94.
    double sum = 0;
    for (long seed = 1; seed <= 10; seed++) {
      sum += Autocorrelation.geyerTau(Streams.ar1(seed, 16_000, 0.5), 16_000, scratch);
    }
    assertThat(sum / 10).isCloseTo(3.0, withinPercentage(5));
  }

  @Test
  void iidNoiseHasTauOne() {
    // math.md §6.3 with a = 0: τ = 1. The estimate is clamped to ≥ 1 and the positive sequence
    // keeps a few noise lags, so it sits slightly above 1 (seeds 1..10: observed mean 1.010).
    double sum = 0;
    for (long seed = 1; seed <= 10; seed++) {
      double tau = Autocorrelation.geyerTau(Streams.ar1(seed, 16_000, 0.0), 16_000, scratch);
      assertThat(tau).isBetween(1.0, 1.1);
      sum += tau;
    }
    assertThat(sum / 10).isCloseTo(1.0, within(0.03));
  }

  @Test
  void equalsTheTextbookInitialMonotoneSequenceEstimator() {
    for (long seed = 1; seed <= 20; seed++) {
      double a = (seed % 4) * 0.3 - 0.3; // -0.3, 0, 0.3, 0.6
      int n = 500 + (int) seed * 37;
      double[] x = Streams.ar1(seed, n, a);
      assertThat(Autocorrelation.geyerTau(x, n, scratch))
          .isCloseTo(reference(x, true), withinPercentage(1e-9));
    }
  }

  @Test
  void appliesTheInitialMonotoneSequenceCorrection() {
    // Find streams whose pair sums Γ_k rise again before turning negative: there the monotone
    // correction lowers the estimate, and the routine must agree with the corrected value.
    int corrected = 0;
    for (long seed = 1; seed <= 200 && corrected < 5; seed++) {
      double[] x = Streams.ar1(seed, 400, 0.7);
      double monotone = reference(x, true);
      double positiveOnly = reference(x, false);
      if (positiveOnly > monotone + 1e-9) {
        corrected++;
        assertThat(Autocorrelation.geyerTau(x, 400, scratch))
            .isCloseTo(monotone, withinPercentage(1e-9));
      }
    }
    assertThat(corrected).as("streams where the correction mattered").isEqualTo(5);
  }

  @Test
  void constantInputHasTauOne() {
    double[] x = new double[300];
    Arrays.fill(x, 0.1); // 0.1 · 300 / 300 is not exactly 0.1: the mean must not be sum / n
    assertThat(Autocorrelation.geyerTau(x, 300, scratch)).isEqualTo(1.0);
  }

  @Test
  void tooShortInputHasTauOne() {
    assertThat(Autocorrelation.geyerTau(new double[0], 0, scratch)).isEqualTo(1.0);
    assertThat(Autocorrelation.geyerTau(new double[] {3}, 1, scratch)).isEqualTo(1.0);
  }

  @Test
  void antiCorrelatedInputIsClampedToOne() {
    double[] x = new double[200];
    for (int i = 0; i < x.length; i++) {
      x[i] = (i % 2 == 0) ? 1 : -1; // period 2: ρ_1 = −1, Γ_0 ≈ 0
    }
    assertThat(Autocorrelation.geyerTau(x, 200, scratch)).isEqualTo(1.0);
  }

  @Test
  void nanOrInfinityGivesNaN() {
    double[] x = Streams.ar1(1, 100, 0.5);
    x[40] = Double.NaN;
    assertThat(Autocorrelation.geyerTau(x, 100, scratch)).isNaN();
    x[40] = Double.POSITIVE_INFINITY;
    assertThat(Autocorrelation.geyerTau(x, 100, scratch)).isNaN();
  }

  @Test
  void readsOnlyTheFirstNValuesAndLeavesThemUntouched() {
    double[] x = Streams.ar1(5, 1000, 0.8);
    double[] padded = Streams.withGarbageAfter(x, 1000, 77);
    double[] before = padded.clone();
    assertThat(Autocorrelation.geyerTau(padded, 1000, scratch))
        .isEqualTo(Autocorrelation.geyerTau(x, 1000, new double[1000]));
    assertThat(padded).isEqualTo(before);
  }

  @Test
  void isInvariantUnderShiftAndScale() {
    double[] x = Streams.ar1(9, 2000, 0.8);
    double[] y = new double[2000];
    for (int i = 0; i < y.length; i++) {
      y[i] = 1000 + 0.001 * x[i]; // a settled loss: large mean, small spread
    }
    assertThat(Autocorrelation.geyerTau(y, 2000, scratch))
        .isCloseTo(Autocorrelation.geyerTau(x, 2000, scratch), withinPercentage(1e-6));
  }

  @Test
  void rejectsLengthsThatDoNotFit() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Autocorrelation.geyerTau(new double[3], 4, scratch))
        .withMessage("n = 4 is outside [0, x.length = 3]");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Autocorrelation.geyerTau(new double[30], 30, new double[29]))
        .withMessage("scratch.length = 29 is shorter than n = 30");
  }

  /**
   * Geyer (1992) spelled out: all autocovariances up to n/2 (divisor n), pair sums, stop at the
   * first non-positive pair, optionally make them non-increasing, τ = −1 + 2ΣΓ/γ₀, clamp at 1.
   */
  static double reference(double[] x, boolean monotone) {
    int n = x.length;
    double mean = Arrays.stream(x).sum() / n;
    double[] gamma = new double[n / 2 + 1];
    for (int t = 0; t < gamma.length; t++) {
      for (int i = 0; i + t < n; i++) {
        gamma[t] += (x[i] - mean) * (x[i + t] - mean);
      }
      gamma[t] /= n;
    }
    double sum = 0;
    double previous = Double.MAX_VALUE;
    for (int k = 0; 2 * k + 1 < gamma.length; k++) {
      double pair = gamma[2 * k] + gamma[2 * k + 1];
      if (pair <= 0) {
        break;
      }
      if (monotone) {
        pair = Math.min(pair, previous);
        previous = pair;
      }
      sum += pair;
    }
    return Math.max(1.0, -1 + 2 * sum / gamma[0]);
  }
}

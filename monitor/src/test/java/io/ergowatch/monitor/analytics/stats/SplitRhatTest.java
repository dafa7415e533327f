package io.ergowatch.monitor.analytics.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SplitRhatTest {

  @Test
  void twoShiftedChainsGiveTheClosedForm() {
    // math.md §6.8: chains N(+δ/2, 1) and N(−δ/2, 1): the four split means are ±δ/2, so
    // B/n' → (1/3)·4·(δ/2)² = δ²/3, W → 1, R̂ → √(1 + δ²/3) = 1.040833 for δ = 0.5.
    // n = 200000 per chain: each split mean has sd 1/√100000 = 0.0032, which moves R̂ by
    // about 0.0005; the brief's 0.005 is 10 sd. Seeds 1 and 2. Observed: 1.04062.
    double delta = 0.5;
    double[][] chains = {
      Streams.normal(1, 200_000, delta / 2, 1), Streams.normal(2, 200_000, -delta / 2, 1)
    };
    assertThat(SplitRhat.of(chains, 200_000))
        .isCloseTo(Math.sqrt(1 + delta * delta / 3), within(0.005))
        .isCloseTo(1.0408, within(0.005));
  }

  @Test
  void iidChainsGiveOne() {
    // math.md §6.8: identical laws → R̂ ≈ 1: R̂² − 1 ≈ (B − W)/n', with B/W ~ χ²₇/7, so
    // |R̂ − 1| is of order 1/n' = 0.001 at n = 2000. Four chains, seeds 11..14. Observed: 1.00005.
    double[][] chains = new double[4][];
    for (int j = 0; j < 4; j++) {
      chains[j] = Streams.normal(11 + j, 2000, 0, 1);
    }
    assertThat(SplitRhat.of(chains, 2000)).isCloseTo(1.0, within(0.01));
  }

  @Test
  void aDriftWithinOneChainIsCaughtBySplitting() {
    // Two chains with the same overall law, but each drifting from −1 to +1: unsplit R̂ would
    // be ≈ 1; the split halves have means ±0.5 (B/n' = 1/3) and within-half variance
    // 1 + 1/12 (the drift), so R̂ ≈ √(1 + (1/3)/(13/12)) = 1.144.
    double[][] chains = new double[2][];
    for (int j = 0; j < 2; j++) {
      chains[j] = Streams.normal(20 + j, 20_000, 0, 1);
      for (int i = 0; i < 20_000; i++) {
        chains[j][i] += -1 + 2.0 * i / 19_999;
      }
    }
    assertThat(SplitRhat.of(chains, 20_000)).isGreaterThan(1.1);
  }

  @Test
  void matchesAHandComputation() {
    // n = 4, n' = 2. Splits {1,2} {3,4} {2,2} {4,6}: means 1.5, 3.5, 2, 5 (grand 3), variances
    // 0.5, 0.5, 0, 2 → W = 0.75; B/n' = (2.25 + 0.25 + 1 + 4)/3 = 2.5;
    // var⁺ = (1/2)·0.75 + 2.5 = 2.875; R̂ = √(2.875/0.75) = 1.957890.
    double[][] chains = {{1, 2, 3, 4}, {2, 2, 4, 6}};
    assertThat(SplitRhat.of(chains, 4)).isCloseTo(Math.sqrt(2.875 / 0.75), within(1e-14));
  }

  @Test
  void leavesTheMiddleValueOfAnOddChainOut() {
    double[][] even = {{1, 2, 3, 4}, {2, 2, 4, 6}};
    double[][] odd = {{1, 2, 1000, 3, 4}, {2, 2, -1000, 4, 6}};
    assertThat(SplitRhat.of(odd, 5)).isEqualTo(SplitRhat.of(even, 4));
  }

  @Test
  void degenerateInputIsDocumented() {
    double[] chain = Streams.normal(1, 100, 0, 1);
    assertThat(SplitRhat.of(new double[][] {chain}, 100)).isNaN();
    assertThat(SplitRhat.of(new double[0][], 100)).isNaN();
    assertThat(SplitRhat.of(new double[][] {chain, chain}, 3)).isNaN();
    double[] a = new double[50];
    double[] b = new double[50];
    Arrays.fill(a, 0.1);
    Arrays.fill(b, 0.1);
    assertThat(SplitRhat.of(new double[][] {a, b}, 50)).isEqualTo(1.0);
    Arrays.fill(b, 0.2);
    assertThat(SplitRhat.of(new double[][] {a, b}, 50)).isEqualTo(Double.POSITIVE_INFINITY);
    double[] withNaN = chain.clone();
    withNaN[10] = Double.NaN;
    assertThat(SplitRhat.of(new double[][] {chain, withNaN}, 100)).isNaN();
  }

  @Test
  void readsOnlyTheFirstNValuesOfEachChain() {
    double[] a = Streams.normal(1, 300, 0, 1);
    double[] b = Streams.normal(2, 300, 0.2, 1);
    double[][] padded = {Streams.withGarbageAfter(a, 300, 10), Streams.withGarbageAfter(b, 300, 99)};
    assertThat(SplitRhat.of(padded, 300)).isEqualTo(SplitRhat.of(new double[][] {a, b}, 300));
  }

  @Test
  void rejectsAChainShorterThanN() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> SplitRhat.of(new double[][] {new double[10], new double[9]}, 10))
        .withMessage("n = 10 is outside [0, chains[1].length = 9]");
  }
}

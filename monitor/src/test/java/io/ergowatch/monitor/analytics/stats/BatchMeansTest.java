package io.ergowatch.monitor.analytics.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

import org.junit.jupiter.api.Test;

class BatchMeansTest {

  @Test
  void iidStandardErrorIsOneOverRootN() {
    // σ = 1, n = 100000: se = 1/√n. With 32..64 batches (48 at this n) one estimate has a
    // relative sd of 1/√(2·47) ≈ 10%, so 20 seeds are averaged (sd ≈ 2.3%); 15% is > 6 sd.
    // Seeds 1..20. Observed: mean of se·√n = 1.0016.
    int n = 100_000;
    double sum = 0;
    for (long seed = 1; seed <= 20; seed++) {
      BatchMeans batchMeans = feed(Streams.normal(seed, n, 0, 1));
      assertThat(batchMeans.batches()).isBetween(32, 63);
      sum += batchMeans.stderr() * Math.sqrt(n);
    }
    assertThat(sum / 20).isCloseTo(1.0, withinPercentage(15));
  }

  @Test
  void ar1StandardErrorIsRootTauVarOverN() {
    // math.md §4 and §6.3: se = √(τ·Var/n) with τ = 19 and Var = 1/(1 − 0.81) for a = 0.9,
    // σ = 1: √(100/n) = 0.0316 at n = 100000. Batches of 2048 ≫ τ, so the batch-size bias
    // −(2/b)Σ t·ρ_t/τ is 0.5%; the sampling sd per seed is ≈ 10%, 20 seeds ≈ 2.3%.
    // Seeds 1..20. Observed: ratio 1.0016 for se, mean τ 18.9.
    int n = 100_000;
    double a = 0.9;
    double expected = Math.sqrt(19 / (1 - a * a) / n);
    double se = 0;
    double tau = 0;
    for (long seed = 1; seed <= 20; seed++) {
      BatchMeans batchMeans = feed(Streams.ar1(seed, n, a));
      se += batchMeans.stderr();
      tau += batchMeans.tau();
    }
    assertThat(se / 20).isCloseTo(expected, withinPercentage(20));
    assertThat(tau / 20).isCloseTo(19.0, withinPercentage(20));
  }

  @Test
  void countAndMeanAreExact() {
    double[] x = Streams.normal(5, 12_345, 3, 2);
    BatchMeans batchMeans = feed(x);
    double sum = 0;
    for (double v : x) {
      sum += v;
    }
    assertThat(batchMeans.count()).isEqualTo(12_345);
    assertThat(batchMeans.mean()).isEqualTo(sum / 12_345);
    BatchMeans small = feed(new double[] {1, 2, 3, 4});
    assertThat(small.mean()).isEqualTo(2.5);
  }

  @Test
  void keepsBetween32And64BatchesOfAPowerOfTwo() {
    BatchMeans batchMeans = new BatchMeans();
    for (int i = 1; i <= 200_000; i++) {
      batchMeans.accept(i % 17);
      long size = batchMeans.batchSize();
      assertThat(Long.bitCount(size)).isEqualTo(1);
      if (i >= 64) {
        assertThat(batchMeans.batches()).isBetween(32, 63);
      } else {
        assertThat(batchMeans.batches()).isEqualTo(i); // batches of one until the first merge
      }
      assertThat(batchMeans.batches() * size).isLessThanOrEqualTo(i);
    }
  }

  @Test
  void answersNaNBeforeEightBatches() {
    BatchMeans batchMeans = new BatchMeans();
    assertThat(batchMeans.mean()).isNaN();
    for (int i = 0; i < 7; i++) {
      batchMeans.accept(i);
    }
    assertThat(batchMeans.stderr()).isNaN();
    assertThat(batchMeans.tau()).isNaN();
    batchMeans.accept(7);
    assertThat(batchMeans.stderr()).isFinite();
    // 0..7 as 8 batches of 1: sd = √6 (divisor 7), se = √6/√8; τ = 1·Var/Var = 1.
    assertThat(batchMeans.stderr()).isCloseTo(Math.sqrt(6.0 / 8.0), within(1e-14));
    assertThat(batchMeans.tau()).isCloseTo(1.0, within(1e-12));
  }

  @Test
  void constantInputHasZeroStandardErrorAndTauOne() {
    BatchMeans batchMeans = new BatchMeans();
    for (int i = 0; i < 10_000; i++) {
      batchMeans.accept(0.1); // batch means of 0.1 differ in the last bit; the answer must not
    }
    assertThat(batchMeans.stderr()).isEqualTo(0.0);
    assertThat(batchMeans.tau()).isEqualTo(1.0);
  }

  @Test
  void nanIsKeptNotHidden() {
    BatchMeans batchMeans = feed(Streams.normal(1, 1000, 0, 1));
    batchMeans.accept(Double.NaN);
    assertThat(batchMeans.mean()).isNaN();
    assertThat(batchMeans.stderr()).isNaN();
    assertThat(batchMeans.tau()).isNaN();
    batchMeans.clear();
    assertThat(batchMeans.count()).isZero();
  }

  @Test
  void clearEqualsNew() {
    double[] x = Streams.ar1(3, 50_000, 0.8);
    BatchMeans reused = feed(Streams.normal(4, 7_777, 10, 5));
    reused.clear();
    assertThat(reused.toString()).isEqualTo(new BatchMeans().toString());
    for (double v : x) {
      reused.accept(v);
    }
    BatchMeans fresh = feed(x);
    assertSameState(reused, fresh);
  }

  @Test
  void readingBetweenValuesDoesNotChangeTheResult() {
    // The estimator has no bulk or merge operation (batches are contiguous stretches of one
    // stream), so "chunking" means: queries interleaved with the values change nothing.
    double[] x = Streams.ar1(6, 30_000, 0.5);
    BatchMeans queried = new BatchMeans();
    for (double v : x) {
      queried.accept(v);
      queried.stderr();
      queried.tau();
      queried.mean();
    }
    assertSameState(queried, feed(x));
  }

  private static void assertSameState(BatchMeans actual, BatchMeans expected) {
    assertThat(actual.count()).isEqualTo(expected.count());
    assertThat(actual.mean()).isEqualTo(expected.mean());
    assertThat(actual.stderr()).isEqualTo(expected.stderr());
    assertThat(actual.tau()).isEqualTo(expected.tau());
    assertThat(actual.batches()).isEqualTo(expected.batches());
    assertThat(actual.batchSize()).isEqualTo(expected.batchSize());
  }

  private static BatchMeans feed(double[] x) {
    BatchMeans batchMeans = new BatchMeans();
    for (double v : x) {
      batchMeans.accept(v);
    }
    return batchMeans;
  }
}

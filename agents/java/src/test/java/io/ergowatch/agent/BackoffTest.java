package io.ergowatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final long MS = 1_000_000L;

  @Test
  void boundDoublesFromInitialToMaxAndResetsAfterSuccess() {
    Backoff b = new Backoff(100 * MS, 10_000 * MS, new SplittableRandom(1));
    long[] expected = {100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000};
    for (long bound : expected) {
      assertThat(b.ceiling()).isEqualTo(bound * MS);
      b.nextDelayNanos();
    }
    for (int i = 0; i < 100; i++) {
      b.nextDelayNanos(); // no overflow however long the outage
    }
    assertThat(b.ceiling()).isEqualTo(10_000 * MS);
    b.reset();
    assertThat(b.ceiling()).isEqualTo(100 * MS);
  }

  @Test
  void delaysAreFullJitterWithinTheBound() {
    Backoff b = new Backoff(100 * MS, 100 * MS, new SplittableRandom(42));
    long min = Long.MAX_VALUE;
    long max = 0;
    for (int i = 0; i < 10_000; i++) {
      long d = b.nextDelayNanos();
      assertThat(d).isBetween(0L, 100 * MS);
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    // Full jitter spans the whole range [0, bound], not [bound/2, bound].
    assertThat(min).isLessThan(5 * MS);
    assertThat(max).isGreaterThan(95 * MS);
  }

  @Test
  void maxDelayJumpsToTheMaximumBound() {
    Backoff b = new Backoff(100 * MS, 10_000 * MS, new SplittableRandom(3));
    assertThat(b.maxDelayNanos()).isBetween(0L, 10_000 * MS);
    assertThat(b.ceiling()).isEqualTo(10_000 * MS);
  }
}

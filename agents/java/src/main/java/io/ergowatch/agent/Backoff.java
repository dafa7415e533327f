package io.ergowatch.agent;

import java.util.random.RandomGenerator;

/**
 * Reconnect delays: exponential backoff with full jitter. Attempt k waits a uniform random time
 * in [0, min(max, initial × 2^k)]; {@link #reset()} after a successful WELCOME. Full jitter
 * keeps many agents that lost the same monitor from reconnecting in lockstep.
 * Network thread only.
 */
final class Backoff {
  private final long initialNanos;
  private final long maxNanos;
  private final RandomGenerator random;
  private int attempt;

  Backoff(long initialNanos, long maxNanos, RandomGenerator random) {
    this.initialNanos = initialNanos;
    this.maxNanos = maxNanos;
    this.random = random;
  }

  /** The delay before the next attempt; each call doubles the bound, up to max. */
  long nextDelayNanos() {
    long bound = ceiling();
    if (attempt < 62) {
      attempt++;
    }
    return random.nextLong(bound + 1);
  }

  /** A delay drawn under the maximum bound, for failures that a quick retry will not cure. */
  long maxDelayNanos() {
    attempt = 62;
    return random.nextLong(maxNanos + 1);
  }

  /** The bound of the next delay. */
  long ceiling() {
    if (attempt >= 62 || initialNanos > (maxNanos >> attempt)) {
      return maxNanos;
    }
    return Math.min(maxNanos, initialNanos << attempt);
  }

  void reset() {
    attempt = 0;
  }
}

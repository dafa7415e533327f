package io.ergowatch.monitor.pipeline;

import java.util.Arrays;

/**
 * Counts of the lag from agent send to analytics done, in fixed buckets. Single writer (its
 * lane), no allocation per observation; copied out at scrape time and rendered as the
 * {@code ergowatch_pipeline_lag_seconds} histogram.
 */
public final class LagHistogram {
  /** Upper bounds in seconds; the last bucket (+Inf) is implicit. */
  public static final double[] BOUNDS = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

  private final long[] counts = new long[BOUNDS.length + 1];
  private double sumSeconds;

  /** Records one lag; negative lags (agent clock ahead) count as 0. */
  public void observe(long lagNanos) {
    double s = Math.max(0, lagNanos) / 1e9;
    int i = 0;
    while (i < BOUNDS.length && s > BOUNDS[i]) {
      i++;
    }
    counts[i]++;
    sumSeconds += s;
  }

  /** Adds this histogram's counts into {@code into} (BOUNDS.length + 1 entries) and returns the sum. */
  public double addTo(long[] into) {
    for (int i = 0; i < counts.length; i++) {
      into[i] += counts[i];
    }
    return sumSeconds;
  }

  public long count() {
    return Arrays.stream(counts).sum();
  }
}

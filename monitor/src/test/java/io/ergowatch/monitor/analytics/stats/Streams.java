package io.ergowatch.monitor.analytics.stats;

import java.util.SplittableRandom;

/** Seeded test streams: AR(1) processes (docs/math.md §6.3) and Gaussian samples. */
final class Streams {
  private Streams() {}

  /**
   * x_{t+1} = a·x_t + ε_t with ε ~ N(0, 1), started from the stationary law N(0, 1/(1 − a²)), so
   * the whole stream is stationary: Var = 1/(1 − a²), τ = (1 + a)/(1 − a) (math.md §6.3).
   */
  static double[] ar1(long seed, int n, double a) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] x = new double[n];
    double v = random.nextGaussian() / Math.sqrt(1 - a * a);
    for (int i = 0; i < n; i++) {
      x[i] = v;
      v = a * v + random.nextGaussian();
    }
    return x;
  }

  /** n draws of N(mean, sd²). */
  static double[] normal(long seed, int n, double mean, double sd) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = mean + sd * random.nextGaussian();
    }
    return x;
  }

  /** A copy of x[0..n) followed by {@code extra} values that must never be read. */
  static double[] withGarbageAfter(double[] x, int n, int extra) {
    double[] y = new double[n + extra];
    System.arraycopy(x, 0, y, 0, n);
    for (int i = n; i < y.length; i++) {
      y[i] = (i % 3 == 0) ? Double.NaN : (i % 3 == 1 ? 1e300 : -1e300);
    }
    return y;
  }
}

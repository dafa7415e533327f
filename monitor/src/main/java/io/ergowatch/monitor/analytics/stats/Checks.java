package io.ergowatch.monitor.analytics.stats;

/**
 * Argument checks shared by the routines of this package. They guard the caller's contract
 * (a length that fits its array, a scratch long enough), never the data: data never makes a
 * routine of this package throw. The message names the bad value; it is built only on failure,
 * so the checks cost two comparisons and allocate nothing on the hot path.
 */
final class Checks {
  private Checks() {}

  /** Requires {@code 0 <= n <= array.length}. */
  static void length(double[] array, int n, String name) {
    if (n < 0 || n > array.length) {
      throw new IllegalArgumentException(
          "n = " + n + " is outside [0, " + name + ".length = " + array.length + "]");
    }
  }

  /** Requires a scratch array of at least {@code n} elements. */
  static void scratch(double[] scratch, int n, String name) {
    if (scratch.length < n) {
      throw new IllegalArgumentException(
          name + ".length = " + scratch.length + " is shorter than n = " + n);
    }
  }
}

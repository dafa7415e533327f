package io.ergowatch.monitor.analytics;

/**
 * One rule of the verdict as a test (docs/math.md §5): an estimate, its standard error, the
 * confidence interval at the rule's level, and one of three outcomes — the property holds, it
 * fails, or the window cannot tell (inconclusive keeps the current state). Mutable and reused:
 * an evaluation refills its checks without allocating; snapshots copy them into {@link Evidence}.
 */
final class Check {
  /** The outcome of a check. UNAVAILABLE: the run does not send what the check needs. */
  enum Outcome {
    HOLDS, FAILS, INCONCLUSIVE, UNAVAILABLE;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  final String name;
  double estimate = Double.NaN;
  double stderr = Double.NaN;
  double low = Double.NaN;
  double high = Double.NaN;
  Outcome outcome = Outcome.UNAVAILABLE;

  Check(String name) {
    this.name = name;
  }

  void unavailable() {
    estimate = Double.NaN;
    stderr = Double.NaN;
    low = Double.NaN;
    high = Double.NaN;
    outcome = Outcome.UNAVAILABLE;
  }

  /** Sets the estimate and its interval estimate ± z·stderr (the outcome is set separately). */
  Check estimate(double estimate, double stderr, double z) {
    this.estimate = estimate;
    this.stderr = stderr;
    this.low = estimate - z * stderr;
    this.high = estimate + z * stderr;
    return this;
  }

  boolean holds() {
    return outcome == Outcome.HOLDS;
  }

  boolean fails() {
    return outcome == Outcome.FAILS;
  }

  boolean available() {
    return outcome != Outcome.UNAVAILABLE;
  }

  Evidence snapshot() {
    return new Evidence(name, estimate, stderr, low, high, outcome.label());
  }
}

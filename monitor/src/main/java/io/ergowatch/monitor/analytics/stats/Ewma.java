package io.ergowatch.monitor.analytics.stats;

/**
 * An exponentially weighted moving average, {@code v ← v + α·(x − v)}, started at the first
 * value: the EWMA of docs/math.md §4, for smoothing a scalar series.
 *
 * <pre>{@code
 * Ewma smoothed = new Ewma(0.1);
 * smoothed.accept(loss);              // per record, no allocation
 * double level = smoothed.value();    // NaN until the first value
 * }</pre>
 *
 * <p>NaN is a legal value: a NaN accepted makes the average NaN until {@link #clear()} (never
 * hidden; the engine keeps non-finite values out of its estimators, docs/math.md §4). Not
 * thread-safe.
 */
public final class Ewma {
  private final double alpha;
  private double value = Double.NaN;
  private boolean empty = true;

  /**
   * @param alpha the weight of the newest value, in (0, 1]; 1 keeps only the last value
   * @throws IllegalArgumentException if alpha is not in (0, 1]
   */
  public Ewma(double alpha) {
    if (!(alpha > 0 && alpha <= 1)) {
      throw new IllegalArgumentException("alpha = " + alpha + " is outside (0, 1]");
    }
    this.alpha = alpha;
  }

  /** Feeds one value. */
  public void accept(double x) {
    if (empty) {
      value = x;
      empty = false;
    } else {
      value += alpha * (x - value);
    }
  }

  /** The current average; NaN before the first value. */
  public double value() {
    return value;
  }

  /** True before the first value (and after {@link #clear()}). */
  public boolean isEmpty() {
    return empty;
  }

  /** The weight given at construction. */
  public double alpha() {
    return alpha;
  }

  /** Forgets every value: the average is then as after construction. */
  public void clear() {
    value = Double.NaN;
    empty = true;
  }

  @Override
  public String toString() {
    return "Ewma[alpha=" + alpha + ", value=" + value + "]";
  }
}

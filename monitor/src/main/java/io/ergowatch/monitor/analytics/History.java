package io.ergowatch.monitor.analytics;

/**
 * A downsampled recent history of one series for charts: at most {@code capacity} (step,
 * value) points spread over the whole run. When full it keeps every other point and doubles
 * its stride, so memory is fixed and the oldest part of the run stays visible.
 */
final class History {
  private final long[] steps;
  private final double[] values;
  private int size;
  private long stride = 1;
  private long seen;

  History(int capacity) {
    steps = new long[capacity];
    values = new double[capacity];
  }

  void add(long step, double value) {
    if (seen++ % stride != 0) {
      return;
    }
    if (size == steps.length) {
      for (int i = 0; i < size / 2; i++) {
        steps[i] = steps[2 * i];
        values[i] = values[2 * i];
      }
      size /= 2;
      stride *= 2;
      if ((seen - 1) % stride != 0) {
        return;
      }
    }
    steps[size] = step;
    values[size] = value;
    size++;
  }

  long[] steps() {
    return java.util.Arrays.copyOf(steps, size);
  }

  double[] values() {
    return java.util.Arrays.copyOf(values, size);
  }
}

package io.ergowatch.monitor.analytics;

/**
 * Per-series running statistics of the backbone: the last value, counts, and the ergodic
 * (Cesàro) mean since the current burn-in point (docs/math.md §4). Non-finite values are
 * data (they are the last value and are counted) but never enter the mean.
 */
final class SeriesAccumulator {
  final String name;
  double last = Double.NaN;
  long lastStep = -1;
  long count;
  long nonfinite;
  private long meanCount;
  private double mean;

  SeriesAccumulator(String name) {
    this.name = name;
  }

  void accept(long step, double value) {
    last = value;
    lastStep = step;
    count++;
    if (!Double.isFinite(value)) {
      nonfinite++;
      return;
    }
    meanCount++;
    mean += (value - mean) / meanCount;
  }

  /** Restarts the ergodic mean (a new burn-in point); last value and counts are kept. */
  void restartMean() {
    meanCount = 0;
    mean = 0;
  }

  /** The ergodic mean, NaN before the first finite value since the burn-in point. */
  double ergodicMean() {
    return meanCount == 0 ? Double.NaN : mean;
  }

  long ergodicCount() {
    return meanCount;
  }

  SeriesSnapshot snapshot() {
    return new SeriesSnapshot(name, last, lastStep, count, nonfinite, ergodicMean(), meanCount);
  }
}

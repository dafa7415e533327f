package io.ergowatch.monitor.analytics;

import io.ergowatch.monitor.analytics.stats.BatchMeans;
import io.ergowatch.monitor.analytics.stats.Ewma;

/**
 * Per-series running statistics at full resolution: the last value, counts, an EWMA, and the
 * ergodic (Cesàro) mean since the current burn-in point with its Monte-Carlo standard error
 * by batch means (docs/math.md §4). Non-finite values are data (they are the last value and
 * are counted) but never enter an estimator.
 */
final class SeriesAccumulator {
  static final double EWMA_ALPHA = 0.01;

  final String name;
  double last = Double.NaN;
  long lastStep = -1;
  long count;
  long nonfinite;
  private final BatchMeans ergodic = new BatchMeans();
  private final Ewma ewma = new Ewma(EWMA_ALPHA);

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
    ergodic.accept(value);
    ewma.accept(value);
  }

  /** Restarts the ergodic mean (a new burn-in point); last value, counts and EWMA are kept. */
  void restartMean() {
    ergodic.clear();
  }

  /** @param w the snapshot's column statistics, null before the first evaluation */
  SeriesSnapshot snapshot(ColumnStats w, int column, long[] historySteps, double[] historyValues) {
    boolean evaluated = w != null && column < w.columns;
    return new SeriesSnapshot(name, last, lastStep, count, nonfinite,
        ergodic.count() == 0 ? Double.NaN : ergodic.mean(), ergodic.stderr(), ergodic.count(), ewma.value(),
        evaluated ? w.n[column] : 0,
        evaluated ? w.mean[column] : Double.NaN,
        evaluated ? w.sd[column] : Double.NaN,
        evaluated ? w.quantiles[column].clone() : new double[0],
        evaluated ? w.drift[column] : Double.NaN,
        evaluated ? w.ess[column] : Double.NaN,
        evaluated ? w.gewekeZ[column] : Double.NaN,
        evaluated ? w.trendTs[column] : Double.NaN,
        historySteps, historyValues);
  }
}

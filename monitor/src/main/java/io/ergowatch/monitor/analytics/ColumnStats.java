package io.ergowatch.monitor.analytics;

import java.util.Arrays;

/**
 * Descriptive window statistics of every thinned column (derived columns first, then series),
 * built fresh for one snapshot: the verdict never reads them, and computing them only at scrape
 * time keeps an evaluation cheap without the snapshot writing any state of the core.
 */
final class ColumnStats {
  final int columns;
  final int[] n;
  final double[] mean;
  final double[] sd;
  final double[] ess;
  final double[] gewekeZ;
  final double[] trendTs;
  final double[] drift;
  final double[][] quantiles;

  ColumnStats(int columns) {
    this.columns = columns;
    n = new int[columns];
    mean = nan(columns);
    sd = nan(columns);
    ess = nan(columns);
    gewekeZ = nan(columns);
    trendTs = nan(columns);
    drift = nan(columns);
    quantiles = new double[columns][];
    for (int i = 0; i < columns; i++) {
      quantiles[i] = nan(WindowStats.QUANTILES.length);
    }
  }

  private static double[] nan(int c) {
    double[] a = new double[c];
    Arrays.fill(a, Double.NaN);
    return a;
  }
}

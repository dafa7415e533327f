package io.ergowatch.monitor.analytics;

import java.util.Arrays;

/**
 * The statistics of the latest evaluation of a run's window. Mutable and reused on purpose:
 * an evaluation happens every max(⌊W/10⌋, 20) records on the lane thread, and rebuilding an
 * object graph each time would make the core allocate in steady state. Snapshots copy it
 * into immutable records.
 */
final class WindowStats {
  static final double[] QUANTILES = {0.05, 0.25, 0.5, 0.75, 0.95};

  long evaluations;
  /** The evaluation the descriptive statistics were last computed for. */
  long describedAt = -1;
  long atStep;
  long atRecord;
  int window;
  double tau = Double.NaN;
  boolean windowTooShort;
  int stride = 1;

  int lossN;
  double lossMean = Double.NaN;
  double lossSd = Double.NaN;
  double lossMin = Double.NaN;
  double lossMax = Double.NaN;
  double lossEss = Double.NaN;
  double geweke = Double.NaN;
  double trendSlope = Double.NaN;
  double trendT = Double.NaN;
  double delta = Double.NaN;
  double falt = Double.NaN;
  boolean degenerate;
  boolean flat;
  boolean lossStationary;

  // Per column of the thinned window (derived columns first, then series).
  int columns;
  int[] n = new int[0];
  double[] mean = new double[0];
  double[] sd = new double[0];
  double[] ess = new double[0];
  double[] gewekeZ = new double[0];
  double[] trendTs = new double[0];
  double[] drift = new double[0];
  double[][] quantiles = new double[0][];

  double pi = Double.NaN;
  int piN;
  double kappa = Double.NaN;
  double r2 = Double.NaN;
  int oscN;

  double rsiEmaQ05 = Double.NaN;
  double rsiEmaQ50 = Double.NaN;
  double ebEmaQ50 = Double.NaN;
  double ebEmaQ95 = Double.NaN;
  double gammaEma = Double.NaN;
  double rsiRefQ05 = Double.NaN;
  double rsiRefQ50 = Double.NaN;
  double ebRefQ50 = Double.NaN;
  double ebRefQ95 = Double.NaN;
  double gammaRef = Double.NaN;
  double etaStarEma = Double.NaN;
  double etaStarRef = Double.NaN;
  double muHat = Double.NaN;
  double lHat = Double.NaN;
  double lrSafe = Double.NaN;
  double lrRatio = Double.NaN;
  String geometryReference = "";

  boolean signalIdentified;
  double signal = Double.NaN;
  double signalStderr = Double.NaN;
  double noiseScale = Double.NaN;
  double batchNoise = Double.NaN;

  boolean energyObserved;
  boolean updatesObserved;
  double energy = Double.NaN;
  double energyMax = Double.NaN;
  boolean converged;

  boolean projectionsObserved;
  double sw = Double.NaN;
  double swNull = Double.NaN;
  boolean weightsDrift;

  double sharpnessRatio = Double.NaN;
  int sharpnessHighRun;
  boolean sharpnessTrendUp;

  void ensureColumns(int c) {
    if (c > n.length) {
      int old = n.length;
      n = Arrays.copyOf(n, c);
      mean = grow(mean, c);
      sd = grow(sd, c);
      ess = grow(ess, c);
      gewekeZ = grow(gewekeZ, c);
      trendTs = grow(trendTs, c);
      drift = grow(drift, c);
      quantiles = Arrays.copyOf(quantiles, c);
      for (int i = old; i < c; i++) {
        quantiles[i] = new double[QUANTILES.length];
        Arrays.fill(quantiles[i], Double.NaN);
      }
    }
    columns = Math.max(columns, c);
  }

  private static double[] grow(double[] a, int c) {
    int old = a.length;
    double[] b = Arrays.copyOf(a, c);
    Arrays.fill(b, old, c, Double.NaN);
    return b;
  }
}

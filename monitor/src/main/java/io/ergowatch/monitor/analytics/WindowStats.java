package io.ergowatch.monitor.analytics;

/**
 * The statistics and tests of the latest evaluation of a run's window. Mutable and reused on
 * purpose: an evaluation happens every max(⌊W/10⌋, 20) records on the lane thread, and rebuilding
 * an object graph each time would make the core allocate in steady state. Written only by an
 * evaluation; snapshots copy it into immutable records and never write it.
 */
final class WindowStats {
  static final double[] QUANTILES = {0.05, 0.25, 0.5, 0.75, 0.95};

  long evaluations;
  long atStep;
  long atRecord;
  /** The window W the last τ̂ asks for (records). */
  int window;
  /** The records the window actually covers: W, or fewer since the evidence restarted. */
  int windowRecords;
  /** Records the geometry statistics span (the window's, or more over blocks: RunCore#geometrySpan). */
  int geometryRecords;
  double tau = Double.NaN;
  boolean windowTooShort;
  int stride = 1;

  int lossN;
  double lossMean = Double.NaN;
  double lossMedian = Double.NaN;
  double lossSd = Double.NaN;
  double lossMin = Double.NaN;
  double lossMax = Double.NaN;
  double lossEss = Double.NaN;
  double geweke = Double.NaN;
  double trendSlope = Double.NaN;
  double trendT = Double.NaN;
  double delta = Double.NaN;
  double deltaStderr = Double.NaN;
  double falt = Double.NaN;
  int faltPairs;
  boolean degenerate;
  boolean flat;
  /** No significant progress at the leaving level (reported as loss_stationary). */
  boolean lossStationary;
  /** No significant progress at the entering level. */
  boolean lossNoProgress;
  final Check lossCheck = new Check("loss_progress");

  final Check piCheck = new Check("stationarity_ratio");
  int piN;
  double kappa = Double.NaN;
  final Check oscillationCheck = new Check("oscillation");
  int oscN;

  double rsiPooledEma = Double.NaN;
  double ebPooledEma = Double.NaN;
  double rsiPooledRef = Double.NaN;
  double ebPooledRef = Double.NaN;

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
  double projectionEss = Double.NaN;
  final Check driftCheck = new Check("weights_drift");
  /** The threshold the drift statistic is judged against (settings, copied for snapshots). */
  double driftThreshold = Double.NaN;

  double sharpnessRatio = Double.NaN;
  int sharpnessHighRun;
  boolean sharpnessTrendUp;

  /** The learning rate fell by more than burn-in-lr-change within the window: a decay phase. */
  boolean lrDecaying;
  double lrFrom = Double.NaN;
  double lrTo = Double.NaN;

  /** The run's loss has not fallen below its first window and the step is far too large. */
  boolean neverLearned;
  double firstWindowLoss = Double.NaN;
  double weightGrowth = Double.NaN;
  boolean earlyBlowUp;
  double lrRatio = Double.NaN;
  double lrSafe = Double.NaN;

  double forecast = Double.NaN;
  double forecastStderr = Double.NaN;
  double forecastExcess = Double.NaN;

  Check[] checks() {
    return new Check[] {lossCheck, piCheck, driftCheck, oscillationCheck};
  }
}

package io.ergowatch.monitor.analytics;

import java.util.Arrays;

/**
 * Statistics of one series of a run at snapshot time.
 *
 * @param last the latest value (NaN/Inf kept as sent)
 * @param lastStep the step that carried it, -1 if none yet
 * @param count values received
 * @param nonfinite of which NaN or ±Inf
 * @param ergodicMean Cesàro mean of the finite values since the burn-in point; NaN if none
 * @param ergodicStderr its Monte-Carlo standard error (batch means); NaN while too short
 * @param ergodicCount values in that mean
 * @param ewma exponentially weighted mean (α = 0.01)
 * @param windowSamples thinned samples in the current window
 * @param windowMean mean over the window
 * @param windowSd standard deviation over the window
 * @param windowQuantiles the window's quantiles at {@link #QUANTILES} (DDSketch, 1% relative accuracy)
 * @param drift W₁(previous window, current) / sd of the current window
 * @param ess effective sample size of the window
 * @param gewekeZ Geweke z of the window
 * @param trendT HAC t of the window's OLS slope
 * @param historySteps downsampled recent history: steps
 * @param historyValues downsampled recent history: values (empty for series without history)
 */
public record SeriesSnapshot(
    String name, double last, long lastStep, long count, long nonfinite,
    double ergodicMean, double ergodicStderr, long ergodicCount, double ewma,
    int windowSamples, double windowMean, double windowSd, double[] windowQuantiles, double drift, double ess,
    double gewekeZ, double trendT, long[] historySteps, double[] historyValues) {

  /** The quantile levels of {@link #windowQuantiles}. */
  public static final double[] QUANTILES = WindowStats.QUANTILES.clone();

  public SeriesSnapshot {
    windowQuantiles = windowQuantiles.clone();
    historySteps = historySteps.clone();
    historyValues = historyValues.clone();
  }

  @Override
  public double[] windowQuantiles() {
    return windowQuantiles.clone();
  }

  @Override
  public long[] historySteps() {
    return historySteps.clone();
  }

  @Override
  public double[] historyValues() {
    return historyValues.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SeriesSnapshot s && name.equals(s.name) && Double.compare(last, s.last) == 0
        && count == s.count && Arrays.equals(windowQuantiles, s.windowQuantiles);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Long.hashCode(count);
  }
}

package io.ergowatch.monitor.analytics;

/**
 * Statistics of one series of a run at snapshot time.
 *
 * @param last the latest value (NaN/Inf kept as sent)
 * @param lastStep the step that carried it, -1 if none yet
 * @param count values received
 * @param nonfinite of which NaN or ±Inf
 * @param ergodicMean Cesàro mean of the finite values since the burn-in point; NaN if none
 * @param ergodicCount values in that mean
 */
public record SeriesSnapshot(
    String name, double last, long lastStep, long count, long nonfinite,
    double ergodicMean, long ergodicCount) {}

package io.ergowatch.monitor.analytics;

/**
 * The result of one verdict test at the latest evaluation, immutable (docs/math.md §5).
 *
 * @param test the test's name: loss_progress, stationarity_ratio, weights_drift, oscillation, …
 * @param estimate the statistic
 * @param stderr its standard error (from the evaluation's one τ̂ or its block sums)
 * @param low lower end of its confidence interval at the test's level
 * @param high upper end
 * @param outcome holds, fails, inconclusive or unavailable
 */
public record Evidence(String test, double estimate, double stderr, double low, double high, String outcome) {}

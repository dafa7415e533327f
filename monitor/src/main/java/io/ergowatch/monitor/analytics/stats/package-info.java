/**
 * Pure statistics routines for the per-run analytics engine ({@code io.ergowatch.monitor.analytics}):
 * the estimators of docs/math.md §4, each tested against the closed forms of docs/math.md §6.
 *
 * <p>Public surface, one idea per class:
 * <ul>
 *   <li>{@link io.ergowatch.monitor.analytics.stats.Autocorrelation} — integrated
 *       autocorrelation time τ̂ (Geyer's initial positive and monotone sequence);
 *   <li>{@link io.ergowatch.monitor.analytics.stats.Geweke} — z between the first 10% and the
 *       last 50% of a window, with the window's τ̂;
 *   <li>{@link io.ergowatch.monitor.analytics.stats.Trend} — OLS slope with its Newey–West
 *       standard error, the HAC lag rule, and the reusable {@code Trend.Result};
 *   <li>{@link io.ergowatch.monitor.analytics.stats.MannKendall} — rank trend test with the tie
 *       correction;
 *   <li>{@link io.ergowatch.monitor.analytics.stats.SplitRhat} — basic split-R̂ across runs;
 *   <li>{@link io.ergowatch.monitor.analytics.stats.Wasserstein} — W₂² of two samples (the
 *       building block of sliced W₂) and W₁ of two DDSketches;
 *   <li>{@link io.ergowatch.monitor.analytics.stats.BatchMeans} — streaming standard error of a
 *       running mean;
 *   <li>{@link io.ergowatch.monitor.analytics.stats.Quantiles} — quickselect and the type-7
 *       quantile;
 *   <li>{@link io.ergowatch.monitor.analytics.stats.Ewma} — exponentially weighted average.
 * </ul>
 * Package-private helpers: {@code DoubleSort} (allocation-free introsort/introselect),
 * {@code Moments} (two-pass mean and sum of squares, exact on constant ranges), {@code Checks}.
 *
 * <p>Contract shared by every routine:
 * <ul>
 *   <li><b>Pure and deterministic</b>: no state outside the arguments (the two estimator classes
 *       hold only their own), no randomness, no clock, the same bits for the same input.
 *   <li><b>Allocation-free on the hot path</b>: windows come as {@code double[]} with an explicit
 *       length n (only {@code [0, n)} is read; the rest of the array may hold anything), and
 *       whatever must be copied goes into a scratch array the caller allocated once. Inputs are
 *       never modified, except by {@link io.ergowatch.monitor.analytics.stats.Quantiles#select},
 *       which selects in place. The two exceptions are said where they are:
 *       {@code MannKendall.test} returns a small record and {@code Wasserstein.w1FromSketches}
 *       iterates DDSketch bins.
 *   <li><b>Degenerate input is an answer, not an exception</b>: too few values, zero variance
 *       and NaN each give a documented value (usually NaN; 1.0 for τ̂ of a constant window;
 *       0 or ±Infinity for exact fits). Data never makes a routine throw; only a broken
 *       contract does (n beyond the array, a scratch too short, a parameter outside its domain),
 *       with an {@link java.lang.IllegalArgumentException} naming the bad value.
 *   <li><b>NaN is never hidden</b>: a NaN read gives NaN (never 0), as everywhere in ergowatch.
 *       The engine itself keeps non-finite values out of its estimators (docs/math.md §4).
 *   <li>Not thread-safe where there is state ({@code BatchMeans}, {@code Ewma},
 *       {@code Trend.Result}): one per series, owned by the run's core.
 * </ul>
 */
package io.ergowatch.monitor.analytics.stats;

package io.ergowatch.monitor.analytics;

/**
 * Thresholds of the analytics, with the defaults of docs/math.md §4–§5 (derived or calibrated
 * there, each with the stream it was calibrated on). Immutable; {@link #validate()} names the
 * first bad one.
 *
 * @param warmupSteps records before any verdict but DIVERGED (200)
 * @param windowMin smallest window W in records (200)
 * @param windowMax largest window W in records (16384)
 * @param windowAgeDivisor W is at least the records since the evidence restarted divided by
 *     this (8): a fixed window loses power as a run ages (slow power-law progress looks flat
 *     over 200 steps of a 100 000-step run)
 * @param essMin effective sample size a window needs before its loss test is trusted (50)
 * @param zEnter normal quantile of the tests that enter a stationary state (1.645: one-sided 5%)
 * @param zLeave normal quantile of the tests that leave one (2.576)
 * @param gewekeMax |Geweke z| at or above which the window's start and end differ (4)
 * @param trendDelta relative progress per window that matters, δ_min (0.01)
 * @param degenerateSpread a window whose sd is below this × |mean| is degenerate (1e-12)
 * @param flatRange a loss whose window range is ≤ this × its peak is stationary (1e-9)
 * @param convergedRatio window mean of ‖u‖² ≤ this × its largest so far means the weights stopped (1e-6)
 * @param piLow lower end of Π's band for "weights stationary in law" (0.8)
 * @param piHigh upper end of Π's band (1.2)
 * @param kappaMax median κ below this (with R2 below r2Max) is oscillation (−0.5)
 * @param r2Max R2 below this (with κ) is oscillation (0.3)
 * @param faltMin fraction of Δloss sign changes above which a run without update series oscillates (0.8)
 * @param sharpnessHigh sharpness ratio above this for 3 estimates is UNSTABLE (1.1)
 * @param driftThreshold the sliced-W statistic T above which the weights drift (9: its null's 99th percentile)
 * @param driftHold T below which they do not (5: its null's 90th percentile)
 * @param enterWindows disjoint windows in a row that must agree to enter a state (2)
 * @param leaveWindows disjoint windows in a row that must agree to leave CONVERGED or STALLED (3)
 * @param nilUpdate an update with ‖u‖² below this × max(‖w‖², 1) is numerically nil (1e-24)
 * @param divergenceWindow losses in each of the DIVERGED rule's four block medians (50)
 * @param divergenceFactor how many times the best window median counts as blown up (10)
 * @param divergenceChecks consecutive checks of rising block medians the DIVERGED rule needs (2)
 * @param divergenceEvery records between checks of the DIVERGED rule (20)
 * @param spikeFactor a loss above this × the window's largest starts a spike event (3)
 * @param burnInLrChange relative lr change that restarts the ergodic means and the evidence (0.10)
 * @param lrRatioUnstable η / η_safe above which a run that never learned is UNSTABLE (10)
 * @param historyPoints points kept per series for the downsampled recent history (256)
 */
public record AnalyticsSettings(
    int warmupSteps,
    int windowMin,
    int windowMax,
    int windowAgeDivisor,
    double essMin,
    double zEnter,
    double zLeave,
    double gewekeMax,
    double trendDelta,
    double degenerateSpread,
    double flatRange,
    double convergedRatio,
    double piLow,
    double piHigh,
    double kappaMax,
    double r2Max,
    double faltMin,
    double sharpnessHigh,
    double driftThreshold,
    double driftHold,
    int enterWindows,
    int leaveWindows,
    double nilUpdate,
    int divergenceWindow,
    double divergenceFactor,
    int divergenceChecks,
    int divergenceEvery,
    double spikeFactor,
    double burnInLrChange,
    double lrRatioUnstable,
    int historyPoints) {

  public static AnalyticsSettings defaults() {
    return new AnalyticsSettings(200, 200, 16384, 8, 50, 1.645, 2.576, 4, 0.01, 1e-12, 1e-9, 1e-6, 0.8, 1.2, -0.5,
        0.3, 0.8, 1.1, 9, 5, 2, 3, 1e-24, 50, 10.0, 2, 20, 3, 0.10, 10, 256);
  }

  /**
   * Records between two verdict evaluations for a window of {@code w} records: max(⌊W/10⌋, 20),
   * rounded down to whole blocks of the window sums.
   */
  public int evaluateEvery(int w) {
    int every = Math.max(w / 10, 20);
    return Math.max(BlockSums.BLOCK, every / BlockSums.BLOCK * BlockSums.BLOCK);
  }

  /** @throws IllegalArgumentException naming the first setting out of range */
  public AnalyticsSettings validate() {
    require(warmupSteps >= 0, "warmup-steps", warmupSteps);
    require(windowMin >= 20, "window-min", windowMin);
    require(windowMax >= windowMin && windowMax <= 1 << 20, "window-max", windowMax);
    require(windowAgeDivisor >= 1, "window-age-divisor", windowAgeDivisor);
    require(essMin > 0, "ess-min", essMin);
    require(zEnter > 0, "z-enter", zEnter);
    require(zLeave > 0, "z-leave", zLeave);
    require(piLow < piHigh, "pi-low", piLow);
    require(driftHold <= driftThreshold, "drift-hold", driftHold);
    require(enterWindows >= 1, "enter-windows", enterWindows);
    require(leaveWindows >= 1, "leave-windows", leaveWindows);
    require(divergenceWindow >= 3, "divergence-window", divergenceWindow);
    require(divergenceFactor > 1, "divergence-factor", divergenceFactor);
    require(divergenceChecks >= 1, "divergence-checks", divergenceChecks);
    require(divergenceEvery >= 1, "divergence-every", divergenceEvery);
    require(spikeFactor > 1, "spike-factor", spikeFactor);
    require(historyPoints >= 8, "history-points", historyPoints);
    return this;
  }

  private static void require(boolean ok, String key, Object value) {
    if (!ok) {
      throw new IllegalArgumentException("config key 'analytics." + key + "' = " + value + " is out of range");
    }
  }
}

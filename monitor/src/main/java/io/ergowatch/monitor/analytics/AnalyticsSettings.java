package io.ergowatch.monitor.analytics;

/**
 * Thresholds of the analytics, with the defaults of docs/math.md §4–§5 (calibrated on §6).
 * Immutable; {@link #validate()} names the first bad one.
 *
 * @param warmupSteps records before any verdict but DIVERGED (200)
 * @param windowMin smallest window W in records (200)
 * @param windowMax largest window W in records (16384)
 * @param essMin effective sample size a window needs for "loss stationary" (50)
 * @param gewekeMax |Geweke z| below which the window's start and end agree (2)
 * @param trendT HAC t of the loss slope below −trendT is a significant downward trend (2)
 * @param trendDelta relative progress per window that matters (0.01)
 * @param degenerateSpread a window whose sd is below this × |mean| is degenerate (1e-12)
 * @param flatRange a loss whose window range is ≤ this × its peak is stationary (1e-9)
 * @param convergedRatio window mean of ‖u‖² ≤ this × its largest so far means the weights stopped (1e-6)
 * @param piLow lower bound of Π for "weights stationary in law" (0.8)
 * @param piHigh upper bound of Π (1.2)
 * @param kappaMax median κ below this (with R2 below r2Max) is oscillation (−0.5)
 * @param r2Max R2 below this (with κ) is oscillation (0.3)
 * @param faltMin fraction of Δloss sign changes above which a run without update series oscillates (0.8)
 * @param sharpnessHigh sharpness ratio above this for 3 estimates is UNSTABLE (1.1)
 * @param driftMargin sliced-W drift counts only above this × its split-window null (1.5)
 * @param enterEvaluations consecutive evaluations that must agree to enter a state (3)
 * @param leaveStationaryEvaluations consecutive evaluations that must agree to leave CONVERGED or STALLED (5)
 * @param nilUpdate an update with ‖u‖² below this × max(‖w‖², 1) is numerically nil (1e-24)
 * @param divergenceWindow losses in the median of the DIVERGED rule (200)
 * @param divergenceFactor how many times the best median counts as blown up (10)
 * @param divergenceEvaluations consecutive evaluations needed (3)
 * @param divergenceEvery records between evaluations of the DIVERGED median rule (20)
 * @param burnInLrChange relative lr change that restarts the ergodic means (0.10)
 * @param historyPoints points kept per series for the downsampled recent history (256)
 */
public record AnalyticsSettings(
    int warmupSteps,
    int windowMin,
    int windowMax,
    double essMin,
    double gewekeMax,
    double trendT,
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
    double driftMargin,
    int enterEvaluations,
    int leaveStationaryEvaluations,
    double nilUpdate,
    int divergenceWindow,
    double divergenceFactor,
    int divergenceEvaluations,
    int divergenceEvery,
    double burnInLrChange,
    int historyPoints) {

  public static AnalyticsSettings defaults() {
    return new AnalyticsSettings(200, 200, 16384, 50, 2, 2, 0.01, 1e-12, 1e-9, 1e-6, 0.8, 1.2, -0.5, 0.3,
        0.8, 1.1, 1.5, 3, 5, 1e-24, 200, 10.0, 3, 20, 0.10, 256);
  }

  /** Records between two verdict evaluations for a window of {@code w} records: max(⌊W/10⌋, 20). */
  public int evaluateEvery(int w) {
    return Math.max(w / 10, 20);
  }

  /** @throws IllegalArgumentException naming the first setting out of range */
  public AnalyticsSettings validate() {
    require(warmupSteps >= 0, "warmup-steps", warmupSteps);
    require(windowMin >= 20, "window-min", windowMin);
    require(windowMax >= windowMin && windowMax <= 1 << 20, "window-max", windowMax);
    require(essMin > 0, "ess-min", essMin);
    require(piLow < piHigh, "pi-low", piLow);
    require(enterEvaluations >= 1, "enter-evaluations", enterEvaluations);
    require(leaveStationaryEvaluations >= 1, "leave-stationary-evaluations", leaveStationaryEvaluations);
    require(divergenceWindow >= 3, "divergence-window", divergenceWindow);
    require(divergenceFactor > 1, "divergence-factor", divergenceFactor);
    require(historyPoints >= 8, "history-points", historyPoints);
    return this;
  }

  private static void require(boolean ok, String key, Object value) {
    if (!ok) {
      throw new IllegalArgumentException("config key 'analytics." + key + "' = " + value + " is out of range");
    }
  }
}

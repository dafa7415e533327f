package io.ergowatch.monitor.analytics;

/**
 * Where a run started, for the "never learned" rule of docs/math.md §5: a run whose loss never
 * fell below where it started while the step is far too large is UNSTABLE, never STALLED.
 *
 * <p>Where it started: its first loss, measured before the first step (SGD at lr 5 on an MLP on
 * digits: 2.30, 2.31, 2.81, 3.95, 40.4, 28.2, 16.8, 149 …, then 2.33 for good; at lr 50: 2.31,
 * 35.4, 8 541, 65 014, …, then 15–20). Too large: the loss blew up to 10× that within the first
 * window, or ‖w‖² grew 10-fold (lr 2 and 5 on that MLP: 12× and 255×; a healthy run 3.7×), or
 * η ≥ lr-ratio-unstable × a finite η_safe. Why not η_safe alone: μ̂ = the 5th percentile of RSI is
 * ≤ 0 on healthy noisy runs too, which makes lr_ratio +∞. A run that starts at its noise floor (a
 * fine-tune) shows none of these and stalls as it should.
 */
final class RunStart {
  private final AnalyticsSettings s;
  private double initialLoss = Double.NaN;
  private double earlyLossMax = Double.NEGATIVE_INFINITY;
  private double initialWeightSq = Double.NaN;

  RunStart(AnalyticsSettings settings) {
    this.s = settings;
  }

  /** Record {@code rec}'s finite loss. */
  void loss(long rec, double loss) {
    if (Double.isNaN(initialLoss)) {
      initialLoss = loss;
    }
    if (rec <= s.windowMin()) {
      earlyLossMax = Math.max(earlyLossMax, loss);
    }
  }

  /** A record's ‖w‖² (the first finite positive one is kept). */
  void weightSq(double ws) {
    if (Double.isNaN(initialWeightSq) && ws > 0 && Double.isFinite(ws)) {
      initialWeightSq = ws;
    }
  }

  /** Judges the evaluation {@code w} with the latest ‖w‖²; fills its never-learned fields. */
  void judge(WindowStats w, double weightSqNow) {
    w.firstWindowLoss = initialLoss;
    w.weightGrowth = weightSqNow / initialWeightSq;
    w.earlyBlowUp = earlyLossMax >= 10 * initialLoss;
    boolean tooLarge = w.earlyBlowUp || w.weightGrowth >= 10
        || Double.isFinite(w.lrRatio) && w.lrRatio >= s.lrRatioUnstable();
    w.neverLearned = !w.lrDecaying && w.lossN >= s.windowMin() && initialLoss > 0
        && w.lossMedian >= initialLoss * (1 - s.trendDelta()) && tooLarge;
  }
}

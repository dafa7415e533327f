package io.ergowatch.monitor.analytics;

/**
 * The checks of an evaluation that read the thinned window's quantiles rather than its sums:
 * the oscillation test and the safe step size (docs/math.md §4). Allocation-free.
 */
final class WindowChecks {
  private final AnalyticsSettings settings;
  private final WindowEvaluator evaluator;
  private final ThinnedWindow thinned;
  private final double[] pair = new double[2];

  WindowChecks(AnalyticsSettings settings, WindowEvaluator evaluator, ThinnedWindow thinned) {
    this.settings = settings;
    this.evaluator = evaluator;
    this.thinned = thinned;
  }

  /** The oscillation test: κ below kappa-max and R2's interval below r2-max (math.md §4). */
  void oscillation(WindowStats w) {
    Check c = w.oscillationCheck;
    if (w.updatesObserved) {
      if (!c.available()) {
        return;
      }
      double zL = settings.zLeave();
      if (w.kappa < settings.kappaMax() && c.high < settings.r2Max()) {
        c.outcome = Check.Outcome.HOLDS;
      } else if (!(w.kappa < settings.kappaMax()) || c.estimate - zL * c.stderr > settings.r2Max()) {
        c.outcome = Check.Outcome.FAILS;
      } else {
        c.outcome = Check.Outcome.INCONCLUSIVE;
      }
      return;
    }
    // Runs without update series: the fraction of sign changes of Δloss, binomial standard error.
    if (w.faltPairs < 20 || !Double.isFinite(w.falt)) {
      c.unavailable();
      return;
    }
    c.estimate(w.falt, Math.sqrt(w.falt * (1 - w.falt) / w.faltPairs), settings.zEnter());
    boolean notDown = !(w.trendT < -settings.zEnter());
    if (c.low > settings.faltMin() && notDown) {
      c.outcome = Check.Outcome.HOLDS;
    } else if (c.estimate + settings.zLeave() * c.stderr < settings.faltMin()) {
      c.outcome = Check.Outcome.FAILS;
    } else {
      c.outcome = Check.Outcome.INCONCLUSIVE;
    }
  }

  /**
   * η_safe = 2μ̂/L̂² (math.md §4) from the lagged reference where the run sends one (exact),
   * else from the EMA centre, and η / η_safe.
   */
  void safeStep(WindowStats w, long rec, int covered, double lr) {
    double[] q = pair;
    double mu;
    double l;
    evaluator.quantiles(thinned, Derived.RSI_REF, rec, covered, 0.05, 0.5, q);
    double refMu = q[0];
    evaluator.quantiles(thinned, Derived.EB_REF, rec, covered, 0.5, 0.95, q);
    double refL = q[1];
    if (Double.isFinite(refMu) && Double.isFinite(refL)) {
      mu = refMu;
      l = refL;
    } else {
      evaluator.quantiles(thinned, Derived.RSI_EMA, rec, covered, 0.05, 0.5, q);
      mu = q[0];
      evaluator.quantiles(thinned, Derived.EB_EMA, rec, covered, 0.5, 0.95, q);
      l = q[1];
    }
    if (Double.isFinite(mu) && l > 0) {
      // μ̂ ≤ 0: along this path no step size is guaranteed to contract (lr_safe 0, ratio +Inf).
      w.lrSafe = Math.max(0, 2 * mu / (l * l));
      w.lrRatio = lr / w.lrSafe;
    } else {
      w.lrSafe = Double.NaN;
      w.lrRatio = Double.NaN;
    }
  }
}

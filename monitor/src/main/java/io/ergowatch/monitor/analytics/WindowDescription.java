package io.ergowatch.monitor.analytics;

/**
 * The descriptive geometry of the latest window that no verdict rule reads (math.md §1–§4: the
 * RSI/EB quantiles, γ and η* per reference), computed for a snapshot into a fresh object: a
 * snapshot never writes the core's state.
 */
final class WindowDescription {
  double[] rsiEma = {Double.NaN, Double.NaN};
  double[] ebEma = {Double.NaN, Double.NaN};
  double gammaEma = Double.NaN;
  double[] rsiRef = {Double.NaN, Double.NaN};
  double[] ebRef = {Double.NaN, Double.NaN};
  double gammaRef = Double.NaN;
  double etaStarEma = Double.NaN;
  double etaStarRef = Double.NaN;
  /** Which reference lr_safe comes from: "lagged" (exact), "ema" (online), or "". */
  String reference = "";

  /** Describes the window (now − window, now] of the thinned rows; empty before any evaluation. */
  static WindowDescription of(WindowEvaluator evaluator, ThinnedWindow thinned, WindowStats w) {
    WindowDescription d = new WindowDescription();
    if (w.evaluations == 0) {
      return d;
    }
    long now = w.atRecord;
    int win = w.windowRecords;
    evaluator.quantiles(thinned, Derived.RSI_EMA, now, win, 0.05, 0.5, d.rsiEma);
    evaluator.quantiles(thinned, Derived.EB_EMA, now, win, 0.5, 0.95, d.ebEma);
    d.gammaEma = evaluator.quantile(thinned, Derived.GAMMA_EMA, now, win, 0.5);
    evaluator.quantiles(thinned, Derived.RSI_REF, now, win, 0.05, 0.5, d.rsiRef);
    evaluator.quantiles(thinned, Derived.EB_REF, now, win, 0.5, 0.95, d.ebRef);
    d.gammaRef = evaluator.quantile(thinned, Derived.GAMMA_REF, now, win, 0.5);
    d.etaStarEma = evaluator.quantile(thinned, Derived.ETA_STAR_EMA, now, win, 0.5);
    d.etaStarRef = evaluator.quantile(thinned, Derived.ETA_STAR_REF, now, win, 0.5);
    d.reference = Double.isFinite(d.rsiRef[0]) && Double.isFinite(d.ebRef[1]) ? "lagged"
        : Double.isFinite(d.rsiEma[0]) && Double.isFinite(d.ebEma[1]) ? "ema" : "";
    return d;
  }
}

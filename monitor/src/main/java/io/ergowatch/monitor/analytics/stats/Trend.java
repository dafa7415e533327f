package io.ergowatch.monitor.analytics.stats;

/**
 * The linear trend of a window (docs/math.md §4): the OLS slope of x on t = 0..n−1 and its
 * Newey–West (Bartlett kernel) heteroskedasticity- and autocorrelation-consistent standard
 * error, t = slope / se. The engine calls a loss stationary only without a significant
 * downward trend (HAC t &gt; −2) or with one too small to matter (δ = −slope·W/|mean| &lt; 0.01).
 *
 * <pre>{@code
 * Trend.Result trend = new Trend.Result();                  // once per series, reused
 * Trend.fit(loss, n, Trend.lag(n, tau), trend);             // no allocation
 * double delta = -trend.slope() * n / Math.abs(trend.mean());
 * boolean downward = trend.t() < -2 && delta >= 0.01;
 * }</pre>
 *
 * <p>Never allocates; data never makes it throw. Cost O(n·(lag + 1)).
 */
public final class Trend {
  private Trend() {}

  /**
   * The HAC lag of docs/math.md §4: max(⌊4·(n/100)^{2/9}⌋, ⌈2τ⌉). The textbook lag alone is far
   * below τ for training losses and inflates t. A NaN τ contributes nothing (the textbook lag
   * is returned); the result is not capped at n − 1 ({@link #fit} clamps).
   */
  public static int lag(int n, double tau) {
    int textbook = (int) Math.floor(4.0 * Math.pow(n / 100.0, 2.0 / 9.0));
    int fromTau = (int) Math.ceil(2.0 * tau); // NaN -> 0, +Inf -> Integer.MAX_VALUE
    return Math.max(textbook, fromTau);
  }

  /**
   * Fits {@code x[0..n)} against t = 0..n−1 into {@code out}.
   *
   * <p>With h_t = t − (n−1)/2, S_tt = Σ h_t² = n(n²−1)/12, the slope b = Σ h_t (x_t − x̄) / S_tt
   * and the residuals e_t = x_t − x̄ − b·h_t, the Newey–West variance of b with lag L is
   *
   * <pre>
   *   Var(b) = n/(n−2) · [ Σ_t v_t² + 2 Σ_{l=1..L} (1 − l/(L+1)) Σ_{t≥l} v_t v_{t−l} ] / S_tt²,
   *   v_t = h_t e_t.
   * </pre>
   *
   * The factor n/(n−2) is the small-sample correction for two fitted parameters (Stata's
   * {@code newey}; HC1 at L = 0). With it, L = 0 gives White's HC1 standard error, which equals
   * the plain OLS formula √(Σe²/(n−2) / S_tt) when the residuals have equal magnitudes, and
   * approaches it under homoskedasticity; for L &gt; 0 the Bartlett weights keep the variance
   * non-negative.
   *
   * <p>Degenerate input, documented: n = 0 gives all NaN; n = 1 gives the mean and NaN
   * otherwise; n = 2 gives mean and slope and a NaN se and t (no residual degree of freedom).
   * An exact fit (se = 0) gives t = 0 for a zero slope (a constant window: no trend) and
   * ±Infinity otherwise. The lag is clamped to [0, n−1]. A NaN in x gives NaN everywhere.
   *
   * @throws IllegalArgumentException if n does not fit x
   */
  public static void fit(double[] x, int n, int lag, Result out) {
    Checks.length(x, n, "x");
    out.mean = Moments.mean(x, 0, n);
    out.slope = Double.NaN;
    out.se = Double.NaN;
    out.t = Double.NaN;
    if (n < 2) {
      return;
    }
    double mean = out.mean;
    double tBar = (n - 1) / 2.0;
    double stt = n * ((double) n * n - 1.0) / 12.0;
    double sxy = 0;
    for (int i = 0; i < n; i++) {
      sxy += (i - tBar) * (x[i] - mean);
    }
    double slope = sxy / stt;
    out.slope = slope;
    if (n < 3) {
      return;
    }
    int maxLag = Math.max(0, Math.min(lag, n - 1));
    // v_t = h_t·e_t is recomputed in each lag pass rather than stored: no scratch in the
    // signature, and the few flops are cheap next to the memory traffic a buffer would cost.
    double s = 0;
    for (int i = 0; i < n; i++) {
      double v = score(x[i], i - tBar, mean, slope);
      s += v * v;
    }
    double cross = 0;
    for (int l = 1; l <= maxLag; l++) {
      double sl = 0;
      for (int i = l; i < n; i++) {
        sl += score(x[i], i - tBar, mean, slope) * score(x[i - l], i - l - tBar, mean, slope);
      }
      cross += (1.0 - l / (maxLag + 1.0)) * sl;
    }
    double variance = (n / (n - 2.0)) * (s + 2.0 * cross) / (stt * stt);
    // Bartlett weights make the sum non-negative in exact arithmetic; rounding may not.
    // (Math.max keeps a NaN.)
    double se = Math.sqrt(Math.max(0.0, variance));
    out.se = se;
    if (se == 0) {
      out.t = slope == 0 ? 0.0 : Math.copySign(Double.POSITIVE_INFINITY, slope);
    } else {
      out.t = slope / se;
    }
  }

  private static double score(double x, double h, double mean, double slope) {
    return h * (x - mean - slope * h);
  }

  /**
   * The result of {@link #fit}: slope, HAC standard error, t and the window mean. Mutable on
   * purpose: the analytics core keeps one per series and refits it at every evaluation, so an
   * evaluation allocates nothing (an immutable record per fit would be garbage every few
   * steps on every run). Written only by {@link Trend#fit}; all NaN before the first fit.
   * Not thread-safe; copy the values out before publishing them in a snapshot.
   */
  public static final class Result {
    private double slope = Double.NaN;
    private double se = Double.NaN;
    private double t = Double.NaN;
    private double mean = Double.NaN;

    /** The OLS slope per step. */
    public double slope() {
      return slope;
    }

    /** The Newey–West standard error of the slope. */
    public double se() {
      return se;
    }

    /** slope / se. */
    public double t() {
      return t;
    }

    /** The mean of the window. */
    public double mean() {
      return mean;
    }

    @Override
    public String toString() {
      return "Trend.Result[slope=" + slope + ", se=" + se + ", t=" + t + ", mean=" + mean + "]";
    }
  }
}

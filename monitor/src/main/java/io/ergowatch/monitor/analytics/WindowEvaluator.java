package io.ergowatch.monitor.analytics;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.DDSketches;
import io.ergowatch.monitor.analytics.stats.Autocorrelation;
import io.ergowatch.monitor.analytics.stats.Geweke;
import io.ergowatch.monitor.analytics.stats.Moments;
import io.ergowatch.monitor.analytics.stats.Quantiles;
import io.ergowatch.monitor.analytics.stats.Trend;
import io.ergowatch.monitor.analytics.stats.Wasserstein;

/**
 * The loss and thinned-window statistics of one evaluation (docs/math.md §4): τ̂ of the loss
 * once, on its detrended window; the loss's progress test with that τ̂; the sliced-Wasserstein
 * drift of the weights against its null at the projections' own ESS; and, for snapshots, the
 * descriptive statistics of every thinned column. Owns every scratch array it needs, so an
 * evaluation allocates nothing.
 */
final class WindowEvaluator {
  private final AnalyticsSettings settings;
  private final double[] loss;
  private final double[] thin;
  private final double[] a;
  private final double[] b;
  private final double[] sortA;
  private final double[] sortB;
  private final DDSketch current = DDSketches.unboundedDense(0.01);
  private final DDSketch previous = DDSketches.unboundedDense(0.01);
  private final Trend.Result trend = new Trend.Result();
  /** W₁ = ∫|Q_prev(p) − Q_cur(p)| dp by the midpoint rule on 50 levels. */
  private static final double[] W1_LEVELS = new double[50];
  /** Samples per window and projection in the sliced W (four sorts each): 128 resolve the test. */
  static final int SW_SAMPLES = 128;

  static {
    for (int i = 0; i < W1_LEVELS.length; i++) {
      W1_LEVELS[i] = (i + 0.5) / W1_LEVELS.length;
    }
  }

  WindowEvaluator(AnalyticsSettings settings, int thinnedCapacity) {
    this.settings = settings;
    this.loss = new double[settings.windowMax()];
    this.thin = new double[settings.windowMax()];
    this.a = new double[thinnedCapacity];
    this.b = new double[thinnedCapacity];
    this.sortA = new double[Math.max(thinnedCapacity, settings.windowMax())];
    this.sortB = new double[Math.max(thinnedCapacity, settings.windowMax())];
  }

  /**
   * τ̂ of the last {@code n} losses after removing a trend (math.md §4: a trend read as
   * autocorrelation inflates τ̂ and pins W at its cap), on a thinned copy when the previous τ̂ is
   * large (cost O(W), not O(W·τ)). The trend is an OLS line over the window, or one per quarter
   * when that gives a τ̂ less than half as large: a loss still descending is curved (exponential
   * or power-law), and one line leaves the curvature in the residuals (τ̂ 115–315 on a real MLP on
   * digits after 1 000–12 000 steps, against ≈ 1 for its noise); a quarter is 12.5 τ long when
   * W = 50 τ, enough for Geyer's lags.
   */
  double estimateTau(LossWindow losses, int n, double previousTau) {
    int m = losses.copyLast(n, 0, loss);
    if (m < 8) {
      return 1;
    }
    // Thin to ~16 samples per autocorrelation time, and to at most 4096 samples: Geyer costs
    // O(n·L), and on a loss that never decorrelates L runs to n/2.
    int s = Double.isFinite(previousTau) && previousTau > 32 ? (int) Math.floor(previousTau / 16) : 1;
    s = Math.max(s, (m + 4095) / 4096);
    int k = 0;
    for (int i = m % s; i < m; i += s) {
      thin[k++] = loss[i];
    }
    if (k < 8) {
      System.arraycopy(loss, 0, thin, 0, m);
      k = m;
      s = 1;
    }
    int q = k / 4;
    if (q < 16) {
      detrend(thin, 0, k);
      return s * Autocorrelation.geyerTau(thin, k, sortA);
    }
    System.arraycopy(thin, 0, sortB, 0, k);
    detrend(sortB, 0, k);
    double whole = Autocorrelation.geyerTau(sortB, k, sortA);
    detrend(thin, 0, q);
    detrend(thin, q, 2 * q);
    detrend(thin, 2 * q, 3 * q);
    detrend(thin, 3 * q, k);
    double quarters = Autocorrelation.geyerTau(thin, k, sortA);
    // A curved trend inflates the one-line τ̂ by orders of magnitude; per-quarter lines also take
    // out some genuine low-frequency variance (an AR(1) with τ = 199: 137 against 180), so the
    // quarters win only when they disagree by more than 2×.
    return s * (whole > 2 * quarters ? quarters : whole);
  }

  /** Subtracts the OLS line from x[from..to) in place. */
  private static void detrend(double[] x, int from, int to) {
    int n = to - from;
    double mean = Moments.mean(x, from, to);
    double tBar = (n - 1) / 2.0;
    double slope = slope(x, from, n, mean);
    for (int i = 0; i < n; i++) {
      x[from + i] -= mean + slope * (i - tBar);
    }
  }

  /** The OLS slope of x[from..from+n) against 0..n−1, given its mean; 0 for fewer than 2 values. */
  private static double slope(double[] x, int from, int n, double mean) {
    double tBar = (n - 1) / 2.0;
    double stt = n * ((double) n * n - 1.0) / 12.0;
    double sxy = 0;
    for (int i = 0; i < n; i++) {
      sxy += (i - tBar) * (x[from + i] - mean);
    }
    return stt > 0 ? sxy / stt : 0;
  }

  /**
   * The loss part of an evaluation over the last {@code out.windowRecords} losses, with the
   * evaluation's τ̂: moments, Geweke z, and the progress test. Relative progress per window
   * δ = −slope·n/|mean|; its standard error from the same τ̂, se(slope) = √(τ̂·s²_resid/S_tt)
   * (the OLS variance of a slope under noise whose long-run variance is τ̂·s²).
   * The check "loss_progress" fails (significant progress) when the slope is below zero at the
   * leaving level and δ ≥ δ_min; it holds (no change that matters: an equivalence test) when
   * δ ± z_enter·se lies inside (−δ_min, δ_min); else it is inconclusive, as it is with ESS below
   * ess-min.
   */
  void lossStatistics(LossWindow losses, double lossPeak, WindowStats out) {
    int n = losses.copyLast(out.windowRecords, 0, loss);
    out.lossN = n;
    Check c = out.lossCheck;
    if (n == 0) {
      out.lossStationary = false;
      out.lossNoProgress = false;
      c.unavailable();
      return;
    }
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      min = Math.min(min, loss[i]);
      max = Math.max(max, loss[i]);
    }
    double mean = Moments.mean(loss, 0, n);
    double sd = sd(loss, n, mean);
    out.lossMean = mean;
    out.lossSd = sd;
    out.lossMin = min;
    out.lossMax = max;
    out.lossMedian = Quantiles.quantile(loss, n, 0.5, sortA);
    out.degenerate = sd == 0 || sd < settings.degenerateSpread() * Math.abs(mean);
    out.flat = max - min <= settings.flatRange() * lossPeak;
    double zEnter = settings.zEnter();
    double zLeave = settings.zLeave();
    if (out.degenerate || out.flat) {
      out.lossEss = n;
      out.geweke = 0;
      out.trendSlope = 0;
      out.trendT = 0;
      out.delta = 0;
      out.deltaStderr = 0;
      c.estimate(0, 0, zEnter);
      c.outcome = Check.Outcome.HOLDS;
    } else {
      out.lossEss = n / out.tau;
      out.geweke = Geweke.z(loss, n, out.tau);
      double tBar = (n - 1) / 2.0;
      double stt = n * ((double) n * n - 1.0) / 12.0;
      double slope = slope(loss, 0, n, mean);
      double rss = 0;
      for (int i = 0; i < n; i++) {
        double e = loss[i] - mean - slope * (i - tBar);
        rss += e * e;
      }
      double se = n > 2 ? Math.sqrt(out.tau * rss / (n - 2) / stt) : Double.NaN;
      out.trendSlope = slope;
      out.trendT = se > 0 ? slope / se : slope == 0 ? 0 : Math.copySign(Double.POSITIVE_INFINITY, slope);
      double scale = mean == 0 ? Double.NaN : n / Math.abs(mean);
      out.delta = -slope * scale;
      out.deltaStderr = se * scale;
      c.estimate(out.delta, out.deltaStderr, zEnter);
      if (!(out.lossEss >= settings.essMin())) {
        c.outcome = Check.Outcome.INCONCLUSIVE;
      } else if (out.trendT < -zLeave && out.delta >= settings.trendDelta()) {
        c.outcome = Check.Outcome.FAILS;
      } else if (c.high < settings.trendDelta() && c.low > -settings.trendDelta()) {
        c.outcome = Check.Outcome.HOLDS;
      } else {
        c.outcome = Check.Outcome.INCONCLUSIVE;
      }
    }
    boolean progressAtEnter = out.trendT < -zEnter && out.delta >= settings.trendDelta();
    // A rising loss is not stationary either (it is not progress: the check does not fail on it).
    boolean risingAtEnter = out.trendT > zEnter && -out.delta >= settings.trendDelta();
    boolean gewekeOk = !(Math.abs(out.geweke) >= settings.gewekeMax());
    boolean essOk = out.degenerate || out.flat || out.lossEss >= settings.essMin();
    // "No significant progress": the loss side of a stationary state when the weights carry the
    // equivalence (math.md §5); lossStationary is the same at the leaving level (reported).
    out.lossNoProgress = out.flat || essOk && gewekeOk && !progressAtEnter && !risingAtEnter;
    out.lossStationary = out.flat || essOk && gewekeOk && !(out.trendT < -zLeave && out.delta >= settings.trendDelta());
    // Fraction of sign changes of Δloss; a Δ of exactly 0 is not a sign change (math.md §4).
    int pairs = 0;
    int changes = 0;
    double prevDelta = 0;
    for (int i = 1; i < n; i++) {
      double d = loss[i] - loss[i - 1];
      if (d == 0) {
        continue;
      }
      if (prevDelta != 0) {
        pairs++;
        if ((d > 0) != (prevDelta > 0)) {
          changes++;
        }
      }
      prevDelta = d;
    }
    out.falt = pairs == 0 ? Double.NaN : (double) changes / pairs;
    out.faltPairs = pairs;
  }

  /**
   * Window statistics of one thinned column into {@code out}: mean, sd, ESS, Geweke z, trend t,
   * quantiles, W₁ drift. For snapshots (scrape time), not for the verdict. Values beyond the
   * sketch's range (|x| &gt; 1e300 or so) are left out of the quantiles and counted.
   */
  void columnStatistics(ThinnedWindow w, int column, long now, int window, double tau, int stride,
      ColumnStats out) {
    long from = now - window;
    int n = w.copy(column, from, now, a);
    out.n[column] = n;
    if (n == 0) {
      return;
    }
    double mean = Moments.mean(a, 0, n);
    double sd = sd(a, n, mean);
    out.mean[column] = mean;
    out.sd[column] = sd;
    // Thinned samples are stride records apart: their autocorrelation time is τ̂ / stride.
    double tauThin = Math.max(1, tau / stride);
    boolean degenerate = sd == 0 || sd < settings.degenerateSpread() * Math.abs(mean);
    out.ess[column] = degenerate ? n : n / tauThin;
    if (degenerate || n < 10 || !Double.isFinite(sd)) {
      out.gewekeZ[column] = degenerate ? 0 : Double.NaN;
      out.trendTs[column] = degenerate ? 0 : Double.NaN;
    } else {
      out.gewekeZ[column] = Geweke.z(a, n, tauThin);
      Trend.fit(a, n, Trend.lag(n, tauThin), trend);
      out.trendTs[column] = trend.t();
    }
    if (!fillSketch(current, a, n)) {
      return;
    }
    // One pass over the sketch for all levels (a call per level costs a pass each).
    System.arraycopy(current.getValuesAtQuantiles(WindowStats.QUANTILES), 0, out.quantiles[column], 0,
        WindowStats.QUANTILES.length);
    int m = w.copy(column, from - window, from, b);
    if (m == 0 || sd == 0) {
      out.drift[column] = m == 0 ? Double.NaN : 0;
      return;
    }
    if (!fillSketch(previous, b, m)) {
      return;
    }
    double[] qc = current.getValuesAtQuantiles(W1_LEVELS);
    double[] qp = previous.getValuesAtQuantiles(W1_LEVELS);
    double w1 = 0;
    for (int i = 0; i < W1_LEVELS.length; i++) {
      w1 += Math.abs(qc[i] - qp[i]);
    }
    out.drift[column] = w1 / W1_LEVELS.length / sd;
  }

  /**
   * Fills a sketch with x[0..n); false (sketch empty) when no value is within the sketch's
   * range. DDSketch's dense store indexes log|x|, and values near ±Double.MAX_VALUE are outside
   * what it tracks: those are skipped (the moments above still
   * see them), so a run that sends 1e308 cannot make a snapshot throw.
   */
  private static boolean fillSketch(DDSketch sketch, double[] x, int n) {
    sketch.clear();
    double maxTracked = sketch.getIndexMapping().maxIndexableValue();
    int used = 0;
    for (int i = 0; i < n; i++) {
      // Magnitudes below the mapping's minimum land in the sketch's zero bucket, as documented.
      if (Math.abs(x[i]) <= maxTracked) {
        sketch.accept(x[i]);
        used++;
      }
    }
    return used > 0;
  }

  /**
   * Two exact quantiles (type 7) of a column over the window from one copy; {@code out} gets
   * them (NaN without samples). Returns the sample count.
   */
  int quantiles(ThinnedWindow w, int column, long now, int window, double q1, double q2, double[] out) {
    int n = w.copy(column, now - window, now, a);
    if (n == 0) {
      out[0] = Double.NaN;
      out[1] = Double.NaN;
      return 0;
    }
    out[0] = Quantiles.quantile(a, n, q1, b);
    out[1] = Quantiles.quantile(a, n, q2, b);
    return n;
  }

  /** Exact quantile (type 7) of a column over the window; NaN without samples. */
  double quantile(ThinnedWindow w, int column, long now, int window, double q) {
    int n = w.copy(column, now - window, now, a);
    return n == 0 ? Double.NaN : Quantiles.quantile(a, n, q, b);
  }

  /** Sample standard deviation of {@code x[0..n)} around {@code mean}; 0 for fewer than 2 values. */
  private static double sd(double[] x, int n, double mean) {
    return n > 1 ? Math.sqrt(Moments.sumOfSquares(x, 0, n, mean) / (n - 1)) : 0;
  }

  /**
   * The weights' drift test (math.md §4): for each projection, W₂² between the previous and the
   * current window over its pooled variance, divided by its null scale 1/ESS_cur + 1/ESS_prev
   * (ESS from the projection's own Geyer τ̂ on the current window: the weights decorrelate far
   * more slowly than the loss); T is the mean over projections. For two independent samples of
   * the same law T has median ≈ 2.4 and 99th percentile ≈ 8.7 (n = 128, simulated; 7.5 at n = 16):
   * drift when T exceeds {@code drift-threshold} (9, so at most ~1% per evaluation for one
   * projection and less for the mean of several), no drift below {@code drift-hold} (5), else
   * inconclusive; inconclusive too while a window holds fewer than 4 effective samples.
   */
  void slicedWasserstein(ThinnedWindow w, int[] projColumns, int count, long now, int window, WindowStats out) {
    Check c = out.driftCheck;
    out.projectionsObserved = count > 0;
    out.driftThreshold = settings.driftThreshold();
    if (count == 0) {
      c.unavailable();
      return;
    }
    double sum = 0;
    double essSum = 0;
    int used = 0;
    for (int j = 0; j < count; j++) {
      int col = projColumns[j];
      int nc = subsample(a, w.copy(col, now - window, now, a));
      int np = subsample(b, w.copy(col, now - 2L * window, now - window, b));
      if (nc < 8 || np < 8) {
        continue;
      }
      double pooled = pooledVariance(a, nc, b, np);
      if (!(pooled > 0) || !Double.isFinite(pooled)) {
        continue;
      }
      // τ̂ on the detrended samples: a drift inside the window is not autocorrelation (math.md §4).
      System.arraycopy(a, 0, sortB, 0, nc);
      detrend(sortB, 0, nc);
      double tau = Math.max(1, Autocorrelation.geyerTau(sortB, nc, sortA));
      double essC = nc / tau;
      double essP = np / tau;
      double w2 = Wasserstein.w2sq1d(b, np, a, nc, sortA, sortB) / pooled;
      sum += w2 / (1 / essC + 1 / essP);
      essSum += essC;
      used++;
    }
    if (used == 0) {
      out.sw = Double.NaN;
      out.projectionEss = Double.NaN;
      c.estimate(Double.NaN, Double.NaN, 0);
      c.outcome = Check.Outcome.INCONCLUSIVE;
      return;
    }
    double t = sum / used;
    out.sw = t;
    out.projectionEss = essSum / used;
    c.estimate(t, Double.NaN, 0);
    c.low = t;
    c.high = t;
    if (out.projectionEss < 4) {
      c.outcome = Check.Outcome.INCONCLUSIVE;
    } else if (t > settings.driftThreshold()) {
      c.outcome = Check.Outcome.FAILS;
    } else if (t < settings.driftHold()) {
      c.outcome = Check.Outcome.HOLDS;
    } else {
      c.outcome = Check.Outcome.INCONCLUSIVE;
    }
  }

  /** Keeps at most {@link #SW_SAMPLES} evenly spaced samples in place. */
  private static int subsample(double[] x, int n) {
    if (n <= SW_SAMPLES) {
      return n;
    }
    for (int i = 0; i < SW_SAMPLES; i++) {
      x[i] = x[(int) ((long) i * n / SW_SAMPLES)];
    }
    return SW_SAMPLES;
  }

  private static double pooledVariance(double[] x, int nx, double[] y, int ny) {
    double s = 0;
    for (int i = 0; i < nx; i++) {
      s += x[i];
    }
    for (int i = 0; i < ny; i++) {
      s += y[i];
    }
    double m = s / (nx + ny);
    double ss = 0;
    for (int i = 0; i < nx; i++) {
      ss += (x[i] - m) * (x[i] - m);
    }
    for (int i = 0; i < ny; i++) {
      ss += (y[i] - m) * (y[i] - m);
    }
    return ss / (nx + ny - 1);
  }
}

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
 * One evaluation of a run's window (docs/math.md §4): τ̂ of the loss once, the new window W,
 * the loss stationarity tests with that τ̂, then the per-series window statistics and the
 * geometry. Owns every scratch array it needs, so an evaluation allocates nothing.
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

  /** τ̂ of the last {@code window} losses, on a thinned copy when τ̂ is large (cost O(W) not O(W·τ)). */
  double estimateTau(LossWindow losses, int window, double previousTau) {
    int n = losses.copyLast(window, 0, loss);
    if (n < 8) {
      return 1;
    }
    // Thin to ~16 samples per autocorrelation time, and to at most 4096 samples: Geyer costs
    // O(n·L), and on a loss that never decorrelates (a ramp) L runs to n/2.
    int s = Double.isFinite(previousTau) && previousTau > 32 ? (int) Math.floor(previousTau / 16) : 1;
    s = Math.max(s, (n + 4095) / 4096);
    if (s <= 1) {
      return Autocorrelation.geyerTau(loss, n, sortA);
    }
    int m = 0;
    for (int i = n % s; i < n; i += s) {
      thin[m++] = loss[i];
    }
    return m < 8 ? Autocorrelation.geyerTau(loss, n, sortA) : s * Autocorrelation.geyerTau(thin, m, sortA);
  }

  /** Loss statistics over the last W losses with the given τ̂; fills the loss part of {@code out}. */
  void lossStatistics(LossWindow losses, double lossPeak, WindowStats out) {
    int n = losses.copyLast(out.window, 0, loss);
    out.lossN = n;
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
    out.degenerate = sd == 0 || sd < settings.degenerateSpread() * Math.abs(mean);
    out.flat = max - min <= settings.flatRange() * lossPeak;
    if (out.degenerate) {
      out.lossEss = n;
      out.geweke = 0;
      out.trendSlope = 0;
      out.trendT = 0;
      out.delta = 0;
    } else {
      out.lossEss = n / out.tau;
      out.geweke = Geweke.z(loss, n, out.tau);
      // The HAC t costs O(n·lag) with lag ≥ 2τ̂: for a slowly decorrelating loss, fit on every s-th
      // value (s = τ̂/16, at most 4096 values) with the lag in thinned units. The t statistic is
      // unchanged in expectation; the slope is converted back to per record.
      int s = Math.max(out.tau > 32 ? (int) Math.floor(out.tau / 16) : 1, (n + 4095) / 4096);
      if (s > 1) {
        int m = 0;
        for (int i = n % s; i < n; i += s) {
          thin[m++] = loss[i];
        }
        Trend.fit(thin, m, Trend.lag(m, Math.max(1, out.tau / s)), trend);
        out.trendSlope = trend.slope() / s;
      } else {
        Trend.fit(loss, n, Trend.lag(n, out.tau), trend);
        out.trendSlope = trend.slope();
      }
      out.trendT = trend.t();
      out.delta = mean == 0 ? Double.POSITIVE_INFINITY : -out.trendSlope * out.window / Math.abs(mean);
    }
    boolean noTrend = out.trendT > -settings.trendT() || out.delta < settings.trendDelta();
    out.lossStationary = out.flat
        || (out.degenerate || out.lossEss >= settings.essMin())
            && Math.abs(out.geweke) < settings.gewekeMax() && noTrend;
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
  }

  /**
   * Window statistics of one thinned column: mean, sd, ESS, Geweke z, trend t, quantiles, W₁
   * drift. Computed for snapshots (scrape time), not at every evaluation: the verdict does not
   * need them, and 50 columns × every 20 records would dominate the cost per record.
   */
  void columnStatistics(ThinnedWindow w, int column, long now, WindowStats out) {
    long from = now - out.window;
    int n = w.copy(column, from, now, a);
    out.n[column] = n;
    if (n == 0) {
      out.mean[column] = Double.NaN;
      out.sd[column] = Double.NaN;
      out.ess[column] = Double.NaN;
      out.gewekeZ[column] = Double.NaN;
      out.trendTs[column] = Double.NaN;
      out.drift[column] = Double.NaN;
      java.util.Arrays.fill(out.quantiles[column], Double.NaN);
      return;
    }
    double mean = Moments.mean(a, 0, n);
    double sd = sd(a, n, mean);
    out.mean[column] = mean;
    out.sd[column] = sd;
    // Thinned samples are stride records apart: their autocorrelation time is τ̂ / stride.
    double tauThin = Math.max(1, out.tau / out.stride);
    boolean degenerate = sd == 0 || sd < settings.degenerateSpread() * Math.abs(mean);
    out.ess[column] = degenerate ? n : n / tauThin;
    if (degenerate || n < 10) {
      out.gewekeZ[column] = degenerate ? 0 : Double.NaN;
      out.trendTs[column] = degenerate ? 0 : Double.NaN;
    } else {
      out.gewekeZ[column] = Geweke.z(a, n, tauThin);
      Trend.fit(a, n, Trend.lag(n, tauThin), trend);
      out.trendTs[column] = trend.t();
    }
    current.clear();
    for (int i = 0; i < n; i++) {
      current.accept(a[i]);
    }
    // One pass over the sketch for all levels (a call per level costs a pass each).
    System.arraycopy(current.getValuesAtQuantiles(WindowStats.QUANTILES), 0, out.quantiles[column], 0,
        WindowStats.QUANTILES.length);
    int m = w.copy(column, from - out.window, from, b);
    if (m == 0 || sd == 0) {
      out.drift[column] = m == 0 ? Double.NaN : 0;
      return;
    }
    previous.clear();
    for (int i = 0; i < m; i++) {
      previous.accept(b[i]);
    }
    double[] qc = current.getValuesAtQuantiles(W1_LEVELS);
    double[] qp = previous.getValuesAtQuantiles(W1_LEVELS);
    double w1 = 0;
    for (int i = 0; i < W1_LEVELS.length; i++) {
      w1 += Math.abs(qc[i] - qp[i]);
    }
    out.drift[column] = w1 / W1_LEVELS.length / sd;
  }

  /** Ratio of two column sums over the window's rows where both are finite; NaN without rows. */
  double ratioOfSums(ThinnedWindow w, int num, int den, long now, int window, int[] rows) {
    int n = w.copyPairs(num, den, now - window, now, a, b);
    rows[0] = n;
    if (n == 0) {
      return Double.NaN;
    }
    double sn = 0;
    double sd = 0;
    for (int i = 0; i < n; i++) {
      sn += a[i];
      sd += b[i];
    }
    return sd == 0 ? Double.NaN : sn / sd;
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

  /** Mean of a column over the window; NaN without samples. */
  double mean(ThinnedWindow w, int column, long now, int window) {
    return Moments.mean(a, 0, w.copy(column, now - window, now, a));
  }

  /** Standard deviation of a column over the window and its sample count in {@code count[0]}. */
  double sd(ThinnedWindow w, int column, long now, int window, int[] count) {
    int n = w.copy(column, now - window, now, a);
    count[0] = n;
    return n < 2 ? Double.NaN : sd(a, n, Moments.mean(a, 0, n));
  }

  /** Sample standard deviation of {@code x[0..n)} around {@code mean}; 0 for fewer than 2 values. */
  private static double sd(double[] x, int n, double mean) {
    return n > 1 ? Math.sqrt(Moments.sumOfSquares(x, 0, n, mean) / (n - 1)) : 0;
  }

  /**
   * Sliced W₂² over the projection columns, normalised by each projection's pooled variance and
   * averaged (math.md §4, §6.6): between the current window and the disjoint previous one, and,
   * as its null, between the two halves of the current window.
   *
   * @return {drift, null}; NaN when there is not enough data
   */
  void slicedWasserstein(ThinnedWindow w, int[] projColumns, int count, long now, WindowStats out) {
    double sum = 0;
    double sumNull = 0;
    int used = 0;
    for (int j = 0; j < count; j++) {
      int col = projColumns[j];
      int nc = subsample(a, w.copy(col, now - out.window, now, a));
      int np = subsample(b, w.copy(col, now - 2L * out.window, now - out.window, b));
      if (nc < 8 || np < 8) {
        continue;
      }
      double pooled = pooledVariance(a, nc, b, np);
      if (!(pooled > 0)) {
        continue;
      }
      sum += Wasserstein.w2sq1d(b, np, a, nc, sortA, sortB) / pooled;
      int half = nc / 2;
      // Halves of the current window: a[0..half) and a[half..nc).
      System.arraycopy(a, half, b, 0, nc - half);
      sumNull += Wasserstein.w2sq1d(a, half, b, nc - half, sortA, sortB) / pooled;
      used++;
    }
    out.projectionsObserved = count > 0;
    if (used == 0) {
      out.sw = Double.NaN;
      out.swNull = Double.NaN;
      out.weightsDrift = false;
      return;
    }
    out.sw = sum / used;
    out.swNull = sumNull / used;
    out.weightsDrift = out.sw > settings.driftMargin() * out.swNull;
  }

  /**
   * Keeps at most {@link #SW_SAMPLES} evenly spaced samples in place: the sliced W costs four
   * sorts per projection, and 128 quantile-matched samples per window resolve the drift test.
   */
  private static int subsample(double[] x, int n) {
    if (n <= SW_SAMPLES) {
      return n;
    }
    for (int i = 0; i < SW_SAMPLES; i++) {
      x[i] = x[(int) ((long) i * n / SW_SAMPLES)];
    }
    return SW_SAMPLES;
  }

  static final int SW_SAMPLES = 128;

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

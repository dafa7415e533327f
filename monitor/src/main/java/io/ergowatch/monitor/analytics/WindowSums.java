package io.ergowatch.monitor.analytics;

import io.ergowatch.monitor.analytics.BlockSums.Sum;

/**
 * The statistics of one evaluation that are ratios of full-resolution window sums
 * (docs/math.md §2–§5): Π with its standard error and band test, R2 with its oscillation test,
 * the two-batch gradient signal and noise scale, the update energy, the pooled reference
 * geometry, and the forecast. Standard errors are batch means over {@link #BATCHES} batches of
 * the window's blocks (delta method for ratios), except Π's: its numerator and denominator
 * differ by the telescoped change Δ of ‖e′‖² between the window's ends (see
 * {@link RecordGeometry}), so at stationarity se(Π) = √(2·Var ‖e′‖²) / ΣD, far below what batch
 * means would give (they add one Δ per batch). Allocation-free.
 */
final class WindowSums {
  static final int BATCHES = 10;
  /** Π's rows a window needs before its band test is tried (RunCore sizes windows for them). */
  static final int MIN_PI_ROWS = 20;

  private final AnalyticsSettings s;
  private final double[] x = new double[BATCHES];
  private final double[] y = new double[BATCHES];
  private final double[] c = new double[BATCHES];

  WindowSums(AnalyticsSettings settings) {
    this.s = settings;
  }

  /** Fills the sum-based part of {@code w} from blocks [from, to) of {@code sums}. */
  void evaluate(BlockSums sums, long from, long to, WindowStats w) {
    stationarity(sums, from, to, w);
    oscillation(sums, from, to, w);
    signal(sums, from, to, w);
    energy(sums, from, to, w);
    w.rsiPooledEma = ratio(sums, Sum.EMA_DOT, Sum.EMA_DIST, from, to);
    w.ebPooledEma = Math.sqrt(ratio(sums, Sum.EMA_GSQ, Sum.EMA_DIST, from, to));
    w.rsiPooledRef = ratio(sums, Sum.REF_DOT, Sum.REF_DIST, from, to);
    w.ebPooledRef = Math.sqrt(ratio(sums, Sum.REF_GSQ, Sum.REF_DIST, from, to));
    forecast(sums, from, to, w);
  }

  private static double ratio(BlockSums sums, int num, int den, long from, long to) {
    double d = sums.sum(den, from, to);
    return d == 0 ? Double.NaN : sums.sum(num, from, to) / d;
  }

  private void stationarity(BlockSums sums, long from, long to, WindowStats w) {
    Check check = w.piCheck;
    double n = sums.sum(Sum.PI_N, from, to);
    w.piN = (int) n;
    if (n == 0) {
      check.unavailable();
      return;
    }
    double num = sums.sum(Sum.PI_NUM, from, to);
    double den = sums.sum(Sum.PI_DEN, from, to);
    double pi = num / den;
    double records = (to - from) * (double) BlockSums.BLOCK;
    // Coverage in steps, not rows: a row of a block of k steps stands for k of them.
    double steps = sums.sum(Sum.PI_STEPS, from, to);
    if (n < MIN_PI_ROWS || steps < 0.5 * records) {
      check.estimate(pi, Double.NaN, 0);
      check.outcome = Check.Outcome.INCONCLUSIVE;
      return;
    }
    sums.batches(Sum.PI_DEN, from, to, BATCHES, y);
    double denSe = sumStderr(y, den);
    double zE = s.zEnter();
    double zL = s.zLeave();
    if (!(den > zL * denSe)) {
      // ΣD not clearly positive: Π is undefined; a clearly negative one means the centre lags
      // behind weights that keep moving away from it (math.md §2: drift).
      check.estimate(pi, Double.NaN, 0);
      check.outcome = den < -zL * denSe && num < 0 ? Check.Outcome.FAILS : Check.Outcome.INCONCLUSIVE;
      return;
    }
    double se;
    // The chain of rows covers the window but for its two edge blocks (and the last row's block):
    // the sums telescope, and only the change of ‖e′‖² between its ends separates them.
    if (steps >= records - 2 * BlockSums.BLOCK - steps / n) {
      double q = sums.sum(Sum.PI_Q, from, to) / n;
      double qq = sums.sum(Sum.PI_QQ, from, to) / n;
      se = Math.sqrt(2 * Math.max(0, qq - q * q)) / den;
    } else {
      sums.batches(Sum.PI_NUM, from, to, BATCHES, x);
      se = ratioStderr(x, y, pi, den);
    }
    check.estimate(pi, se, zE);
    double lo = s.piLow();
    double hi = s.piHigh();
    if (pi - zL * se > hi || pi + zL * se < lo) {
      check.outcome = Check.Outcome.FAILS;
    } else if (check.low >= lo && check.high <= hi) {
      check.outcome = Check.Outcome.HOLDS;
    } else {
      check.outcome = Check.Outcome.INCONCLUSIVE;
    }
  }

  /** Oscillation on the updates (κ from the thinned rows is set by the caller): R2 with its se. */
  private void oscillation(BlockSums sums, long from, long to, WindowStats w) {
    double n = sums.sum(Sum.R2_N, from, to);
    w.oscN = (int) n;
    if (n == 0) {
      w.oscillationCheck.unavailable();
      return;
    }
    double den = sums.sum(Sum.R2_DEN, from, to);
    double r2 = sums.sum(Sum.R2_NUM, from, to) / den;
    sums.batches(Sum.R2_NUM, from, to, BATCHES, x);
    sums.batches(Sum.R2_DEN, from, to, BATCHES, y);
    w.oscillationCheck.estimate(r2, ratioStderr(x, y, r2, den), s.zEnter());
    w.oscillationCheck.outcome = Check.Outcome.INCONCLUSIVE; // decided with κ by the core
  }

  private void signal(BlockSums sums, long from, long to, WindowStats w) {
    double n = sums.sum(Sum.SIG_N, from, to);
    if (n > 0) {
      w.signalIdentified = true;
      double den = sums.sum(Sum.SIG_G_DEN, from, to);
      w.signal = sums.sum(Sum.SIG_G_NUM, from, to) / den;
      sums.batches(Sum.SIG_G_NUM, from, to, BATCHES, x);
      sums.batches(Sum.SIG_G_DEN, from, to, BATCHES, y);
      w.signalStderr = ratioStderr(x, y, w.signal, den);
      w.noiseScale = sums.sum(Sum.SIG_S_NUM, from, to) / sums.sum(Sum.SIG_S_DEN, from, to);
      w.batchNoise = w.noiseScale / w.signal;
      return;
    }
    w.signalIdentified = false;
    w.noiseScale = Double.NaN;
    w.batchNoise = Double.NaN;
    double gn = sums.sum(Sum.GSQ_N, from, to);
    if (gn > 0) {
      w.signal = sums.sum(Sum.GSQ, from, to) / gn;
      sums.batches(Sum.GSQ, from, to, BATCHES, x);
      sums.batches(Sum.GSQ_N, from, to, BATCHES, y);
      w.signalStderr = ratioStderr(x, y, w.signal, gn);
    } else {
      w.signal = Double.NaN;
      w.signalStderr = Double.NaN;
    }
  }

  private void energy(BlockSums sums, long from, long to, WindowStats w) {
    double n = sums.sum(Sum.ENERGY_N, from, to);
    w.energyObserved = n > 0;
    if (!w.energyObserved) {
      w.energy = Double.NaN;
      w.converged = false;
      return;
    }
    double energy = sums.sum(Sum.ENERGY, from, to) / n;
    w.energy = energy;
    if (Double.isFinite(energy)) {
      w.energyMax = Double.isNaN(w.energyMax) ? energy : Math.max(w.energyMax, energy);
    }
    w.converged = energy == 0 || energy <= s.convergedRatio() * w.energyMax;
  }

  /**
   * loss_if_annealed = window mean of the loss − the window mean of the per-step excess, over the
   * rows that carry both (math.md §5, forecast), with its batch-means standard error.
   */
  private void forecast(BlockSums sums, long from, long to, WindowStats w) {
    double n = sums.sum(Sum.FC_N, from, to);
    if (n < 2 * BlockSums.BLOCK) {
      w.forecast = Double.NaN;
      w.forecastStderr = Double.NaN;
      w.forecastExcess = Double.NaN;
      return;
    }
    double excess = sums.sum(Sum.FC, from, to) / n;
    double loss = sums.sum(Sum.FC_LOSS, from, to) / n;
    double f = loss - excess;
    sums.batches(Sum.FC_LOSS, from, to, BATCHES, x);
    sums.batches(Sum.FC, from, to, BATCHES, y);
    sums.batches(Sum.FC_N, from, to, BATCHES, c);
    double ss = 0;
    for (int j = 0; j < BATCHES; j++) {
      double z = x[j] - y[j] - f * c[j];
      ss += z * z;
    }
    w.forecastExcess = excess;
    w.forecast = f;
    w.forecastStderr = Math.sqrt(ss * BATCHES / (BATCHES - 1.0)) / n;
  }

  /** Standard error of a window sum from its batch sums. */
  private static double sumStderr(double[] batch, double total) {
    double mean = total / BATCHES;
    double ss = 0;
    for (double b : batch) {
      ss += (b - mean) * (b - mean);
    }
    return Math.sqrt(ss * BATCHES / (BATCHES - 1.0));
  }

  /** Delta-method standard error of r = Σx/Σy from batch sums: √(m/(m−1) Σ(x_j − r y_j)²) / |Σy|. */
  private static double ratioStderr(double[] xs, double[] ys, double r, double den) {
    double ss = 0;
    for (int j = 0; j < BATCHES; j++) {
      double z = xs[j] - r * ys[j];
      ss += z * z;
    }
    return Math.sqrt(ss * BATCHES / (BATCHES - 1.0)) / Math.abs(den);
  }
}

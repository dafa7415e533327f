package io.ergowatch.monitor.analytics;

import io.ergowatch.monitor.analytics.BlockSums.Sum;

/**
 * The per-record derived quantities of docs/math.md §2–§5, formed from one record's well-known
 * series (and the previous record's update): the terms of Π, R2, the two-batch gradient signal,
 * the update energy, the pooled reference geometry and the forecast go into the block sums at
 * full resolution; the per-record ratios (RSI_t, EB_t, γ_t, η*_t, κ_t), which only feed
 * quantiles, go into the thinned row.
 *
 * <p><b>Π with a moving centre and momentum.</b> The agents' centre follows
 * c ← c + a(w_t − c) (HELLO label {@code ema_alpha}), and with momentum β the iterate that
 * follows plain SGD is z = w + κ u_{t−1}, κ = β/(1−β), whose step is v = (u_t − βu_{t−1})/(1−β).
 * With e = w − c and e′ = z − c: e′_{t+1} = e′_t + v_t − a e_t, so
 * N_t − D_t = −(‖e′_{t+1}‖² − ‖e′_t‖²) for N_t = −2⟨e′_t − a e_t, v_t⟩ and
 * D_t = ‖v_t‖² − 2a⟨e′_t, e_t⟩ + a²‖e_t‖²: Σ N / Σ D = 1 − Δ/ΣD, Δ the change of ‖e′‖² over the
 * window, exactly. At β = 0 this is math.md §2's Π = −2(1−a)Σ⟨u, e⟩ / (Σ‖u‖² − a(2−a)Σ‖e‖²).
 * Every inner product comes from the record's series: ⟨u_{t−1}, e_t⟩ = (1−a)⟨u_{t−1}, e_{t−1}⟩ +
 * ‖u_{t−1}‖² from the previous record. Why z: heavy-ball updates are small and correlated, so
 * with β = 0 the denominator is a small difference of large terms (math.md §2); in z the
 * noise side is (1−β)^−2 larger and the ratio well conditioned.
 *
 * <p><b>Blocks</b> (docs/protocol.md): an agent may measure the update over k steps,
 * u = w_{t+k} − w_t, on the record of step t with {@code update_steps} = k, and move its centre
 * once per block, by a_k = 1 − (1 − a)^k ({@link #blockRate}; a is per step). Every identity
 * above holds on the chain of block starts, so Π's sums over blocks telescope exactly. "The previous update" is that of the previous block, and only when
 * the blocks touch (its step + its length = this step). The momentum form needs one-step
 * updates; over blocks the plain form is used, which is well conditioned there: a block's
 * update sums k correlated steps. The update energy is ‖u‖²/k per step; the forecast's update
 * form needs one-step updates too (else the gradient form for plain SGD, or none).
 *
 * <p>Allocation-free; not thread-safe (one per run, on its lane).
 */
final class RecordGeometry {
  private final BlockSums sums;
  private final ThinnedWindow thinned;
  private final double nilUpdate;
  private double alpha;
  private double beta;
  private double forecastFactor;

  private boolean prevValid;
  private double prevUpdateSq;
  private double prevEmaUpdateDot;
  private long prevStep;
  private double prevSteps;
  private boolean updatesSeen;

  RecordGeometry(BlockSums sums, ThinnedWindow thinned, double nilUpdate) {
    this.sums = sums;
    this.thinned = thinned;
    this.nilUpdate = nilUpdate;
  }

  /** The centre's EMA rate a, the momentum β and the optimizer's forecast factor (NaN: none). */
  void configure(double alpha, double beta, double forecastFactor) {
    this.alpha = alpha;
    this.beta = beta;
    this.forecastFactor = forecastFactor;
  }

  /**
   * One record's derived quantities.
   *
   * @param row the thinned row of this record, or -1 when the record is not sampled
   * @param v the record's values of the well-known series (NaN where absent)
   */
  void accept(Values v, int row) {
    double us = v.updateSq;
    double ws = v.weightSq;
    boolean hasUpdate = Double.isFinite(us);
    boolean nil = !(us >= nilUpdate * Math.max(Double.isFinite(ws) ? ws : 1, 1));
    double gsq = v.gradSq;
    double lr = v.lr;
    double steps = v.updateSteps >= 1 ? v.updateSteps : 1;
    // The previous update is this one's neighbour on the chain: the blocks touch.
    boolean chained = hasUpdate && updatesSeen && v.step == prevStep + (long) prevSteps;

    if (Double.isFinite(lr)) {
      sums.add(Sum.LR_N, 1);
      sums.add(Sum.LR, lr);
    }
    if (Double.isFinite(gsq) && gsq >= 0) {
      sums.add(Sum.GSQ_N, 1);
      sums.add(Sum.GSQ, gsq);
    }
    if (hasUpdate) {
      sums.add(Sum.ENERGY_N, 1);
      sums.add(Sum.ENERGY, us / steps);
    } else if (!updatesSeen && Double.isFinite(gsq) && Double.isFinite(lr)) {
      // Only for runs that send no updates: mixing η²‖g‖² into a run's ‖u‖² would blur CONVERGED.
      sums.add(Sum.ENERGY_N, 1);
      sums.add(Sum.ENERGY, lr * lr * gsq);
    }
    boolean oneStep = steps == 1 && (!chained || prevSteps == 1);
    stationarity(v, nil, chained, oneStep, steps);
    oscillation(v, nil, row, chained);
    signal(v);
    pooled(v.emaGradDot, v.emaDistSq, gsq, Sum.EMA_N, row, Derived.RSI_EMA);
    pooled(v.refGradDot, v.refDistSq, v.refGradSq, Sum.REF_N, row, Derived.RSI_REF);
    forecast(v, steps == 1);

    updatesSeen |= hasUpdate;
    if (hasUpdate) {
      prevValid = !nil && Double.isFinite(v.emaUpdateDot);
      prevUpdateSq = us;
      prevEmaUpdateDot = v.emaUpdateDot;
      prevStep = v.step;
      prevSteps = steps;
    }
  }

  private void stationarity(Values v, boolean nil, boolean chained, boolean oneStep, double steps) {
    double ue = v.emaUpdateDot;
    double ee = v.emaDistSq;
    double uu = v.updateSq;
    if (nil || !Double.isFinite(ue) || !Double.isFinite(ee) || !Double.isFinite(uu)) {
      return;
    }
    double a = steps == 1 ? alpha : blockRate(alpha, steps);
    double num;
    double den;
    double q;
    if (beta == 0 || !oneStep) {
      num = -2 * (1 - a) * ue;
      den = uu - a * (2 - a) * ee;
      q = ee;
    } else {
      double up = v.updateDotPrev;
      if (!chained || !prevValid || !Double.isFinite(up)) {
        return;
      }
      double b = beta;
      double k = b / (1 - b);
      double pp = prevUpdateSq;
      double pe = (1 - a) * prevEmaUpdateDot + pp;   // ⟨u_{t−1}, e_t⟩
      double ve = (ue - b * pe) / (1 - b);             // ⟨v, e⟩
      double vp = (up - b * pp) / (1 - b);             // ⟨v, u_{t−1}⟩
      double vv = (uu - 2 * b * up + b * b * pp) / ((1 - b) * (1 - b));
      double epe = ee + k * pe;                        // ⟨e′, e⟩
      num = -2 * ((1 - a) * ve + k * vp);
      den = vv - 2 * a * epe + a * a * ee;
      q = ee + 2 * k * pe + k * k * pp;                // ‖e′‖²
    }
    if (!Double.isFinite(num) || !Double.isFinite(den) || !Double.isFinite(q * q)) {
      return;
    }
    sums.add(Sum.PI_N, 1);
    sums.add(Sum.PI_STEPS, steps);
    sums.add(Sum.PI_NUM, num);
    sums.add(Sum.PI_DEN, den);
    sums.add(Sum.PI_Q, q);
    sums.add(Sum.PI_QQ, q * q);
  }

  /**
   * The centre's rate over a block of k steps, a_k = 1 − (1 − a)^k, for the per-step rate a of
   * the HELLO label (docs/protocol.md "Blocks"): what k steps of the EMA do to a centre whose
   * target stays put.
   */
  static double blockRate(double a, double k) {
    return a >= 1 ? 1 : -Math.expm1(k * Math.log1p(-a));
  }

  private void oscillation(Values v, boolean nil, int row, boolean chained) {
    double udp = v.updateDotPrev;
    double us = v.updateSq;
    double prev = prevUpdateSq;
    if (!chained || !Double.isFinite(udp) || nil || !prevValidUpdate() || !(prev > 0) || !(us > 0)) {
      return;
    }
    double num = us + prev + 2 * udp;
    double den = us + prev;
    if (Double.isFinite(num) && Double.isFinite(den)) {
      sums.add(Sum.R2_N, 1);
      sums.add(Sum.R2_NUM, num);
      sums.add(Sum.R2_DEN, den);
    }
    if (row >= 0) {
      setFinite(row, Derived.KAPPA, udp / Math.sqrt(us * prev));
    }
  }

  private boolean prevValidUpdate() {
    return Double.isFinite(prevUpdateSq) && prevUpdateSq >= nilUpdate;
  }

  private void signal(Values v) {
    double gsq = v.gradSq;
    double gl = v.gradLocalSq;
    double bb = v.batchSize;
    double bs = v.localBatchSize;
    if (Double.isFinite(gsq) && Double.isFinite(gl) && bb > bs && bs > 0) {
      sums.add(Sum.SIG_N, 1);
      sums.add(Sum.SIG_G_NUM, bb * gsq - bs * gl);
      sums.add(Sum.SIG_G_DEN, bb - bs);
      sums.add(Sum.SIG_S_NUM, gl - gsq);
      sums.add(Sum.SIG_S_DEN, 1 / bs - 1 / bb);
    }
  }

  /**
   * Pooled RSI/EB/γ sums of one reference (math.md §2: ratios of window sums), and the per-record
   * RSI_t, EB_t, γ_t, η*_t in the thinned row for their quantiles; the four thinned columns follow
   * {@code rsiColumn} in the order of {@link Derived}.
   */
  private void pooled(double gradDot, double distSq, double gradSq, int nColumn, int row, int rsiColumn) {
    if (!Double.isFinite(gradDot) || !(distSq > 0) || !(gradSq >= 0) || !Double.isFinite(distSq + gradSq)) {
      if (row >= 0 && gradSq > 0 && Double.isFinite(gradDot)) {
        setFinite(row, rsiColumn == Derived.RSI_EMA ? Derived.ETA_STAR_EMA : Derived.ETA_STAR_REF, gradDot / gradSq);
      }
      return;
    }
    sums.add(nColumn, 1);
    sums.add(nColumn + 1, gradDot);
    sums.add(nColumn + 2, distSq);
    sums.add(nColumn + 3, gradSq);
    if (row < 0) {
      return;
    }
    double rsi = gradDot / distSq;
    double eb = Math.sqrt(gradSq / distSq);
    setFinite(row, rsiColumn, rsi);
    setFinite(row, rsiColumn + 1, eb);
    setFinite(row, rsiColumn + 2, rsi / eb);
    if (gradSq > 0) {
      setFinite(row, rsiColumn == Derived.RSI_EMA ? Derived.ETA_STAR_EMA : Derived.ETA_STAR_REF, gradDot / gradSq);
    }
  }

  /**
   * The excess loss the step's noise holds at stationarity in a quadratic basin (math.md §5,
   * forecast): (1+β)‖u‖²/(4η) from the updates, η‖g‖²/4 for plain SGD without them.
   */
  private void forecast(Values v, boolean oneStep) {
    double lr = v.lr;
    double loss = v.loss;
    if (!(lr > 0) || !Double.isFinite(loss) || !Double.isFinite(forecastFactor)) {
      return;
    }
    double excess;
    if (Double.isFinite(v.updateSq) && oneStep) {
      excess = forecastFactor * v.updateSq / (4 * lr);
    } else if (beta == 0 && Double.isFinite(v.gradSq)) {
      excess = lr * v.gradSq / 4;
    } else {
      return;
    }
    if (Double.isFinite(excess)) {
      sums.add(Sum.FC_N, 1);
      sums.add(Sum.FC, excess);
      sums.add(Sum.FC_LOSS, loss);
    }
  }

  private void setFinite(int row, int column, double v) {
    if (Double.isFinite(v)) {
      thinned.set(row, column, v);
    }
  }

  /** One record's well-known values, NaN where the record does not carry the series. */
  static final class Values {
    double loss;
    double lr;
    double gradSq;
    double gradLocalSq;
    double batchSize;
    double localBatchSize;
    double weightSq;
    double updateSq;
    double updateDotPrev;
    double emaGradDot;
    double emaDistSq;
    double emaUpdateDot;
    /** Steps the record's update spans (NaN: one). */
    double updateSteps;
    long step;
    double refGradDot;
    double refDistSq;
    double refGradSq;
  }
}

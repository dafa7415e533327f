package io.ergowatch.monitor.analytics;

/**
 * Per-record quantities derived from the well-known series (docs/math.md §2–§4), stored as
 * columns of the thinned window next to the series. Ratios are formed per record only where
 * the statistic is a per-record one (RSI_t, EB_t, κ_t); window statistics that are ratios of
 * sums (Π, R2, the gradient signal) keep numerator and denominator as separate columns.
 */
final class Derived {
  static final int RSI_EMA = 0;
  static final int EB_EMA = 1;
  static final int GAMMA_EMA = 2;
  static final int RSI_REF = 3;
  static final int EB_REF = 4;
  static final int GAMMA_REF = 5;
  static final int KAPPA = 6;
  static final int R2_NUM = 7;
  static final int R2_DEN = 8;
  /** ⟨u, w − c⟩ (ema_update_dot) of a non-nil update; Π = −2 Σ PI_NUM / Σ PI_DEN. */
  static final int PI_NUM = 9;
  /** ‖u‖² (update_sq) of the same non-nil update. */
  static final int PI_DEN = 10;
  static final int SIG_G_NUM = 11;
  static final int SIG_G_DEN = 12;
  static final int SIG_S_NUM = 13;
  static final int SIG_S_DEN = 14;
  /** ‖u‖², or η²‖g‖² for runs that send no update series: how far the weights move. */
  static final int ENERGY = 15;
  /** The per-step estimate of ‖G‖² (for its standard error only). */
  static final int SIG_G_STEP = 16;
  /** η*_t = ⟨g, w − c⟩ / ‖g‖², the best step toward the EMA centre (math.md §2). */
  static final int ETA_STAR_EMA = 17;
  /** η*_p = ⟨g_p, w_p − w_r⟩ / ‖g_p‖² toward the later reference point. */
  static final int ETA_STAR_REF = 18;
  static final int COUNT = 19;

  private Derived() {}
}

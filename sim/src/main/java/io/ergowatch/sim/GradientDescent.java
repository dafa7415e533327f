package io.ergowatch.sim;

import java.util.List;
import java.util.SplittableRandom;

/**
 * (S)GD with a fixed step on an {@link Objective}, emitting the well-known series of
 * docs/protocol.md exactly as an agent computes them: g is the (noisy) gradient at w, u = −ηg
 * the update, c an EMA of the weights (horizon {@code emaHorizon} steps), and the gradient noise
 * is Gaussian with sd σ per coordinate, divided by √B for a batch of B. With a local batch B_s
 * (as a data-parallel rank sees before the all-reduce) it also emits grad_local_sq from an
 * independent draw, so the two-batch signal estimator of math.md §3 applies. Used by the demo and
 * by the known-answer tests of math.md §6.
 */
public final class GradientDescent {
  /** Series emitted by {@link #step}, in this order. */
  public static final List<String> SERIES = List.of(
      "loss", "lr", "batch_size", "local_batch_size", "grad_sq", "grad_local_sq", "weight_sq", "update_sq",
      "update_dot_prev", "grad_dot_update", "ema_grad_dot", "ema_dist_sq", "ema_update_dot");

  private final Objective f;
  private final double eta;
  private final double sigma;
  private final int batch;
  private final int localBatch;
  private final double emaAlpha;
  private final SplittableRandom rng;
  private final double[] w;
  private final double[] c;
  private final double[] g;
  private final double[] gLocal;
  private final double[] u;
  private final double[] uPrev;
  private boolean first = true;

  /**
   * @param sigma gradient noise sd per coordinate for a batch of 1 (0 for GD)
   * @param batch global batch size B
   * @param localBatch per-rank batch B_s (0: no grad_local_sq)
   * @param emaHorizon EMA horizon of the reference point c, in steps; 0 fixes c at the origin
   */
  public GradientDescent(Objective f, double[] w0, double eta, double sigma, int batch, int localBatch,
      int emaHorizon, long seed) {
    this.f = f;
    this.eta = eta;
    this.sigma = sigma;
    this.batch = batch;
    this.localBatch = localBatch;
    this.emaAlpha = emaHorizon > 0 ? 2.0 / (emaHorizon + 1) : 0;
    this.rng = new SplittableRandom(seed);
    int d = f.dimension();
    this.w = w0.clone();
    this.c = emaHorizon > 0 ? w0.clone() : new double[f.dimension()];
    this.g = new double[d];
    this.gLocal = new double[d];
    this.u = new double[d];
    this.uPrev = new double[d];
  }

  /** The EMA rate a of the centre (HELLO label {@code ema_alpha}); 0 for a fixed centre. */
  public double emaAlpha() {
    return emaAlpha;
  }

  public double learningRate() {
    return eta;
  }

  /**
   * One iteration: writes the record of this step into {@code out} (in {@link #SERIES} order),
   * marks in {@code present} which series apply to it (a diverging run's NaN loss is a value,
   * so absence is never encoded as NaN), and moves the weights.
   */
  public void step(double[] out, boolean[] present) {
    int d = w.length;
    double loss = f.loss(w);
    f.gradient(w, g);
    double gsq = 0;
    double glsq = 0;
    for (int i = 0; i < d; i++) {
      double exact = g[i];
      if (sigma > 0) {
        g[i] = exact + sigma * rng.nextGaussian() / Math.sqrt(batch);
        if (localBatch > 0) {
          // A rank's own slice: its noise is larger, and the global mean includes it. Modelled as
          // an independent draw at batch B_s; E|g_s|^2 = |G|^2 + d sigma^2 / B_s either way.
          gLocal[i] = exact + sigma * rng.nextGaussian() / Math.sqrt(localBatch);
          glsq += gLocal[i] * gLocal[i];
        }
      }
      gsq += g[i] * g[i];
    }
    double wsq = 0;
    double usq = 0;
    double udp = 0;
    double gdu = 0;
    double egd = 0;
    double eds = 0;
    double eud = 0;
    for (int i = 0; i < d; i++) {
      u[i] = -eta * g[i];
      double dc = w[i] - c[i];
      wsq += w[i] * w[i];
      usq += u[i] * u[i];
      udp += u[i] * uPrev[i];
      gdu += g[i] * u[i];
      egd += g[i] * dc;
      eds += dc * dc;
      eud += u[i] * dc;
    }
    boolean twoBatches = localBatch > 0 && sigma > 0;
    java.util.Arrays.fill(present, true);
    out[0] = loss;
    out[1] = eta;
    out[2] = batch;
    out[3] = localBatch;
    present[3] = twoBatches;
    out[4] = gsq;
    out[5] = glsq;
    present[5] = twoBatches;
    out[6] = wsq;
    out[7] = usq;
    out[8] = udp;
    present[8] = !first;
    out[9] = gdu;
    out[10] = egd;
    out[11] = eds;
    out[12] = eud;
    first = false;
    for (int i = 0; i < d; i++) {
      c[i] += emaAlpha * (w[i] - c[i]);
      w[i] += u[i];
      uPrev[i] = u[i];
    }
  }
}

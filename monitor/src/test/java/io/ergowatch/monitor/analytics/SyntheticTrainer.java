package io.ergowatch.monitor.analytics;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongToDoubleFunction;

/**
 * SGD or heavy ball on a noisy quadratic ½Σ h_i (w_i − x_i)², emitting the well-known series exactly
 * as the agents compute them (docs/protocol.md): g the minibatch gradient at w, u the actual
 * update, c the agents' EMA centre c ← c + a(w_t − c). The calibration streams of docs/math.md
 * are built from it: a stationary stall (math.md §6.3's d = 20, h = logspace(−1, 1), η = 0.05,
 * 4 ranks × batch 8, σ = 2), heavy ball, d = 1000, learning-rate schedules, lr spikes, and epochs
 * (a finite data set visited in a fixed order, so the minibatch loss is periodic in the data order).
 */
final class SyntheticTrainer {
  static final List<String> SERIES = List.of(
      "loss", "lr", "batch_size", "local_batch_size", "grad_sq", "grad_local_sq", "weight_sq", "update_sq",
      "update_dot_prev", "grad_dot_update", "ema_grad_dot", "ema_dist_sq", "ema_update_dot");

  final double[] h;
  final double sigma;
  final int batch;
  final int localBatch;
  final double beta;
  final double alpha;
  final LongToDoubleFunction lr;
  /** Epochs: the data points' noise vectors (n × d), visited in order; null for fresh noise. */
  final double[][] data;
  private final SplittableRandom rng;
  private final double[] w;
  private final double[] c;
  private final double[] g;
  private final double[] gl;
  private final double[] u;
  private final double[] up;
  private boolean first = true;
  /** Emit the full loss f(w) instead of the minibatch loss (a slowly decorrelating loss). */
  boolean fullLossSeries;
  private long t;
  private int cursor;
  /** Σ‖G‖² over the steps after {@link #measureFrom}: the true signal the monitor estimates. */
  double signalSum;
  long signalN;
  long measureFrom = 20_000;

  SyntheticTrainer(double[] h, double sigma, int batch, int localBatch, double beta, double alpha,
      LongToDoubleFunction lr, int dataPoints, long seed) {
    this.h = h;
    this.sigma = sigma;
    this.batch = batch;
    this.localBatch = localBatch;
    this.beta = beta;
    this.alpha = alpha;
    this.lr = lr;
    this.rng = new SplittableRandom(seed);
    int d = h.length;
    this.w = new double[d];
    java.util.Arrays.fill(w, 1);
    this.c = w.clone();
    this.g = new double[d];
    this.gl = new double[d];
    this.u = new double[d];
    this.up = new double[d];
    if (dataPoints > 0) {
      data = new double[dataPoints][d];
      double[] mean = new double[d];
      for (double[] x : data) {
        for (int i = 0; i < d; i++) {
          x[i] = sigma * rng.nextGaussian();
          mean[i] += x[i] / dataPoints;
        }
      }
      for (double[] x : data) {
        for (int i = 0; i < d; i++) {
          x[i] -= mean[i];
        }
      }
    } else {
      data = null;
    }
  }

  static double[] logspace(int d, double lo, double hi) {
    double[] h = new double[d];
    for (int i = 0; i < d; i++) {
      h[i] = Math.pow(10, Math.log10(lo) + (Math.log10(hi) - Math.log10(lo)) * i / Math.max(1, d - 1));
    }
    return h;
  }

  /**
   * The expected excess loss at stationarity for SGD, Σ ησ_i²/(2(2 − ηh_i)) (math.md §5, forecast),
   * with σ_i = h_i σ/√B the gradient noise of coordinate i here.
   */
  double stationaryExcess(double eta) {
    double s = 0;
    for (double hi : h) {
      s += eta * hi * hi * sigma * sigma / batch / (2 * (2 - eta * hi));
    }
    return s;
  }

  /** E‖G‖² at stationarity for SGD: Σ h_i² Var(w_i), Var(w_i) = ησ_i²/(h_i(2 − ηh_i)). */
  double stationarySignal(double eta) {
    double s = 0;
    for (double hi : h) {
      double si2 = hi * hi * sigma * sigma / batch;
      s += hi * hi * eta * si2 / (hi * (2 - eta * hi));
    }
    return s;
  }

  double fullLoss() {
    double l = 0;
    for (int i = 0; i < w.length; i++) {
      l += 0.5 * h[i] * w[i] * w[i];
    }
    return l;
  }

  /** One step; the record's values in {@link #SERIES} order (NaN = absent). */
  void step(double[] out) {
    int d = w.length;
    double eta = lr.applyAsDouble(t);
    double loss = 0;
    double gsq = 0;
    double glsq = 0;
    if (t >= measureFrom) {
      double gg = 0;
      for (int i = 0; i < d; i++) {
        gg += h[i] * w[i] * h[i] * w[i];
      }
      signalSum += gg;
      signalN++;
    }
    for (int i = 0; i < d; i++) {
      double exact = h[i] * w[i];
      double noise;
      double local;
      if (data == null) {
        noise = sigma * rng.nextGaussian() / Math.sqrt(batch);
        local = localBatch > 0 ? sigma * rng.nextGaussian() / Math.sqrt(localBatch) : 0;
      } else {
        noise = 0;
        for (int b = 0; b < batch; b++) {
          noise += data[(cursor + b) % data.length][i];
        }
        noise /= batch;
        local = 0;
        for (int b = 0; b < localBatch; b++) {
          local += data[(cursor + b) % data.length][i];
        }
        local = localBatch > 0 ? local / localBatch : 0;
      }
      g[i] = exact + h[i] * noise;
      gl[i] = exact + h[i] * local;
      // The minibatch loss: ½h (w − x_B)² + the batch's own constant, ½h(mean of x² − x_B²).
      loss += 0.5 * h[i] * (w[i] - noise) * (w[i] - noise);
      gsq += g[i] * g[i];
      glsq += gl[i] * gl[i];
    }
    if (data != null) {
      cursor = (cursor + batch) % data.length;
    }
    double wsq = 0;
    double usq = 0;
    double udp = 0;
    double gdu = 0;
    double egd = 0;
    double eds = 0;
    double eud = 0;
    for (int i = 0; i < d; i++) {
      u[i] = beta * up[i] - eta * g[i];
      double e = w[i] - c[i];
      wsq += w[i] * w[i];
      usq += u[i] * u[i];
      udp += u[i] * up[i];
      gdu += g[i] * u[i];
      egd += g[i] * e;
      eds += e * e;
      eud += u[i] * e;
    }
    out[0] = fullLossSeries ? fullLoss() : loss;
    out[1] = eta;
    out[2] = batch;
    out[3] = localBatch > 0 ? localBatch : Double.NaN;
    out[4] = gsq;
    out[5] = localBatch > 0 ? glsq : Double.NaN;
    out[6] = wsq;
    out[7] = usq;
    out[8] = first ? Double.NaN : udp;
    out[9] = gdu;
    out[10] = egd;
    out[11] = eds;
    out[12] = eud;
    first = false;
    for (int i = 0; i < d; i++) {
      c[i] += alpha * (w[i] - c[i]);
      w[i] += u[i];
      up[i] = u[i];
    }
    t++;
  }
}

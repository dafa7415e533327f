package io.ergowatch.monitor.demo;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * (S)GD on f(w) = ½ Σ h_i w_i², with optional Gaussian gradient noise of sd σ per coordinate:
 * the test bed of docs/math.md §6.2 and §6.4. With noise and a fixed step the iterates settle
 * into a stationary distribution N(0, ησ²/(h(2−ηh))) with a gradient that never vanishes; with
 * η·max h > 2 the top coordinate grows by |1 − ηh| per step and the run diverges.
 */
final class Quadratic implements SimulatedTrainer {
  private final String run;
  private final String behaviour;
  private final double[] h;
  private final double[] w;
  private final double eta;
  private final double sigma;
  private final int batch;
  private final SplittableRandom rng;

  Quadratic(String run, String behaviour, double[] h, double eta, double sigma, int batch, long seed) {
    this.run = run;
    this.behaviour = behaviour;
    this.h = h.clone();
    this.eta = eta;
    this.sigma = sigma;
    this.batch = batch;
    this.rng = new SplittableRandom(seed);
    this.w = new double[h.length];
    java.util.Arrays.fill(w, 1.0);
  }

  /** h_i spread geometrically over [lo, hi]. */
  static double[] spectrum(int d, double lo, double hi) {
    double[] h = new double[d];
    for (int i = 0; i < d; i++) {
      h[i] = lo * Math.pow(hi / lo, d == 1 ? 0 : (double) i / (d - 1));
    }
    return h;
  }

  @Override
  public String run() {
    return run;
  }

  @Override
  public String job() {
    return "demo";
  }

  @Override
  public String behaviour() {
    return behaviour;
  }

  @Override
  public List<String> series() {
    return List.of("loss", "lr", "batch_size", "grad_sq", "weight_sq", "update_sq");
  }

  @Override
  public Map<String, String> labels() {
    return Map.of("optimizer", sigma > 0 ? "sgd" : "gd", "model", "quadratic-d" + h.length);
  }

  @Override
  public void step(long t, double[] out) {
    double loss = 0;
    double gradSq = 0;
    double weightSq = 0;
    double updateSq = 0;
    for (int i = 0; i < w.length; i++) {
      double g = h[i] * w[i] + (sigma > 0 ? sigma * rng.nextGaussian() / Math.sqrt(batch) : 0);
      loss += 0.5 * h[i] * w[i] * w[i];
      weightSq += w[i] * w[i];
      gradSq += g * g;
      double u = -eta * g;
      updateSq += u * u;
      w[i] += u;
    }
    out[0] = loss;
    out[1] = eta;
    out[2] = batch;
    out[3] = gradSq;
    out[4] = weightSq;
    out[5] = updateSq;
  }
}

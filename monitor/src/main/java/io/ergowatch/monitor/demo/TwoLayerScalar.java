package io.ergowatch.monitor.demo;

import java.util.List;
import java.util.Map;

/**
 * GD on the scalar two-layer network ½(ab − 1)² (docs/math.md §1 and §6.9): η below the
 * critical step η_c = 1 converges, above it the iterates fall into a period-2 orbit, then
 * bounded aperiodic motion, then divergence.
 */
final class TwoLayerScalar implements SimulatedTrainer {
  private final String run;
  private final double eta;
  private double a = 0.3;
  private double b = 1.7;
  private double prevUa;
  private double prevUb;

  TwoLayerScalar(String run, double eta) {
    this.run = run;
    this.eta = eta;
  }

  @Override
  public String run() {
    return run;
  }

  @Override
  public String job() {
    return "demo-sweep";
  }

  @Override
  public String behaviour() {
    return "GD on ½(ab−1)², η=" + eta + " (critical η_c = 1)";
  }

  @Override
  public List<String> series() {
    return List.of("loss", "lr", "grad_sq", "weight_sq", "update_sq", "update_dot_prev");
  }

  @Override
  public Map<String, String> labels() {
    return Map.of("optimizer", "gd", "model", "two-layer-scalar");
  }

  @Override
  public void step(long t, double[] out) {
    double r = a * b - 1;
    double ga = r * b;
    double gb = r * a;
    double ua = -eta * ga;
    double ub = -eta * gb;
    out[0] = 0.5 * r * r;
    out[1] = eta;
    out[2] = ga * ga + gb * gb;
    out[3] = a * a + b * b;
    out[4] = ua * ua + ub * ub;
    out[5] = ua * prevUa + ub * prevUb;
    a += ua;
    b += ub;
    prevUa = ua;
    prevUb = ub;
  }
}

package io.ergowatch.monitor.analytics;

import io.ergowatch.sim.GradientDescent;
import io.ergowatch.sim.Objective;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Feeds known processes (math.md §6) through a RunCore and records what it decided. */
final class Simulations {
  private Simulations() {}

  /** The states seen at every evaluation-sized stride, and the final snapshot. */
  record Outcome(RunSnapshot last, List<RunState> states, List<Double> pis, RunCore core) {
    RunState state() {
      return last.state();
    }

    /** Median of Pi over the evaluations sampled every 100 steps (NaN ones skipped). */
    double medianPi() {
      double[] v = pis.stream().filter(Double::isFinite).mapToDouble(Double::doubleValue).sorted().toArray();
      return v.length == 0 ? Double.NaN : v[v.length / 2];
    }
  }

  static RunCore core(Map<String, String> labels) {
    return new RunCore("sim", "", labels, AnalyticsSettings.defaults());
  }

  /** Runs {@code steps} iterations of a GD/SGD process through a new core. */
  static Outcome run(GradientDescent gd, int steps) {
    RunCore core = core(Map.of("optimizer", "sgd", "ema_alpha", Double.toString(gd.emaAlpha())));
    int[] idx = new int[GradientDescent.SERIES.size()];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = core.seriesIndex(GradientDescent.SERIES.get(i));
    }
    double[] v = new double[idx.length];
    boolean[] p = new boolean[idx.length];
    StepRecord r = new StepRecord(idx.length);
    List<RunState> states = new ArrayList<>();
    List<Double> pis = new ArrayList<>();
    for (int t = 0; t < steps; t++) {
      gd.step(v, p);
      r.reset(t, t);
      for (int i = 0; i < idx.length; i++) {
        if (p[i]) {
          r.put(idx[i], v[i]);
        }
      }
      core.onRecord(r, t);
      if (t % 100 == 99) {
        states.add(core.state());
        pis.add(core.snapshot().statistics().stationarityRatio());
      }
    }
    return new Outcome(core.snapshot(), states, pis, core);
  }

  static double[] fill(int d, double x) {
    double[] w = new double[d];
    java.util.Arrays.fill(w, x);
    return w;
  }

  static GradientDescent quadratic(double eta, double sigma, long seed, double... h) {
    return new GradientDescent(Objective.quadratic(h), fill(h.length, 1), eta, sigma, 64, 0, 200, seed);
  }
}

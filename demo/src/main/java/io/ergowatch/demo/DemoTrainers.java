package io.ergowatch.demo;

import io.ergowatch.sim.GradientDescent;
import io.ergowatch.sim.Objective;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** The runs of {@code ergowatch demo}, each showing one behaviour the monitor must tell apart. */
public final class DemoTrainers {
  private DemoTrainers() {}

  public static List<DemoRun> all() {
    return List.of(
        new DemoRun("improving-slow-gd", "demo", "GD on an ill-conditioned quadratic (h from 1e-4 to 1): keeps improving",
            Map.of("optimizer", "gd", "model", "quadratic-d40"),
            new GradientDescent(Objective.quadratic(Objective.spectrum(40, 1e-4, 1.0)), ones(40), 1.0, 0, 256, 0, 50, 1)),
        new DemoRun("stalled-sgd-constant-lr", "demo",
            "SGD with a constant step and gradient noise: the weights reach a stationary law, the gradient never vanishes",
            Map.of("optimizer", "sgd", "model", "quadratic-d40"),
            new GradientDescent(Objective.quadratic(Objective.spectrum(40, 0.5, 2.0)), ones(40), 0.2, 1.0, 64, 16, 200, 2)),
        new DemoRun("diverging-lr-too-large", "demo", "GD with lr x lambda_max = 2.02, past the stability limit 2",
            Map.of("optimizer", "gd", "model", "quadratic-d40"),
            new GradientDescent(Objective.quadratic(Objective.spectrum(40, 0.1, 10.0)), ones(40), 0.202, 0, 256, 0, 50, 3)),
        sweep(0.99), sweep(1.1), sweep(1.5), sweep(2.0));
  }

  /** GD on ½(ab − 1)² at one step size: the phase transition at η_c = 1 (math.md §6.9). */
  private static DemoRun sweep(double lr) {
    return new DemoRun("two-layer-lr" + lr, "demo-sweep", "GD on ½(ab−1)² at lr " + lr + " (critical lr 1)",
        Map.of("optimizer", "gd", "model", "two-layer-scalar", "lr", Double.toString(lr)),
        new GradientDescent(Objective.twoLayerScalar(1.0), new double[] {0.2, 0.1}, lr, 0, 1, 0, 50, 4));
  }

  private static double[] ones(int d) {
    double[] w = new double[d];
    Arrays.fill(w, 1.0);
    return w;
  }
}

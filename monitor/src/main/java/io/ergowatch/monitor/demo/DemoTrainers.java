package io.ergowatch.monitor.demo;

import java.util.List;

/** The runs of {@code ergowatch demo}, each showing one behaviour the monitor must tell apart. */
final class DemoTrainers {
  private DemoTrainers() {}

  static List<SimulatedTrainer> all() {
    return List.of(
        new Quadratic("improving-slow-gd", "GD on an ill-conditioned quadratic (h from 1e-4 to 1): keeps improving",
            Quadratic.spectrum(40, 1e-4, 1.0), 1.0, 0.0, 256, 1),
        new Quadratic("stalled-sgd-constant-lr", "SGD, constant step, gradient noise: stationary law, gradient never vanishes",
            Quadratic.spectrum(40, 0.5, 2.0), 0.2, 1.0, 64, 2),
        new Quadratic("diverging-lr-too-large", "GD with η·λmax = 2.02, past the stability limit 2",
            Quadratic.spectrum(40, 0.1, 10.0), 0.202, 0.0, 256, 3),
        new TwoLayerScalar("two-layer-lr0.99", 0.99),
        new TwoLayerScalar("two-layer-lr1.1", 1.1));
  }
}

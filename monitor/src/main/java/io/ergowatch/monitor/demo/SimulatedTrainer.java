package io.ergowatch.monitor.demo;

import java.util.List;
import java.util.Map;

/**
 * A training process simulated in a few lines of arithmetic, so the demo runs anywhere in
 * seconds. Each one is a real optimisation (SGD or GD on a known objective), not a scripted
 * curve: what the monitor sees is what that optimiser does.
 */
interface SimulatedTrainer {
  String run();

  String job();

  /** One-line description for the live view and the logs. */
  String behaviour();

  /** Series names, in the order {@link #step} fills them. */
  List<String> series();

  Map<String, String> labels();

  /** Advances one iteration and writes its record into {@code out}. */
  void step(long t, double[] out);
}

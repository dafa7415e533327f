package io.ergowatch.monitor.dashboards;

import io.ergowatch.agent.ErgowatchAgent;
import io.ergowatch.sim.GradientDescent;
import io.ergowatch.sim.Objective;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Simulated training runs streamed into a monitor through the real Java agent. The agents stay
 * connected (the runs stay live) until {@link #close()}, so "while live" rules apply to them.
 * Everything is seeded: the monitor reaches the same verdicts on every run of the test.
 */
final class TrainingFleet implements AutoCloseable {
  /** Writes the values of one step; {@code present[i]} false leaves series i out of the record. */
  interface Source {
    void step(long t, double[] values, boolean[] present);
  }

  private final int ingestPort;
  private final Map<String, String> jobs = new LinkedHashMap<>();
  private final Map<String, Integer> steps = new LinkedHashMap<>();
  private final List<ErgowatchAgent> agents = new ArrayList<>();

  TrainingFleet(int ingestPort) {
    this.ingestPort = ingestPort;
  }

  /** Runs by name, with their job. */
  Map<String, String> runs() {
    return jobs;
  }

  TrainingFleet stream(String job, String run, List<String> series, int steps, Source source, String... labels) {
    ErgowatchAgent.Builder b = ErgowatchAgent.builder().address("127.0.0.1:" + ingestPort).run(run).job(job)
        .series(series);
    for (int i = 0; i + 1 < labels.length; i += 2) {
      b.label(labels[i], labels[i + 1]);
    }
    ErgowatchAgent agent = b.build();
    agents.add(agent);
    jobs.put(run, job);
    this.steps.put(run, steps);
    double[] v = new double[series.size()];
    boolean[] p = new boolean[v.length];
    int[] ids = new int[v.length];
    double[] vals = new double[v.length];
    for (int t = 0; t < steps; t++) {
      Arrays.fill(p, true);
      source.step(t, v, p);
      int n = 0;
      for (int i = 0; i < v.length; i++) {
        if (p[i]) {
          ids[n] = i;
          vals[n++] = v[i];
        }
      }
      agent.record(t, ids, vals, n);
    }
    return this;
  }

  TrainingFleet gd(String job, String run, GradientDescent gd, int steps, String... labels) {
    return stream(job, run, GradientDescent.SERIES, steps, (t, v, p) -> gd.step(v, p), labels);
  }

  /** Steps streamed per run. */
  Map<String, Integer> steps() {
    return steps;
  }

  /**
   * Waits until the monitor has processed every step of every run ({@code processed} reads a
   * run's step count from the monitor): what the metrics and the API show, whatever the
   * agents' ACKs (which follow the record log's durable commits) say.
   */
  void awaitProcessed(java.util.function.ToLongFunction<String> processed, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Map.Entry<String, Integer> e : steps.entrySet()) {
      while (processed.applyAsLong(e.getKey()) < e.getValue()) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("the monitor processed " + processed.applyAsLong(e.getKey()) + " of "
              + e.getValue() + " steps of run " + e.getKey() + " within " + timeout);
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new AssertionError("interrupted");
        }
      }
    }
  }

  // ---- the runs of the dashboard tests (math.md §6 set-ups with known verdicts) ---------------

  /** SGD with a constant step on ½|w|² (d = 20): stalled_nonstationary (math.md §6.4). */
  static GradientDescent stallingSgd() {
    return new GradientDescent(Objective.quadratic(fill(20, 1)), fill(20, 1), 0.5, 1, 64, 16, 400, 9);
  }

  /** GD on diag(1, 4, 10) at 0.21 > 2/λ_max: diverged (math.md §6.2). */
  static GradientDescent divergingGd() {
    return new GradientDescent(Objective.quadratic(1, 4, 10), fill(3, 1), 0.21, 0, 1, 0, 50, 1);
  }

  /** GD on ½(ab − 1)² at one step size: converges below η_c = 1, oscillates at 1.1 (math.md §6.9). */
  static GradientDescent twoLayer(double lr) {
    return new GradientDescent(Objective.twoLayerScalar(1), new double[] {0.2, 0.1}, lr, 0, 1, 0, 50, 1);
  }

  /** A noisy stationary loss at lr 0.1 (seeds for split-R̂). */
  static Source noisyLoss(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    return (t, v, p) -> {
      v[0] = 10 + rng.nextGaussian();
      v[1] = 0.1;
    };
  }

  /** A flat loss with a sharpness 1.25 × S_crit every 10 steps: unstable (sharpness ratio). */
  static Source sharpLoss(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    return (t, v, p) -> {
      v[0] = 1 + 0.01 * rng.nextGaussian();
      v[1] = 0.1;
      v[2] = 25; // S_crit = 2 / 0.1 = 20 for SGD
      p[2] = t % 10 == 0;
    };
  }

  /** A stationary loss and 32 AR(1) weight projections (sliced-W drift, math.md §6.6). */
  static Source projections(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    double[] x = new double[32];
    return (t, v, p) -> {
      v[0] = 1 + 0.01 * rng.nextGaussian();
      for (int j = 0; j < 32; j++) {
        x[j] = 0.5 * x[j] + rng.nextGaussian();
        v[1 + j] = x[j];
      }
    };
  }

  static List<String> projectionSeries() {
    List<String> s = new ArrayList<>(List.of("loss"));
    for (int j = 0; j < 32; j++) {
      s.add("proj." + j);
    }
    return s;
  }

  static double[] fill(int d, double x) {
    double[] w = new double[d];
    Arrays.fill(w, x);
    return w;
  }

  @Override
  public void close() {
    for (ErgowatchAgent a : agents) {
      a.close();
    }
  }
}

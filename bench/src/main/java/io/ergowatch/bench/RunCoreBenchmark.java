package io.ergowatch.bench;

import io.ergowatch.monitor.analytics.AnalyticsSettings;
import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.StepRecord;
import io.ergowatch.sim.GradientDescent;
import io.ergowatch.sim.Objective;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-run analytics core's cost per record with every estimator on and 40 series: the 13
 * series of an SGD run with two batch sizes and the EMA geometry, the 3 lagged-reference series,
 * sharpness, and 23 weight projections. Records are precomputed so only the core is measured.
 * The loss is SGD's stationary loss (τ̂ ≈ 5), the case where the window is near its minimum and
 * evaluations are most frequent. Target: ≤ 2 µs and zero allocation per record ({@code -prof gc}).
 */
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Thread)
public class RunCoreBenchmark {
  private static final int RECORDS = 1 << 16;
  private static final int PROJECTIONS = 23;

  @Param({"40"})
  int series;

  private RunCore core;
  private StepRecord record;
  private int[] index;
  private double[][] values;
  private boolean[][] present;
  private long step;

  @Setup
  public void setup() {
    core = new RunCore("bench", "", Map.of("optimizer", "sgd"), AnalyticsSettings.defaults());
    int n = GradientDescent.SERIES.size() + 4 + PROJECTIONS;
    index = new int[n];
    int k = 0;
    for (String s : GradientDescent.SERIES) {
      index[k++] = core.seriesIndex(s);
    }
    for (String s : new String[] {"ref_grad_dot", "ref_dist_sq", "ref_grad_sq", "sharpness"}) {
      index[k++] = core.seriesIndex(s);
    }
    for (int j = 0; j < PROJECTIONS; j++) {
      index[k++] = core.seriesIndex("proj." + j);
    }
    double[] w0 = new double[40];
    Arrays.fill(w0, 1);
    GradientDescent sgd = new GradientDescent(Objective.quadratic(Objective.spectrum(40, 0.5, 2)), w0, 0.2, 1, 64, 16,
        200, 7);
    SplittableRandom rng = new SplittableRandom(3);
    values = new double[RECORDS][n];
    present = new boolean[RECORDS][n];
    double[] proj = new double[PROJECTIONS];
    boolean[] applies = new boolean[GradientDescent.SERIES.size()];
    double[] discard = new double[n];
    for (int t = 0; t < 5_000; t++) {
      sgd.step(discard, applies); // start in the stationary law, so the replay loop has no seam
    }
    for (int t = 0; t < RECORDS; t++) {
      sgd.step(values[t], applies);
      System.arraycopy(applies, 0, present[t], 0, applies.length);
      int b = GradientDescent.SERIES.size();
      values[t][b] = 0.5 + 0.1 * rng.nextGaussian();
      values[t][b + 1] = 1 + 0.1 * rng.nextGaussian();
      values[t][b + 2] = 2 + 0.1 * rng.nextGaussian();
      values[t][b + 3] = 4 + rng.nextGaussian();
      for (int i = 0; i < 4; i++) {
        present[t][b + i] = t % 10 == 0; // lagged probes and sharpness arrive every 10 steps
      }
      for (int j = 0; j < PROJECTIONS; j++) {
        proj[j] = 0.9 * proj[j] + rng.nextGaussian();
        values[t][b + 4 + j] = proj[j];
        present[t][b + 4 + j] = true;
      }
    }
    record = new StepRecord(n);
    for (int i = 0; i < 20_000; i++) {
      onRecord(); // past warmup: the verdict's steady state
    }
  }

  @Benchmark
  public long onRecord() {
    long t = step++;
    int r = (int) (t & (RECORDS - 1));
    double[] v = values[r];
    boolean[] p = present[r];
    record.reset(t, t);
    for (int i = 0; i < v.length; i++) {
      if (p[i]) {
        record.put(index[i], v[i]);
      }
    }
    core.onRecord(record, t);
    return core.steps();
  }
}

package io.ergowatch.bench;

import io.ergowatch.monitor.analytics.AnalyticsSettings;
import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.StepRecord;
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
 * The per-run analytics core's cost per record with {@code series} series present in every
 * record (the target is ≤ 2 µs and zero steady-state allocation with every estimator on; run
 * with {@code -prof gc} to see bytes/op).
 */
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class RunCoreBenchmark {
  @Param({"40"})
  int series;

  private RunCore core;
  private StepRecord record;
  private int[] index;
  private double[] noise;
  private long step;

  @Setup
  public void setup() {
    core = new RunCore("bench", "", Map.of(), AnalyticsSettings.defaults());
    index = new int[series];
    index[0] = core.seriesIndex("loss");
    index[1] = core.seriesIndex("lr");
    index[2] = core.seriesIndex("grad_sq");
    for (int i = 3; i < series; i++) {
      index[i] = core.seriesIndex("s" + i);
    }
    record = new StepRecord(series);
    SplittableRandom rng = new SplittableRandom(1);
    noise = new double[4096];
    for (int i = 0; i < noise.length; i++) {
      noise[i] = 1 + 0.1 * rng.nextGaussian();
    }
    for (int i = 0; i < 10_000; i++) {
      onRecord(); // past warmup: the verdict's steady state
    }
  }

  @Benchmark
  public long onRecord() {
    long t = step++;
    double x = noise[(int) (t & 4095)];
    record.reset(t, t);
    record.put(index[0], x).put(index[1], 0.1).put(index[2], x * x);
    for (int i = 3; i < series; i++) {
      record.put(index[i], x + i);
    }
    core.onRecord(record, t);
    return core.steps();
  }
}

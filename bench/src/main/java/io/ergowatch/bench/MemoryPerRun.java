package io.ergowatch.bench;

import io.ergowatch.monitor.analytics.AnalyticsSettings;
import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.StepRecord;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Heap held per run by the analytics core with default windows and 40 series (13 geometry
 * series, 4 sparse ones, 23 projections), measured as the retained heap of {@code runs} cores
 * after each has seen {@code records} records (long enough for every ring to be full), divided
 * by the number of runs. Target: ≤ 2 MiB.
 *
 * <pre>java -cp bench/target/ergowatch-bench.jar io.ergowatch.bench.MemoryPerRun [runs] [records]</pre>
 */
public final class MemoryPerRun {
  public static void main(String[] args) {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int records = args.length > 1 ? Integer.parseInt(args[1]) : 40_000;
    long before = usedAfterGc();
    List<RunCore> cores = new ArrayList<>();
    SplittableRandom rng = new SplittableRandom(1);
    for (int k = 0; k < runs; k++) {
      RunCore core = new RunCore("run-" + k, "mem", Map.of("optimizer", "sgd"), AnalyticsSettings.defaults());
      int[] idx = new int[40];
      String[] names = {"loss", "lr", "batch_size", "local_batch_size", "grad_sq", "grad_local_sq", "weight_sq",
          "update_sq", "update_dot_prev", "grad_dot_update", "ema_grad_dot", "ema_dist_sq", "ema_update_dot",
          "ref_grad_dot", "ref_dist_sq", "ref_grad_sq", "sharpness"};
      for (int i = 0; i < 40; i++) {
        idx[i] = core.seriesIndex(i < names.length ? names[i] : "proj." + (i - names.length));
      }
      StepRecord r = new StepRecord(40);
      double x = 0;
      for (int t = 0; t < records; t++) {
        // A loss with tau ~ 100 so the window grows to several thousand records.
        x = 0.98 * x + rng.nextGaussian();
        r.reset(t, t);
        for (int i = 0; i < 40; i++) {
          r.put(idx[i], i == 0 ? 10 + x : i == 1 ? 0.1 : 1 + 0.1 * rng.nextGaussian());
        }
        core.onRecord(r, t);
      }
      core.snapshot();
      cores.add(core);
    }
    long after = usedAfterGc();
    double perRun = (after - before) / (double) runs;
    System.out.printf("runs=%d records/run=%d: retained heap per run %.0f KiB (%.2f MiB); the core's own estimate %d KiB%n",
        runs, records, perRun / 1024, perRun / (1024 * 1024), cores.get(0).approximateBytes() / 1024);
  }

  private static long usedAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}

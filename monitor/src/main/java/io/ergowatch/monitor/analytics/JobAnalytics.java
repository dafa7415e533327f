package io.ergowatch.monitor.analytics;

import io.ergowatch.monitor.analytics.stats.SplitRhat;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Cross-run analytics of one job, computed from run snapshots at read time (pure, no state):
 * <ul>
 *   <li>split-R̂ of the tail loss across the runs that share a learning rate (seeds): below 1.01
 *       they have reached the same stationary distribution;
 *   <li>for a learning-rate sweep, the asymptotic gradient signal against η and the critical step
 *       size η_c where it jumps from 0 (runs converge) to &gt; 0 (they do not): bracketed by the
 *       largest η where every run converged and the next η where none did (math.md §1, §6.9).
 * </ul>
 */
public final class JobAnalytics {
  private JobAnalytics() {}

  /** Groups snapshots by job. */
  public static List<JobSnapshot> all(List<RunSnapshot> runs) {
    Map<String, List<RunSnapshot>> byJob = new TreeMap<>();
    for (RunSnapshot r : runs) {
      if (!r.job().isEmpty()) {
        byJob.computeIfAbsent(r.job(), j -> new ArrayList<>()).add(r);
      }
    }
    List<JobSnapshot> out = new ArrayList<>();
    byJob.forEach((job, rs) -> out.add(of(job, rs)));
    return out;
  }

  public static JobSnapshot of(String job, List<RunSnapshot> runs) {
    TreeMap<Double, List<RunSnapshot>> byLr = new TreeMap<>();
    for (RunSnapshot r : runs) {
      double lr = r.learningRate();
      if (Double.isFinite(lr)) {
        byLr.computeIfAbsent(lr, x -> new ArrayList<>()).add(r);
      }
    }
    List<JobSnapshot.SeedGroup> groups = new ArrayList<>();
    List<JobSnapshot.SweepPoint> sweep = new ArrayList<>();
    for (Map.Entry<Double, List<RunSnapshot>> e : byLr.entrySet()) {
      List<RunSnapshot> rs = e.getValue();
      groups.add(seedGroup(e.getKey(), rs));
      double signal = 0;
      int n = 0;
      int converged = 0;
      List<String> states = new ArrayList<>();
      for (RunSnapshot r : rs) {
        double g = r.statistics().gradientSignal();
        if (Double.isFinite(g)) {
          signal += g;
          n++;
        }
        converged += r.state() == RunState.CONVERGED ? 1 : 0;
        states.add(r.state().label());
      }
      sweep.add(new JobSnapshot.SweepPoint(e.getKey(), n == 0 ? Double.NaN : signal / n, converged, rs.size(), states));
    }
    double low = Double.NaN;
    double high = Double.NaN;
    String why;
    String differs = sweep.size() < 2 ? null : differsBeyondLr(runs);
    String kind = sweep.size() < 2 ? "seeds" : differs == null ? "sweep" : "unrelated";
    if (sweep.size() < 2) {
      why = "not a sweep: fewer than two learning rates in this job";
    } else if (differs != null) {
      why = "not a sweep: the runs differ in more than the learning rate (" + differs + "), so no critical step";
    } else {
      for (JobSnapshot.SweepPoint p : sweep) {
        if (p.converged() == p.total() && Double.isNaN(high)) {
          low = p.lr();
        } else if (p.converged() == 0 && Double.isFinite(low) && Double.isNaN(high)) {
          high = p.lr();
        }
      }
      if (Double.isNaN(low)) {
        why = "no learning rate of the sweep converged in every run: the critical step is below " + sweep.get(0).lr();
      } else if (Double.isNaN(high)) {
        why = "every learning rate up to " + low + " converged: the critical step is above it";
      } else {
        why = "runs converge at lr " + low + " and none converges at lr " + high
            + ": the critical step size lies between (estimate: their geometric mean)";
      }
    }
    double critical = Double.isFinite(low) && Double.isFinite(high) ? Math.sqrt(low * high) : Double.NaN;
    return new JobSnapshot(job, runs.size(), groups, sweep, low, high, critical, why, kind);
  }

  /**
   * What besides the learning rate differs between the runs of a job, or null when nothing does:
   * a sweep's runs share the series they send, the optimizer and momentum labels, and the model
   * (the {@code params} or {@code model} label where sent). Runs of unrelated models in one job
   * (the demo's) must not produce a critical step (math.md §4, sweeps).
   */
  private static String differsBeyondLr(List<RunSnapshot> runs) {
    RunSnapshot first = runs.get(0);
    java.util.Set<String> series = seriesNames(first);
    for (RunSnapshot r : runs) {
      if (!seriesNames(r).equals(series)) {
        return "series sent: " + first.run() + " and " + r.run() + " differ";
      }
      for (String key : new String[] {"optimizer", "momentum", "beta1", "params", "model", "framework"}) {
        String a = first.labels().get(key);
        String b = r.labels().get(key);
        if (!java.util.Objects.equals(a, b)) {
          return "label " + key + ": " + first.run() + " has " + a + ", " + r.run() + " has " + b;
        }
      }
    }
    return null;
  }

  private static java.util.Set<String> seriesNames(RunSnapshot r) {
    java.util.Set<String> names = new java.util.TreeSet<>();
    r.series().forEach(s -> names.add(s.name()));
    return names;
  }

  private static JobSnapshot.SeedGroup seedGroup(double lr, List<RunSnapshot> rs) {
    List<String> names = new ArrayList<>();
    int n = Integer.MAX_VALUE;
    for (RunSnapshot r : rs) {
      names.add(r.run());
      n = Math.min(n, r.tailLoss().length);
    }
    if (rs.size() < 2 || n < 4) {
      return new JobSnapshot.SeedGroup(lr, names, Double.NaN, rs.size() < 2 ? 0 : n);
    }
    double[][] chains = new double[rs.size()][];
    for (int i = 0; i < rs.size(); i++) {
      double[] tail = rs.get(i).tailLoss();
      chains[i] = java.util.Arrays.copyOfRange(tail, tail.length - n, tail.length);
    }
    return new JobSnapshot.SeedGroup(lr, names, SplitRhat.of(chains, n), n);
  }
}

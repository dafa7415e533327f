package io.ergowatch.monitor.analytics;

import java.util.List;

/**
 * Analytics across the runs of one job (docs/math.md §4, last item): agreement between seeds
 * and the critical step size of a learning-rate sweep.
 *
 * @param job the job
 * @param runs runs of the job on /metrics
 * @param seedGroups runs grouped by learning rate, with split-R̂ of their tail losses
 * @param sweep one point per learning rate: the asymptotic gradient signal and the states there
 * @param criticalLrLow the largest lr at which every run converged (NaN if none)
 * @param criticalLrHigh the smallest lr above it at which no run converged (NaN if none)
 * @param criticalLr √(low·high), the estimate of η_c; NaN unless the sweep brackets it
 * @param why how the estimate was reached, or why there is none
 * @param kind "sweep" (learning rates differ and the rest agrees), "seeds" (one learning rate),
 *     "unrelated" (the runs differ in more than the learning rate: no critical-step claim)
 */
public record JobSnapshot(
    String job,
    int runs,
    List<SeedGroup> seedGroups,
    List<SweepPoint> sweep,
    double criticalLrLow,
    double criticalLrHigh,
    double criticalLr,
    String why,
    String kind) {

  public JobSnapshot {
    seedGroups = List.copyOf(seedGroups);
    sweep = List.copyOf(sweep);
  }

  /**
   * Runs of one job at one learning rate (typically seeds).
   *
   * @param rhat split-R̂ of their tail losses (&lt; 1.01: they agree); NaN with fewer than 2 runs
   * @param tailLength losses per run the R̂ used
   */
  public record SeedGroup(double lr, List<String> runs, double rhat, int tailLength) {
    public SeedGroup {
      runs = List.copyOf(runs);
    }
  }

  /**
   * @param gradientSignal mean over the runs at this lr of their window estimate of ‖G‖²
   * @param converged runs at this lr that are CONVERGED
   * @param total runs at this lr
   */
  public record SweepPoint(double lr, double gradientSignal, int converged, int total, List<String> states) {
    public SweepPoint {
      states = List.copyOf(states);
    }
  }
}

package io.ergowatch.monitor.analytics;

import java.util.List;
import java.util.Map;

/**
 * What the world sees of a run at one moment: immutable, built on the run's lane at scrape or
 * API time, then rendered by the exporters without touching the live core.
 *
 * @param labels HELLO metadata of the run (all of it; exporters apply their allow-list)
 * @param stateSinceStep the step at which the current state was entered
 * @param steps assembled step records processed
 * @param lastStep the latest training step seen, -1 if none
 * @param lastRecordTimeNanos agent wall clock of the latest record, 0 if none
 * @param loss latest loss, NaN if none
 * @param gradNorm √grad_sq of the latest record that carried grad_sq, NaN if none
 * @param learningRate latest lr, NaN if none
 * @param burnInStep the step where the ergodic means last restarted
 * @param statistics the latest window evaluation (math.md §3–§5)
 * @param tailLoss the losses of the current window, oldest first, evenly subsampled to at most 256
 *     (the chains of the cross-run split-R̂)
 * @param storeCorruptRecords records of the run's durable log lost to damage (salvaged at open)
 * @param storeCorruptBytes bytes of it lost
 */
public record RunSnapshot(
    String run,
    String job,
    Map<String, String> labels,
    int world,
    String mode,
    RunState state,
    long stateSinceStep,
    RunStatus status,
    List<String> why,
    long steps,
    long lastStep,
    long lastRecordTimeNanos,
    double loss,
    double gradNorm,
    double learningRate,
    long burnInStep,
    long rewinds,
    long partialSteps,
    String endStatus,
    String endMessage,
    List<SeriesSnapshot> series,
    List<RunEvent> events,
    RunStatistics statistics,
    double[] tailLoss,
    long storeCorruptRecords,
    long storeCorruptBytes) {

  public RunSnapshot {
    labels = Map.copyOf(labels);
    why = List.copyOf(why);
    series = List.copyOf(series);
    events = List.copyOf(events);
    tailLoss = tailLoss.clone();
  }

  @Override
  public double[] tailLoss() {
    return tailLoss.clone();
  }

  /** The series snapshot of a name, or null. */
  public SeriesSnapshot series(String name) {
    for (SeriesSnapshot s : series) {
      if (s.name().equals(name)) {
        return s;
      }
    }
    return null;
  }
}

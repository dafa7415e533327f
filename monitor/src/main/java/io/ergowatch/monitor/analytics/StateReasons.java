package io.ergowatch.monitor.analytics;

import java.util.ArrayList;
import java.util.List;

/**
 * Why a run is in its state, as a snapshot says it: the current numbers when the latest window
 * supports the state, the evidence it was entered on when hysteresis keeps a state the latest
 * window does not confirm, the rule's current numbers for DIVERGED. Reads; changes nothing.
 */
final class StateReasons {
  private final AnalyticsSettings settings;
  private final Reasons reasons;
  private final VerdictMachine machine;
  private final DivergenceRule divergence;

  StateReasons(AnalyticsSettings settings, Reasons reasons, VerdictMachine machine, DivergenceRule divergence) {
    this.settings = settings;
    this.reasons = reasons;
    this.machine = machine;
    this.divergence = divergence;
  }

  /**
   * @param entered the event that entered the state, null when none has
   * @param latestJudged whether the latest evaluation judged a window
   * @param latestCandidate the state that window supports, null when it was inconclusive
   */
  List<String> of(RunState state, RunEvent entered, WindowStats w, long records, boolean latestJudged,
      RunState latestCandidate, Reasons.Context cx) {
    if (state == RunState.DIVERGED && entered != null) {
      return currentDiverged(entered);
    }
    if (state == RunState.DIVERGED || state == RunState.WARMUP && w.evaluations == 0) {
      return List.of("warmup: " + records + " of " + settings.warmupSteps() + " records");
    }
    if (latestJudged && latestCandidate != state && entered != null) {
      return kept(state, entered, w, latestCandidate, cx);
    }
    List<String> why = new ArrayList<>(reasons.of(state, w, cx));
    String pending = machine.pendingReason();
    if (pending != null) {
      why.add(pending);
    }
    return why;
  }

  /**
   * The reasons of a state the latest window does not confirm: the evidence it was entered on
   * (the current numbers would contradict the state, e.g. "R2 = 1.01 < 0.3"), then what the
   * latest window says and how far a change has come. Hysteresis keeps a state until enough
   * disjoint windows agree; the reasons must say so rather than dress today's numbers as its cause.
   */
  private List<String> kept(RunState state, RunEvent entered, WindowStats w, RunState latestCandidate,
      Reasons.Context cx) {
    List<String> why = new ArrayList<>();
    why.add(Reasons.f("%s since step %d, on this evidence:", state.label(), entered.step()));
    why.addAll(entered.why());
    if (latestCandidate == null) {
      why.add(Reasons.f("latest window (%d records to step %d): inconclusive, which keeps the state",
          w.windowRecords, w.atStep));
    } else {
      List<String> now = reasons.of(latestCandidate, w, cx);
      why.add(Reasons.f("latest window (%d records to step %d) says %s%s", w.windowRecords, w.atStep,
          latestCandidate.label(), now.isEmpty() ? "" : ": " + now.get(0)));
    }
    String pending = machine.pendingReason();
    why.add(pending != null ? pending : Reasons.f("a change needs %d disjoint windows in a row that agree",
        state == RunState.CONVERGED || state == RunState.STALLED_NONSTATIONARY
            ? settings.leaveWindows() : settings.enterWindows()));
    return why;
  }

  /** The reasons of DIVERGED as they are now: the rule's current numbers, or the non-finite fact. */
  private List<String> currentDiverged(RunEvent entered) {
    if (!machine.divergedByRule()) {
      return entered.why();
    }
    return List.of(Reasons.f("loss blown up: median of the last %d losses %s > %s (%s x the best window median %s)",
        divergence.window(), Reasons.g(divergence.lastMedian()), Reasons.g(divergence.reference()),
        Reasons.g(settings.divergenceFactor()), Reasons.g(divergence.baselineMedian())));
  }
}

package io.ergowatch.monitor.analytics;

/**
 * The run-state machine of docs/math.md §5: a candidate state per evaluation from the
 * evaluation's tests (or none when they are inconclusive), and hysteresis over
 * <b>disjoint</b> windows.
 *
 * <p>Why disjoint: evaluations W/10 apart share 90% of their data, so "k consecutive evaluations
 * agree" is about one test. Here an evaluation counts toward a change only if its window starts
 * at or after the end of the last window that counted, and a change needs {@code enter-windows}
 * (2) such windows in a row saying the same state, or {@code leave-windows} (3) to leave
 * CONVERGED or STALLED_NONSTATIONARY; the first verdict after WARMUP needs one. An inconclusive window counts for nothing and resets
 * nothing; a counted window that supports the current state, or another state, resets the
 * count. If each test of a window wrongly points away from a stationary state with probability p
 * (≈ 1% at the leaving level, z = 2.576), a false change needs p³ over three disjoint windows:
 * with W ≥ 200 records that is ≥ 10⁸ records on average between false changes (the calibration
 * suite measures it). The detection delay is {@code enter-windows} windows after the change
 * becomes visible in a whole window.
 *
 * <p>Facts change the state at once, without statistics: a non-finite value (DIVERGED, kept), the
 * loss rules of {@link DivergenceRule}, a learning-rate decay (PROGRESSING, or CONVERGED as the
 * steps vanish). A learning-rate change restarts the evidence: the count is dropped and windows
 * start after the change.
 */
final class VerdictMachine {
  private final AnalyticsSettings s;
  private RunState state = RunState.WARMUP;
  private long since;
  private RunState pending;
  private int pendingWindows;
  private long lastCountedEnd;

  VerdictMachine(AnalyticsSettings settings) {
    this.s = settings;
  }

  RunState state() {
    return state;
  }

  long since() {
    return since;
  }

  /**
   * The state the tests of this evaluation support, or null when they cannot tell. Facts
   * (a learning-rate decay) are not decided here.
   */
  RunState candidate(WindowStats w, boolean hasLoss) {
    if (w.sharpnessHighRun >= 3 || w.sharpnessRatio > 1 && w.sharpnessTrendUp) {
      return RunState.UNSTABLE;
    }
    if (w.neverLearned) {
      return RunState.UNSTABLE;
    }
    Check osc = w.oscillationCheck;
    if (osc.holds()) {
      return RunState.OSCILLATING;
    }
    if (!hasLoss || w.lossN == 0) {
      return null;
    }
    if (w.lossCheck.fails()) {
      return RunState.PROGRESSING;
    }
    if (w.piCheck.fails() || w.driftCheck.fails()) {
      return RunState.PROGRESSING;
    }
    if (!w.lossNoProgress) {
      return null;
    }
    if (w.energyObserved && w.converged) {
      return RunState.CONVERGED;
    }
    if (w.piCheck.holds() || w.driftCheck.holds() || w.lossCheck.holds()) {
      return RunState.STALLED_NONSTATIONARY;
    }
    return null;
  }

  /**
   * Offers one evaluation's candidate for the window (windowStart, windowEnd] (records); true
   * when the run must now enter it.
   */
  boolean offer(RunState candidate, long windowStart, long windowEnd) {
    if (state == RunState.DIVERGED) {
      return false; // left only when the rule's evidence is gone (RunCore), or never
    }
    if (candidate == null || windowStart < lastCountedEnd) {
      return false;
    }
    lastCountedEnd = windowEnd;
    if (candidate == state) {
      pending = null;
      pendingWindows = 0;
      return false;
    }
    if (candidate == pending) {
      pendingWindows++;
    } else {
      pending = candidate;
      pendingWindows = 1;
    }
    return pendingWindows >= required();
  }

  private boolean divergedByRule;

  /**
   * Windows needed: one to leave WARMUP (there is no verdict to protect yet, and while W grows
   * with the run's age a second disjoint window may take as long again), leave-windows to leave a
   * stationary state, enter-windows otherwise.
   */
  private int required() {
    if (state == RunState.WARMUP) {
      return 1;
    }
    boolean stationary = state == RunState.CONVERGED || state == RunState.STALLED_NONSTATIONARY;
    return stationary ? s.leaveWindows() : s.enterWindows();
  }

  /** A learning-rate change at {@code record}: the evidence gathered so far no longer applies. */
  void restartEvidence(long record) {
    pending = null;
    pendingWindows = 0;
    lastCountedEnd = Math.max(lastCountedEnd, record);
  }

  /** Enters a state; {@code byRule}: DIVERGED from a loss rule, which is left when its evidence goes. */
  void enter(RunState next, long step, boolean byRule) {
    state = next;
    since = step;
    pending = null;
    pendingWindows = 0;
    divergedByRule = next == RunState.DIVERGED && byRule;
  }

  /** DIVERGED by a rule (not by a non-finite value): it may be left. */
  boolean divergedByRule() {
    return state == RunState.DIVERGED && divergedByRule;
  }

  /** "changing: 1 of 3 disjoint windows say progressing", while a change is pending. */
  String pendingReason() {
    if (pending == null || state == RunState.DIVERGED && !divergedByRule) {
      return null;
    }
    return "changing: " + pendingWindows + " of " + required() + " disjoint windows say " + pending.label();
  }
}

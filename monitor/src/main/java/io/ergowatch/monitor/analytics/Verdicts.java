package io.ergowatch.monitor.analytics;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The run-state classifier of docs/math.md §5: a candidate state per window evaluation, by
 * precedence (DIVERGED, UNSTABLE, OSCILLATING, CONVERGED, STALLED_NONSTATIONARY,
 * PROGRESSING), and hysteresis — a new state after {@code enterEvaluations} consecutive
 * evaluations agree on it, a stationary state left only after
 * {@code leaveStationaryEvaluations}; DIVERGED is entered at once (by the core) and kept.
 * Also writes the reasons: the statistics and thresholds behind a state, in sentences an
 * on-call engineer can act on.
 */
final class Verdicts {
  private final AnalyticsSettings s;
  private RunState state = RunState.WARMUP;
  private long since;
  private RunState pending;
  private int pendingRun;

  Verdicts(AnalyticsSettings settings) {
    this.s = settings;
  }

  RunState state() {
    return state;
  }

  long since() {
    return since;
  }

  /** The state this evaluation points to, before hysteresis. */
  RunState candidate(WindowStats w, boolean hasLoss) {
    boolean updates = w.updatesObserved;
    if (w.sharpnessHighRun >= 3 || w.sharpnessRatio > 1 && w.sharpnessTrendUp) {
      return RunState.UNSTABLE;
    }
    if (updates && w.oscN > 0) {
      if (w.kappa < s.kappaMax() && w.r2 < s.r2Max()) {
        return RunState.OSCILLATING;
      }
    } else if (!updates && w.falt > s.faltMin() && !(w.trendT < -s.trendT())) {
      return RunState.OSCILLATING;
    }
    if (!hasLoss || !w.lossStationary) {
      return RunState.PROGRESSING;
    }
    if (w.energyObserved && w.converged) {
      return RunState.CONVERGED;
    }
    if (w.piN > 0 && (w.pi < s.piLow() || w.pi > s.piHigh())) {
      return RunState.PROGRESSING;
    }
    if (w.projectionsObserved && w.weightsDrift) {
      return RunState.PROGRESSING;
    }
    return RunState.STALLED_NONSTATIONARY;
  }

  /** Feeds one evaluation's candidate; true when the run must now enter it. */
  boolean offer(RunState candidate) {
    if (state == RunState.DIVERGED) {
      return false;
    }
    if (candidate == state) {
      pending = null;
      pendingRun = 0;
      return false;
    }
    if (candidate == pending) {
      pendingRun++;
    } else {
      pending = candidate;
      pendingRun = 1;
    }
    return pendingRun >= required();
  }

  private int required() {
    boolean stationary = state == RunState.CONVERGED || state == RunState.STALLED_NONSTATIONARY;
    return stationary ? s.leaveStationaryEvaluations() : s.enterEvaluations();
  }

  void enter(RunState next, long step) {
    state = next;
    since = step;
    pending = null;
    pendingRun = 0;
  }

  /** "changing: 2 of 3 evaluations say stalled_nonstationary", while a change is pending. */
  Optional<String> pendingReason() {
    if (pending == null || state == RunState.DIVERGED) {
      return Optional.empty();
    }
    return Optional.of("changing: " + pendingRun + " of " + required() + " evaluations in a row say "
        + pending.label());
  }

  /** The reasons behind {@code st}, from the latest evaluation. */
  List<String> reasons(RunState st, WindowStats w, OptimizerProfile optimizer, double lr) {
    List<String> r = new ArrayList<>();
    switch (st) {
      case WARMUP:
        r.add("warmup: collecting evidence for a first verdict");
        break;
      case UNSTABLE:
        r.add(f("step size past the stability limit: sharpness ratio %s (sharpness / critical %s for %s at lr %s)%s",
            g(w.sharpnessRatio), "S_crit", optimizer.name(), g(lr),
            w.sharpnessHighRun >= 3 ? f(" above %s for %d estimates", g(s.sharpnessHigh()), w.sharpnessHighRun)
                : f(" above 1 with the loss trending up (t = %s)", g(w.trendT))));
        r.add("lower the learning rate below lr / sharpness ratio, or add warmup");
        break;
      case OSCILLATING:
        if (w.oscN > 0) {
          r.add(f("updates alternate direction: median cos(u_t, u_t-1) = %s < %s and R2 = %s < %s over %d records",
              g(w.kappa), g(s.kappaMax()), g(w.r2), g(s.r2Max()), w.window));
        } else {
          r.add(f("loss alternates: %s of its changes flip sign (> %s) and it is not trending down (t = %s)",
              g(w.falt), g(s.faltMin()), g(w.trendT)));
        }
        r.add(f("a period-2 orbit means lr %s is at or past the stability edge 2/lambda_max: lower it", g(lr)));
        break;
      case CONVERGED:
        r.add(lossStationary(w));
        r.add(f("weights stopped: window mean of %s = %s <= %s x its peak %s", energyName(w), g(w.energy),
            g(s.convergedRatio()), g(w.energyMax)));
        break;
      case STALLED_NONSTATIONARY:
        r.add(lossStationary(w));
        r.add(weightsStationary(w));
        if (w.energyObserved) {
          r.add(f("weights still move: window mean of %s = %s (peak %s)", energyName(w), g(w.energy), g(w.energyMax)));
        }
        r.add(signal(w));
        r.add(f("more steps at lr %s buy nothing: lower the learning rate, grow the batch, or stop", g(lr)));
        break;
      case PROGRESSING:
        if (w.lossN == 0) {
          r.add("no loss received yet");
        } else if (!w.lossStationary) {
          r.add(lossNotStationary(w));
        } else if (w.piN > 0 && (w.pi < s.piLow() || w.pi > s.piHigh())) {
          r.add(lossStationary(w));
          r.add(f("weights not stationary: stationarity ratio Pi = %s outside [%s, %s] (%s)", g(w.pi), g(s.piLow()),
              g(s.piHigh()), w.pi > s.piHigh() ? "still contracting toward their average" : "drifting away"));
        } else {
          r.add(lossStationary(w));
          r.add(f("weights drift: sliced Wasserstein %s > %s x its split-window null %s", g(w.sw),
              g(s.driftMargin()), g(w.swNull)));
        }
        break;
      default:
        break;
    }
    if (w.windowTooShort) {
      r.add(f("window too short: loss autocorrelation time %s > %d/50 records; ESS >= %s cannot be reached",
          g(w.tau), s.windowMax(), g(s.essMin())));
    }
    return r;
  }

  private String lossStationary(WindowStats w) {
    if (w.flat) {
      return f("loss stationary: its window range %s is below %s of its peak", g(w.lossMax - w.lossMin),
          g(s.flatRange()));
    }
    return f("loss stationary over %d records: ESS %s >= %s, |Geweke z| %s < %s, trend t %s (relative progress %s per window)",
        w.window, g(w.lossEss), g(s.essMin()), g(Math.abs(w.geweke)), g(s.gewekeMax()), g(w.trendT), g(w.delta));
  }

  private String lossNotStationary(WindowStats w) {
    if (!w.degenerate && w.lossEss < s.essMin()) {
      return f("loss not yet stationary: ESS %s < %s over %d records (autocorrelation time %s)", g(w.lossEss),
          g(s.essMin()), w.window, g(w.tau));
    }
    if (Math.abs(w.geweke) >= s.gewekeMax()) {
      return f("loss still changing: Geweke z %s (start vs end of the window, |z| >= %s)", g(w.geweke),
          g(s.gewekeMax()));
    }
    return f("loss still improving: trend t = %s < -%s, relative progress %s per window >= %s", g(w.trendT),
        g(s.trendT()), g(w.delta), g(s.trendDelta()));
  }

  private String weightsStationary(WindowStats w) {
    List<String> parts = new ArrayList<>();
    if (w.piN > 0) {
      parts.add(f("stationarity ratio Pi = %s in [%s, %s]", g(w.pi), g(s.piLow()), g(s.piHigh())));
    }
    if (w.projectionsObserved && Double.isFinite(w.sw)) {
      parts.add(f("sliced Wasserstein drift %s <= %s x its null %s", g(w.sw), g(s.driftMargin()), g(w.swNull)));
    }
    if (parts.isEmpty()) {
      return "weights: unobserved (send update_sq and ema_update_dot, or proj.*, to tell a stall from a slow descent)";
    }
    return "weights stationary in law: " + String.join("; ", parts);
  }

  private static String signal(WindowStats w) {
    if (w.signalIdentified) {
      return f("gradient signal |G|^2 = %s +/- %s (noise scale %s, B_noise %s)", g(w.signal), g(w.signalStderr),
          g(w.noiseScale), g(w.batchNoise));
    }
    if (Double.isFinite(w.signal)) {
      return f("signal: unidentified (window mean |g|^2 = %s is only an upper bound on |G|^2; send grad_local_sq "
          + "and local_batch_size to separate signal from noise)", g(w.signal));
    }
    return "signal: unidentified (no gradient series)";
  }

  private static String energyName(WindowStats w) {
    return w.updatesObserved ? "|u|^2" : "lr^2 |g|^2";
  }

  private static String f(String fmt, Object... args) {
    return String.format(Locale.ROOT, fmt, args);
  }

  /** Three significant digits, NaN and infinities spelled out. */
  static String g(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e6) {
      return Long.toString((long) v);
    }
    return String.format(Locale.ROOT, "%.3g", v);
  }
}

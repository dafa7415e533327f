package io.ergowatch.monitor.analytics;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The reasons behind a state, in sentences an on-call engineer can act on: the most decisive
 * evidence first, every estimate with its standard error, thresholds named. Pure: reads an
 * evaluation, writes nothing.
 */
final class Reasons {
  private final AnalyticsSettings s;

  Reasons(AnalyticsSettings settings) {
    this.s = settings;
  }

  /** The context a reason may need besides the evaluation. */
  record Context(OptimizerProfile optimizer, double lr, double alpha, boolean alphaAssumed) {}

  List<String> of(RunState st, WindowStats w, Context cx) {
    List<String> r = new ArrayList<>();
    switch (st) {
      case WARMUP:
        r.add("warmup: collecting evidence for a first verdict");
        break;
      case UNSTABLE:
        unstable(r, w, cx);
        break;
      case OSCILLATING:
        if (w.oscN > 0) {
          r.add(f("updates alternate direction: median cos(u_t, u_t-1) = %s < %s and R2 = %s < %s over %d records",
              g(w.kappa), g(s.kappaMax()), pm(w.oscillationCheck.estimate, w.oscillationCheck.stderr), g(s.r2Max()),
              w.windowRecords));
        } else {
          r.add(f("loss alternates: %s of its changes flip sign (> %s) and it is not trending down (t = %s)",
              g(w.falt), g(s.faltMin()), g(w.trendT)));
        }
        r.add(f("a period-2 orbit means lr %s is at or past the stability edge 2/lambda_max: lower it", g(cx.lr())));
        break;
      case CONVERGED:
        if (w.lrDecaying) {
          r.add(lrDecay(w));
        }
        r.add(f("weights stopped: window mean of %s = %s <= %s x its peak %s", energyName(w), g(w.energy),
            g(s.convergedRatio()), g(w.energyMax)));
        r.add(lossStationary(w));
        break;
      case STALLED_NONSTATIONARY:
        r.add(weightsStationary(w, cx));
        r.add(lossStationary(w));
        if (w.energyObserved) {
          r.add(f("weights still move: window mean of %s = %s (peak %s)", energyName(w), g(w.energy), g(w.energyMax)));
        }
        r.add(signal(w));
        forecast(w).ifPresent(r::add);
        r.add(f("more steps at lr %s buy nothing: lower the learning rate, grow the batch, or stop", g(cx.lr())));
        break;
      case PROGRESSING:
        progressing(r, w, cx);
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

  private void unstable(List<String> r, WindowStats w, Context cx) {
    if (w.sharpnessHighRun >= 3 || w.sharpnessRatio > 1 && w.sharpnessTrendUp) {
      r.add(f("step size past the stability limit: sharpness ratio %s (sharpness / critical %s for %s at lr %s)%s",
          g(w.sharpnessRatio), "S_crit", cx.optimizer().name(), g(cx.lr()),
          w.sharpnessHighRun >= 3 ? f(" above %s for %d estimates", g(s.sharpnessHigh()), w.sharpnessHighRun)
              : f(" above 1 with the loss trending up (t = %s)", g(w.trendT))));
    } else {
      List<String> large = new ArrayList<>();
      if (w.earlyBlowUp) {
        large.add("the loss blew up to 10x its start within the first window");
      }
      if (w.weightGrowth >= 10) {
        large.add(f("|w|^2 grew %sx", g(w.weightGrowth)));
      }
      if (Double.isFinite(w.lrRatio) && w.lrRatio >= s.lrRatioUnstable()) {
        large.add(f("lr = %s x the largest safe step %s along this path", g(w.lrRatio), g(w.lrSafe)));
      }
      r.add(f("the loss never fell below where it started (window median %s, start %s) and the step at lr %s is far "
          + "too large: %s", g(w.lossMedian), g(w.firstWindowLoss), g(cx.lr()), String.join("; ", large)));
      r.add("lower the learning rate (by 10x or more) or add warmup; the run has learned nothing so far");
      return;
    }
    r.add("lower the learning rate below lr / sharpness ratio, or add warmup");
  }

  private void progressing(List<String> r, WindowStats w, Context cx) {
    if (w.lrDecaying) {
      r.add(lrDecay(w));
    }
    if (w.lossN == 0) {
      r.add(w.windowRecords == 0 ? "not enough records since the learning rate last changed" : "no loss received yet");
      return;
    }
    Check loss = w.lossCheck;
    if (loss.fails()) {
      r.add(f("loss still improving: %s per window of %d records (trend t = %s < -%s)",
          pmPercent(w.delta, w.deltaStderr), w.windowRecords, g(w.trendT), g(s.zLeave())));
    }
    Check pi = w.piCheck;
    if (pi.fails()) {
      r.add(Double.isFinite(pi.stderr)
          ? f("weights not stationary: stationarity ratio Pi = %s, outside [%s, %s] (%s)", pm(pi.estimate, pi.stderr),
              g(s.piLow()), g(s.piHigh()), pi.estimate > s.piHigh() ? "still contracting toward their average"
                  : "drifting away")
          : "weights drift: the updates point away from their moving average (Pi's denominator is negative)");
    }
    if (w.driftCheck.fails()) {
      r.add(f("weights drift: sliced Wasserstein statistic %s > %s (its null's 99th percentile, at %s effective samples)",
          g(w.sw), g(s.driftThreshold()), g(w.projectionEss)));
    }
    if (!loss.fails() && !pi.fails() && !w.driftCheck.fails() && !w.lrDecaying) {
      r.add(lossNotStationary(w));
    }
    alphaNote(r, w, cx);
  }

  private String lrDecay(WindowStats w) {
    return f("learning rate decaying: %s -> %s within the window (a schedule's decay phase)", g(w.lrFrom), g(w.lrTo));
  }

  private String lossStationary(WindowStats w) {
    if (w.flat) {
      return f("loss stationary: its window range %s is below %s of its peak", g(w.lossMax - w.lossMin),
          g(s.flatRange()));
    }
    return f("loss stationary over %d records: progress %s per window (%s), ESS %s, Geweke z %s",
        w.windowRecords, pmPercent(w.delta, w.deltaStderr),
        w.lossCheck.holds() ? f("below %s at 95%%", percent(s.trendDelta()))
            : w.lossNoProgress ? "not significant" : f("not significant at z = %s", g(s.zLeave())),
        g(w.lossEss), g(w.geweke));
  }

  private String lossNotStationary(WindowStats w) {
    if (!w.degenerate && w.lossEss < s.essMin()) {
      return f("not enough evidence yet: ESS %s < %s over %d records (autocorrelation time %s)", g(w.lossEss),
          g(s.essMin()), w.windowRecords, g(w.tau));
    }
    return f("loss progress %s per window of %d records: no evidence yet of a stationary state", pmPercent(w.delta,
        w.deltaStderr), w.windowRecords);
  }

  private String weightsStationary(WindowStats w, Context cx) {
    List<String> parts = new ArrayList<>();
    Check pi = w.piCheck;
    if (pi.available()) {
      parts.add(f("stationarity ratio Pi = %s (%s [%s, %s])%s", pm(pi.estimate, pi.stderr),
          pi.holds() ? "inside" : "inconclusive for", g(s.piLow()), g(s.piHigh()),
          cx.alphaAssumed() ? f(", centre rate a = %s assumed: the agent sent no ema_alpha", g(cx.alpha())) : ""));
    }
    Check drift = w.driftCheck;
    if (drift.available() && Double.isFinite(w.sw)) {
      parts.add(f("sliced Wasserstein statistic %s (%s %s)", g(w.sw), drift.holds() ? "below" : "inconclusive for",
          g(s.driftHold())));
    }
    if (parts.isEmpty()) {
      return "weights: unobserved (send update_sq and ema_update_dot, or proj.*, to tell a stall from a slow descent)";
    }
    return "weights stationary in law: " + String.join("; ", parts);
  }

  private void alphaNote(List<String> r, WindowStats w, Context cx) {
    if (cx.alphaAssumed() && w.piCheck.available()) {
      r.add(f("Pi uses the centre rate a = %s (assumed: the agent sent no ema_alpha)", g(cx.alpha())));
    }
  }

  private static String signal(WindowStats w) {
    if (w.signalIdentified) {
      return f("gradient signal |G|^2 = %s (noise scale %s, B_noise %s)", pm(w.signal, w.signalStderr),
          g(w.noiseScale), g(w.batchNoise));
    }
    if (Double.isFinite(w.signal)) {
      return f("signal: unidentified (window mean |g|^2 = %s is only an upper bound on |G|^2; send grad_local_sq "
          + "and local_batch_size to separate signal from noise)", pm(w.signal, w.signalStderr));
    }
    return "signal: unidentified (no gradient series)";
  }

  static java.util.Optional<String> forecast(WindowStats w) {
    if (!Double.isFinite(w.forecast) || !Double.isFinite(w.forecastExcess)) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(f("decaying the step would lower the loss by ~ %s (to %s)",
        pm(w.forecastExcess, w.forecastStderr), g(w.forecast)));
  }

  private static String energyName(WindowStats w) {
    return w.updatesObserved ? "|u|^2" : "lr^2 |g|^2";
  }

  static String f(String fmt, Object... args) {
    return String.format(Locale.ROOT, fmt, args);
  }

  /** "0.998 +/- 0.004", or the estimate alone without a standard error. */
  static String pm(double v, double se) {
    return Double.isFinite(se) ? g(v) + " +/- " + g(se) : g(v);
  }

  private static String pmPercent(double v, double se) {
    return Double.isFinite(se) ? percent(v) + " +/- " + percent(se) : percent(v);
  }

  private static String percent(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3g%%", 100 * v) : g(v);
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

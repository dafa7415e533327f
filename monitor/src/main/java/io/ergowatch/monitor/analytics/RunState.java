package io.ergowatch.monitor.analytics;

import java.util.Locale;

/** The health verdict of a run (docs/math.md §5). Its label is the metric's {@code state} value. */
public enum RunState {
  WARMUP, PROGRESSING, CONVERGED, STALLED_NONSTATIONARY, OSCILLATING, UNSTABLE, DIVERGED;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}

package io.ergowatch.monitor.analytics;

import java.util.Locale;

/** The lifecycle of a run, separate from its verdict: live, silent (no data for the silence timeout) or finished (BYE). */
public enum RunStatus {
  LIVE, SILENT, FINISHED;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}

package io.ergowatch.demo;

import io.ergowatch.monitor.analytics.RunSnapshot;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * Renders the runs as a table. On a terminal it redraws in place; elsewhere (CI, a pipe) it
 * prints plain progress lines, one per run.
 */
public final class LiveView {
  private final PrintStream out;
  private final boolean terminal;
  private final String header;

  public LiveView(PrintStream out, boolean terminal, String header) {
    this.out = out;
    this.terminal = terminal;
    this.header = header;
  }

  public void render(List<RunSnapshot> runs, long elapsedSeconds) {
    StringBuilder sb = new StringBuilder();
    if (terminal) {
      sb.append("\033[H\033[2J");
      sb.append(header).append('\n').append('\n');
      sb.append(String.format(Locale.ROOT, "%-26s %-22s %-9s %8s %12s %12s %8s%n",
          "RUN", "STATE", "STATUS", "STEP", "LOSS", "GRAD NORM", "LR"));
      for (RunSnapshot r : runs) {
        sb.append(String.format(Locale.ROOT, "%-26s %-22s %-9s %8d %12s %12s %8s%n", r.run(), r.state().label(),
            r.status().label(), r.lastStep(), num(r.loss()), num(r.gradNorm()), num(r.learningRate())));
        sb.append("    why: ").append(String.join("; ", r.why())).append('\n');
      }
      sb.append('\n').append("elapsed ").append(elapsedSeconds).append(" s — Ctrl-C to stop\n");
    } else {
      for (RunSnapshot r : runs) {
        sb.append(String.format(Locale.ROOT, "[%4ds] %-26s state=%-22s step=%-7d loss=%-11s grad_norm=%-11s why: %s%n",
            elapsedSeconds, r.run(), r.state().label(), r.lastStep(), num(r.loss()), num(r.gradNorm()),
            String.join("; ", r.why())));
      }
    }
    out.print(sb);
    out.flush();
  }

  static String num(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "+Inf" : "-Inf";
    }
    return String.format(Locale.ROOT, "%.4g", v);
  }
}

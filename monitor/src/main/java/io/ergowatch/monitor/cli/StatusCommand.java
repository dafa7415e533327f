package io.ergowatch.monitor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code ergowatch status RUN}: one run of a live monitor, its state and why, for a person. */
@Command(name = "status", mixinStandardHelpOptions = true,
    header = "One run of a live monitor: its state and why.",
    description = {"Show one run of a live monitor: its state and the reasons for it, the statistics behind them "
        + "(each with its standard error), the forecast, the tests and the latest events.",
        "Exit status: 0, 1 when the monitor has no such run, 2 when it cannot be reached."})
final class StatusCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;

  @Parameters(paramLabel = "RUN", description = "the run id")
  String run;

  @Option(names = "--events", paramLabel = "N", defaultValue = "5", description = "latest events shown (default ${DEFAULT-VALUE})")
  int events;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    if (events < 0) {
      throw new CliException("--events must be >= 0, got " + events);
    }
    PrintWriter out = spec.commandLine().getOut();
    JsonNode r = options.client().run(run);
    if (options.json) {
      out.println(Text.pretty(r));
      return 0;
    }
    Ansi ansi = options.ansi();
    JsonNode st = r.path("statistics");
    String job = r.path("job").asText();
    out.printf("%s%s  %s since step %d  (%s, %d steps, last step %d)%n", ansi.bold(r.path("run").asText()),
        job.isEmpty() ? "" : " (job " + job + ")", ansi.state(r.path("state").asText()), r.path("state_since_step").asLong(),
        r.path("status").asText(), r.path("steps").asLong(), r.path("last_step").asLong());
    if (r.has("end_status")) {
      String msg = r.path("end_message").asText();
      out.printf("  ended: %s%s%n", r.path("end_status").asText(), msg.isEmpty() ? "" : " (" + msg + ")");
    }
    out.println(ansi.bold("why"));
    for (JsonNode w : r.path("why")) {
      out.println("  - " + w.asText());
    }
    out.println(ansi.bold("now"));
    out.printf("  loss %s   |g| %s   lr %s%n", Text.number(r.get("loss")), Text.number(r.get("grad_norm")),
        Text.number(r.get("learning_rate")));
    List<String> lines = new ArrayList<>();
    line(lines, "stationarity ratio Pi", Text.pm(st.get("stationarity_ratio"), st.get("stationarity_ratio_stderr")));
    line(lines, "gradient signal", Text.pm(st.get("gradient_signal"), st.get("gradient_signal_stderr")));
    line(lines, "loss relative progress per window",
        Text.pm(st.get("loss_relative_progress"), st.get("loss_relative_progress_stderr")));
    line(lines, "lr / lr_safe", Text.number(st.get("lr_ratio")));
    line(lines, "sharpness ratio", Text.number(st.get("sharpness_ratio")));
    JsonNode f = st.path("forecast");
    line(lines, "forecast: loss if annealed", Text.pm(f.get("loss_if_annealed"), f.get("standard_error")));
    lines.forEach(out::println);
    out.printf("  window %d records to step %d, %d evaluations%n", st.path("window_records").asLong(),
        st.path("evaluated_at_step").asLong(), st.path("evaluations").asLong());
    JsonNode tests = st.path("tests");
    if (tests.size() > 0) {
      out.println(ansi.bold("tests"));
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"TEST", "ESTIMATE", "INTERVAL", "OUTCOME"});
      for (JsonNode t : tests) {
        rows.add(new String[] {t.path("test").asText(), Text.pm(t.get("estimate"), t.get("stderr")),
            "[" + Text.number(t.get("low")) + ", " + Text.number(t.get("high")) + "]", t.path("outcome").asText()});
      }
      Text.table(out, rows, ansi, "  ");
    }
    JsonNode ev = r.path("events");
    if (events > 0 && ev.size() > 0) {
      out.println(ansi.bold("events") + ansi.dim(ev.size() > events ? " (latest " + events + " of " + ev.size() + ")" : ""));
      for (int i = Math.max(0, ev.size() - events); i < ev.size(); i++) {
        JsonNode e = ev.get(i);
        String from = e.path("from").asText();
        String to = e.path("to").asText();
        String change = from.equals(to) ? ansi.state(to) + " (event)" : ansi.state(from) + " -> " + ansi.state(to);
        out.printf("  step %d  %s%n", e.path("step").asLong(), change);
        for (JsonNode w : e.path("why")) {
          out.println("      " + w.asText());
        }
      }
    }
    return 0;
  }

  private static void line(List<String> lines, String name, String value) {
    if (!value.equals("-")) {
      lines.add("  " + name + " " + value);
    }
  }
}

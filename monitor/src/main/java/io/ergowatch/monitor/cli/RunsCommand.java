package io.ergowatch.monitor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code ergowatch runs}: the runs of a live monitor, the most urgent first, one line each. */
@Command(name = "runs", mixinStandardHelpOptions = true,
    header = "A live monitor's runs, the most urgent first.",
    description = {"List the runs of a live monitor, the most urgent state first (diverged, unstable, stalled, "
        + "oscillating, progressing, warmup, converged), with the first of each state's reasons.",
        "Exit status: 0, or 2 when the monitor cannot be reached."})
final class RunsCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;

  @Option(names = "--job", paramLabel = "JOB", description = "only the runs of this job")
  String job;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    JsonNode runs = options.client().runs();
    List<JsonNode> shown = new ArrayList<>();
    for (JsonNode r : runs) {
      if (job == null || job.equals(r.path("job").asText())) {
        shown.add(r);
      }
    }
    if (options.json) {
      out.println(Text.pretty(Text.array(shown)));
      return 0;
    }
    if (shown.isEmpty()) {
      out.println(job == null ? "no runs on the monitor at " + options.client().base()
          : "no runs of job " + job + " on the monitor at " + options.client().base());
      return 0;
    }
    shown.sort(Comparator.comparingInt((JsonNode r) -> Ansi.urgency(r.path("state").asText()))
        .thenComparing(r -> r.path("run").asText()));
    Ansi ansi = options.ansi();
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"RUN", "JOB", "STATE", "STATUS", "STEPS", "LOSS", "LR", "WHY"});
    for (JsonNode r : shown) {
      JsonNode why = r.path("why");
      rows.add(new String[] {r.path("run").asText(), r.path("job").asText().isEmpty() ? "-" : r.path("job").asText(),
          ansi.state(r.path("state").asText()), r.path("status").asText(), Long.toString(r.path("steps").asLong()),
          Text.number(r.get("loss")), Text.number(r.get("learning_rate")),
          why.size() > 0 ? why.get(0).asText() : ""});
    }
    Text.table(out, rows, ansi, "");
    return 0;
  }
}

package io.ergowatch.monitor.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.ergowatch.monitor.analytics.RunEvent;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.export.RunJson;
import io.ergowatch.monitor.pipeline.Pipeline;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ergowatch replay}: a run's verdict timeline recomputed from the record log, offline, by
 * the monitor's own pipeline and analytics, optionally under other thresholds.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
    header = "Runs recomputed from the record log, offline: their verdict timelines.",
    description = {"Recompute runs from a monitor's record log, offline, and print each one's verdict timeline: "
        + "the events (step, from -> to, why) and the state it ends in. No port is opened and nothing on disk is "
        + "changed, so it is safe beside a live monitor using the same data directory. With --config, the "
        + "analytics.* thresholds of that file apply: what those settings would have said on these runs.",
        "Exit status: 0, 1 when --run names a run the log does not hold, 2 for a bad option or data directory."})
final class ReplayCommand implements Callable<Integer> {
  @Option(names = "--data-dir", paramLabel = "DIR", required = true, description = "the monitor's data directory")
  Path dataDir;

  @Option(names = "--run", paramLabel = "RUN", description = "only this run (default: every run in the log)")
  String run;

  @Option(names = "--config", paramLabel = "FILE",
      description = "YAML config whose analytics.* thresholds apply (keys as in docs/operations.md)")
  Path config;

  @Option(names = "--json", description = "the runs in the API's shape (/api/runs/{run}): an object with --run, else an array")
  boolean json;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    OfflineLog log = OfflineLog.open(dataDir, config);
    if (run != null) {
      log.requireRun(run);
    }
    List<String> runs = log.runs();
    List<String> chosen = run != null ? List.of(run) : runs;
    ObjectMapper mapper = new ObjectMapper();
    RunJson shape = new RunJson(mapper);
    ArrayNode all = mapper.createArrayNode();
    Ansi ansi = new Ansi(false);
    try (Pipeline pipeline = log.pipeline()) {
      for (String r : chosen) {
        long t0 = System.nanoTime();
        Optional<RunSnapshot> s = pipeline.replayReadOnly(r).block();
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (s == null || s.isEmpty()) {
          spec.commandLine().getErr().println("ergowatch replay: run " + r + ": its log holds no readable HELLO; skipped");
          continue;
        }
        if (json) {
          all.add(shape.detail(s.get()));
        } else {
          timeline(out, s.get(), seconds, ansi);
        }
      }
    }
    if (json) {
      out.println(Text.pretty(run != null && all.size() == 1 ? all.get(0) : all));
    }
    return 0;
  }

  private void timeline(PrintWriter out, RunSnapshot s, double seconds, Ansi ansi) {
    out.printf("run %s%s: %d records, ends %s since step %d (%s); replayed in %.2f s%s%n", s.run(),
        s.job().isEmpty() ? "" : " (job " + s.job() + ")", s.steps(), ansi.state(s.state().label()), s.stateSinceStep(),
        s.status().label(), seconds, config == null ? "" : ", thresholds of " + config);
    List<RunEvent> events = new ArrayList<>(s.events());
    if (events.isEmpty()) {
      out.println("  no events");
    }
    for (RunEvent e : events) {
      String change = e.from() == e.to() ? ansi.state(e.to().label()) + " (event)"
          : ansi.state(e.from().label()) + " -> " + ansi.state(e.to().label());
      out.printf("  step %-8d %s: %s%n", e.step(), change, String.join("; ", e.why()));
    }
    out.println("  why it is " + ansi.state(s.state().label()) + " now:");
    for (String w : s.why()) {
      out.println("    - " + w);
    }
  }
}

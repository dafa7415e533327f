package io.ergowatch.monitor.cli;

import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.export.RunReport;
import io.ergowatch.monitor.pipeline.Pipeline;
import io.ergowatch.monitor.store.LogEntry;
import io.ergowatch.monitor.store.RecordStore;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Step;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ergowatch report RUN...}: one self-contained HTML file of runs recomputed from the record log. */
@Command(name = "report", mixinStandardHelpOptions = true,
    header = "One self-contained HTML report of runs, from the record log.",
    description = {"Write one self-contained HTML file (no network: script and styles inline) of runs recomputed "
        + "from a monitor's record log, offline and read-only: loss on a log axis over the states, the learning "
        + "rate, |g|^2 with the gradient signal, the stationarity ratio with its confidence band, the forecast, the "
        + "events with their reasons, the labels. Several runs (RUN... or --job) are overlaid.",
        "Exit status: 0, 1 when a run is not in the log, 2 for a bad option or data directory."})
final class ReportCommand implements Callable<Integer> {
  @Parameters(paramLabel = "RUN", arity = "0..*", description = "the runs (or --job)")
  List<String> runs = new ArrayList<>();

  @Option(names = "--job", paramLabel = "JOB", description = "every run of this job")
  String job;

  @Option(names = "--data-dir", paramLabel = "DIR", required = true, description = "the monitor's data directory")
  Path dataDir;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE", required = true, description = "the HTML file to write")
  Path output;

  @Option(names = "--config", paramLabel = "FILE", description = "YAML config whose analytics.* thresholds apply")
  Path config;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    if (runs.isEmpty() && job == null) {
      throw new CliException("name the runs (ergowatch report RUN... ) or a job (--job JOB)");
    }
    OfflineLog log = OfflineLog.open(dataDir, config);
    runs.forEach(log::requireRun);
    RecordStore store = log.store;
    List<String> stored = log.runs();
    RunReport report = new RunReport();
    try (Pipeline pipeline = log.pipeline()) {
      LinkedHashSet<String> chosen = new LinkedHashSet<>(runs);
      if (job != null) {
        for (String r : stored) {
          if (!chosen.contains(r) && jobOf(store, r).equals(job)) {
            chosen.add(r);
          }
        }
      }
      for (String r : chosen) {
        RunReport.Course course = new RunReport.Course();
        Optional<RunSnapshot> s = pipeline.replayReadOnly(r, course, records(course)).block();
        if (s != null && s.isPresent()) {
          report.add(s.get(), course);
        }
      }
    }
    if (report.size() == 0) {
      throw new CliException("no run of job " + job + " in the record log in " + dataDir, 1);
    }
    String generated = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC).format(Instant.now());
    byte[] html = report.html(generated).getBytes(StandardCharsets.UTF_8);
    try {
      Files.write(output, html);
    } catch (IOException e) {
      throw new CliException("cannot write " + output + ": " + e.getMessage());
    }
    spec.commandLine().getOut().printf("wrote %s: %d run(s), %d KB%n", output, report.size(), (html.length + 1023) / 1024);
    return 0;
  }

  /** Ends a read of a log once what was looked for is found: its first segment is all it reads. */
  private static final class Found extends RuntimeException {
    Found() {
      super(null, null, false, false);
    }
  }

  /** The job of a run, from the first HELLO of its log ("" when none is readable). */
  private static String jobOf(RecordStore store, String run) {
    String[] job = {""};
    try {
      store.read(run, e -> {
        if (e.frame() instanceof Hello h) {
          job[0] = h.job();
          throw new Found();
        }
      });
    } catch (Found found) {
      // the first HELLO: the rest of the log is not read
    }
    return job[0];
  }

  /** The records of rank 0 (loss, lr, grad_sq), mapped by the HELLO of their session. */
  private static Consumer<LogEntry> records(RunReport.Course course) {
    Map<Long, int[]> idsOfSession = new HashMap<>();
    return e -> {
      if (e.rank() != 0) {
        return;
      }
      if (e.frame() instanceof Hello h) {
        idsOfSession.put(e.session(), new int[] {h.series().indexOf("loss"), h.series().indexOf("lr"),
            h.series().indexOf("grad_sq")});
      } else if (e.frame() instanceof Step s && idsOfSession.containsKey(e.session())) {
        int[] ids = idsOfSession.get(e.session());
        double[] v = {Double.NaN, Double.NaN, Double.NaN};
        for (int i = 0; i < s.count(); i++) {
          for (int k = 0; k < 3; k++) {
            if (s.seriesId(i) == ids[k]) {
              v[k] = s.value(i);
            }
          }
        }
        course.record(s.step(), v[0], v[1], v[2]);
      }
    };
  }
}

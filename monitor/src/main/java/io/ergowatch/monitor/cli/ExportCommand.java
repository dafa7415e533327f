package io.ergowatch.monitor.cli;

import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.analytics.RunState;
import io.ergowatch.monitor.analytics.RunStatistics;
import io.ergowatch.monitor.pipeline.Pipeline;
import io.ergowatch.monitor.store.LogEntry;
import io.ergowatch.monitor.store.RecordStore;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Step;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ergowatch export RUN}: a run's records, as the log holds them, and its statistics at
 * every window evaluation, as files a notebook reads (pandas.read_csv).
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    header = "A run's records and per-evaluation statistics as CSV, from the record log.",
    description = {"Export a run from a monitor's record log, offline and read-only: its records (one row per STEP "
        + "received: rank, session, seq, step, time_ns, then one column per series) to FILE, and its statistics at "
        + "every window evaluation (the replay's, with the state after each) to FILE's name with "
        + ".evaluations.csv. Non-finite values are written NaN, Infinity, -Infinity; a series a record does not "
        + "carry is an empty cell.",
        "Exit status: 0, 1 when the log does not hold RUN, 2 for a bad option or data directory."})
final class ExportCommand implements Callable<Integer> {
  @Parameters(paramLabel = "RUN", description = "the run id")
  String run;

  @Option(names = "--data-dir", paramLabel = "DIR", required = true, description = "the monitor's data directory")
  Path dataDir;

  @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "csv", description = "csv (the only one so far)")
  String format;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE", required = true, description = "the records' CSV file")
  Path output;

  @Option(names = "--config", paramLabel = "FILE", description = "YAML config whose analytics.* thresholds apply")
  Path config;

  @Spec
  CommandSpec spec;

  /** The per-evaluation columns: name and value. */
  private static final Map<String, ToDoubleFunction<RunStatistics>> EVALUATION = new LinkedHashMap<>();

  static {
    EVALUATION.put("window", s -> s.window());
    EVALUATION.put("window_records", s -> s.windowRecords());
    EVALUATION.put("loss_autocorrelation_time", RunStatistics::tau);
    EVALUATION.put("loss_ess", RunStatistics::lossEss);
    EVALUATION.put("loss_trend_t", RunStatistics::trendT);
    EVALUATION.put("loss_relative_progress", RunStatistics::delta);
    EVALUATION.put("loss_relative_progress_stderr", RunStatistics::deltaStderr);
    EVALUATION.put("loss_sign_change_fraction", RunStatistics::falt);
    EVALUATION.put("stationarity_ratio", RunStatistics::stationarityRatio);
    EVALUATION.put("stationarity_ratio_stderr", RunStatistics::stationarityRatioStderr);
    EVALUATION.put("update_cosine_median", RunStatistics::kappa);
    EVALUATION.put("update_r2", RunStatistics::r2);
    EVALUATION.put("gradient_signal", RunStatistics::gradientSignal);
    EVALUATION.put("gradient_signal_stderr", RunStatistics::gradientSignalStderr);
    EVALUATION.put("gradient_noise_scale", RunStatistics::noiseScale);
    EVALUATION.put("update_energy", RunStatistics::updateEnergy);
    EVALUATION.put("weights_drift", RunStatistics::weightsDrift);
    EVALUATION.put("lr_safe", RunStatistics::lrSafe);
    EVALUATION.put("lr_ratio", RunStatistics::lrRatio);
    EVALUATION.put("sharpness_ratio", RunStatistics::sharpnessRatio);
    EVALUATION.put("forecast_loss_if_annealed", RunStatistics::forecastLossIfAnnealed);
    EVALUATION.put("forecast_stderr", RunStatistics::forecastStderr);
  }

  @Override
  public Integer call() throws IOException {
    if (!format.equals("csv")) {
      throw new CliException("--format " + format + " is not available: csv is (Parquet would bring Hadoop's jars "
          + "into the server; pandas.read_csv and polars.read_csv read the CSV files)");
    }
    OfflineLog log = OfflineLog.open(dataDir, config);
    log.requireRun(run);
    RecordStore store = log.store;
    Path evaluationsFile = evaluationsFile(output);
    // First pass: every series any connection of the run declared, in order of appearance.
    List<String> series = new ArrayList<>();
    store.read(run, e -> {
      if (e.frame() instanceof Hello h) {
        h.series().stream().filter(n -> !series.contains(n)).forEach(series::add);
      }
    });
    long[] rows = new long[2];
    try (BufferedWriter records = Files.newBufferedWriter(output, StandardCharsets.UTF_8);
         BufferedWriter evaluations = Files.newBufferedWriter(evaluationsFile, StandardCharsets.UTF_8);
         Pipeline pipeline = log.pipeline()) {
      records.write("rank,session,seq,step,time_ns" + (series.isEmpty() ? "" : "," + String.join(",", series)) + "\n");
      evaluations.write("step,record,state," + String.join(",", EVALUATION.keySet()) + "\n");
      RecordWriter writer = new RecordWriter(records, series);
      RunCore.EvaluationListener onEvaluation = (step, record, state, st) -> {
        write(evaluations, step, record, state, st);
        rows[1]++;
      };
      Optional<RunSnapshot> s = pipeline.replayReadOnly(run, onEvaluation, e -> rows[0] += writer.write(e)).block();
      if (s == null || s.isEmpty()) {
        throw new CliException("run " + run + ": its log holds no readable HELLO", 1);
      }
    } catch (UncheckedIOException e) {
      throw new CliException("cannot write " + output + " or " + evaluationsFile + ": " + e.getCause().getMessage());
    }
    spec.commandLine().getOut().printf("wrote %d records to %s and %d evaluations to %s%n", rows[0], output, rows[1],
        evaluationsFile);
    return 0;
  }

  static Path evaluationsFile(Path records) {
    String name = records.getFileName().toString();
    String base = name.endsWith(".csv") ? name.substring(0, name.length() - 4) : name;
    return records.resolveSibling(base + ".evaluations.csv");
  }

  private static void write(BufferedWriter out, long step, long record, RunState state, RunStatistics st) {
    StringBuilder line = new StringBuilder().append(step).append(',').append(record).append(',').append(state.label());
    for (ToDoubleFunction<RunStatistics> f : EVALUATION.values()) {
      line.append(',').append(f.applyAsDouble(st));
    }
    try {
      out.write(line.append('\n').toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One CSV row per STEP entry, its ids mapped to columns by the HELLO of its (rank, session). */
  private static final class RecordWriter {
    private final BufferedWriter out;
    private final List<String> series;
    private final Map<String, int[]> columnsOfSource = new HashMap<>();
    private final String[] cells;

    RecordWriter(BufferedWriter out, List<String> series) {
      this.out = out;
      this.series = series;
      this.cells = new String[series.size()];
    }

    /** @return 1 when the entry was a STEP written as a row, else 0 */
    int write(LogEntry e) {
      String source = e.rank() + "/" + e.session();
      if (e.frame() instanceof Hello h) {
        int[] columns = new int[h.series().size()];
        for (int i = 0; i < columns.length; i++) {
          columns[i] = series.indexOf(h.series().get(i));
        }
        columnsOfSource.put(source, columns);
        return 0;
      }
      int[] columns = columnsOfSource.get(source);
      if (!(e.frame() instanceof Step s) || columns == null) {
        return 0;
      }
      java.util.Arrays.fill(cells, "");
      for (int i = 0; i < s.count(); i++) {
        cells[columns[s.seriesId(i)]] = Double.toString(s.value(i));
      }
      try {
        out.write(e.rank() + "," + Long.toUnsignedString(e.session(), 16) + "," + s.seq() + "," + s.step() + ","
            + s.timeNanos() + (cells.length == 0 ? "" : "," + String.join(",", cells)) + "\n");
      } catch (IOException ex) {
        throw new UncheckedIOException(ex);
      }
      return 1;
    }
  }
}

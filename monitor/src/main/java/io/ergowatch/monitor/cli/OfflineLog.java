package io.ergowatch.monitor.cli;

import io.ergowatch.monitor.config.ConfigLoader;
import io.ergowatch.monitor.config.MonitorConfig;
import io.ergowatch.monitor.pipeline.Pipeline;
import io.ergowatch.monitor.store.RecordStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A monitor's data directory opened to look back (replay, report, export): the record log
 * read-only, the analytics settings of an optional config file, and a one-lane pipeline to
 * replay runs through, none of it opening a port.
 */
final class OfflineLog {
  final MonitorConfig config;
  final RecordStore store;
  private final Path dataDir;

  private OfflineLog(Path dataDir, MonitorConfig config, RecordStore store) {
    this.dataDir = dataDir;
    this.config = config;
    this.store = store;
  }

  /** @throws CliException for a directory that is not a monitor's data directory */
  static OfflineLog open(Path dataDir, Path configFile) {
    if (!Files.isDirectory(dataDir)) {
      throw new CliException("--data-dir " + dataDir + " is not a directory");
    }
    MonitorConfig cfg = ConfigLoader.load(configFile, System.getenv(), Map.of("data-dir", dataDir.toString()));
    try {
      return new OfflineLog(dataDir, cfg, RecordStore.readOnly(cfg.store()));
    } catch (IllegalArgumentException e) {
      throw new CliException(e.getMessage());
    }
  }

  /** The runs the log holds, oldest write first. */
  List<String> runs() {
    return store.runs();
  }

  /** @throws CliException (exit code 1) naming what the log holds when it does not hold {@code run} */
  void requireRun(String run) {
    List<String> runs = store.runs();
    if (!runs.contains(run)) {
      throw new CliException("the record log in " + dataDir + " holds no run " + run
          + (runs.isEmpty() ? " (it holds none)" : " (it holds " + String.join(", ", runs.subList(0, Math.min(10, runs.size())))
          + (runs.size() > 10 ? ", ... " + runs.size() + " in all" : "") + ")"), 1);
    }
  }

  /** One lane: runs replay one after the other; the clock only stamps the replay's own lifecycle. */
  Pipeline pipeline() {
    return new Pipeline(config.pipeline().withLanes(1), () -> System.currentTimeMillis() * 1_000_000L, store);
  }
}

package io.ergowatch.monitor.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable record log of the monitor: one {@link RunLog} per run under
 * {@code <data-dir>/runs/run=<id>/}. Every accepted record is appended before it is
 * acknowledged; on start the monitor replays every run from here. Run ids may contain ':' and
 * '.', so directory names are escaped ({@code :} → {@code %3A}) and prefixed, which also keeps
 * ids such as {@code ..} from naming anything outside the data dir.
 */
public final class RecordStore {
  private static final Logger log = LoggerFactory.getLogger("io.ergowatch.monitor.store");
  private static final String PREFIX = "run=";

  private final StoreSettings settings;
  private final Path runsDir;
  private final boolean readOnly;

  public RecordStore(StoreSettings settings) {
    this(settings, false);
    try {
      Files.createDirectories(runsDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + runsDir + ": " + e.getMessage(), e);
    }
  }

  private RecordStore(StoreSettings settings, boolean readOnly) {
    this.settings = settings;
    this.runsDir = settings.dataDir().resolve("runs");
    this.readOnly = readOnly;
  }

  /**
   * The store of a data directory opened to read only ({@link #read}, {@link #runs}): nothing
   * is created, changed or locked, so it is safe beside a live monitor.
   *
   * @throws IllegalArgumentException when the directory holds no record log
   */
  public static RecordStore readOnly(StoreSettings settings) {
    RecordStore s = new RecordStore(settings, true);
    if (!Files.isDirectory(s.runsDir)) {
      throw new IllegalArgumentException(settings.dataDir() + " holds no record log (no " + s.runsDir.getFileName()
          + "/ directory): is it the --data-dir of a monitor?");
    }
    return s;
  }

  /** Reads a run's log without changing it; see {@link RunLog#read}. */
  public RunLog.Damage read(String run, Consumer<LogEntry> sink) {
    return RunLog.read(runDir(run), sink);
  }

  private void writable() {
    if (readOnly) {
      throw new IllegalStateException("the record store of " + settings.dataDir() + " is open to read only");
    }
  }

  public StoreSettings settings() {
    return settings;
  }

  /**
   * Opens (creating, or recovering and replaying into {@code sink}) the log of a run; damaged
   * segments are copied into {@code <data-dir>/quarantine/<run dir>/} first, which the monitor
   * never deletes (docs/operations.md, "Durability").
   */
  public RunLog open(String run, Consumer<LogEntry> sink) {
    writable();
    Path dir = runDir(run);
    return RunLog.open(dir, settings.segmentBytes(), sink, settings.dataDir().resolve("quarantine").resolve(dir.getFileName()));
  }

  public Path runDir(String run) {
    return runsDir.resolve(PREFIX + run.replace(":", "%3A"));
  }

  /** The runs that have a log, oldest write first. */
  public List<String> runs() {
    List<String> out = new ArrayList<>();
    for (Path p : runDirs()) {
      out.add(p.getFileName().toString().substring(PREFIX.length()).replace("%3A", ":"));
    }
    return out;
  }

  private List<Path> runDirs() {
    try (Stream<Path> s = Files.list(runsDir)) {
      return s.filter(p -> Files.isDirectory(p) && p.getFileName().toString().startsWith(PREFIX))
          .sorted(Comparator.comparing(RecordStore::lastWrite)).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + runsDir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Deletes the logs of runs last written longer than the retention ago, then, while all logs
   * together exceed the size cap, the least recently written ones. Run at start, before replay.
   */
  public void applyRetention(long nowMillis) {
    writable();
    List<Path> dirs = new ArrayList<>(runDirs());
    long total = 0;
    for (Path d : dirs) {
      total += size(d);
    }
    for (Path d : new ArrayList<>(dirs)) {
      long age = nowMillis - lastWrite(d).toMillis();
      boolean old = age > settings.retention().toMillis();
      boolean over = total > settings.retentionBytes();
      if (!old && !over) {
        continue;
      }
      long bytes = size(d);
      delete(d);
      total -= bytes;
      dirs.remove(d);
      log.info("deleted the record log of {} ({} bytes): {}", d.getFileName(), bytes,
          old ? "older than the retention of " + settings.retention() : "the logs exceed " + settings.retentionBytes() + " bytes");
    }
  }

  /** Deletes one run's log (retention of a run the monitor has let go). */
  public void delete(String run) {
    writable();
    delete(runDir(run));
  }

  private static void delete(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", dir, e.getMessage());
    }
  }

  private static long size(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.mapToLong(p -> {
        try {
          return Files.size(p);
        } catch (IOException e) {
          return 0;
        }
      }).sum();
    } catch (IOException e) {
      return 0;
    }
  }

  private static FileTime lastWrite(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> {
        try {
          return Files.getLastModifiedTime(p);
        } catch (IOException e) {
          return FileTime.fromMillis(0);
        }
      }).max(Comparator.naturalOrder()).orElse(Files.getLastModifiedTime(dir));
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }
}

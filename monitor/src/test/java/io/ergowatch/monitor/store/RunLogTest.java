package io.ergowatch.monitor.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunLogTest {
  @TempDir
  Path dir;

  private static Hello hello() {
    return new Hello("r", "j", "", 9, 0, 1, Mode.REPLICATED, List.of("loss"), List.of());
  }

  private static Step step(long seq) {
    return Step.of(seq, seq, seq, new int[] {0}, new double[] {seq * 0.5});
  }

  private List<LogEntry> replay(Path runDir, long segmentBytes) {
    List<LogEntry> out = new ArrayList<>();
    RunLog.open(runDir, segmentBytes, out::add).close();
    return out;
  }

  @Test
  void whatIsAppendedAndForcedReplaysInOrder() {
    Path runDir = dir.resolve("r");
    RunLog log = RunLog.open(runDir, 1 << 20, e -> { });
    log.append(0, 9, hello());
    for (int i = 1; i <= 1000; i++) {
      log.append(0, 9, step(i));
    }
    log.append(0, 9, new Bye(Bye.Status.COMPLETED, "ok"));
    log.force();
    log.close();
    List<LogEntry> entries = replay(runDir, 1 << 20);
    assertThat(entries).hasSize(1002);
    assertThat(entries.get(0).hello()).isEqualTo(hello());
    assertThat(entries.get(500).step()).isEqualTo(step(500));
    assertThat(entries.get(500).session()).isEqualTo(9);
    assertThat(entries.get(1001).bye().message()).isEqualTo("ok");
  }

  @Test
  void segmentsRollOverAndReplayAcrossThem() throws Exception {
    Path runDir = dir.resolve("r");
    RunLog log = RunLog.open(runDir, 4096, e -> { });
    for (int i = 1; i <= 2000; i++) {
      log.append(0, 9, step(i));
    }
    log.close();
    assertThat(RunLog.segments(runDir).size()).isGreaterThan(5);
    assertThat(RunLog.segments(runDir).get(1).getFileName().toString()).matches("\\d{20}\\.log");
    List<LogEntry> entries = replay(runDir, 4096);
    assertThat(entries).hasSize(2000);
    assertThat(entries.get(1999).step().seq()).isEqualTo(2000);
  }

  @Test
  void aTornTailIsTruncatedAndTheLogKeepsWorking() throws Exception {
    Path runDir = dir.resolve("r");
    RunLog log = RunLog.open(runDir, 1 << 20, e -> { });
    for (int i = 1; i <= 100; i++) {
      log.append(0, 9, step(i));
    }
    log.close();
    Path seg = RunLog.segments(runDir).get(0);
    long good = Files.size(seg);
    try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
      f.seek(good);
      f.write(new byte[] {0, 0, 0, 40, 1, 2, 3}); // a torn entry: length 40, 3 bytes of it
    }
    List<LogEntry> entries = new ArrayList<>();
    RunLog reopened = RunLog.open(runDir, 1 << 20, entries::add);
    assertThat(entries).hasSize(100);
    assertThat(Files.size(seg)).isEqualTo(good);
    reopened.append(0, 9, step(101));
    reopened.close();
    assertThat(replay(runDir, 1 << 20)).hasSize(101);
  }

  @Test
  void aCorruptEntryTruncatesTheLogThereAndDropsLaterSegments() throws Exception {
    Path runDir = dir.resolve("r");
    RunLog log = RunLog.open(runDir, 4096, e -> { });
    for (int i = 1; i <= 1000; i++) {
      log.append(0, 9, step(i));
    }
    log.close();
    List<Path> segments = RunLog.segments(runDir);
    Path second = segments.get(1);
    try (RandomAccessFile f = new RandomAccessFile(second.toFile(), "rw")) {
      f.seek(100);
      f.write(0xFF ^ f.read()); // flip bits inside an entry of the second segment
    }
    List<LogEntry> entries = replay(runDir, 4096);
    assertThat(entries.size()).isLessThan(1000).isGreaterThan(0);
    // The entries kept are exactly a prefix: 1..n with no hole.
    for (int i = 0; i < entries.size(); i++) {
      assertThat(entries.get(i).step().seq()).isEqualTo(i + 1);
    }
    assertThat(RunLog.segments(runDir)).hasSize(2);
  }

  @Test
  void runIdsCannotEscapeTheDataDirectory() {
    RecordStore store = new RecordStore(new StoreSettings(dir, FsyncPolicy.BATCH, Duration.ofMillis(20), 1 << 20,
        Duration.ofDays(1), 1L << 30));
    assertThat(store.runDir("..")).isEqualTo(dir.resolve("runs").resolve("run=.."));
    assertThat(store.runDir("a:b")).isEqualTo(dir.resolve("runs").resolve("run=a%3Ab"));
    store.open("a:b", e -> { }).close();
    assertThat(store.runs()).containsExactly("a:b");
  }

  @Test
  void retentionDeletesOldRunsFirst() throws Exception {
    RecordStore store = new RecordStore(new StoreSettings(dir, FsyncPolicy.BATCH, Duration.ofMillis(20), 1 << 20,
        Duration.ofHours(1), 1L << 30));
    RunLog old = store.open("old", e -> { });
    old.append(0, 1, step(1));
    old.close();
    RunLog fresh = store.open("fresh", e -> { });
    fresh.append(0, 1, step(1));
    fresh.close();
    Files.setLastModifiedTime(RunLog.segments(store.runDir("old")).get(0),
        java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - Duration.ofHours(2).toMillis()));
    store.applyRetention(System.currentTimeMillis());
    assertThat(store.runs()).containsExactly("fresh");
  }
}

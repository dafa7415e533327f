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
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
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

  /** Writes steps 1..n into a run's log with segments of {@code segmentBytes}; returns the run dir. */
  private Path written(int n, long segmentBytes) {
    Path runDir = dir.resolve("runs").resolve("r");
    RunLog log = RunLog.open(runDir, segmentBytes, e -> { });
    for (int i = 1; i <= n; i++) {
      log.append(0, 9, step(i));
    }
    log.close();
    return runDir;
  }

  private static void damage(Path file, long at, int bytes) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      for (int i = 0; i < bytes; i++) {
        f.seek(at + i);
        int v = f.read();
        f.seek(at + i);
        f.write(v ^ 0xA5);
      }
    }
  }

  private static List<Long> seqs(List<LogEntry> entries) {
    return entries.stream().map(e -> e.step().seq()).toList();
  }

  @Test
  void readingChangesNothingOnDiskAndSkipsDamageAndATornTailAsOpenWould() throws Exception {
    Path runDir = written(5_000, 1 << 30);
    Path seg = RunLog.segments(runDir).get(0);
    damage(seg, Files.size(seg) / 2, 40);
    try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
      f.setLength(f.length() - 7); // the newest entry half-written, as beside a monitor appending
    }
    byte[] before = Files.readAllBytes(seg);
    List<LogEntry> entries = new ArrayList<>();
    RunLog.Damage d = RunLog.read(runDir, entries::add);
    assertThat(d.records()).isPositive();
    assertThat(entries.size()).isBetween(5_000 - 1 - 3, 5_000 - 2);
    assertThat(seqs(entries)).isSorted().doesNotHaveDuplicates().contains(1L, 4_999L).doesNotContain(5_000L);
    assertThat(Files.readAllBytes(seg)).isEqualTo(before);
    assertThat(dir.resolve("runs").resolve("quarantine")).doesNotExist();
    assertThat(RunLog.segments(runDir)).singleElement().isEqualTo(seg);
  }

  @Test
  void damageInTheMiddleKeepsEveryLaterValidEntryAndQuarantinesTheSegment() throws Exception {
    // The case: 64 bad bytes at 40% of a 20 000-record segment used to truncate there and
    // drop every acknowledged record after it (7 999 left).
    Path runDir = written(20_000, 1 << 30);
    Path seg = RunLog.segments(runDir).get(0);
    long size = Files.size(seg);
    damage(seg, (long) (0.4 * size), 64);
    List<LogEntry> entries = new ArrayList<>();
    RunLog reopened = RunLog.open(runDir, 1 << 30, entries::add);
    RunLog.Damage d = reopened.damage();
    // 64 bytes touch at most 3 entries of 31 bytes each.
    assertThat(entries.size()).isBetween(20_000 - 4, 20_000 - 1);
    assertThat(d.records()).isEqualTo(20_000 - entries.size());
    assertThat(d.bytes()).isBetween(64L, 64L + 2 * 31);
    assertThat(seqs(entries)).isSorted().doesNotHaveDuplicates().contains(1L, 20_000L);
    Path quarantine = dir.resolve("runs").resolve("quarantine").resolve("r");
    assertThat(Files.list(quarantine).toList()).singleElement()
        .satisfies(q -> assertThat(Files.size(q)).isEqualTo(size));
    assertThat(d.segments()).singleElement().asString().contains("damaged byte(s) at").contains(quarantine.toString());
    // The salvaged segment replays cleanly, and the log keeps working.
    reopened.append(0, 9, step(20_001));
    reopened.close();
    List<LogEntry> again = new ArrayList<>();
    RunLog third = RunLog.open(runDir, 1 << 30, again::add);
    assertThat(third.damage().any()).isFalse();
    assertThat(again).hasSize(entries.size() + 1);
    third.close();
  }

  @Test
  void damageAtTheHeadLosesOnlyTheDamagedEntries() throws Exception {
    Path runDir = written(1000, 1 << 30);
    damage(RunLog.segments(runDir).get(0), 0, 8);
    List<LogEntry> entries = new ArrayList<>();
    RunLog.open(runDir, 1 << 30, entries::add).close();
    assertThat(seqs(entries)).first().isEqualTo(2L);
    assertThat(entries).hasSize(999);
  }

  @Test
  void aBadTailOfAnEarlierSegmentIsDamageNotATornTailAndLaterSegmentsStay() throws Exception {
    Path runDir = written(1000, 4096);
    List<Path> segments = RunLog.segments(runDir);
    Path second = segments.get(1);
    damage(second, Files.size(second) - 10, 10);
    List<LogEntry> entries = new ArrayList<>();
    RunLog reopened = RunLog.open(runDir, 4096, entries::add);
    assertThat(RunLog.segments(runDir)).hasSameSizeAs(segments);
    assertThat(entries).hasSize(999);
    assertThat(reopened.damage().records()).isEqualTo(1);
    assertThat(seqs(entries)).contains(1000L);
    reopened.close();
  }

  @Test
  void aTornTailOfTheLastSegmentIsASilentTruncation() throws Exception {
    Path runDir = written(1000, 4096);
    List<Path> segments = RunLog.segments(runDir);
    Path last = segments.get(segments.size() - 1);
    damage(last, Files.size(last) - 10, 10); // the last entry half-written
    List<LogEntry> entries = new ArrayList<>();
    RunLog reopened = RunLog.open(runDir, 4096, entries::add);
    assertThat(reopened.damage().any()).isFalse();
    assertThat(entries).hasSize(999);
    assertThat(Files.exists(dir.resolve("runs").resolve("quarantine"))).isFalse();
    reopened.close();
  }

  @Property(tries = 60)
  void anyDamageKeepsEveryIntactEntryAndNeverThrows(@ForAll @IntRange(min = 0, max = 30_000) int at,
      @ForAll @IntRange(min = 1, max = 300) int bytes, @ForAll @IntRange(min = 0, max = 3) int segment)
      throws Exception {
    // A fuzzer over segment bytes: whatever is damaged, the entries kept are original ones in
    // order, every entry none of whose bytes was touched is kept, and the loss is counted.
    Path base = Files.createTempDirectory("runlog-fuzz");
    try {
      Path runDir = base.resolve("runs").resolve("r");
      RunLog log = RunLog.open(runDir, 16_384, e -> { });
      for (int i = 1; i <= 3000; i++) {
        log.append(0, 9, step(i));
      }
      log.close();
      List<Path> segments = RunLog.segments(runDir);
      Path seg = segments.get(Math.min(segment, segments.size() - 1));
      long size = Files.size(seg);
      long from = at % size;
      damage(seg, from, (int) Math.min(bytes, size - from));
      List<LogEntry> entries = new ArrayList<>();
      RunLog reopened = RunLog.open(runDir, 16_384, entries::add);
      List<Long> kept = seqs(entries);
      assertThat(kept).isSorted().doesNotHaveDuplicates();
      for (LogEntry e : entries) {
        assertThat(e.step()).isEqualTo(step(e.step().seq()));
      }
      // Each entry is 31 bytes here, so at most bytes/31 + 2 entries can be touched.
      assertThat(3000 - kept.size()).isLessThanOrEqualTo(bytes / 31 + 2);
      boolean torn = seg.equals(segments.get(segments.size() - 1)) && reopened.damage().records() == 0;
      if (!torn) {
        assertThat(reopened.damage().records()).isEqualTo(3000 - kept.size());
      }
      reopened.close();
    } finally {
      try (var walk = Files.walk(base)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
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

package io.ergowatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The spool on its own: order, acknowledgement, bound, recovery, lock. */
class SpoolTest {
  private static final List<String> SERIES = List.of("loss", "grad_sq", "lr");
  private static final String RUN = "spool-unit";

  @TempDir
  Path root;

  private final List<Spool> open = new ArrayList<>();
  private ListAppender<ILoggingEvent> logs;
  private Logger agentLogger;

  @BeforeEach
  void captureLogs() {
    agentLogger = (Logger) LoggerFactory.getLogger(ErgowatchAgent.class);
    logs = new ListAppender<>();
    logs.start();
    agentLogger.addAppender(logs);
  }

  @AfterEach
  void closeAll() {
    for (Spool s : open) {
      s.abandon();
    }
    agentLogger.detachAppender(logs);
  }

  private Spool open(long maxBytes) {
    return open(SERIES, maxBytes);
  }

  private Spool open(List<String> series, long maxBytes) {
    Spool s = Spool.open(root, RUN, 0, series, maxBytes, 42);
    open.add(s);
    return s;
  }

  private static PendingRecord record(long position, double value) {
    PendingRecord r = new PendingRecord(SERIES.size() + 1);
    r.position = position;
    r.step = position * 10;
    r.timeNanos = 1_000 + position;
    r.count = 3;
    for (int i = 0; i < 3; i++) {
      r.ids[i] = i;
      r.values[i] = value + i;
    }
    return r;
  }

  private static List<Long> takeAll(Spool s) {
    List<Long> steps = new ArrayList<>();
    PendingRecord out = new PendingRecord(SERIES.size() + 1);
    while (s.take(out)) {
      steps.add(out.step);
    }
    return steps;
  }

  private Path dir() {
    return Spool.directory(root, RUN, 0);
  }

  private List<Path> segments() throws IOException {
    try (Stream<Path> files = Files.list(dir())) {
      return files.filter(p -> p.getFileName().toString().endsWith(Spool.SUFFIX)).sorted().toList();
    }
  }

  private List<ILoggingEvent> warnings() {
    synchronized (logs) {
      return logs.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
    }
  }

  @Test
  void handsOutRecordsInAppendOrderWithTheirValuesAndPositions() {
    Spool s = open(1 << 20);
    for (int p = 0; p < 1_000; p++) {
      assertThat(s.append(record(p, p), false)).isTrue();
    }
    s.flush();
    assertThat(s.liveCount()).isEqualTo(1_000);

    PendingRecord out = new PendingRecord(4);
    for (int p = 0; p < 1_000; p++) {
      assertThat(s.nextPosition()).isEqualTo(p);
      assertThat(s.take(out)).isTrue();
      assertThat(out.position).isEqualTo(p);
      assertThat(out.step).isEqualTo(p * 10L);
      assertThat(out.timeNanos).isEqualTo(1_000L + p);
      assertThat(out.count).isEqualTo(3);
      assertThat(out.ids).startsWith(0, 1, 2);
      assertThat(out.values).startsWith(p, p + 1.0, p + 2.0);
    }
    assertThat(s.take(out)).isFalse();
    assertThat(s.hasUntaken()).isFalse();
    assertThat(s.liveCount()).isEqualTo(1_000); // taken is not acknowledged
  }

  @Test
  void acknowledgedRecordsLeaveAndEmptySegmentsAreDeleted() throws IOException {
    Spool s = open(Spool.MIN_BYTES); // 8 KiB segments: about 120 records each
    for (int p = 0; p < 500; p++) {
      s.append(record(p, p), false);
    }
    s.flush();
    assertThat(segments()).hasSizeGreaterThan(3);
    assertThat(takeAll(s)).hasSize(500);

    s.acknowledge(100); // the 100 newest taken are still in flight
    assertThat(s.liveCount()).isEqualTo(100);
    assertThat(segments()).hasSizeLessThanOrEqualTo(2);

    s.acknowledge(0);
    assertThat(s.liveCount()).isZero();
    assertThat(segments()).isEmpty(); // an empty spool leaves no segment files
  }

  @Test
  void aFullSpoolDropsItsOldestSegmentAndCountsTheUntakenRecords() throws IOException {
    Spool s = open(Spool.MIN_BYTES);
    int n = 5_000;
    for (int p = 0; p < n; p++) {
      s.append(record(p, p), false);
    }
    s.flush();
    long kept = s.liveCount();
    assertThat(s.droppedCount()).isPositive();
    assertThat(kept + s.droppedCount()).isEqualTo(n);
    assertThat(s.bytes()).isLessThanOrEqualTo(Spool.MIN_BYTES);
    long onDisk = 0;
    for (Path p : segments()) {
      onDisk += Files.size(p);
    }
    assertThat(onDisk).isLessThanOrEqualTo(Spool.MIN_BYTES);
    // The newest records are kept, contiguous.
    List<Long> steps = takeAll(s);
    assertThat(steps).hasSize((int) kept);
    assertThat(steps.get(steps.size() - 1)).isEqualTo((n - 1) * 10L);
    for (int i = 1; i < steps.size(); i++) {
      assertThat(steps.get(i)).isEqualTo(steps.get(i - 1) + 10);
    }
  }

  @Test
  void reopeningResumesAfterTheLastAcknowledgedRecordWithNegativePositions() {
    Spool a = open(1 << 20);
    for (int p = 0; p < 300; p++) {
      a.append(record(p, p), false);
    }
    PendingRecord out = new PendingRecord(4);
    for (int i = 0; i < 120; i++) {
      a.take(out);
    }
    a.acknowledge(20); // 100 acknowledged, 20 in flight
    a.untake();        // the window gave up on them
    a.close();
    open.remove(a);

    Spool b = open(1 << 20);
    assertThat(b.inherited()).isEqualTo(200);
    assertThat(b.liveCount()).isEqualTo(200);
    assertThat(b.nextPosition()).isEqualTo(-200); // older than anything of this process
    List<Long> steps = takeAll(b);
    assertThat(steps).hasSize(200);
    assertThat(steps.get(0)).isEqualTo(1_000L);
    assertThat(steps.get(199)).isEqualTo(2_990L);
    assertThat(warnings()).isEmpty();
  }

  @Test
  void aTornTailIsTruncatedWithAWarningAndTheRecordsBeforeItAreKept() throws IOException {
    Spool a = open(1 << 20);
    for (int p = 0; p < 50; p++) {
      a.append(record(p, p), false);
    }
    a.close();
    open.remove(a);
    Path seg = segments().get(0);
    long size = Files.size(seg);
    try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
      f.setLength(size - 5); // the last entry loses its last 5 bytes
    }

    Spool b = open(1 << 20);
    assertThat(b.inherited()).isEqualTo(49);
    assertThat(takeAll(b)).hasSize(49);
    assertThat(Files.size(seg)).isEqualTo(size - SpoolEntry.recordBytes(3));
    assertThat(warnings()).singleElement().satisfies(e -> assertThat(e.getFormattedMessage())
        .contains("torn or corrupt entry", "torn entry", "truncated there", "49 records before it are kept"));
  }

  @Test
  void aCorruptEntryInAnOlderSegmentTruncatesThereAndDropsTheLaterSegments() throws IOException {
    Spool a = open(Spool.MIN_BYTES);
    for (int p = 0; p < 500; p++) {
      a.append(record(p, p), false);
    }
    a.close();
    open.remove(a);
    List<Path> before = segments();
    assertThat(before).hasSizeGreaterThan(2);
    try (RandomAccessFile f = new RandomAccessFile(before.get(1).toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0x40); // one flipped bit in a value: the CRC catches it
    }

    Spool b = open(Spool.MIN_BYTES);
    List<Long> steps = takeAll(b);
    assertThat(steps).isNotEmpty().hasSizeLessThan(500);
    assertThat(steps.get(0)).isZero();
    assertThat(segments()).hasSize(2);
    assertThat(warnings()).singleElement().satisfies(e -> assertThat(e.getFormattedMessage())
        .contains("CRC32C mismatch", "truncated there", "later segment(s) dropped"));
  }

  @Test
  void recordsOfAnAgentWithOtherSeriesAreMappedByName() {
    Spool a = open(1 << 20);
    a.append(record(0, 1.0), false); // loss=1, grad_sq=2, lr=3
    a.close();
    open.remove(a);

    Spool b = open(List.of("lr", "acc", "loss"), 1 << 20);
    PendingRecord out = new PendingRecord(4);
    assertThat(b.take(out)).isTrue();
    assertThat(out.count).isEqualTo(2);
    assertThat(out.ids).startsWith(2, 0); // loss → 2, grad_sq left out, lr → 0
    assertThat(out.values).startsWith(1.0, 3.0);
    assertThat(warnings()).singleElement().satisfies(e -> assertThat(e.getFormattedMessage())
        .contains("does not declare [grad_sq]"));
  }

  @Test
  void aSecondSpoolOnTheSameRunAndRankIsRefusedUntilTheFirstCloses() {
    Spool a = open(1 << 20);
    assertThatThrownBy(() -> open(1 << 20))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("spool " + dir() + " of run spool-unit rank 0 is in use by another live agent (pid "
            + ProcessHandle.current().pid() + ", session 2a, since ")
        .hasMessageEndingWith("two agents cannot share the spool of one (run, rank); stop the other agent or give"
            + " this one another spool directory");
    // Another rank of the same run has its own spool.
    Spool other = Spool.open(root, RUN, 1, SERIES, 1 << 20, 7);
    open.add(other);
    a.close();
    open.remove(a);
    open(1 << 20);
  }

  @Test
  void aRunIdWithAColonGetsADirectoryNameWithoutIt() {
    assertThat(Spool.directory(root, "exp:1", 3)).isEqualTo(root.resolve("exp%3A1.rank-3"));
    assertThat(Spool.directory(root, "..", 0).getFileName().toString()).isEqualTo("...rank-0");
  }
}

package io.ergowatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Step;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The agent with a spool, against {@link FakeMonitor}: real sockets, threads and files. The
 * training loop is paced where a test needs "nothing dropped": it records half a ring at a time
 * (what wakes the network thread for a spill) and waits, with a deadline, for the ring to be
 * spilled; a loop faster than the disk may still make the ring drop, by design.
 */
class ErgowatchAgentSpoolTest {
  private static final int RING = 256;
  private static final String RUN = "spool-run";

  @TempDir
  Path root;

  private final List<AutoCloseable> toClose = new ArrayList<>();
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
  void cleanUp() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    agentLogger.detachAppender(logs);
  }

  private <T extends AutoCloseable> T track(T c) {
    toClose.add(c);
    return c;
  }

  private ErgowatchAgent.Builder agent(String address) {
    return ErgowatchAgent.builder()
        .address(address)
        .run(RUN)
        .series("loss", "grad_sq", "lr")
        .bufferCapacity(RING)
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .closeTimeout(Duration.ofSeconds(5))
        .spool(root, 1 << 20);
  }

  private ErgowatchAgent start(ErgowatchAgent.Builder b) {
    return track(b.build());
  }

  private static String away(int port) {
    return "127.0.0.1:" + port;
  }

  /**
   * Records steps [from, to) with values (step, 2·step, 0.1), half a ring at a time; after each
   * full half ring (the backlog that wakes the network thread for a spill) waits until the ring
   * is empty again, i.e. spilled.
   */
  private static void recordPaced(ErgowatchAgent a, long from, long to) {
    for (long chunk = from; chunk < to; chunk += RING / 2) {
      long end = Math.min(to, chunk + RING / 2);
      record(a, chunk, end);
      if (end - chunk == RING / 2) {
        Await.until("the ring spilled up to step " + end, () -> a.bufferedCount() == 0);
      }
    }
  }

  /** Records steps [from, to) with the same values, without pacing (fewer than half a ring). */
  private static void record(ErgowatchAgent a, long from, long to) {
    for (long step = from; step < to; step++) {
      a.record(step, step, 2.0 * step, 0.1);
    }
  }

  private Path spoolDir() {
    return Spool.directory(root, RUN, 0);
  }

  private List<Path> segments() throws IOException {
    try (Stream<Path> files = Files.list(spoolDir())) {
      return files.filter(p -> p.getFileName().toString().endsWith(Spool.SUFFIX)).sorted().toList();
    }
  }

  private long spoolBytesOnDisk() throws IOException {
    long n = 0;
    for (Path p : segments()) {
      n += Files.size(p);
    }
    return n;
  }

  private List<ILoggingEvent> logEvents() {
    synchronized (logs) {
      return List.copyOf(logs.list);
    }
  }

  private static Map<Integer, Double> values(Step s) {
    Map<Integer, Double> m = new HashMap<>();
    for (int i = 0; i < s.count(); i++) {
      m.put(s.seriesId(i), s.value(i));
    }
    return m;
  }

  private static List<Long> range(long fromInclusive, long toInclusive) {
    return LongStream.rangeClosed(fromInclusive, toInclusive).boxed().toList();
  }

  /** Every step carries (step, 2·step, 0.1) and, when {@code dropped} > 0, agent_dropped = dropped. */
  private static void assertValues(List<Step> steps, long dropped) {
    for (Step s : steps) {
      Map<Integer, Double> expected = new HashMap<>(Map.of(0, (double) s.step(), 1, 2.0 * s.step(), 2, 0.1));
      if (dropped > 0) {
        expected.put(3, (double) dropped);
      }
      assertThat(values(s)).as("values of step %d", s.step()).isEqualTo(expected);
    }
  }

  @Test
  void monitorAwayForThreeRingsSpoolsEverythingThenDeliversEachRecordOnceInOrder() throws Exception {
    int port = FakeMonitor.closedPort();
    ErgowatchAgent a = start(agent(away(port)));
    int n = 3 * RING;

    recordPaced(a, 0, n);

    assertThat(a.droppedCount()).isZero();
    assertThat(a.spooledCount()).isEqualTo(n);
    assertThat(segments()).isNotEmpty();
    assertThat(a.sentCount()).isZero();

    FakeMonitor m = track(FakeMonitor.startedOn(port));
    Await.until("the spooled records", () -> m.receivedCount() == n);
    record(a, n, n + 10); // live records come after the spooled ones
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();

    List<Step> steps = m.receivedSteps();
    assertThat(steps).extracting(Step::seq).containsExactlyElementsOf(range(1, n + 10));
    assertThat(steps).extracting(Step::step).containsExactlyElementsOf(range(0, n + 9));
    assertValues(steps, 0);
    assertThat(m.received()).allSatisfy(r -> assertThat(r.session()).isEqualTo(a.session()));
    assertThat(m.duplicates()).isZero();
    assertThat(m.violations()).isEmpty();
    assertThat(a.droppedCount()).isZero();
    assertThat(a.ackedCount()).isEqualTo(n + 10);
    Await.until("the spool emptied", () -> a.spooledCount() == 0);
    a.close();
    assertThat(segments()).isEmpty(); // acknowledged segments are deleted
  }

  @Test
  void aFullSpoolDropsTheOldestRecordsAndCountsThem() throws Exception {
    int port = FakeMonitor.closedPort();
    long maxBytes = Spool.MIN_BYTES; // 64 KiB: about 1,000 records of 3 series
    ErgowatchAgent a = start(agent(away(port)).spool(root, maxBytes));
    int n = 24 * (RING / 2); // 3,072: every half ring spilled, three times what the spool holds

    recordPaced(a, 0, n);

    long dropped = a.droppedCount();
    long spooled = a.spooledCount();
    assertThat(dropped).isPositive();
    assertThat(spooled + dropped).isEqualTo(n);
    assertThat(spoolBytesOnDisk()).isLessThanOrEqualTo(maxBytes);
    assertThat(logEvents()).anySatisfy(e -> assertThat(e.getFormattedMessage())
        .contains("could not hold the backlog", "dropped the oldest unsent records"));

    FakeMonitor m = track(FakeMonitor.startedOn(port));
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();

    // The newest records arrive, contiguous; each says how many were dropped before it.
    List<Step> steps = m.receivedSteps();
    assertThat(steps).extracting(Step::seq).containsExactlyElementsOf(range(1, spooled));
    assertThat(steps).extracting(Step::step).containsExactlyElementsOf(range(dropped, n - 1));
    assertValues(steps, dropped);
    assertThat(m.violations()).isEmpty();
    a.close();
    assertThat(a.droppedCount()).isEqualTo(dropped);
    assertThat(a.spooledCount()).isZero();
  }

  @Test
  void aSlowMonitorMakesTheRingSpillWhileConnectedWithoutLosingOrder() throws Exception {
    FakeMonitor m = track(FakeMonitor.started());
    m.autoAck = false;
    ErgowatchAgent a = start(agent(m.address()).maxInFlight(64));
    record(a, 0, 64);
    Await.until("a full window on the wire", () -> !m.connections().isEmpty() && m.connection(0).steps().size() == 64);

    recordPaced(a, 64, 64 + 3 * RING); // no ACK: the window stays full, the ring spills
    assertThat(a.spooledCount()).isEqualTo(64 + 3 * RING); // the window's records too, in order
    assertThat(a.droppedCount()).isZero();

    m.autoAck = true;
    m.connection(0).ack();
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();

    List<Step> steps = m.receivedSteps();
    assertThat(steps).extracting(Step::seq).containsExactlyElementsOf(range(1, 64 + 3 * RING));
    assertThat(steps).extracting(Step::step).containsExactlyElementsOf(range(0, 64 + 3 * RING - 1));
    assertValues(steps, 0);
    assertThat(m.connections()).hasSize(1);
    assertThat(m.violations()).isEmpty();
    Await.until("the spool emptied", () -> a.spooledCount() == 0);
  }

  @Test
  void aTornSpoolTailIsTruncatedWithAWarningAndTheRestIsDelivered() throws Exception {
    int port = FakeMonitor.closedPort();
    ErgowatchAgent a = start(agent(away(port)).closeTimeout(Duration.ofMillis(100)));
    record(a, 0, 100);
    a.close(); // the monitor never came: the 100 records go to the spool
    assertThat(a.spooledCount()).isEqualTo(100);
    assertThat(a.droppedCount()).isZero();
    Path last = segments().get(segments().size() - 1);
    try (RandomAccessFile f = new RandomAccessFile(last.toFile(), "rw")) {
      f.setLength(f.length() - 7); // a crash in the middle of writing the last entry
    }

    FakeMonitor m = track(FakeMonitor.startedOn(port));
    ErgowatchAgent b = start(agent(away(port)));
    assertThat(b.inheritedCount()).isEqualTo(99);
    record(b, 1_000, 1_010);
    assertThat(b.flush(Duration.ofSeconds(10))).isTrue();

    List<Long> expected = new ArrayList<>(range(0, 98));
    expected.addAll(range(1_000, 1_009));
    assertThat(m.receivedSteps()).extracting(Step::step).containsExactlyElementsOf(expected);
    assertThat(m.receivedSteps()).extracting(Step::seq).containsExactlyElementsOf(range(1, 109));
    assertThat(m.violations()).isEmpty();
    assertThat(logEvents()).anySatisfy(e -> {
      assertThat(e.getLevel()).isEqualTo(Level.WARN);
      assertThat(e.getFormattedMessage()).contains("torn or corrupt entry", "truncated there",
          "99 records before it are kept");
      assertThat(e.getThrowableProxy()).isNull();
    });
  }

  @Test
  void aRestartedProcessSendsTheSpooledRecordsFirstUnderItsNewSession() throws Exception {
    int port = FakeMonitor.closedPort();
    ErgowatchAgent a = start(agent(away(port)).session(0xAL).closeTimeout(Duration.ofMillis(100)));
    int n = 3 * RING + 50; // three rings spilled while running, 50 still in the ring at close
    recordPaced(a, 0, 3 * RING);
    record(a, 3 * RING, n);
    a.close();
    assertThat(a.spooledCount()).isEqualTo(n);
    assertThat(a.droppedCount()).isZero();
    assertThat(logEvents()).anySatisfy(e -> assertThat(e.getFormattedMessage())
        .contains("closed with " + n + " records the monitor never acknowledged: they are kept in the spool "
            + spoolDir() + ", and the next agent of this run and rank sends them"));

    FakeMonitor m = track(FakeMonitor.startedOn(port));
    ErgowatchAgent b = start(agent(away(port)).session(0xBL));
    assertThat(b.inheritedCount()).isEqualTo(n);
    record(b, n, n + 20);
    assertThat(b.flush(Duration.ofSeconds(10))).isTrue();

    assertThat(m.connections()).hasSize(1);
    List<Frame> frames = m.connection(0).frames();
    assertThat(frames.get(0)).isInstanceOfSatisfying(Hello.class, h -> assertThat(h.session()).isEqualTo(0xBL));
    assertThat(m.received()).allSatisfy(r -> assertThat(r.session()).isEqualTo(0xBL));
    List<Step> steps = m.receivedSteps();
    assertThat(steps).extracting(Step::seq).containsExactlyElementsOf(range(1, n + 20));
    assertThat(steps).extracting(Step::step).containsExactlyElementsOf(range(0, n + 19));
    assertValues(steps, 0);
    assertThat(m.violations()).isEmpty();
    assertThat(b.ackedCount()).isEqualTo(n + 20);
    assertThat(b.droppedCount()).isZero();
    b.close();
    assertThat(b.spooledCount()).isZero();
    assertThat(b.droppedCount()).isZero();
  }

  @Test
  void recordsSentButUnacknowledgedAtCloseAreKeptAndSentAgainByTheNextProcess() throws Exception {
    FakeMonitor first = track(FakeMonitor.started());
    first.autoAck = false;
    ErgowatchAgent a = start(agent(first.address()).closeTimeout(Duration.ofMillis(200)));
    record(a, 0, 20);
    Await.until("20 records on the wire", () -> !first.connections().isEmpty() && first.receivedCount() == 20);
    first.close(); // gone without acknowledging anything
    a.close();
    assertThat(a.sentCount()).isEqualTo(20);
    assertThat(a.spooledCount()).isEqualTo(20);
    assertThat(a.droppedCount()).isZero();

    FakeMonitor second = track(FakeMonitor.started());
    ErgowatchAgent b = start(agent(second.address()));
    record(b, 20, 25);
    assertThat(b.flush(Duration.ofSeconds(10))).isTrue();
    assertThat(second.receivedSteps()).extracting(Step::step).containsExactlyElementsOf(range(0, 24));
    assertThat(second.receivedSteps()).extracting(Step::seq).containsExactlyElementsOf(range(1, 25));
    assertValues(second.receivedSteps(), 0); // agent_dropped of the old frames was not carried over
    assertThat(second.violations()).isEmpty();
  }

  @Test
  void afterACrashOnlyTheSpooledRecordsSurviveAndTheNextProcessSendsThem() throws Exception {
    int port = FakeMonitor.closedPort();
    ErgowatchAgent a = start(agent(away(port)));
    recordPaced(a, 0, 2 * RING);          // spilled: on disk
    record(a, 2 * RING, 2 * RING + 50);   // only in memory
    assertThat(a.spooledCount()).isEqualTo(2 * RING);

    a.simulateCrash();

    FakeMonitor m = track(FakeMonitor.startedOn(port));
    ErgowatchAgent b = start(agent(away(port)));
    assertThat(b.inheritedCount()).isEqualTo(2 * RING);
    record(b, 10_000, 10_010);
    assertThat(b.flush(Duration.ofSeconds(10))).isTrue();

    List<Long> expected = new ArrayList<>(range(0, 2 * RING - 1));
    expected.addAll(range(10_000, 10_009));
    assertThat(m.receivedSteps()).extracting(Step::step).containsExactlyElementsOf(expected);
    assertThat(m.receivedSteps()).extracting(Step::seq).containsExactlyElementsOf(range(1, 2 * RING + 10));
    assertThat(m.received()).allSatisfy(r -> assertThat(r.session()).isEqualTo(b.session()));
    assertThat(m.violations()).isEmpty();
  }

  @Test
  void aRestartedProcessWithOtherSeriesGetsTheSpooledValuesByName() throws Exception {
    int port = FakeMonitor.closedPort();
    ErgowatchAgent a = start(agent(away(port)).closeTimeout(Duration.ofMillis(100)));
    a.record(0, 1.5, 2.5, 0.1); // loss, grad_sq, lr
    a.close();

    FakeMonitor m = track(FakeMonitor.startedOn(port));
    ErgowatchAgent b = start(ErgowatchAgent.builder().address(away(port)).run(RUN).series("lr", "loss", "acc")
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50)).spool(root, 1 << 20));
    b.record(1, 0.05, 1.0, 0.9);
    assertThat(b.flush(Duration.ofSeconds(10))).isTrue();

    List<Step> steps = m.receivedSteps();
    assertThat(steps).extracting(Step::step).containsExactly(0L, 1L);
    assertThat(values(steps.get(0))).isEqualTo(Map.of(0, 0.1, 1, 1.5)); // grad_sq is not declared any more
    assertThat(values(steps.get(1))).isEqualTo(Map.of(0, 0.05, 1, 1.0, 2, 0.9));
    assertThat(logEvents()).anySatisfy(e -> assertThat(e.getFormattedMessage()).contains("does not declare [grad_sq]"));
  }

  @Test
  void twoLiveAgentsCannotShareTheSpoolOfOneRunAndRank() throws Exception {
    int port = FakeMonitor.closedPort();
    ErgowatchAgent a = start(agent(away(port)).closeTimeout(Duration.ofMillis(100)));

    assertThatThrownBy(() -> agent(away(port)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("spool " + spoolDir() + " of run spool-run rank 0 is in use by another live agent (pid "
            + ProcessHandle.current().pid() + ", session " + Long.toHexString(a.session()) + ", since ")
        .hasMessageEndingWith("two agents cannot share the spool of one (run, rank); stop the other agent or give"
            + " this one another spool directory");
    // Other runs and ranks in the same directory have spools of their own.
    start(agent(away(port)).run("other-run"));
    start(agent(away(port)).rank(1, 2));

    a.close();
    start(agent(away(port))); // free again once the first one ended
  }

  @Test
  void rejectsASpoolTooSmall() {
    assertThatThrownBy(() -> ErgowatchAgent.builder().spool(root, 1_000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("spool maxBytes must be >= 65536 (64 KiB), got 1000");
    String[] many = new String[2_000];
    for (int i = 0; i < many.length; i++) {
      many[i] = "series." + i;
    }
    assertThatThrownBy(() -> ErgowatchAgent.builder().run(RUN).series(many).spool(root, 100_000).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("spool maxBytes 100000 is too small for records of 2000 series: at least ");
  }
}

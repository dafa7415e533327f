package io.ergowatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.ErrorFrame;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Label;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The agent against {@link FakeMonitor}: real sockets on 127.0.0.1, real threads. */
class ErgowatchAgentTest {
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

  private FakeMonitor monitor() throws IOException {
    return track(FakeMonitor.started());
  }

  private <T extends AutoCloseable> T track(T c) {
    toClose.add(c);
    return c;
  }

  /** An agent with test-friendly timings: quick retries, bounded close. */
  private static ErgowatchAgent.Builder agent(String address) {
    return ErgowatchAgent.builder()
        .address(address)
        .run("test-run")
        .series("loss", "grad_sq", "lr")
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .closeTimeout(Duration.ofSeconds(5));
  }

  private ErgowatchAgent start(ErgowatchAgent.Builder b) {
    return track(b.build());
  }

  private static int agentDroppedIndex(Step s) {
    for (int i = 0; i < s.count(); i++) {
      if (s.seriesId(i) == 3) {
        return i;
      }
    }
    return -1;
  }

  /** A snapshot of the agent's log events (appended from the agent's threads). */
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

  @Test
  void helloDeclaresTheSeriesWithAgentDroppedLastAndTheLabelsRankWorldAndMode() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(ErgowatchAgent.builder()
        .address(m.address()).run("resnet-lr0.1").job("sweep-7").token("s3cret")
        .series("loss", "grad_sq", "lr").label("optimizer", "sgd").label("batch", "128")
        .rank(1, 4).mode(Mode.SHARDED).session(0xFEEDL));

    Await.until("a HELLO", () -> !m.connections().isEmpty() && m.connection(0).hello != null);

    assertThat(m.connection(0).hello).isEqualTo(new Hello("resnet-lr0.1", "sweep-7", "s3cret", 0xFEEDL, 1, 4,
        Mode.SHARDED, List.of("loss", "grad_sq", "lr", "agent_dropped"),
        List.of(new Label("optimizer", "sgd"), new Label("batch", "128"))));
    assertThat(a.series()).containsExactly("loss", "grad_sq", "lr", "agent_dropped");
    assertThat(a.session()).isEqualTo(0xFEEDL);
    Await.until("connected", a::connected);
  }

  @Test
  void buildReturnsAtOnceAndTheNetworkThreadIsANamedDaemon() throws Exception {
    ErgowatchAgent a = start(agent("127.0.0.1:" + FakeMonitor.closedPort()).run("named-run"));
    Thread t = Thread.getAllStackTraces().keySet().stream()
        .filter(th -> th.getName().equals("ergowatch-agent-named-run")).findFirst().orElseThrow();
    assertThat(t.isDaemon()).isTrue();
    assertThat(a.connected()).isFalse();
  }

  @Test
  void recordsArriveInOrderWithSeqFromOneAndTheirValues() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()));
    long before = System.currentTimeMillis() * 1_000_000L;
    double[] v = new double[3];
    for (int step = 0; step < 1_000; step++) {
      v[0] = 1.0 / (step + 1);
      v[1] = step * 2.0;
      v[2] = 0.1;
      a.record(step, v);
    }
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();
    long after = System.currentTimeMillis() * 1_000_000L + 1_000_000L;

    List<Step> steps = m.receivedSteps();
    assertThat(steps).extracting(Step::seq).containsExactlyElementsOf(range(1, 1_000));
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      assertThat(s.step()).isEqualTo(i);
      assertThat(values(s)).containsExactlyInAnyOrderEntriesOf(Map.of(0, 1.0 / (i + 1), 1, i * 2.0, 2, 0.1));
      assertThat(s.timeNanos()).isBetween(before - 50_000_000L, after + 50_000_000L);
    }
    assertThat(m.violations()).isEmpty();
    assertThat(m.duplicates()).isZero();
    assertThat(a.ackedSeq()).isEqualTo(1_000);
    assertThat(a.ackedCount()).isEqualTo(1_000);
    assertThat(a.sentCount()).isEqualTo(1_000);
    assertThat(a.recordedCount()).isEqualTo(1_000);
    assertThat(a.droppedCount()).isZero();
  }

  @Test
  void nanAndInfinitiesAreSentBitForBit() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()));
    double[][] rows = {
        {Double.NaN, Double.longBitsToDouble(0x7ff8_0000_0000_0123L), Double.longBitsToDouble(0xfff8_0000_0000_0000L)},
        {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0},
        {Double.MIN_VALUE, Double.MAX_VALUE, Double.longBitsToDouble(0x7ff0_0000_0000_0001L)},
    };
    for (int i = 0; i < rows.length; i++) {
      a.record(i, rows[i]);
    }
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();

    List<Step> steps = m.receivedSteps();
    assertThat(steps).hasSize(rows.length);
    for (int i = 0; i < rows.length; i++) {
      Step s = steps.get(i);
      assertThat(s.count()).isEqualTo(3);
      for (int k = 0; k < 3; k++) {
        assertThat(s.seriesId(k)).isEqualTo(k);
        assertThat(Double.doubleToRawLongBits(s.value(k)))
            .as("row %d series %d", i, k)
            .isEqualTo(Double.doubleToRawLongBits(rows[i][k]));
      }
    }
  }

  @Test
  void sparseRecordCarriesOnlyTheGivenSeries() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()));
    int lr = a.seriesId("lr");
    int loss = a.seriesId("loss");
    a.record(7, new int[] {lr, loss, 99}, new double[] {0.01, 2.5, 0}, 2);
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();

    Step s = m.receivedSteps().get(0);
    assertThat(s.step()).isEqualTo(7);
    assertThat(values(s)).containsExactlyInAnyOrderEntriesOf(Map.of(0, 2.5, 2, 0.01));
  }

  @Test
  void sendsManyStepFramesPerWrite() throws Exception {
    FakeMonitor m = track(FakeMonitor.notAccepting());
    ErgowatchAgent a = start(agent(m.address()));
    int n = 10_000;
    double[] v = {1, 2, 3};
    for (int step = 0; step < n; step++) {
      a.record(step, v);
    }
    m.start();
    Await.until("all records", () -> m.receivedCount() == n);

    FakeMonitor.Conn c = m.connection(0);
    assertThat(c.seqs()).containsExactlyElementsOf(range(1, n));
    // 10,000 frames of 73 bytes in batches of 256: a few dozen writes, far fewer socket reads
    // than frames. One frame per write would need about one read per frame.
    assertThat(c.rawReads.get()).isLessThan(n / 20);
  }

  @Test
  void afterAReconnectResendsExactlyTheRecordsAfterWelcomeAckedSeq() throws Exception {
    FakeMonitor m = monitor();
    m.autoAck = false;
    ErgowatchAgent a = start(agent(m.address()));
    double[] v = new double[3];
    for (int step = 0; step < 100; step++) {
      v[0] = step;
      a.record(step, v);
    }
    Await.until("100 records on the first connection",
        () -> !m.connections().isEmpty() && m.connection(0).steps().size() == 100);
    assertThat(a.ackedSeq()).isZero();

    // The monitor recorded only up to seq 40 (the rest was lost with the connection).
    m.truncate(a.session(), 40);
    m.autoAck = true;
    m.dropConnections();

    Await.until("the resend", () -> m.connections().size() == 2 && m.connection(1).steps().size() >= 60);
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();
    assertThat(m.connection(1).seqs()).containsExactlyElementsOf(range(41, 100));
    List<Step> all = m.receivedSteps();
    assertThat(all).extracting(Step::seq).containsExactlyElementsOf(range(1, 100));
    assertThat(all).extracting(Step::step).containsExactlyElementsOf(range(0, 99));
    for (Step s : all) {
      assertThat(values(s).get(0)).isEqualTo((double) s.step());
    }
    assertThat(m.violations()).isEmpty();
    assertThat(a.ackedSeq()).isEqualTo(100);
    assertThat(a.sentCount()).isEqualTo(100); // distinct records, resends not counted twice
  }

  @Test
  void forceReconnectResumesWithoutSkippingOrRepeatingRecords() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()));
    double[] v = {1, 2, 3};
    for (int step = 0; step < 20; step++) {
      a.record(step, v);
    }
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();

    a.forceReconnect();
    Await.until("a second connection", () -> m.connections().size() == 2 && a.connected());
    for (int step = 20; step < 30; step++) {
      a.record(step, v);
    }
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();

    assertThat(m.connection(1).seqs()).containsExactlyElementsOf(range(21, 30));
    assertThat(m.receivedSteps()).extracting(Step::step).containsExactlyElementsOf(range(0, 29));
    assertThat(m.violations()).isEmpty();
    assertThat(logEvents()).anySatisfy(e -> {
      assertThat(e.getLevel()).isEqualTo(Level.WARN);
      assertThat(e.getFormattedMessage()).contains("disconnected from", "reconnect forced", "reconnecting in");
      assertThat(e.getThrowableProxy()).isNull();
    });
  }

  @Test
  void recordNeverBlocksWhenNoMonitorListensAndCountsWhatItDrops() throws Exception {
    ErgowatchAgent a = start(agent("127.0.0.1:" + FakeMonitor.closedPort())
        .bufferCapacity(1_000).closeTimeout(Duration.ofMillis(200)));
    double[] v = {1, 2, 3};
    for (int step = 0; step < 1_000_000; step++) {
      a.record(step, v);
    }
    assertThat(a.recordedCount()).isEqualTo(1_000_000);
    assertThat(a.droppedCount()).isEqualTo(999_000);
    assertThat(a.sentCount()).isZero();

    a.close();
    assertThat(a.droppedCount()).isEqualTo(1_000_000); // the 1,000 buffered ones never got out
    assertThat(logEvents()).anySatisfy(e -> assertThat(e.getFormattedMessage())
        .contains("cannot reach the monitor at 127.0.0.1:", "retrying in", "buffering up to 1000 records"));
    assertThat(logEvents()).allSatisfy(e -> assertThat(e.getThrowableProxy()).isNull());
  }

  @Test
  void dropsTheOldestRecordsAndReportsTheTotalInAgentDropped() throws Exception {
    FakeMonitor m = track(FakeMonitor.notAccepting());
    ErgowatchAgent a = start(agent(m.address()).bufferCapacity(1_000));
    double[] v = new double[3];
    for (int step = 0; step < 1_000_000; step++) {
      v[0] = step;
      a.record(step, v);
    }
    assertThat(a.droppedCount()).isEqualTo(999_000);

    m.start();
    Await.until("the 1,000 newest records", () -> m.receivedCount() == 1_000);
    List<Step> steps = m.receivedSteps();
    assertThat(steps).extracting(Step::seq).containsExactlyElementsOf(range(1, 1_000));
    assertThat(steps).extracting(Step::step).containsExactlyElementsOf(range(999_000, 999_999));
    for (Step s : steps) {
      int i = agentDroppedIndex(s);
      assertThat(i).as("agent_dropped in seq %d", s.seq()).isNotNegative();
      assertThat(s.value(i)).isEqualTo(999_000.0);
      assertThat(values(s).get(0)).isEqualTo((double) s.step());
    }
    assertThat(m.violations()).isEmpty();
  }

  /**
   * The drop/seq invariant: records that already have a seq (sent, unacknowledged) are never
   * dropped; an overflow during the outage drops only unsent records, which have no seq yet; so
   * after the reconnect the monitor sees seqs without a gap.
   */
  @Test
  void anOverflowDuringAnOutageDropsOnlyUnsentRecordsAndLeavesNoSeqGap() throws Exception {
    FakeMonitor m = monitor();
    m.autoAck = false;
    ErgowatchAgent a = start(agent(m.address()).bufferCapacity(100).maxInFlight(1_000));
    double[] v = new double[3];
    for (int step = 0; step < 50; step++) {
      v[0] = step;
      a.record(step, v);
    }
    Await.until("50 records in flight", () -> m.receivedCount() == 50);
    long session = a.session();

    // Outage: the monitor lost everything after seq 20 and turns the agent away for a while.
    AtomicInteger turnedAway = new AtomicInteger();
    m.refuse = h -> {
      turnedAway.incrementAndGet();
      return new ErrorFrame(ErrorCode.OVERLOADED, "busy");
    };
    m.truncate(session, 20);
    m.dropConnections();
    Await.until("the agent to be turned away", () -> turnedAway.get() >= 1 && !a.connected());
    for (int step = 50; step < 10_050; step++) {
      v[0] = step;
      a.record(step, v);
    }
    assertThat(a.droppedCount()).isEqualTo(9_900); // only unsent ones: the ring holds 100

    m.refuse = h -> null;
    m.autoAck = true;
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();

    List<Step> steps = m.receivedSteps();
    assertThat(steps).extracting(Step::seq).containsExactlyElementsOf(range(1, 150));
    List<Long> expectedSteps = new ArrayList<>(range(0, 49));
    expectedSteps.addAll(range(9_950, 10_049));
    assertThat(steps).extracting(Step::step).containsExactlyElementsOf(expectedSteps);
    assertThat(m.last().seqs().get(0)).isEqualTo(21L); // resent from WELCOME.acked_seq + 1
    for (Step s : steps.subList(50, 150)) {
      assertThat(s.value(agentDroppedIndex(s))).isEqualTo(9_900.0);
    }
    assertThat(m.violations()).isEmpty();
    assertThat(a.session()).isEqualTo(session);
  }

  @Test
  void noAgentDroppedValueWhileNothingWasDropped() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()));
    a.record(0, 1, 2, 3);
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();
    assertThat(agentDroppedIndex(m.receivedSteps().get(0))).isNegative();
  }

  @Test
  void stopsRetryingAndDropsRecordsWhenTheMonitorRefusesTheRun() throws Exception {
    FakeMonitor m = monitor();
    m.refuse = h -> new ErrorFrame(ErrorCode.UNAUTHORIZED, "bad token");
    ErgowatchAgent a = start(agent(m.address()).token("wrong").reconnectBackoff(Duration.ofMillis(1),
        Duration.ofMillis(1)));

    Await.until("the refusal", () -> a.refusal() != null);
    assertThat(a.refusal()).isEqualTo("UNAUTHORIZED bad token");
    for (int step = 0; step < 10; step++) {
      a.record(step, 1, 2, 3);
    }
    // The network thread keeps running (it drops what comes) but never connects again, even
    // with a 1 ms backoff.
    Await.until("the records dropped", () -> a.droppedCount() == 10);
    assertThat(m.connections()).hasSize(1);
    assertThat(a.connected()).isFalse();
    assertThat(logEvents()).filteredOn(e -> e.getLevel() == Level.ERROR).singleElement().satisfies(e -> {
      assertThat(e.getFormattedMessage()).contains("refused run test-run rank 0/1: UNAUTHORIZED bad token",
          "not retrying", "records of this run are being dropped");
      assertThat(e.getThrowableProxy()).isNull();
    });
    a.close();
    assertThat(m.connections()).hasSize(1);
  }

  @Test
  void retriesWithBackoffWhenTheMonitorIsOverloaded() throws Exception {
    FakeMonitor m = monitor();
    AtomicInteger hellos = new AtomicInteger();
    m.refuse = h -> hellos.incrementAndGet() <= 2 ? new ErrorFrame(ErrorCode.OVERLOADED, "too many runs") : null;
    ErgowatchAgent a = start(agent(m.address()));
    a.record(0, 1, 2, 3);
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();
    assertThat(m.connections()).hasSize(3);
    assertThat(m.receivedSteps()).extracting(Step::seq).containsExactly(1L);
    assertThat(a.refusal()).isNull();
  }

  @Test
  void closeFlushesSendsByeWaitsForTheFinalAckAndIsIdempotent() throws Exception {
    FakeMonitor m = monitor();
    m.autoAck = false; // only the final ACK after BYE acknowledges anything
    ErgowatchAgent a = start(agent(m.address()));
    for (int step = 0; step < 5; step++) {
      a.record(step, 1, 2, 3);
    }
    Await.until("5 records sent", () -> a.sentCount() == 5);

    a.close();

    FakeMonitor.Conn c = m.connection(0);
    assertThat(c.seqs()).containsExactlyElementsOf(range(1, 5));
    List<io.ergowatch.protocol.Frame> frames = c.frames();
    assertThat(frames.get(frames.size() - 1)).isEqualTo(new Bye(Bye.Status.COMPLETED, ""));
    assertThat(a.ackedSeq()).isEqualTo(5);
    assertThat(a.droppedCount()).isZero();
    assertThat(a.connected()).isFalse();
    assertThat(a.terminated()).isTrue();

    a.close();
    a.close(Bye.Status.FAILED, "again");
    assertThat(m.connections()).hasSize(1);
    assertThat(c.byes()).hasSize(1);
  }

  @Test
  void closeReconnectsToSayByeWhenTheConnectionHadDropped() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()).reconnectBackoff(Duration.ofSeconds(30), Duration.ofSeconds(30)));
    a.record(0, 1, 2, 3);
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();
    m.dropConnections();
    Await.until("the agent to notice", () -> !a.connected());

    a.close(); // does not wait out the 30 s backoff

    assertThat(m.connections()).hasSize(2);
    assertThat(m.last().steps()).isEmpty();
    assertThat(m.last().byes()).containsExactly(new Bye(Bye.Status.COMPLETED, ""));
    assertThat(a.droppedCount()).isZero();
  }

  @Test
  void closeWithAStatusSendsItInTheBye() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()));
    a.record(0, Double.NaN, 1, 0.1);
    a.close(Bye.Status.FAILED, "loss is NaN");
    assertThat(m.connection(0).byes()).containsExactly(new Bye(Bye.Status.FAILED, "loss is NaN"));
    assertThat(m.receivedSteps()).hasSize(1);
  }

  @Test
  void recordAfterCloseIsDroppedAndCounted() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()));
    a.record(0, 1, 2, 3);
    a.close();
    a.record(1, 1, 2, 3);
    assertThat(a.recordedCount()).isEqualTo(2);
    assertThat(a.droppedCount()).isEqualTo(1);
    assertThat(m.receivedSteps()).hasSize(1);
  }

  @Test
  void closeWithoutAMonitorGivesUpAtItsTimeout() throws Exception {
    ErgowatchAgent a = start(agent("127.0.0.1:" + FakeMonitor.closedPort()).closeTimeout(Duration.ofMillis(100)));
    a.record(0, 1, 2, 3);
    a.close();
    assertThat(a.terminated()).isTrue();
    assertThat(a.droppedCount()).isEqualTo(1);
    assertThat(logEvents()).anySatisfy(e -> assertThat(e.getFormattedMessage())
        .contains("closed with 1 records undelivered (1 never sent, 0 not acknowledged)"));
  }

  @Test
  void recordsUnacknowledgedAtCloseCountAsDroppedNotAcknowledged() throws Exception {
    FakeMonitor m = monitor();
    m.autoAck = false;
    ErgowatchAgent a = start(agent(m.address()).closeTimeout(Duration.ofMillis(200)));
    for (int step = 0; step < 3; step++) {
      a.record(step, 1, 2, 3);
    }
    Await.until("3 records received", () -> m.receivedCount() == 3);
    m.close(); // the monitor goes away before acknowledging anything

    a.close();

    assertThat(a.ackedSeq()).isZero();
    assertThat(a.ackedCount()).isZero();
    assertThat(a.sentCount()).isEqualTo(3);
    assertThat(a.droppedCount()).isEqualTo(3);
    assertThat(logEvents()).anySatisfy(e -> assertThat(e.getFormattedMessage())
        .contains("closed with 3 records undelivered (0 never sent, 3 not acknowledged)"));
  }

  @Test
  void sendsHeartbeatsWhenIdle() throws Exception {
    FakeMonitor m = monitor();
    start(agent(m.address()).heartbeatInterval(Duration.ofMillis(20)));
    Await.until("three heartbeats", () -> !m.connections().isEmpty() && m.connection(0).heartbeats() >= 3);
    assertThat(m.connection(0).steps()).isEmpty();
  }

  @Test
  void flushIsFalseUntilTheMonitorAcknowledges() throws Exception {
    FakeMonitor m = monitor();
    m.autoAck = false;
    ErgowatchAgent a = start(agent(m.address()));
    a.record(0, 1, 2, 3);
    a.record(1, 1, 2, 3);
    Await.until("both records on the wire", () -> !m.connections().isEmpty() && m.connection(0).steps().size() == 2);

    assertThat(a.flush(Duration.ofMillis(50))).isFalse();
    m.connection(0).ack();
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();
    assertThat(a.ackedSeq()).isEqualTo(2);
  }

  @Test
  void aFullInFlightWindowHoldsBackSendingUntilAcked() throws Exception {
    FakeMonitor m = monitor();
    m.autoAck = false;
    ErgowatchAgent a = start(agent(m.address()).maxInFlight(4));
    for (int step = 0; step < 10; step++) {
      a.record(step, 1, 2, 3);
    }
    Await.until("4 records sent", () -> a.sentCount() == 4);
    FakeMonitor.Conn c = m.connection(0);
    Await.until("4 records received", () -> c.steps().size() == 4);
    assertThat(a.sentCount()).isEqualTo(4);

    c.ack();
    Await.until("8 records received", () -> c.steps().size() == 8);
    c.ack();
    Await.until("10 records received", () -> c.steps().size() == 10);
    c.ack();
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();
    assertThat(c.seqs()).containsExactlyElementsOf(range(1, 10));
    assertThat(a.droppedCount()).isZero();
  }

  @Test
  void reconnectsWhenAcksStopComing() throws Exception {
    FakeMonitor m = monitor();
    m.autoAck = false;
    ErgowatchAgent a = start(agent(m.address()).readTimeout(Duration.ofMillis(300)));
    a.record(0, 1, 2, 3);
    Await.until("a second connection", () -> m.connections().size() >= 2);
    assertThat(logEvents()).anySatisfy(e -> assertThat(e.getFormattedMessage()).contains("no ACK from the monitor"));
  }

  @Test
  void startsANewSessionWhenTheMonitorLostAcknowledgedRecords() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()));
    for (int step = 0; step < 50; step++) {
      a.record(step, 1, 2, 3);
    }
    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();
    long firstSession = a.session();

    m.autoAck = false;
    for (int step = 50; step < 60; step++) {
      a.record(step, 1, 2, 3);
    }
    Await.until("10 more records", () -> m.connection(0).steps().size() == 60);
    m.forgetAll(); // a monitor restarted without its log
    m.autoAck = true;
    m.dropConnections();

    assertThat(a.flush(Duration.ofSeconds(10))).isTrue();
    assertThat(a.session()).isNotEqualTo(firstSession);
    FakeMonitor.Conn c = m.last();
    assertThat(c.hello.session()).isEqualTo(a.session());
    assertThat(c.seqs()).containsExactlyElementsOf(range(1, 10));
    assertThat(c.steps()).extracting(Step::step).containsExactlyElementsOf(range(50, 59));
    assertThat(m.violations()).isEmpty();
    assertThat(logEvents()).anySatisfy(e -> assertThat(e.getFormattedMessage()).contains("it lost records"));
  }

  @Test
  void recordsFromSeveralThreadsArriveOnceEachInPerThreadOrder() throws Exception {
    FakeMonitor m = monitor();
    ErgowatchAgent a = start(agent(m.address()).bufferCapacity(1 << 18));
    int threads = 4;
    int perThread = 25_000;
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> producers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      long base = t * 1_000_000L;
      Thread th = new Thread(() -> {
        double[] v = new double[3];
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < perThread; i++) {
          v[0] = base + i;
          a.record(base + i, v);
        }
      });
      th.start();
      producers.add(th);
    }
    go.countDown();
    for (Thread th : producers) {
      th.join();
    }
    assertThat(a.flush(Duration.ofSeconds(20))).isTrue();

    List<Step> steps = m.receivedSteps();
    long total = (long) threads * perThread;
    assertThat(a.recordedCount()).isEqualTo(total);
    assertThat(steps.size() + a.droppedCount()).isEqualTo(total);
    assertThat(steps).extracting(Step::seq).containsExactlyElementsOf(range(1, steps.size()));
    long[] last = {-1, -1, -1, -1};
    for (Step s : steps) {
      int t = (int) (s.step() / 1_000_000L);
      assertThat(s.step()).isGreaterThan(last[t]);
      last[t] = s.step();
      assertThat(values(s).get(0)).isEqualTo((double) s.step());
    }
    assertThat(m.violations()).isEmpty();
  }
}

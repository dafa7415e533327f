package io.ergowatch.monitor.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.monitor.testing.GoldenVectors;
import io.ergowatch.monitor.testing.RawClient;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.ErrorFrame;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.Heartbeat;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import io.ergowatch.protocol.Welcome;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The monitor's EWP/1 listener, driven by a raw socket client written from the spec. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IngestServerTest {
  @TempDir
  static Path dataDir;
  private TestMonitor monitor;

  @BeforeAll
  void start() {
    monitor = new TestMonitor(dataDir);
  }

  @AfterAll
  void stop() {
    monitor.close();
  }

  private static Hello hello(String run, String... series) {
    return new Hello(run, "tests", "", 7, 0, 1, Mode.REPLICATED, List.of(series), List.of());
  }

  private static Step step(long seq, double loss) {
    return Step.of(seq, seq, System.currentTimeMillis() * 1_000_000L, new int[] {0}, new double[] {loss});
  }

  /** The last ACK before the monitor closes the connection (the final ACK after BYE). */
  private static long lastAck(RawClient c) throws Exception {
    long acked = -1;
    try {
      while (true) {
        Frame f = c.read();
        if (f instanceof Ack) {
          acked = ((Ack) f).ackedSeq();
        }
      }
    } catch (java.io.EOFException closed) {
      return acked;
    }
  }

  private ErrorFrame expectError(RawClient c, ErrorCode code) throws Exception {
    Frame f = c.readUntil(ErrorFrame.class);
    ErrorFrame e = (ErrorFrame) f;
    assertThat(e.code()).as("error code, message: %s", e.message()).isEqualTo(code);
    assertThat(c.closedByPeer()).as("closed after ERROR").isTrue();
    return e;
  }

  @Test
  void welcomesAHelloAndAcknowledgesStepsCumulatively() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(hello("welcome-ack", "loss"));
      Welcome w = (Welcome) c.read();
      assertThat(w.ackedSeq()).isZero();
      assertThat(w.maxFrame()).isEqualTo(1 << 20);
      for (int i = 1; i <= 100; i++) {
        c.send(step(i, i));
      }
      c.send(new Bye(Bye.Status.COMPLETED, ""));
      long acked = 0;
      while (acked < 100) {
        acked = c.readUntil(Ack.class).ackedSeq();
      }
      assertThat(acked).isEqualTo(100);
      assertThat(c.closedByPeer()).isTrue();
    }
    assertThat(monitor.run("welcome-ack").orElseThrow().steps()).isEqualTo(100);
  }

  @Test
  void framesPipelinedInOneWriteAreAllHandledInOrder() throws Exception {
    // HELLO, 200 STEPs (more than one batch of 64) and BYE in a single write, before WELCOME.
    java.util.List<Frame> frames = new java.util.ArrayList<>();
    frames.add(hello("pipelined", "loss"));
    for (int i = 1; i <= 200; i++) {
      frames.add(step(i, 1.0 / i));
    }
    frames.add(new Bye(Bye.Status.COMPLETED, ""));
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(frames.toArray(new Frame[0]));
      assertThat(c.read()).isInstanceOf(Welcome.class);
      assertThat(lastAck(c)).isEqualTo(200);
    }
    assertThat(monitor.run("pipelined").orElseThrow().steps()).isEqualTo(200);
  }

  @Test
  void aFrameThatDoesNotDecodeMidBatchKeepsTheStepsBeforeIt() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(hello("mid-batch", "loss", "lr"));
      c.read();
      byte[] good = io.ergowatch.protocol.FrameEncoder.encodeAll(java.util.List.of(step(1, 1), step(2, 1), step(3, 1)));
      // A STEP whose count promises two values but carries one: it cannot decode.
      byte[] bad = io.ergowatch.protocol.FrameEncoder.encode(Step.of(4, 4, 0, new int[] {0}, new double[] {1}));
      java.nio.ByteBuffer.wrap(bad).putShort(4 + 1 + 24, (short) 2);
      byte[] all = java.util.Arrays.copyOf(good, good.length + bad.length);
      System.arraycopy(bad, 0, all, good.length, bad.length);
      c.sendBytes(all);
      assertThat(expectError(c, ErrorCode.BAD_FRAME).message()).isEqualTo("STEP count 2 needs 20 bytes of values, only 10 follow");
    }
    TestMonitor.await("3 records", Duration.ofSeconds(5),
        () -> monitor.run("mid-batch").map(r -> r.steps() == 3).orElse(false));
  }

  @Test
  void welcomeTellsAReconnectingAgentWhereToResume() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(hello("resume", "loss"));
      c.read();
      for (int i = 1; i <= 10; i++) {
        c.send(step(i, i));
      }
      long acked = 0;
      while (acked < 10) { // acknowledged = durably recorded
        acked = c.readUntil(Ack.class).ackedSeq();
      }
    }
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(hello("resume", "loss"));
      assertThat(((Welcome) c.read()).ackedSeq()).isEqualTo(10);
      // A resend of 9..12: 9 and 10 are dropped as duplicates, 11 and 12 recorded.
      c.send(step(9, 9), step(10, 10), step(11, 11), step(12, 12), new Bye(Bye.Status.COMPLETED, ""));
      long acked = 0;
      while (acked < 12) {
        acked = c.readUntil(Ack.class).ackedSeq();
      }
    }
    assertThat(monitor.run("resume").orElseThrow().steps()).isEqualTo(12);
  }

  @Test
  void heartbeatsKeepAConnectionWithoutRecords() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(hello("heartbeat", "loss"));
      c.read();
      c.send(Heartbeat.INSTANCE, step(1, 1.0), new Bye(Bye.Status.COMPLETED, ""));
      assertThat(lastAck(c)).isEqualTo(1);
    }
  }

  @TestFactory
  Stream<DynamicTest> everyMalformedGoldenVectorGetsItsErrorAndAClose() {
    return GoldenVectors.all().stream()
        .filter(v -> !v.ok() && v.maxFrame() == 1 << 20)
        .map(v -> DynamicTest.dynamicTest(v.name(), () -> {
          try (RawClient c = new RawClient(monitor.ingestPort())) {
            if (!v.frame().equals("HELLO")) {
              c.send(hello("golden-" + v.name(), "loss"));
              assertThat(c.read()).isInstanceOf(Welcome.class);
            }
            c.sendBytes(v.bytes());
            expectError(c, ErrorCode.valueOf(v.error()));
          }
        }));
  }

  @Test
  void aFrameLongerThanMaxFrameIsRefusedWithoutReadingTheBody() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.sendBytes(ByteBuffer.allocate(4).putInt(2_000_000).array());
      ErrorFrame e = expectError(c, ErrorCode.LIMIT_EXCEEDED);
      assertThat(e.message()).isEqualTo("frame length 2000000 exceeds max_frame 1048576");
    }
  }

  @Test
  void aZeroLengthFirstFrameIsABadFrame() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.sendBytes(new byte[] {0, 0, 0, 0});
      assertThat(expectError(c, ErrorCode.BAD_FRAME).message()).isEqualTo("frame length 0 (a frame has at least its type byte)");
    }
  }

  @Test
  void aStepBeforeHelloIsAProtocolOrderError() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(step(1, 1.0));
      assertThat(expectError(c, ErrorCode.PROTOCOL_ORDER).message()).isEqualTo("expected HELLO as the first frame, got STEP");
    }
  }

  @Test
  void aSecondHelloIsAProtocolOrderError() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(hello("two-hellos", "loss"));
      c.read();
      c.send(hello("two-hellos", "loss"));
      assertThat(expectError(c, ErrorCode.PROTOCOL_ORDER).message()).isEqualTo("a second HELLO on one connection");
    }
  }

  @Test
  void aSeqGapIsAProtocolOrderError() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(hello("gap", "loss"));
      c.read();
      c.send(step(1, 1.0), step(2, 1.0), step(5, 1.0));
      assertThat(expectError(c, ErrorCode.PROTOCOL_ORDER).message())
          .isEqualTo("seq 5 after 2: seq must grow by exactly 1 per STEP (records 3..4 missing)");
    }
    // What came before the gap was recorded.
    TestMonitor.await("2 records", Duration.ofSeconds(5), () -> monitor.run("gap").map(r -> r.steps() == 2).orElse(false));
  }

  @Test
  void aSeriesIdBeyondTheHelloIsABadFrame() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(hello("bad-id", "loss", "lr"));
      c.read();
      c.send(Step.of(1, 1, 0, new int[] {0, 2}, new double[] {1, 2}));
      assertThat(expectError(c, ErrorCode.BAD_FRAME).message())
          .isEqualTo("STEP seq 1 names series id 2 but HELLO declared 2 series (ids 0..1)");
    }
  }

  @Test
  void aMonitorFrameFromAnAgentIsAProtocolOrderError() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(hello("agent-sends-ack", "loss"));
      c.read();
      c.send(new Ack(3));
      assertThat(expectError(c, ErrorCode.PROTOCOL_ORDER).message())
          .isEqualTo("ACK is a monitor-to-agent frame; agents may not send it");
    }
  }

  @Test
  void badConnectionsNeverAffectAGoodOneStreamingAtTheSameTime() throws Exception {
    int n = 20_000;
    CompletableFuture<Long> good = CompletableFuture.supplyAsync(() -> {
      try (RawClient c = new RawClient(monitor.ingestPort())) {
        c.send(hello("good-neighbour", "loss"));
        c.read();
        List<Frame> batch = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          batch.add(step(i, i));
          if (batch.size() == 500) {
            c.send(batch.toArray(new Frame[0]));
            batch.clear();
          }
        }
        c.send(new Bye(Bye.Status.COMPLETED, ""));
        long acked = 0;
        while (acked < n) {
          acked = c.readUntil(Ack.class).ackedSeq();
        }
        return acked;
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    List<GoldenVectors.Vector> bad = GoldenVectors.all().stream().filter(v -> !v.ok() && v.frame().equals("HELLO") && v.maxFrame() == 1 << 20).toList();
    for (int round = 0; round < 3; round++) {
      for (GoldenVectors.Vector v : bad) {
        try (RawClient c = new RawClient(monitor.ingestPort())) {
          c.sendBytes(v.bytes());
          expectError(c, ErrorCode.valueOf(v.error()));
        }
      }
      try (RawClient c = new RawClient(monitor.ingestPort())) {
        c.sendBytes(new byte[] {0, 0, 0, 0}); // length 0
        expectError(c, ErrorCode.BAD_FRAME);
      }
    }
    assertThat(good.get()).isEqualTo(n);
    assertThat(monitor.run("good-neighbour").orElseThrow().steps()).isEqualTo(n);
    assertThat(monitor.run("good-neighbour").orElseThrow().loss()).isEqualTo(n);
  }

  @Test
  void rejectsAreCountedByReasonOnMetrics() throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(step(1, 1.0));
      expectError(c, ErrorCode.PROTOCOL_ORDER);
    }
    String metrics = monitor.get("/metrics").body();
    assertThat(metrics).containsPattern("ergowatch_frames_rejected_total\\{reason=\"protocol_order\"} [1-9]");
    assertThat(metrics).contains("ergowatch_frames_total{type=\"step\"}");
  }

  @Test
  void replacesAnOlderConnectionOfTheSameRunAndRank() throws Exception {
    try (RawClient old = new RawClient(monitor.ingestPort()); RawClient fresh = new RawClient(monitor.ingestPort())) {
      old.send(hello("replaced", "loss"));
      old.read();
      fresh.send(hello("replaced", "loss"));
      assertThat(fresh.read()).isInstanceOf(Welcome.class);
      assertThat(old.closedByPeer()).isTrue();
      fresh.send(step(1, 1.0), new Bye(Bye.Status.COMPLETED, ""));
      assertThat(lastAck(fresh)).isEqualTo(1);
    }
  }

  @Test
  void closesIdleConnections() throws Exception {
    try (TestMonitor quick = new TestMonitor(dataDir.resolve("idle"), Map.of("idle-timeout", "300ms"));
         RawClient c = new RawClient(quick.ingestPort())) {
      c.send(hello("idle", "loss"));
      c.read();
      assertThat(c.closedByPeer()).isTrue();
    }
  }
}

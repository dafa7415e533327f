package io.ergowatch.monitor.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.monitor.testing.RawClient;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameEncoder;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Label;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import io.ergowatch.protocol.Welcome;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Slow-loris, resets and injection attempts: each affects only its own connection. */
class HostileClientsTest {
  @TempDir
  Path dir;

  @Test
  void aSlowLorisThatStopsSendingIsClosedAtTheIdleTimeoutWhileOthersStream() throws Exception {
    try (TestMonitor m = new TestMonitor(dir.resolve("loris"), Map.of("idle-timeout", "500ms"))) {
      byte[] hello = FrameEncoder.encode(new Hello("loris", "", "", 1, 0, 1, Mode.REPLICATED, List.of("loss"), List.of()));
      List<RawClient> lorises = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        RawClient c = new RawClient(m.ingestPort());
        c.sendBytes(java.util.Arrays.copyOf(hello, 7)); // a frame started, never finished
        lorises.add(c);
      }
      try (RawClient good = new RawClient(m.ingestPort())) {
        good.send(new Hello("good", "", "", 1, 0, 1, Mode.REPLICATED, List.of("loss"), List.of()));
        assertThat(good.read()).isInstanceOf(Welcome.class);
        List<Frame> steps = new ArrayList<>();
        for (int i = 1; i <= 2000; i++) {
          steps.add(Step.of(i, i, 0, new int[] {0}, new double[] {i}));
        }
        good.send(steps.toArray(new Frame[0]));
        good.send(new Bye(Bye.Status.COMPLETED, ""));
        long acked = 0;
        while (acked < 2000) {
          acked = good.readUntil(Ack.class).ackedSeq();
        }
      }
      for (RawClient c : lorises) {
        assertThat(c.closedByPeer()).as("a stalled half-frame is closed by the idle timeout").isTrue();
        c.close();
      }
      assertThat(m.run("good").orElseThrow().steps()).isEqualTo(2000);
      assertThat(m.run("loris")).isEmpty();
    }
  }

  @Test
  void connectionResetsMidStreamLoseNothingThatWasAcknowledged() throws Exception {
    try (TestMonitor m = new TestMonitor(dir.resolve("reset"))) {
      long acked = 0;
      for (int attempt = 0; attempt < 5; attempt++) {
        try (RawClient c = new RawClient(m.ingestPort())) {
          c.send(new Hello("reset", "", "", 7, 0, 1, Mode.REPLICATED, List.of("loss"), List.of()));
          long from = ((Welcome) c.read()).ackedSeq() + 1;
          // Never less than what was acknowledged; more when records that arrived after the last
          // ACK we read were committed after we left.
          assertThat(from - 1).isGreaterThanOrEqualTo(acked);
          List<Frame> steps = new ArrayList<>();
          for (long s = from; s < from + 500; s++) {
            steps.add(Step.of(s, s, 0, new int[] {0}, new double[] {s}));
          }
          c.send(steps.toArray(new Frame[0]));
          acked = c.readUntil(Ack.class).ackedSeq();
        }
        // The client vanished without BYE (an RST or a dead peer); the next attempt resumes.
      }
      final long last = acked;
      TestMonitor.await("what was acknowledged is recorded", Duration.ofSeconds(5),
          () -> m.run("reset").map(r -> r.steps() >= last).orElse(false));
    }
  }

  @Test
  void labelValuesCannotInjectMetricsOrLabels() throws Exception {
    try (TestMonitor m = new TestMonitor(dir.resolve("inject"))) {
      String evil = "x\"} ergowatch_runs 999\n# HELP fake\nergowatch_fake{a=\"1";
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(new Hello("inject", "", "", 1, 0, 1, Mode.REPLICATED, List.of("loss"),
            List.of(new Label("optimizer", evil), new Label("model", "a\\b\nc"))));
        c.read();
        c.send(Step.of(1, 1, 0, new int[] {0}, new double[] {1}), new Bye(Bye.Status.COMPLETED, ""));
        assertThat(c.closedByPeer()).isTrue();
      }
      String metrics = m.get("/metrics").body();
      // The text appears, escaped, inside the label value, but never as a line of its own.
      assertThat(metrics).doesNotContainPattern("(?m)^ergowatch_fake").doesNotContainPattern("(?m)^# HELP fake");
      assertThat(metrics).doesNotContainPattern("(?m)^ergowatch_runs 999");
      assertThat(metrics).contains("optimizer=\"x\\\"} ergowatch_runs 999\\n# HELP fake\\nergowatch_fake{a=\\\"1\"");
      assertThat(metrics).contains("model=\"a\\\\b\\nc\"");
    }
  }
}

package io.ergowatch.monitor.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.ergowatch.agent.ErgowatchAgent;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.testing.TestMonitor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real Java agent streaming to a real monitor over loopback. */
class AgentMonitorEndToEndTest {
  @TempDir
  Path dataDir;
  private TestMonitor monitor;

  @BeforeEach
  void start() {
    monitor = new TestMonitor(dataDir);
  }

  @AfterEach
  void stop() {
    monitor.close();
  }

  private ErgowatchAgent agent(String run) {
    return ErgowatchAgent.builder().address("127.0.0.1:" + monitor.ingestPort()).run(run).job("e2e")
        .series("loss", "grad_sq", "lr").label("optimizer", "sgd").build();
  }

  /** HELLOs this (fresh, per-test) monitor received: one per agent connection. */
  private double hellos() throws Exception {
    Matcher m = Pattern.compile("(?m)^ergowatch_frames_total\\{type=\"hello\"} (\\S+)$").matcher(monitor.get("/metrics").body());
    assertThat(m.find()).isTrue();
    return Double.parseDouble(m.group(1));
  }

  private static double metric(String body, String name, String run) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{[^}]*run=\"" + Pattern.quote(run) + "\"[^}]*} (\\S+)$")
        .matcher(body);
    assertThat(m.find()).as("%s for %s on /metrics", name, run).isTrue();
    return Double.parseDouble(m.group(1));
  }

  @Test
  void everyRecordIsCountedExactlyOnceAcrossAForcedReconnect() throws Exception {
    int n = 50_000;
    try (ErgowatchAgent agent = agent("e2e-reconnect")) {
      double[] v = new double[3];
      for (int t = 0; t < n; t++) {
        v[0] = 1.0 / (1 + t);
        v[1] = t;
        v[2] = 0.1;
        agent.record(t, v);
        if (t == n / 2) {
          // Mid-stream: the first half is flowing, part of it sent but not yet acknowledged.
          TestMonitor.await("first ACKs", Duration.ofSeconds(10), () -> agent.ackedSeq() > 0);
          agent.forceReconnect();
        }
      }
      assertThat(agent.flush(Duration.ofSeconds(30))).as("all records acknowledged").isTrue();
      assertThat(agent.droppedCount()).isZero();
    }
    RunSnapshot s = monitor.run("e2e-reconnect").orElseThrow();
    assertThat(hellos()).isGreaterThanOrEqualTo(2);
    assertThat(s.steps()).isEqualTo(n);
    assertThat(s.lastStep()).isEqualTo(n - 1);
    assertThat(s.status().label()).isEqualTo("finished");

    String metrics = monitor.get("/metrics").body();
    assertThat(metric(metrics, "ergowatch_steps_total", "e2e-reconnect")).isEqualTo(n);
    assertThat(metric(metrics, "ergowatch_last_step", "e2e-reconnect")).isEqualTo(n - 1);
    assertThat(metric(metrics, "ergowatch_loss", "e2e-reconnect")).isEqualTo(1.0 / n);
    assertThat(metric(metrics, "ergowatch_grad_norm", "e2e-reconnect")).isEqualTo(Math.sqrt(n - 1));
    assertThat(metric(metrics, "ergowatch_learning_rate", "e2e-reconnect")).isEqualTo(0.1);
    // The mean of grad_sq = 0..n-1 is (n-1)/2 only if every record entered exactly once.
    Matcher m = Pattern.compile("ergowatch_series_ergodic_mean\\{job=\"e2e\",run=\"e2e-reconnect\",series=\"grad_sq\"} (\\S+)")
        .matcher(metrics);
    assertThat(m.find()).isTrue();
    assertThat(Double.parseDouble(m.group(1))).isCloseTo((n - 1) / 2.0, within(1e-6));
  }

  @Test
  void repeatedReconnectsUnderLoadLoseNothingAndDuplicateNothing() throws Exception {
    int n = 30_000;
    try (ErgowatchAgent agent = agent("e2e-storm")) {
      double[] v = new double[3];
      for (int t = 0; t < n; t++) {
        v[0] = 1.0;
        v[1] = t;
        v[2] = 0.1;
        agent.record(t, v);
        if (t % 3_000 == 1_500) {
          long before = agent.ackedSeq();
          TestMonitor.await("ACKs progress", Duration.ofSeconds(10), () -> agent.ackedSeq() > before);
          agent.forceReconnect();
        }
      }
      assertThat(agent.flush(Duration.ofSeconds(30))).isTrue();
      assertThat(agent.droppedCount()).isZero();
    }
    RunSnapshot s = monitor.run("e2e-storm").orElseThrow();
    assertThat(hellos()).as("reconnects really happened (a reconnect forced while one is under way merges with it)").isGreaterThanOrEqualTo(6);
    assertThat(s.rewinds()).isZero(); // reconnects of one session are not restarts
    assertThat(s.steps()).isEqualTo(n);
    assertThat(s.series("grad_sq").ergodicMean()).isCloseTo((n - 1) / 2.0, within(1e-6));
  }

  @Test
  void severalAgentsStreamToOneMonitorInParallel() throws Exception {
    int runs = 6;
    int n = 5_000;
    ErgowatchAgent[] agents = new ErgowatchAgent[runs];
    for (int r = 0; r < runs; r++) {
      agents[r] = agent("e2e-parallel-" + r);
    }
    double[] v = new double[3];
    for (int t = 0; t < n; t++) {
      for (int r = 0; r < runs; r++) {
        v[0] = r;
        v[1] = t;
        v[2] = 0.1;
        agents[r].record(t, v);
      }
    }
    for (ErgowatchAgent a : agents) {
      assertThat(a.flush(Duration.ofSeconds(30))).isTrue();
      a.close();
    }
    for (int r = 0; r < runs; r++) {
      RunSnapshot s = monitor.run("e2e-parallel-" + r).orElseThrow();
      assertThat(s.steps()).isEqualTo(n);
      assertThat(s.loss()).isEqualTo(r);
    }
  }
}

package io.ergowatch.monitor.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.agent.ErgowatchAgent;
import io.ergowatch.sim.GradientDescent;
import io.ergowatch.sim.Objective;
import io.ergowatch.monitor.testing.TestMonitor;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing lost, nothing counted twice: the record log, replay at start, and resend from
 * WELCOME.acked_seq, through a monitor that is stopped or killed with SIGKILL mid-stream.
 */
class DurabilityEndToEndTest {
  private static final int STEPS = 12_000;
  private static final String RUN = "durable-sgd";
  @TempDir
  Path tmp;
  private final ObjectMapper mapper = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();

  /** The deterministic stream: SGD on ½|w|², d = 10, with two batch sizes and the EMA geometry. */
  private static double[][] stream(boolean[][] present) {
    GradientDescent sgd = new GradientDescent(Objective.quadratic(fill(10, 1)), fill(10, 1), 0.3, 1, 32, 8, 300, 5);
    double[][] v = new double[STEPS][GradientDescent.SERIES.size()];
    for (int t = 0; t < STEPS; t++) {
      sgd.step(v[t], present[t]);
    }
    return v;
  }

  private static double[] fill(int d, double x) {
    double[] w = new double[d];
    Arrays.fill(w, x);
    return w;
  }

  private static ErgowatchAgent agent(int port) {
    return ErgowatchAgent.builder().address("127.0.0.1:" + port).run(RUN).job("durability")
        .series(GradientDescent.SERIES).reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500)).build();
  }

  private static void record(ErgowatchAgent agent, double[][] v, boolean[][] p, int from, int to) {
    int[] ids = new int[GradientDescent.SERIES.size()];
    double[] vals = new double[ids.length];
    for (int t = from; t < to; t++) {
      int n = 0;
      for (int i = 0; i < ids.length; i++) {
        if (p[t][i]) {
          ids[n] = i;
          vals[n++] = v[t][i];
        }
      }
      agent.record(t, ids, vals, n);
    }
  }

  private JsonNode reference(double[][] v, boolean[][] p) throws Exception {
    try (TestMonitor m = new TestMonitor(tmp.resolve("reference"))) {
      try (ErgowatchAgent agent = agent(m.ingestPort())) {
        record(agent, v, p, 0, STEPS);
        assertThat(agent.flush(Duration.ofSeconds(60))).isTrue();
      }
      return mapper.readTree(m.get("/api/runs/" + RUN).body());
    }
  }

  private static void assertSameAnalytics(JsonNode actual, JsonNode expected) {
    assertThat(actual.get("steps").asLong()).isEqualTo(STEPS);
    assertThat(actual.get("state")).isEqualTo(expected.get("state"));
    assertThat(actual.get("why")).isEqualTo(expected.get("why"));
    assertThat(actual.get("statistics")).isEqualTo(expected.get("statistics"));
    assertThat(actual.get("series")).isEqualTo(expected.get("series"));
    assertThat(actual.get("events")).isEqualTo(expected.get("events"));
  }

  @Test
  void aRestartedMonitorReplaysItsLogIntoTheSameAnalytics() throws Exception {
    boolean[][] p = new boolean[STEPS][GradientDescent.SERIES.size()];
    double[][] v = stream(p);
    JsonNode expected = reference(v, p);
    Path data = tmp.resolve("restart");
    int port = freePort();
    TestMonitor first = new TestMonitor(data, Map.of("ingest-port", Integer.toString(port)));
    ErgowatchAgent agent = agent(port);
    record(agent, v, p, 0, STEPS / 2);
    assertThat(agent.flush(Duration.ofSeconds(30))).isTrue();
    first.close(); // graceful: drain, final ACKs, logs forced
    try (TestMonitor second = new TestMonitor(data, Map.of("ingest-port", Integer.toString(port)))) {
      assertThat(second.run(RUN).orElseThrow().steps()).isEqualTo(STEPS / 2);
      record(agent, v, p, STEPS / 2, STEPS);
      assertThat(agent.flush(Duration.ofSeconds(30))).isTrue();
      agent.close();
      assertSameAnalytics(mapper.readTree(second.get("/api/runs/" + RUN).body()), expected);
    }
  }

  @Test
  void aSegmentDamagedMidWayIsSalvagedCountedAndQuarantined() throws Exception {
    // docs/operations.md, "Durability": 64 bad bytes at 40% of a segment used to truncate the log
    // there and drop every acknowledged record after it. Now only the damaged entries are lost.
    boolean[][] p = new boolean[STEPS][GradientDescent.SERIES.size()];
    double[][] v = stream(p);
    Path data = tmp.resolve("damage");
    try (TestMonitor first = new TestMonitor(data)) {
      try (ErgowatchAgent agent = agent(first.ingestPort())) {
        record(agent, v, p, 0, STEPS);
        assertThat(agent.flush(Duration.ofSeconds(60))).isTrue();
      }
    }
    Path runDir;
    try (var dirs = Files.list(data.resolve("runs"))) {
      runDir = dirs.filter(d -> d.getFileName().toString().endsWith(RUN)).findFirst().orElseThrow();
    }
    Path segment;
    try (var segs = Files.list(runDir)) {
      segment = segs.filter(f -> f.toString().endsWith(".log")).sorted().findFirst().orElseThrow();
    }
    long size = Files.size(segment);
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(segment.toFile(), "rw")) {
      for (long at = (long) (0.4 * size); at < (long) (0.4 * size) + 64; at++) {
        f.seek(at);
        int b = f.read();
        f.seek(at);
        f.write(b ^ 0x5A);
      }
    }
    try (TestMonitor second = new TestMonitor(data)) {
      JsonNode run = mapper.readTree(second.get("/api/runs/" + RUN).body());
      long steps = run.get("steps").asLong();
      long lost = run.get("store_corrupt_records").asLong();
      // One STEP entry of 13 values is ~150 bytes: 64 bad bytes touch one or two.
      assertThat(steps).isBetween((long) STEPS - 2, (long) STEPS - 1);
      assertThat(lost).isEqualTo(STEPS - steps);
      assertThat(run.get("store_corrupt_bytes").asLong()).isGreaterThanOrEqualTo(64);
      assertThat(run.get("events").toString()).contains("record log damaged: " + lost + " record(s)");
      String metrics = second.get("/metrics").body();
      assertThat(metrics).contains("ergowatch_store_corrupt_records_total{run=\"" + RUN + "\"} " + lost + ".0");
      Path quarantine = data.resolve("quarantine").resolve(runDir.getFileName());
      try (var q = Files.list(quarantine)) {
        assertThat(q.toList()).singleElement().satisfies(c -> assertThat(Files.size(c)).isEqualTo(size));
      }
    }
  }

  @Test
  void sigkillMidStreamThreeTimesLosesAndDuplicatesNothing() throws Exception {
    boolean[][] p = new boolean[STEPS][GradientDescent.SERIES.size()];
    double[][] v = stream(p);
    JsonNode expected = reference(v, p);
    Path data = tmp.resolve("kill");
    int port = freePort();
    MonitorProcess monitor = MonitorProcess.start(data, port, tmp.resolve("monitor-0.log"));
    int kills = 0;
    try (ErgowatchAgent agent = agent(port)) {
      // A training loop at ~3000 steps/s in its own thread; the monitor is killed under it.
      Thread trainer = new Thread(() -> {
        for (int t = 0; t < STEPS; t += 30) {
          record(agent, v, p, t, Math.min(STEPS, t + 30));
          try {
            Thread.sleep(10);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "trainer");
      trainer.start();
      for (int k = 1; k <= 3; k++) {
        long target = (long) k * STEPS / 4;
        TestMonitor.await("ACKs past " + target, Duration.ofSeconds(60), () -> agent.ackedSeq() >= target);
        monitor.kill9();
        kills++;
        monitor = MonitorProcess.start(data, port, tmp.resolve("monitor-" + kills + ".log"));
      }
      trainer.join(60_000);
      assertThat(agent.flush(Duration.ofSeconds(60))).as("everything acknowledged after %d kills", kills).isTrue();
      assertThat(agent.droppedCount()).isZero();
    }
    JsonNode actual = mapper.readTree(get("http://127.0.0.1:" + monitor.httpPort + "/api/runs/" + RUN));
    monitor.stop();
    assertThat(kills).isEqualTo(3);
    for (int k = 1; k <= kills; k++) {
      String log = Files.readString(tmp.resolve("monitor-" + k + ".log"));
      assertThat(log).as("monitor %d replayed the log after the kill", k).containsPattern("run durable-sgd: replayed [1-9]\\d* records");
      System.out.println("after kill " + k + ": " + log.lines().filter(l -> l.contains("replayed") || l.contains("torn")
          || l.contains("resuming after")).toList());
    }
    assertSameAnalytics(actual, expected);
  }

  @Test
  void aRestartedTrainingProcessDeliversItsSpoolUnderANewSession() throws Exception {
    int port = freePort();
    Path spool = tmp.resolve("spool");
    // Process 1: the monitor is away; 5000 records go to the spool and stay there at close.
    try (ErgowatchAgent first = ErgowatchAgent.builder().address("127.0.0.1:" + port).run("spooled").series("loss")
        .bufferCapacity(1024).spool(spool, 8L << 20).closeTimeout(Duration.ofMillis(500)).build()) {
      for (int t = 0; t < 5000; t++) {
        first.record(t, t);
        if (t % 50 == 49) {
          Thread.sleep(2); // a training loop's pace: the network thread spills the backlog as it grows
        }
      }
      TestMonitor.await("the backlog spilled", Duration.ofSeconds(10), () -> first.spooledCount() >= 4000);
      assertThat(first.droppedCount()).isZero();
    }
    // Process 2 (a restart from a checkpoint): a new session, the same spool; the monitor is up.
    try (TestMonitor m = new TestMonitor(tmp.resolve("spool-monitor"), Map.of("ingest-port", Integer.toString(port)))) {
      try (ErgowatchAgent second = ErgowatchAgent.builder().address("127.0.0.1:" + port).run("spooled").series("loss")
          .spool(spool, 8L << 20).build()) {
        for (int t = 5000; t < 6000; t++) {
          second.record(t, t);
        }
        assertThat(second.flush(Duration.ofSeconds(30))).isTrue();
        assertThat(second.droppedCount()).isZero();
      }
      var run = m.run("spooled").orElseThrow();
      assertThat(run.steps()).isEqualTo(6000);
      assertThat(run.lastStep()).isEqualTo(5999);
      assertThat(run.series("loss").ergodicMean()).isEqualTo(5999 / 2.0);
      assertThat(run.rewinds()).isZero(); // the monitor never saw the first session: nothing to rewind
    }
  }

  private String get(String url) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** `ergowatch serve` in its own JVM, started from this test's classpath. */
  static final class MonitorProcess {
    final Process process;
    final int httpPort;

    private MonitorProcess(Process process, int httpPort) {
      this.process = process;
      this.httpPort = httpPort;
    }

    static MonitorProcess start(Path dataDir, int ingestPort, Path logFile) throws Exception {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      ProcessBuilder pb = new ProcessBuilder(List.of(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
          "io.ergowatch.monitor.cli.Main", "serve", "--ingest-port", Integer.toString(ingestPort), "--http-port", "0",
          "--data-dir", dataDir.toString()));
      pb.environment().put("ERGOWATCH_INGEST_HOST", "127.0.0.1");
      pb.environment().put("ERGOWATCH_HTTP_HOST", "127.0.0.1");
      pb.redirectErrorStream(true).redirectOutput(logFile.toFile());
      Process proc = pb.start();
      Pattern listening = Pattern.compile("HTTP on http://[^:]+:(\\d+)/");
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline) {
        if (!proc.isAlive()) {
          throw new AssertionError("monitor exited: " + Files.readString(logFile));
        }
        Matcher m = listening.matcher(Files.exists(logFile) ? Files.readString(logFile) : "");
        if (m.find()) {
          return new MonitorProcess(proc, Integer.parseInt(m.group(1)));
        }
        Thread.sleep(20);
      }
      proc.destroyForcibly();
      throw new AssertionError("monitor did not start in 60 s: " + Files.readString(logFile));
    }

    void kill9() throws InterruptedException {
      process.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no final flush
      process.waitFor();
    }

    void stop() throws InterruptedException {
      process.destroy(); // SIGTERM: graceful
      process.waitFor();
    }
  }
}

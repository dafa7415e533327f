package io.ergowatch.monitor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.agent.ErgowatchAgent;
import io.ergowatch.monitor.testing.Cli;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.sim.GradientDescent;
import io.ergowatch.sim.Objective;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * `ergowatch replay` against the record log of a live monitor: the events it recomputes are the
 * live run's, exactly, and nothing on disk changes while the monitor keeps running.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReplayCommandTest {
  @TempDir
  static Path dataDir;
  @TempDir
  static Path scratch;
  private TestMonitor monitor;
  private final ObjectMapper mapper = new ObjectMapper();

  @BeforeAll
  void start() throws Exception {
    monitor = new TestMonitor(dataDir);
    // GD on ½(ab − 1)² (math.md §6.9): converges at 0.9, settles on a period-2 orbit at 1.1.
    stream("replay-converging", new GradientDescent(Objective.twoLayerScalar(1), new double[] {0.2, 0.1}, 0.9, 0, 1, 0,
        50, 1), 3000);
    stream("replay-oscillating", new GradientDescent(Objective.twoLayerScalar(1), new double[] {0.2, 0.1}, 1.1, 0, 1, 0,
        50, 1), 3000);
  }

  private void stream(String run, GradientDescent gd, int steps) {
    try (ErgowatchAgent agent = ErgowatchAgent.builder().address("127.0.0.1:" + monitor.ingestPort()).run(run)
        .job("replay-job").series(GradientDescent.SERIES).label("optimizer", "gd").build()) {
      double[] v = new double[GradientDescent.SERIES.size()];
      boolean[] p = new boolean[v.length];
      int[] ids = new int[v.length];
      double[] vals = new double[v.length];
      for (int t = 0; t < steps; t++) {
        Arrays.fill(p, true);
        gd.step(v, p);
        int n = 0;
        for (int i = 0; i < v.length; i++) {
          if (p[i]) {
            ids[n] = i;
            vals[n++] = v[i];
          }
        }
        agent.record(t, ids, vals, n);
      }
      assertThat(agent.flush(Duration.ofSeconds(30))).isTrue(); // acknowledged: in the log
    }
    TestMonitor.await(run, Duration.ofSeconds(10), () -> monitor.run(run).map(r -> r.steps() == steps).orElse(false));
  }

  @AfterAll
  void stop() {
    monitor.close();
  }

  private static Cli.Result replay(String... args) {
    return Cli.run(Stream.concat(Stream.of("replay"), Arrays.stream(args)).toArray(String[]::new));
  }

  @Test
  void theReplayedEventsAreTheLiveRunsAndTheLogIsUntouched() throws Exception {
    Map<Path, Long> before = files();
    for (String run : new String[] {"replay-converging", "replay-oscillating"}) {
      JsonNode live = mapper.readTree(monitor.get("/api/runs/" + run).body());
      Cli.Result r = replay("--data-dir", dataDir.toString(), "--run", run, "--json");
      assertThat(r.exit()).as(r.err()).isZero();
      JsonNode replayed = mapper.readTree(r.out());
      assertThat(live.get("events").size()).as("%s has state changes", run).isGreaterThan(0);
      assertThat(replayed.get("events")).as(run).isEqualTo(live.get("events"));
      assertThat(replayed.get("state")).isEqualTo(live.get("state"));
      assertThat(replayed.get("steps")).isEqualTo(live.get("steps"));
      assertThat(replayed.get("statistics").get("stationarity_ratio"))
          .isEqualTo(live.get("statistics").get("stationarity_ratio"));
    }
    assertThat(mapper.readTree(monitor.get("/api/runs/replay-oscillating").body()).get("state").asText())
        .isEqualTo("oscillating");
    assertThat(files()).as("sizes of every file under the data dir").isEqualTo(before);
  }

  @Test
  void theTimelineIsTextForPeopleAndOtherThresholdsChangeIt() throws Exception {
    Cli.Result text = replay("--data-dir", dataDir.toString());
    assertThat(text.exit()).as(text.err()).isZero();
    assertThat(text.out()).contains("run replay-oscillating (job replay-job): 3000 records, ends OSCILLATING since step")
        .contains("-> OSCILLATING: updates alternate direction")
        .contains("run replay-converging (job replay-job): 3000 records, ends CONVERGED");
    // The oscillation test asks for median cos(u_t, u_t-1) < kappa-max: at -1.01 no run can pass it.
    Path strict = Files.writeString(scratch.resolve("strict.yml"), "analytics:\n  kappa-max: -1.01\n"); // nested keys
    Cli.Result other = replay("--data-dir", dataDir.toString(), "--run", "replay-oscillating", "--config", strict.toString());
    assertThat(other.exit()).as(other.err()).isZero();
    assertThat(other.out()).contains("thresholds of " + strict).doesNotContain("-> OSCILLATING");
  }

  @Test
  void exportWritesTheRecordsAndEveryEvaluationAsCsv() throws Exception {
    Path out = scratch.resolve("osc.csv");
    Cli.Result export = Cli.run("export", "replay-oscillating", "--data-dir", dataDir.toString(), "-o", out.toString());
    assertThat(export.exit()).as(export.err()).isZero();
    java.util.List<String> records = Files.readAllLines(out);
    assertThat(records).hasSize(1 + 3000);
    java.util.List<String> header = java.util.List.of(records.get(0).split(","));
    assertThat(header.subList(0, 5)).containsExactly("rank", "session", "seq", "step", "time_ns");
    // The run's series as its HELLO declared them (the Java agent adds agent_dropped).
    assertThat(header.subList(5, header.size())).startsWith(GradientDescent.SERIES.toArray(new String[0]))
        .endsWith("agent_dropped");
    String[] last = records.get(3000).split(",", -1);
    assertThat(last[2]).isEqualTo("3000");
    assertThat(last[3]).isEqualTo("2999");
    assertThat(Double.parseDouble(last[5 + GradientDescent.SERIES.indexOf("loss")])).isFinite();
    java.util.List<String> evaluations = Files.readAllLines(scratch.resolve("osc.evaluations.csv"));
    assertThat(evaluations.get(0)).startsWith("step,record,state,window,").contains("stationarity_ratio,");
    assertThat(evaluations.size()).isGreaterThan(20);
    JsonNode live = mapper.readTree(monitor.get("/api/runs/replay-oscillating").body());
    String[] end = evaluations.get(evaluations.size() - 1).split(",");
    assertThat(end[2]).isEqualTo(live.get("state").asText());
    assertThat(Long.parseLong(end[0])).isEqualTo(live.get("statistics").get("evaluated_at_step").asLong());
    assertThat(export.out()).isEqualTo("wrote 3000 records to " + out + " and " + (evaluations.size() - 1)
        + " evaluations to " + scratch.resolve("osc.evaluations.csv") + "\n");
    assertThat(Cli.run("export", "replay-oscillating", "--data-dir", dataDir.toString(), "-o", out.toString(),
        "--format", "parquet").exit()).isEqualTo(2);
  }

  @Test
  void badArgumentsAreOneLineErrors() throws Exception {
    Cli.Result unknown = replay("--data-dir", dataDir.toString(), "--run", "nope");
    assertThat(unknown.exit()).isEqualTo(1);
    assertThat(unknown.err()).startsWith("ergowatch replay: the record log in " + dataDir + " holds no run nope (it holds ")
        .contains("replay-converging");
    Cli.Result empty = replay("--data-dir", scratch.toString());
    assertThat(empty.exit()).isEqualTo(2);
    assertThat(empty.err()).contains(scratch + " holds no record log (no runs/ directory)");
    Cli.Result missing = replay("--data-dir", scratch.resolve("absent").toString());
    assertThat(missing.err()).contains("is not a directory");
  }

  private static Map<Path, Long> files() throws Exception {
    Map<Path, Long> m = new HashMap<>();
    try (Stream<Path> s = Files.walk(dataDir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        m.put(p, Files.size(p));
      }
    }
    return m;
  }
}

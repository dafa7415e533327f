package io.ergowatch.monitor.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.agent.ErgowatchAgent;
import io.ergowatch.sim.GradientDescent;
import io.ergowatch.sim.Objective;
import io.ergowatch.monitor.testing.RawClient;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The closed forms of docs/math.md §6 streamed through the real agent into a running monitor,
 * checked on /api/runs/{run}, /api/jobs/{job} and /metrics.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AnalyticsEndToEndTest {
  @TempDir
  static Path dataDir;
  private TestMonitor monitor;
  private final ObjectMapper mapper = new ObjectMapper();

  @BeforeAll
  void start() {
    monitor = new TestMonitor(dataDir);
  }

  @AfterAll
  void stop() {
    monitor.close();
  }

  /** Streams {@code steps} iterations of a simulated trainer through a real agent, then BYE. */
  private JsonNode train(String run, String job, GradientDescent gd, int steps, String... labels) throws Exception {
    ErgowatchAgent.Builder b = ErgowatchAgent.builder().address("127.0.0.1:" + monitor.ingestPort()).run(run).job(job)
        .series(GradientDescent.SERIES).label("optimizer", "sgd").label("ema_alpha", Double.toString(gd.emaAlpha()));
    for (int i = 0; i + 1 < labels.length; i += 2) {
      b.label(labels[i], labels[i + 1]);
    }
    try (ErgowatchAgent agent = b.build()) {
      double[] v = new double[GradientDescent.SERIES.size()];
      boolean[] p = new boolean[v.length];
      int[] ids = new int[v.length];
      double[] vals = new double[v.length];
      for (int t = 0; t < steps; t++) {
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
      assertThat(agent.flush(Duration.ofSeconds(60))).isTrue();
    }
    return runJson(run);
  }

  private JsonNode runJson(String run) throws Exception {
    return mapper.readTree(monitor.get("/api/runs/" + run).body());
  }

  private static double[] ones(int d) {
    double[] w = new double[d];
    Arrays.fill(w, 1);
    return w;
  }

  private double metric(String name, String labelsRegex) throws Exception {
    Matcher m = Pattern.compile("(?m)^" + name + "\\{" + labelsRegex + "} (\\S+)$").matcher(monitor.get("/metrics").body());
    assertThat(m.find()).as("%s{%s} on /metrics", name, labelsRegex).isTrue();
    return Double.parseDouble(m.group(1));
  }

  @Test
  void gdOnAQuadraticConvergesOscillatesOrDivergesWithTheStepSize() throws Exception {
    // math.md §6.2: A = diag(1, 4, 10); eta = 0.1 converges, 0.2 = 2/lambda_max is period 2, 0.21 diverges.
    JsonNode converged = train("q-0.1", "quadratic", new GradientDescent(Objective.quadratic(1, 4, 10), ones(3), 0.1, 0, 1, 0, 50, 1), 5000);
    JsonNode period2 = train("q-0.2", "quadratic", new GradientDescent(Objective.quadratic(1, 4, 10), ones(3), 0.2, 0, 1, 0, 50, 1), 3000);
    JsonNode diverged = train("q-0.21", "quadratic", new GradientDescent(Objective.quadratic(1, 4, 10), ones(3), 0.21, 0, 1, 0, 50, 1), 3000);
    assertThat(converged.get("state").asText()).isEqualTo("converged");
    assertThat(converged.get("why").toString()).contains("weights stopped");
    assertThat(period2.get("state").asText()).isEqualTo("oscillating");
    assertThat(period2.get("statistics").get("update_cosine_median").asDouble()).isCloseTo(-1, within(1e-9));
    assertThat(period2.get("statistics").get("update_r2").asDouble()).isCloseTo(0, within(1e-9));
    // With c an EMA (a = 2/51) of a coordinate that flips sign, c lags by -a/(2 - a) of it: the
    // uncorrected -2 sum<u, e> / sum |u|^2 is 2/(2 - a) = 1.0200; the moving-centre correction of
    // math.md §2 (the agent sends ema_alpha) makes it 1 exactly.
    assertThat(period2.get("statistics").get("stationarity_ratio").asDouble()).isCloseTo(1, within(1e-6));
    assertThat(period2.get("why").get(0).asText()).startsWith("updates alternate direction: median cos(u_t, u_t-1) = -1");
    assertThat(metric("ergowatch_oscillation_score", "job=\"quadratic\",run=\"q-0.2\"")).isCloseTo(1, within(1e-9));
    assertThat(diverged.get("state").asText()).isEqualTo("diverged");
    assertThat(metric("ergowatch_run_state", "job=\"quadratic\",run=\"q-0.21\",state=\"diverged\"")).isEqualTo(1);
  }

  @Test
  void sgdWithAConstantStepStallsAndReportsItsGradientSignal() throws Exception {
    // math.md §6.4 and §3/§6.5: SGD on ½|w|² (d = 20, h = 1, eta = 0.5, sigma = 1, B = 64, B_s = 16).
    // Stationary law N(0, eta sigma^2 / (B h (2 - eta h))) per coordinate, so
    // |G|^2 = d h^2 Var = 20 * 0.5 / (64 * 1.5) = 0.104, and tr Sigma = d sigma^2 = 20.
    GradientDescent sgd = new GradientDescent(Objective.quadratic(fill(20, 1)), ones(20), 0.5, 1, 64, 16, 400, 9);
    JsonNode run = train("sgd-stall", "stall", sgd, 20_000);
    assertThat(run.get("state").asText()).isEqualTo("stalled_nonstationary");
    JsonNode st = run.get("statistics");
    assertThat(st.get("gradient_signal_identified").asBoolean()).isTrue();
    // One window of ~200 thinned records: the signal's relative sd is ~25% here; noise scale ~5%.
    assertThat(st.get("gradient_signal").asDouble()).isCloseTo(20 * 0.5 / (64 * 1.5), within(0.06));
    assertThat(st.get("gradient_noise_scale").asDouble()).isCloseTo(20, within(2.0));
    assertThat(st.get("stationarity_ratio").asDouble()).isCloseTo(1, within(0.3));
    assertThat(run.get("why").toString()).contains("loss stationary", "weights stationary in law", "gradient signal |G|^2");
    assertThat(metric("ergowatch_gradient_signal", "job=\"stall\",run=\"sgd-stall\"")).isEqualTo(st.get("gradient_signal").asDouble());
    assertThat(metric("ergowatch_stationarity_ratio", "job=\"stall\",run=\"sgd-stall\"")).isEqualTo(st.get("stationarity_ratio").asDouble());
    assertThat(metric("ergowatch_series_window_quantile", "job=\"stall\",q=\"0.5\",run=\"sgd-stall\",series=\"loss\""))
        .isPositive();
  }

  @Test
  void aLearningRateSweepShowsThePhaseTransitionAndItsCriticalStep() throws Exception {
    // math.md §6.9: GD on ½(ab - 1)²: eta_c = 1.
    String[] expected = {"converged", "oscillating", null, "diverged"};
    double[] etas = {0.99, 1.1, 1.5, 2.0};
    for (int i = 0; i < etas.length; i++) {
      JsonNode run = train("sweep-" + etas[i], "sweep", new GradientDescent(Objective.twoLayerScalar(1),
          new double[] {0.2, 0.1}, etas[i], 0, 1, 0, 50, 1), 8000, "lr", Double.toString(etas[i]));
      if (expected[i] != null) {
        assertThat(run.get("state").asText()).as("eta %s", etas[i]).isEqualTo(expected[i]);
      } else {
        assertThat(run.get("state").asText()).as("eta %s", etas[i]).isNotIn("converged", "diverged");
      }
    }
    JsonNode job = mapper.readTree(monitor.get("/api/jobs/sweep").body());
    assertThat(job.get("critical_lr_low").asDouble()).isEqualTo(0.99);
    assertThat(job.get("critical_lr_high").asDouble()).isEqualTo(1.1);
    assertThat(job.get("critical_lr").asDouble()).isCloseTo(Math.sqrt(0.99 * 1.1), within(1e-12));
    assertThat(metric("ergowatch_job_critical_lr", "job=\"sweep\"")).isCloseTo(Math.sqrt(0.99 * 1.1), within(1e-12));
    assertThat(job.get("sweep").get(0).get("gradient_signal").asDouble()).isLessThan(1e-12);
    assertThat(job.get("sweep").get(1).get("gradient_signal").asDouble()).isGreaterThan(1e-3);
  }

  @Test
  void splitRhatAcrossSeedsSeesWhetherTheyAgree() throws Exception {
    // math.md §6.8: chains N(+-delta/2, 1): R-hat -> sqrt(1 + delta^2/3); iid chains -> 1.
    // The tails are 256-sample windows, so only clear cases are asserted: delta = 2 (R-hat 1.53) and iid.
    streamLoss("seed-a", "seeds-differ", 1.0, 1);
    streamLoss("seed-b", "seeds-differ", -1.0, 2);
    streamLoss("seed-c", "seeds-agree", 0, 3);
    streamLoss("seed-d", "seeds-agree", 0, 4);
    JsonNode differ = mapper.readTree(monitor.get("/api/jobs/seeds-differ").body());
    JsonNode agree = mapper.readTree(monitor.get("/api/jobs/seeds-agree").body());
    assertThat(differ.get("seed_groups").get(0).get("rhat").asDouble()).isCloseTo(Math.sqrt(1 + 4.0 / 3), within(0.15));
    assertThat(agree.get("seed_groups").get(0).get("rhat").asDouble()).isCloseTo(1.0, within(0.05));
  }

  private void streamLoss(String run, String job, double mean, long seed) throws Exception {
    SplittableRandom rng = new SplittableRandom(seed);
    try (ErgowatchAgent agent = ErgowatchAgent.builder().address("127.0.0.1:" + monitor.ingestPort()).run(run).job(job)
        .series("loss", "lr").build()) {
      for (int t = 0; t < 3000; t++) {
        agent.record(t, 10 + mean + rng.nextGaussian(), 0.1);
      }
      assertThat(agent.flush(Duration.ofSeconds(30))).isTrue();
    }
  }

  @Test
  void theResultDoesNotDependOnHowRecordsWereBatched() throws Exception {
    // The same stream sent as one write, and as 1000 writes of a few frames: identical analytics.
    List<Frame> steps = new ArrayList<>();
    GradientDescent sgd = new GradientDescent(Objective.quadratic(fill(10, 1)), ones(10), 0.3, 1, 32, 8, 200, 21);
    double[] v = new double[GradientDescent.SERIES.size()];
    boolean[] p = new boolean[v.length];
    for (int t = 0; t < 4000; t++) {
      sgd.step(v, p);
      int n = 0;
      int[] ids = new int[v.length];
      double[] vals = new double[v.length];
      for (int i = 0; i < v.length; i++) {
        if (p[i]) {
          ids[n] = i;
          vals[n++] = v[i];
        }
      }
      steps.add(Step.of(t + 1, t, 1_000_000_000L * t, Arrays.copyOf(ids, n), Arrays.copyOf(vals, n)));
    }
    sendInChunks("chunk-1", steps, steps.size());
    sendInChunks("chunk-1000", steps, 4);
    JsonNode one = runJson("chunk-1");
    JsonNode many = runJson("chunk-1000");
    assertThat(one.get("steps").asLong()).isEqualTo(4000);
    assertThat(many.get("statistics")).isEqualTo(one.get("statistics"));
    assertThat(many.get("why")).isEqualTo(one.get("why"));
    assertThat(many.get("series")).isEqualTo(one.get("series"));
    assertThat(many.get("state")).isEqualTo(one.get("state"));
  }

  private void sendInChunks(String run, List<Frame> steps, int chunk) throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(new Hello(run, "chunks", "", 1, 0, 1, Mode.REPLICATED, GradientDescent.SERIES, List.of()));
      c.read();
      for (int i = 0; i < steps.size(); i += chunk) {
        c.send(steps.subList(i, Math.min(steps.size(), i + chunk)).toArray(new Frame[0]));
      }
      c.send(new Bye(Bye.Status.COMPLETED, ""));
      long acked = 0;
      while (acked < steps.size()) {
        acked = c.readUntil(Ack.class).ackedSeq();
      }
      assertThat(c.closedByPeer()).isTrue();
    }
  }

  private static double[] fill(int d, double x) {
    double[] w = new double[d];
    Arrays.fill(w, x);
    return w;
  }
}

package io.ergowatch.monitor.export;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.monitor.testing.RawClient;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One run cannot take the API down (issue 15, item 10): a run that sends every value the protocol
 * accepts — ±1e308 (a loss overflowing), ±Double.MAX_VALUE, subnormals, ±0, NaN and ±Inf — in
 * every well-known series, through whole windows, is still answered on /api/runs/{run},
 * /api/runs, /api/jobs and /metrics, and so is a healthy run beside it. (The quantile sketch used
 * to throw "outside the range that is tracked" from the snapshot, and every listing answered 500.)
 */
class ExtremeValuesEndToEndTest {
  @TempDir
  Path dataDir;

  private static final List<String> SERIES = List.of("loss", "lr", "grad_sq", "grad_local_sq", "batch_size",
      "local_batch_size", "weight_sq", "update_sq", "update_dot_prev", "ema_grad_dot", "ema_dist_sq", "ema_update_dot",
      "proj.0", "proj.1", "sharpness", "acc");
  private static final double[] EXTREMES = {1e308, -1e308, Double.MAX_VALUE, -Double.MAX_VALUE, Double.MIN_VALUE,
      -Double.MIN_VALUE, 4.9e-322, 0.0, -0.0, 1e-300, 1e300, Double.NaN, Double.POSITIVE_INFINITY,
      Double.NEGATIVE_INFINITY};

  private static void stream(TestMonitor m, String run, boolean extreme) throws Exception {
    try (RawClient c = new RawClient(m.ingestPort())) {
      c.send(new Hello(run, "extremes", "", 1, 0, 1, Mode.REPLICATED, SERIES, List.of()));
      c.read();
      int[] ids = new int[SERIES.size()];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = i;
      }
      List<Step> steps = new ArrayList<>();
      for (int t = 1; t <= 3000; t++) {
        double[] v = new double[ids.length];
        for (int i = 0; i < v.length; i++) {
          // Finite extremes for long stretches (they fill windows and sketches), the non-finite
          // ones now and then; the healthy run sends ordinary numbers.
          double x = EXTREMES[(t / 7 + i) % (EXTREMES.length - 3)];
          if (t % 97 == 0) {
            x = EXTREMES[EXTREMES.length - 1 - (i % 3)];
          }
          v[i] = extreme ? x : 1.0 + 0.01 * ((t * 31 + i) % 17);
        }
        steps.add(Step.of(t, t, t * 1_000_000L, ids, v));
        if (steps.size() == 100) {
          c.send(steps.toArray(new Step[0]));
          steps.clear();
        }
      }
      c.send(new Bye(Bye.Status.COMPLETED, "done"));
      while (c.readUntil(Ack.class).ackedSeq() < 3000) {
        // the final ACK covers every record
      }
    }
  }

  @Test
  void aRunOfExtremeValuesIsAnsweredAndTakesNoOtherRunDown() throws Exception {
    try (TestMonitor m = new TestMonitor(dataDir)) {
      stream(m, "healthy", false);
      stream(m, "extreme", true);
      TestMonitor.await("both runs applied", java.time.Duration.ofSeconds(30),
          () -> m.monitor().pipeline().recordsApplied() >= 6000);
      ObjectMapper mapper = new ObjectMapper();
      for (String path : List.of("/api/runs/extreme", "/api/runs/healthy", "/api/runs", "/api/jobs",
          "/api/jobs/extremes", "/metrics")) {
        var r = m.get(path);
        assertThat(r.statusCode()).as("%s: %s", path, r.body()).isEqualTo(200);
        if (path.startsWith("/api/")) {
          assertStrictJson(path, mapper.readTree(r.body()));
        }
      }
      JsonNode extreme = mapper.readTree(m.get("/api/runs/extreme").body());
      assertThat(extreme.get("state").asText()).isEqualTo("diverged"); // non-finite values: at once
      assertThat(extreme.get("series").get("loss").get("count").asLong()).isEqualTo(3000);
      JsonNode list = mapper.readTree(m.get("/api/runs").body());
      assertThat(list).hasSize(2);
      assertThat(m.get("/metrics").body()).contains("ergowatch_steps_total{job=\"extremes\",run=\"healthy\"} 3000");
      JsonNode history = extreme.get("series").get("loss").get("history").get("values");
      assertThat(history).anySatisfy(v -> assertThat(v.isNull()).isTrue()); // NaN/Inf sent: null
      assertThat(extreme.get("series").get("loss").get("nonfinite").asLong()).isPositive();
    }
  }

  /**
   * Strict JSON: the default parser (non-numeric numbers not allowed) read the body, and no value
   * anywhere is one of the strings a non-finite number used to be written as.
   */
  private static void assertStrictJson(String path, JsonNode node) {
    if (node.isTextual()) {
      assertThat(node.asText()).as(path).isNotIn("NaN", "Infinity", "-Infinity");
    } else if (node.isNumber()) {
      assertThat(Double.isFinite(node.asDouble())).as("%s: %s", path, node).isTrue();
    }
    node.elements().forEachRemaining(child -> assertStrictJson(path, child));
  }
}

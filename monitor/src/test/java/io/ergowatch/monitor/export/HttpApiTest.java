package io.ergowatch.monitor.export;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.monitor.testing.RawClient;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Label;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpApiTest {
  @TempDir
  static Path dataDir;
  private TestMonitor monitor;
  private final ObjectMapper mapper = new ObjectMapper();

  @BeforeAll
  void start() throws Exception {
    monitor = new TestMonitor(dataDir);
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(new Hello("api-run", "api-job", "", 1, 0, 1, Mode.REPLICATED, List.of("loss", "grad_sq", "lr", "acc"),
          List.of(new Label("optimizer", "adam"), new Label("secret_path", "/home/x"))));
      c.read();
      c.send(Step.of(1, 10, 5_000_000_000L, new int[] {0, 1, 2, 3}, new double[] {0.5, 9.0, 0.01, 0.7}),
          Step.of(2, 11, 6_000_000_000L, new int[] {0, 1}, new double[] {Double.NaN, 16.0}),
          new Bye(Bye.Status.COMPLETED, "done"));
      c.readUntil(Ack.class);
      assertThat(c.closedByPeer()).isTrue(); // the final ACK after BYE has been sent: the run is finished
    }
  }

  @AfterAll
  void stop() {
    monitor.close();
  }

  @Test
  void metricsCarryTheRunWithItsValues() throws Exception {
    HttpResponse<String> r = monitor.get("/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
    String m = r.body();
    assertThat(m).contains("ergowatch_run_info{job=\"api-job\",optimizer=\"adam\",run=\"api-run\"} 1");
    assertThat(m).doesNotContain("secret_path");
    assertThat(m).contains("ergowatch_steps_total{job=\"api-job\",run=\"api-run\"} 2");
    assertThat(m).contains("ergowatch_last_step{job=\"api-job\",run=\"api-run\"} 11");
    assertThat(m).contains("ergowatch_loss{job=\"api-job\",run=\"api-run\"} NaN");
    assertThat(m).contains("ergowatch_grad_norm{job=\"api-job\",run=\"api-run\"} 4.0");
    assertThat(m).contains("ergowatch_learning_rate{job=\"api-job\",run=\"api-run\"} 0.01");
    assertThat(m).contains("ergowatch_last_record_timestamp_seconds{job=\"api-job\",run=\"api-run\"} 6.0");
    assertThat(m).contains("ergowatch_run_state{job=\"api-job\",run=\"api-run\",state=\"diverged\"} 1");
    assertThat(m).contains("ergowatch_run_state{job=\"api-job\",run=\"api-run\",state=\"warmup\"} 0");
    assertThat(m).contains("ergowatch_run_status{job=\"api-job\",run=\"api-run\",status=\"finished\"} 1");
    assertThat(m).contains("ergowatch_series_ergodic_mean{job=\"api-job\",run=\"api-run\",series=\"grad_sq\"} 12.5");
    assertThat(m).contains("ergowatch_series_ergodic_mean{job=\"api-job\",run=\"api-run\",series=\"loss\"} 0.5");
    assertThat(m).doesNotContain("series=\"acc\""); // user series: JSON only until the allow-list lands
    assertThat(m).contains("ergowatch_pipeline_lag_seconds_count");
    assertThat(m).contains("ergowatch_connections");
    assertThat(m).contains("ergowatch_runs 1");
  }

  @Test
  void aKeepAliveClientIsAnsweredEveryTime() throws Exception {
    // One HTTP/1.1 connection alternating a response made on the event loop (/healthz) and one
    // made on a lane (/api/runs/{run}), as a browser or Grafana does: with reactor-netty 1.3.7 a
    // request went unanswered after ~100 of them (reactor-netty #4188), fixed in 1.3.8.
    java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
        .version(java.net.http.HttpClient.Version.HTTP_1_1).build();
    String base = "http://127.0.0.1:" + monitor.monitor().httpPort();
    for (int i = 0; i < 300; i++) {
      for (String path : List.of("/healthz", "/api/runs/api-run")) {
        HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + path))
            .timeout(java.time.Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("request %d %s", i, path).isEqualTo(200);
      }
    }
  }

  @Test
  void openMetricsByContentNegotiation() throws Exception {
    HttpResponse<String> r = monitor.get("/metrics", "application/openmetrics-text; version=1.0.0");
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/openmetrics-text");
    assertThat(r.body()).endsWith("# EOF\n");
  }

  @Test
  void apiRunsListsSummariesAndTheRunHasItsDetail() throws Exception {
    JsonNode list = mapper.readTree(monitor.get("/api/runs").body());
    assertThat(list.isArray()).isTrue();
    assertThat(list.get(0).get("run").asText()).isEqualTo("api-run");
    HttpResponse<String> r = monitor.get("/api/runs/api-run");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode run = mapper.readTree(r.body());
    assertThat(run.get("job").asText()).isEqualTo("api-job");
    assertThat(run.get("state").asText()).isEqualTo("diverged");
    assertThat(run.get("status").asText()).isEqualTo("finished");
    assertThat(run.get("steps").asLong()).isEqualTo(2);
    assertThat(run.get("loss").isNull()).as("a non-finite loss is null").isTrue();
    assertThat(run.get("why").get(0).asText()).isEqualTo("loss is NaN at step 11");
    assertThat(run.get("series").get("acc").get("last").asDouble()).isEqualTo(0.7);
    assertThat(run.get("labels").get("secret_path").asText()).isEqualTo("/home/x");
    assertThat(run.get("end_message").asText()).isEqualTo("done");
    assertThat(run.get("events").get(0).get("to").asText()).isEqualTo("diverged");
  }

  @Test
  void unknownRunIs404WithAMessage() throws Exception {
    HttpResponse<String> r = monitor.get("/api/runs/nope");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).startsWith("unknown run: nope");
  }

  @Test
  void theApiIsReadOnlyAndBoundsRequestSize() throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    var post = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
        "http://127.0.0.1:" + monitor.monitor().httpPort() + "/api/runs")).timeout(java.time.Duration.ofSeconds(10)).POST(
        java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.body()).isEqualTo("read-only API: POST is not allowed, only GET\n");
    // Its own client: the monitor refuses the request line and closes that connection, which must
    // not leave a half-dead pooled connection behind for the other tests' client.
    var huge = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
        "http://127.0.0.1:" + monitor.monitor().httpPort() + "/api/runs/" + "x".repeat(10_000)))
        .timeout(java.time.Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(huge.statusCode()).isIn(400, 413, 414);
  }

  @Test
  void unknownPathIs404AndProbesAnswer() throws Exception {
    assertThat(monitor.get("/nothing").statusCode()).isEqualTo(404);
    assertThat(monitor.get("/healthz").statusCode()).isEqualTo(200);
    assertThat(monitor.get("/readyz").statusCode()).isEqualTo(200);
  }
}

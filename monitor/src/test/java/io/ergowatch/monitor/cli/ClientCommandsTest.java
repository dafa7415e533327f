package io.ergowatch.monitor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.monitor.testing.Cli;
import io.ergowatch.monitor.testing.RawClient;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** `ergowatch runs` and `ergowatch status RUN` against a live monitor, as a person on a login node runs them. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientCommandsTest {
  @TempDir
  static Path dataDir;
  private TestMonitor monitor;
  private String url;

  @BeforeAll
  void start() throws Exception {
    monitor = new TestMonitor(dataDir);
    url = "http://127.0.0.1:" + monitor.monitor().httpPort();
    stream("cli-healthy", new double[] {0.9, 0.8, 0.7});
    stream("cli-blown", new double[] {0.9, Double.NaN});
    TestMonitor.await("both runs", Duration.ofSeconds(5),
        () -> monitor.run("cli-healthy").map(r -> r.steps() == 3).orElse(false)
            && monitor.run("cli-blown").map(r -> r.steps() == 2).orElse(false));
  }

  private void stream(String run, double[] losses) throws Exception {
    try (RawClient c = new RawClient(monitor.ingestPort())) {
      c.send(new Hello(run, "cli-job", "", 1, 0, 1, Mode.REPLICATED, List.of("loss", "lr"), List.of()));
      c.read();
      for (int i = 0; i < losses.length; i++) {
        c.send(Step.of(i + 1, i, 0, new int[] {0, 1}, new double[] {losses[i], 0.01}));
      }
      c.send(new Bye(Bye.Status.COMPLETED, ""));
      c.readUntil(Ack.class);
    }
  }

  @AfterAll
  void stop() {
    monitor.close();
  }

  @Test
  void runsListsTheMostUrgentFirstWithItsFirstReason() {
    Cli.Result r = Cli.run("runs", "--url", url);
    assertThat(r.exit()).as(r.err()).isZero();
    List<String> lines = r.out().lines().toList();
    assertThat(lines.get(0)).startsWith("RUN").contains("STATE", "STEPS", "WHY");
    assertThat(lines.get(1)).startsWith("cli-blown").contains("cli-job", "DIVERGED", "finished", "loss is NaN at step 1");
    assertThat(lines.get(2)).startsWith("cli-healthy").contains("WARMUP", "0.7", "warmup: 3 of 200 records");
    assertThat(r.out()).doesNotContain("\u001b["); // not a terminal: plain text
    assertThat(Cli.run("runs", "--url", url, "--color", "always").out()).contains("\u001b[1;31mDIVERGED\u001b[0m");
  }

  @Test
  void runsJsonIsTheApisAndJobFilters() throws Exception {
    Cli.Result r = Cli.run("runs", "--url", url, "--json", "--job", "cli-job");
    JsonNode a = new ObjectMapper().readTree(r.out());
    assertThat(a.size()).isEqualTo(2);
    assertThat(a.get(0).get("run").asText()).isEqualTo("cli-blown");
    assertThat(Cli.run("runs", "--url", url, "--job", "other").out()).startsWith("no runs of job other");
  }

  @Test
  void statusShowsTheStateTheReasonsAndTheEvents() {
    Cli.Result r = Cli.run("status", "cli-blown", "--url", url);
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("cli-blown (job cli-job)  DIVERGED since step 1  (finished, 2 steps, last step 1)")
        .contains("why\n  - loss is NaN at step 1")
        .contains("events\n  step 1  WARMUP -> DIVERGED");
  }

  @Test
  void anUnknownRunAndAnUnreachableMonitorAreOneLineErrorsWithTheirExitCodes() throws Exception {
    Cli.Result unknown = Cli.run("status", "no-such-run", "--url", url);
    assertThat(unknown.exit()).isEqualTo(1);
    assertThat(unknown.err()).isEqualTo("ergowatch status: the monitor at " + url
        + " has no run no-such-run (unknown, or past its retention; `ergowatch runs` lists what it has)\n");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // free now, so nothing listens there
    }
    Cli.Result away = Cli.run("runs", "--url", "http://127.0.0.1:" + port);
    assertThat(away.exit()).isEqualTo(2);
    assertThat(away.err()).startsWith("ergowatch runs: cannot reach the monitor at http://127.0.0.1:" + port
        + " (connection refused): is `ergowatch serve` running there?").doesNotContain("Exception");
    assertThat(Cli.run("runs", "--url", "ftp://x").err()).contains("--url ftp://x is not an http:// or https:// address");
    assertThat(Cli.run("runs", "--url", url, "--color", "sometimes").err()).contains("--color is auto, always or never");
  }
}

package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built-in status page at {@code /}, loaded by headless Chromium (Debian's chromium) while
 * the monitor has a stalled, a diverged and an oscillating run: the runs, their states, reasons
 * and sparklines render, and a screenshot is saved to monitor/target/status-page.png. Without
 * /usr/bin/chromium the browser tests are skipped locally and fail under CI.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StatusPageEndToEndTest {
  private static final Duration BROWSER_TIMEOUT = Duration.ofSeconds(45);
  private static final List<String> RUNS = List.of("sgd-stall", "gd-diverge", "two-layer-lr1.1");

  @TempDir
  static Path dir;
  private ServedMonitor monitor;
  private TrainingFleet fleet;

  @BeforeAll
  void start() throws Exception {
    monitor = new ServedMonitor(Files.createDirectories(dir.resolve("monitor-data")));
    fleet = new TrainingFleet(monitor.ingestPort())
        .gd("stall", "sgd-stall", TrainingFleet.stallingSgd(), 3000, "optimizer", "sgd")
        .gd("diverge", "gd-diverge", TrainingFleet.divergingGd(), 1000, "optimizer", "gd")
        .gd("sweep", "two-layer-lr1.1", TrainingFleet.twoLayer(1.1), 1000, "optimizer", "gd", "lr", "1.1")
        .gd("sweep", "two-layer-lr0.99", TrainingFleet.twoLayer(0.99), 3000, "optimizer", "gd", "lr", "0.99");
    fleet.awaitProcessed(run -> monitor.run(run).map(r -> r.steps()).orElse(0L), Duration.ofSeconds(30));
  }

  @AfterAll
  void stop() {
    if (fleet != null) {
      fleet.close();
    }
    if (monitor != null) {
      monitor.close();
    }
  }

  private ExternalTool.Result chromium(String... mode) {
    return ExternalTool.chromium(dir, BROWSER_TIMEOUT, "1280,900", "http://127.0.0.1:" + monitor.httpPort() + "/", mode);
  }

  @Test
  void servesHtmlToBrowsersAndAPlainIndexToCurl() throws Exception {
    HttpResponse<String> html = monitor.get("/", "text/html,application/xhtml+xml");
    assertThat(html.statusCode()).isEqualTo(200);
    assertThat(html.headers().firstValue("Content-Type").orElse("")).isEqualTo("text/html; charset=utf-8");
    assertThat(html.body()).startsWith("<!DOCTYPE html>").contains("/api/runs");
    // Nothing from the network at run time: the only absolute URL is the SVG namespace.
    Matcher urls = Pattern.compile("https?://[^\"' )]+").matcher(html.body());
    while (urls.find()) {
      assertThat(urls.group()).isEqualTo("http://www.w3.org/2000/svg");
    }
    HttpResponse<String> text = monitor.get("/", "*/*");
    assertThat(text.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    assertThat(text.body()).contains("/metrics", "/api/runs/{run}");
  }

  @Test
  void listsTheRunsWithStatesReasonsAndSparklines() {
    ExternalTool.Result r = chromium("--dump-dom");
    assertThat(r.exitCode()).as(r.output()).isZero();
    String dom = r.stdout();
    for (String run : RUNS) {
      Matcher row = Pattern.compile("(?s)<tr class=\"run-row\" data-run=\"" + Pattern.quote(run)
          + "\" data-state=\"([a-z_]+)\">(.*?)</tr>").matcher(dom);
      assertThat(row.find()).as("a row for run %s in:\n%s", run, dom).isTrue();
      String cells = row.group(2);
      assertThat(cells).as("run %s", run).contains("class=\"badge state-" + row.group(1) + "\"", "<li>");
      assertThat(cells).as("loss and grad-norm sparklines of %s", run)
          .containsPattern("(?s)<svg class=\"spark spark-loss\"[^>]*>.*?<path class=\"line\" d=\"M[0-9.]+ [0-9.]+L")
          .containsPattern("(?s)<svg class=\"spark spark-grad-norm\"[^>]*>.*?<path class=\"line\" d=\"M");
    }
    assertThat(dom).contains("data-run=\"sgd-stall\" data-state=\"stalled_nonstationary\"",
        "data-run=\"gd-diverge\" data-state=\"diverged\"", "data-run=\"two-layer-lr1.1\" data-state=\"oscillating\"");
    // The stalled run's reasons, and its Pi sparkline inside the stationarity band.
    assertThat(dom).contains("weights stationary in law", "<svg class=\"spark spark-pi\"");
    Matcher error = Pattern.compile("<div id=\"error\"[^>]*>([^<]*)</div>").matcher(dom);
    assertThat(error.find()).isTrue();
    assertThat(error.group(1)).as("the page's error line").isEmpty();
  }

  @Test
  void listsTheSweepWithItsStatesPerLearningRateAndItsCriticalStep() {
    ExternalTool.Result r = chromium("--dump-dom");
    assertThat(r.exitCode()).as(r.output()).isZero();
    String dom = r.stdout();
    Matcher row = Pattern.compile("(?s)<tr class=\"job-row\" data-job=\"sweep\">(.*?)</tr>").matcher(dom);
    assertThat(row.find()).as("a row for the sweep job in:\n%s", dom).isTrue();
    String cells = row.group(1);
    assertThat(cells).containsPattern("(?s)data-lr=\"0.99\".*?state-converged")
        .containsPattern("(?s)data-lr=\"1.1\".*?state-oscillating")
        .contains("in (0.99, 1.1]");
    assertThat(dom).as("jobs of one run are not listed").doesNotContain("data-job=\"stall\"");
  }

  @Test
  void savesAScreenshot() throws Exception {
    Path png = Path.of("target", "status-page.png").toAbsolutePath();
    Files.createDirectories(png.getParent());
    Files.deleteIfExists(png);
    ExternalTool.Result r = chromium("--screenshot=" + png);
    assertThat(r.exitCode()).as(r.output()).isZero();
    byte[] bytes = Files.readAllBytes(png);
    assertThat(bytes.length).as("screenshot size").isGreaterThan(20_000);
    assertThat(new String(bytes, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
  }
}

package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.monitor.testing.Cli;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run page (/runs/{run}, live) and the report (`ergowatch report`, one HTML file), both
 * rendered by headless Chromium as a person would open them: the state, its reasons, the charts
 * with their curves and state strips, the events. Screenshots go to monitor/target/run-page.png
 * and monitor/target/report.png (docs/ keeps copies for the README).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RunPageEndToEndTest {
  private static final Duration BROWSER_TIMEOUT = Duration.ofSeconds(45);

  @TempDir
  static Path dir;
  private ServedMonitor monitor;
  private TrainingFleet fleet;
  private Path dataDir;

  @BeforeAll
  void start() throws Exception {
    dataDir = Files.createDirectories(dir.resolve("monitor-data"));
    monitor = new ServedMonitor(dataDir);
    fleet = new TrainingFleet(monitor.ingestPort())
        .gd("stall", "sgd-stall", TrainingFleet.stallingSgd(), 3000, "optimizer", "sgd")
        .gd("sweep", "two-layer-lr1.1", TrainingFleet.twoLayer(1.1), 2000, "optimizer", "gd", "lr", "1.1")
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

  private ExternalTool.Result chromium(String url, String... mode) {
    String[] flags = java.util.stream.Stream.concat(java.util.stream.Stream.of("--allow-file-access-from-files"),
        java.util.Arrays.stream(mode)).toArray(String[]::new);
    return ExternalTool.chromium(dir, BROWSER_TIMEOUT, "1280,2200", url, flags);
  }

  private static void screenshot(ExternalTool.Result r, Path png) throws Exception {
    assertThat(r.exitCode()).as(r.output()).isZero();
    byte[] bytes = Files.readAllBytes(png);
    assertThat(bytes.length).as("screenshot size").isGreaterThan(20_000);
    assertThat(new String(bytes, 1, 3, StandardCharsets.US_ASCII)).isEqualTo("PNG");
  }

  /** The section of a run in a rendered DOM. */
  private static String section(String dom, String run) {
    Matcher m = Pattern.compile("(?s)<section class=\"run\" id=\"run-" + Pattern.quote(run) + "\"[^>]*>(.*?)</section>")
        .matcher(dom);
    assertThat(m.find()).as("a section for run %s in:\n%s", run, dom).isTrue();
    return m.group(0);
  }

  @Test
  void theLivePageShowsTheStateItsReasonsTheChartsAndTheEvents() throws Exception {
    String url = "http://127.0.0.1:" + monitor.httpPort() + "/runs/two-layer-lr1.1";
    HttpResponse<String> page = monitor.get("/runs/two-layer-lr1.1", "text/html");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type").orElse("")).isEqualTo("text/html; charset=utf-8");
    ExternalTool.Result r = chromium(url, "--dump-dom");
    assertThat(r.exitCode()).as(r.output()).isZero();
    String run = section(r.stdout(), "two-layer-lr1.1");
    assertThat(run).contains("data-state=\"oscillating\"", "class=\"badge state-oscillating\"", "updates alternate direction")
        .containsPattern("(?s)<svg class=\"plot plot-loss\".*?<path class=\"line\" d=\"M[0-9.]+ [0-9.]+L")
        .containsPattern("(?s)<svg class=\"plot plot-loss\".*?<rect class=\"state state-oscillating\"")
        .contains("<svg class=\"plot plot-lr\"", "<svg class=\"plot plot-grad_sq\"")
        .contains("<table class=\"events\">");
    Matcher error = Pattern.compile("<div id=\"error\"[^>]*>([^<]*)</div>").matcher(r.stdout());
    assertThat(error.find()).isTrue();
    assertThat(error.group(1)).as("the page's error line").isEmpty();
    Path png = Path.of("target", "run-page.png").toAbsolutePath();
    Files.createDirectories(png.getParent());
    Files.deleteIfExists(png);
    screenshot(chromium(url, "--screenshot=" + png), png);
  }

  @Test
  void anUnknownRunSaysSoOnThePage() {
    ExternalTool.Result r = chromium("http://127.0.0.1:" + monitor.httpPort() + "/runs/no-such-run", "--dump-dom");
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.stdout()).containsPattern("<div id=\"error\" style=\"display: block;\">cannot load run no-such-run: ");
  }

  @Test
  void theReportIsOneSelfContainedFileWithEveryRunsWholeCourse() throws Exception {
    Path html = dir.resolve("sweep.html");
    Cli.Result report = Cli.run("report", "--job", "sweep", "sgd-stall", "--data-dir", dataDir.toString(), "-o",
        html.toString());
    assertThat(report.exit()).as(report.err()).isZero();
    assertThat(report.out()).startsWith("wrote " + html + ": 3 run(s), ");
    System.out.print("report: " + report.out()); // its size, in the test's output
    String body = Files.readString(html);
    assertThat(Files.size(html)).as("report size").isLessThan(2L << 20);
    Matcher urls = Pattern.compile("(?i)(?:src|href)=\"[^\"]+\"|https?://[^\"' )]+").matcher(body);
    while (urls.find()) {
      assertThat(urls.group()).as("nothing loaded from elsewhere").isIn("http://www.w3.org/2000/svg", "href=\"/\"");
    }
    ExternalTool.Result r = chromium(html.toUri().toString(), "--dump-dom");
    assertThat(r.exitCode()).as(r.output()).isZero();
    String dom = r.stdout();
    assertThat(dom).contains("overlay: 3 runs").containsPattern("(?s)<svg class=\"plot plot-overlay\".*?<path class=\"line\"");
    assertThat(section(dom, "two-layer-lr0.99")).contains("data-state=\"converged\"");
    assertThat(section(dom, "sgd-stall")).contains("data-state=\"stalled_nonstationary\"", "weights stationary in law")
        .containsPattern("(?s)<svg class=\"plot plot-pi\".*?<rect class=\"target\".*?<path class=\"ci\".*?<path class=\"line\"")
        .containsPattern("(?s)<svg class=\"plot plot-grad_sq\".*?<path class=\"ci\"");
    Path png = Path.of("target", "report.png").toAbsolutePath();
    Files.deleteIfExists(png);
    screenshot(chromium(html.toUri().toString(), "--screenshot=" + png), png);
  }
}

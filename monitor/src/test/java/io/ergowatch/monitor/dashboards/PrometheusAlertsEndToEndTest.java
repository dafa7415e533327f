package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus (Debian's /usr/bin/prometheus) scrapes a monitor fed by simulated training
 * runs through the real agent, with the shipped scrape config and rules at a 1 s interval:
 * <ul>
 *   <li>a stalled SGD run and a diverging GD run make ErgowatchRunStalledNonstationary and
 *       ErgowatchRunDiverged fire, with the expected labels, and annotations whose numbers are
 *       the monitor's statistics and whose why_url answers with the run's reasons;
 *   <li>every PromQL expression of the Grafana dashboards, of the rules and of the rules'
 *       annotation templates parses, evaluates, and selects only metrics that the monitor exports
 *       (or the rules record, or Prometheus itself makes), and each dashboard query returns data for
 *       at least one of the test's runs.
 * </ul>
 * The stall time is set to 2 s for the test's job through the documented per-job override
 * (ergowatch:stalled_alert_after_seconds{job=...}). Without /usr/bin/prometheus the test is
 * skipped locally and fails under CI.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrometheusAlertsEndToEndTest {
  private static final String STALL_JOB = "e2e-stall";
  private static final String STALL_RUN = "sgd-stall";
  private static final String DIVERGE_JOB = "e2e-diverge";
  private static final String DIVERGE_RUN = "gd-diverge";
  private static final Duration DEADLINE = Duration.ofSeconds(40);
  /** Series Prometheus makes itself: from scraping and from alerting rules. */
  private static final Set<String> PROMETHEUS_SERIES = Set.of("up", "scrape_duration_seconds", "scrape_samples_scraped",
      "scrape_samples_post_metric_relabeling", "scrape_series_added", "ALERTS", "ALERTS_FOR_STATE");

  @TempDir
  static Path dir;
  private ServedMonitor monitor;
  private PrometheusServer prometheus;
  private TrainingFleet fleet;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    Path binary = ExternalTool.require("/usr/bin/prometheus", "prometheus");
    monitor = new ServedMonitor(Files.createDirectories(dir.resolve("monitor-data")));
    prometheus = PrometheusServer.start(binary, dir, config());
    fleet = new TrainingFleet(monitor.ingestPort())
        .gd(STALL_JOB, STALL_RUN, TrainingFleet.stallingSgd(), 4000, "optimizer", "sgd")
        .gd(DIVERGE_JOB, DIVERGE_RUN, TrainingFleet.divergingGd(), 3000, "optimizer", "gd")
        .stream("e2e-sharp", "sharp", List.of("loss", "lr", "sharpness"), 600, TrainingFleet.sharpLoss(2),
            "optimizer", "sgd")
        .stream("e2e-proj", "proj", TrainingFleet.projectionSeries(), 2000, TrainingFleet.projections(3))
        .gd("e2e-sweep", "lr0.99", TrainingFleet.twoLayer(0.99), 8000, "optimizer", "gd", "lr", "0.99")
        .gd("e2e-sweep", "lr1.1", TrainingFleet.twoLayer(1.1), 8000, "optimizer", "gd", "lr", "1.1")
        .stream("e2e-seeds", "seed-1", List.of("loss", "lr"), 3000, TrainingFleet.noisyLoss(1))
        .stream("e2e-seeds", "seed-2", List.of("loss", "lr"), 3000, TrainingFleet.noisyLoss(2));
    fleet.awaitProcessed(run -> monitor.run(run).map(r -> r.steps()).orElse(0L), Duration.ofSeconds(30));
    // The verdicts the alerts are about (deterministic: seeded runs, math.md §6.2 and §6.4).
    assertThat(monitor.run(STALL_RUN).orElseThrow().state().label()).isEqualTo("stalled_nonstationary");
    assertThat(monitor.run(DIVERGE_RUN).orElseThrow().state().label()).isEqualTo("diverged");
    assertThat(monitor.run("sharp").orElseThrow().state().label()).isEqualTo("unstable");
    awaitPrometheus("both alerts firing", () -> alert("ErgowatchRunDiverged", DIVERGE_RUN) != null
        && "firing".equals(alert("ErgowatchRunDiverged", DIVERGE_RUN).path("state").asText())
        && alert("ErgowatchRunStalledNonstationary", STALL_RUN) != null
        && "firing".equals(alert("ErgowatchRunStalledNonstationary", STALL_RUN).path("state").asText()));
    // A few scrapes of history, so rate() over the dashboards' intervals has samples.
    awaitPrometheus("5 scrapes", () -> {
      JsonNode r = prometheus.query("count_over_time(up{job=\"ergowatch\"}[1m])").path("data").path("result");
      return r.size() == 1 && r.get(0).path("value").get(1).asDouble() >= 5;
    });
  }

  @AfterAll
  void stop() {
    if (fleet != null) {
      fleet.close();
    }
    if (prometheus != null) {
      prometheus.close();
    }
    if (monitor != null) {
      monitor.close();
    }
  }

  /** The shipped prometheus.yml, pointed at the test's monitor, at 1 s, with the shipped rules and the test's override. */
  private String config() throws Exception {
    Path override = dir.resolve("stall-override.yml");
    Files.writeString(override, """
        groups:
          - name: e2e-config
            rules:
              - record: ergowatch:stalled_alert_after_seconds
                expr: label_replace(vector(2), "job", "%s", "", "")
        """.formatted(STALL_JOB));
    ObjectNode cfg = (ObjectNode) Repo.yaml("dashboards/prometheus/prometheus.yml").deepCopy();
    ObjectNode global = (ObjectNode) cfg.get("global");
    global.put("scrape_interval", "1s").put("evaluation_interval", "1s").put("scrape_timeout", "1s");
    cfg.remove("alerting");
    ArrayNode rules = cfg.putArray("rule_files");
    rules.add(Repo.file("dashboards/prometheus/rules/ergowatch.yml").toString());
    rules.add(override.toString());
    ArrayNode scrape = cfg.putArray("scrape_configs");
    for (JsonNode job : Repo.yaml("dashboards/prometheus/prometheus.yml").path("scrape_configs")) {
      if (job.path("job_name").asText().equals("ergowatch")) {
        ObjectNode j = (ObjectNode) job.deepCopy();
        ((ArrayNode) j.path("static_configs").get(0).path("targets")).removeAll().add(instance());
        scrape.add(j);
      }
    }
    assertThat(scrape).as("the shipped scrape job \"ergowatch\"").hasSize(1);
    return Repo.YAML.writeValueAsString(cfg);
  }

  private String instance() {
    return "127.0.0.1:" + monitor.httpPort();
  }

  private interface Check {
    boolean holds() throws Exception;
  }

  private void awaitPrometheus(String what, Check check) throws Exception {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    while (!check.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + DEADLINE + " waiting for " + what + "\nalerts: "
            + prometheus.get("/api/v1/alerts") + "\nrules: " + prometheus.get("/api/v1/rules")
            + "\nPrometheus log:\n" + prometheus.logText());
      }
      Thread.sleep(100);
    }
  }

  /** The active alert {@code name} of {@code run} on Prometheus's /api/v1/alerts, or null. */
  private JsonNode alert(String name, String run) throws Exception {
    for (JsonNode a : prometheus.get("/api/v1/alerts").path("data").path("alerts")) {
      if (a.path("labels").path("alertname").asText().equals(name) && a.path("labels").path("run").asText().equals(run)) {
        return a;
      }
    }
    return null;
  }

  private static Map<String, String> labels(JsonNode alert) {
    Map<String, String> out = new TreeMap<>();
    alert.path("labels").properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }

  /** A number as Go's printf writes it in an annotation ("NaN", "+Inf" included). */
  private static double number(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertThat(m.find()).as("/%s/ in: %s", regex, text).isTrue();
    String v = m.group(1);
    return switch (v) {
      case "NaN" -> Double.NaN;
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      default -> Double.parseDouble(v);
    };
  }

  private JsonNode runJson(String url) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s", url).isEqualTo(200);
    return Repo.JSON.readTree(r.body());
  }

  @Test
  void aDivergedRunFiresAtOnceWithItsLossAndLearningRate() throws Exception {
    JsonNode a = alert("ErgowatchRunDiverged", DIVERGE_RUN);
    assertThat(a.path("state").asText()).isEqualTo("firing");
    assertThat(labels(a)).isEqualTo(Map.of("alertname", "ErgowatchRunDiverged", "severity", "critical",
        "state", "diverged", "job", DIVERGE_JOB, "run", DIVERGE_RUN, "instance", instance()));
    JsonNode ann = a.path("annotations");
    assertThat(ann.path("summary").asText()).isEqualTo("Run gd-diverge (job e2e-diverge) diverged");
    String description = ann.path("description").asText();
    assertThat(description).contains("lr 0.21 at step 2999.");
    double loss = monitor.run(DIVERGE_RUN).orElseThrow().loss();
    double shown = number(description, "Last loss (\\S+),");
    if (Double.isFinite(loss)) {
      assertThat(shown).isCloseTo(loss, within(Math.abs(loss) * 1e-3)); // %.4g: 4 significant digits
    } else {
      assertThat(shown).isEqualTo(loss); // NaN and Inf are shown as such, never as 0
    }
    assertThat(ann.path("runbook_url").asText()).endsWith("/docs/operations.md#ergowatchrundiverged");
    assertThat(ann.path("why_url").asText()).isEqualTo("http://" + instance() + "/api/runs/" + DIVERGE_RUN);
    JsonNode why = runJson(ann.path("why_url").asText());
    assertThat(why.path("state").asText()).isEqualTo("diverged");
    assertThat(why.path("why").get(0).asText()).isNotBlank();
  }

  @Test
  void aStalledLiveRunFiresAfterItsJobsStallTimeWithTheStatisticsBehindTheVerdict() throws Exception {
    JsonNode a = alert("ErgowatchRunStalledNonstationary", STALL_RUN);
    assertThat(a.path("state").asText()).isEqualTo("firing");
    assertThat(labels(a)).isEqualTo(Map.of("alertname", "ErgowatchRunStalledNonstationary", "severity", "warning",
        "state", "stalled_nonstationary", "job", STALL_JOB, "run", STALL_RUN, "instance", instance()));
    // $value is the stall's duration: above the job's 2 s override.
    assertThat(Double.parseDouble(a.path("value").asText())).isGreaterThan(2);
    JsonNode ann = a.path("annotations");
    assertThat(ann.path("summary").asText()).matches("Run sgd-stall \\(job e2e-stall\\) is stalled without converging for .+");
    String d = ann.path("description").asText();
    JsonNode run = runJson(ann.path("why_url").asText());
    assertThat(run.path("state").asText()).isEqualTo("stalled_nonstationary");
    JsonNode st = run.path("statistics");
    // The annotation's numbers are the monitor's statistics, to the digits printed (%.3g, %.4g, %.2g).
    assertThat(number(d, "Pi = (\\S+),")).isCloseTo(st.path("stationarity_ratio").asDouble(),
        within(5e-3 * st.path("stationarity_ratio").asDouble()));
    assertThat(number(d, "\\|G\\|\\^2 = (\\S+);")).isCloseTo(st.path("gradient_signal").asDouble(),
        within(5e-4 * st.path("gradient_signal").asDouble()));
    JsonNode loss = run.path("series").path("loss");
    assertThat(number(d, "loss ergodic mean (\\S+)")).isCloseTo(loss.path("ergodic_mean").asDouble(),
        within(5e-4 * loss.path("ergodic_mean").asDouble()));
    assertThat(number(d, "\\+/- (\\S+) at")).isCloseTo(loss.path("ergodic_stderr").asDouble(),
        within(5e-2 * loss.path("ergodic_stderr").asDouble()));
    assertThat(d).contains("more steps at lr 0.5 buy nothing", "at step 3999.");
    assertThat(ann.path("runbook_url").asText()).endsWith("/docs/operations.md#ergowatchrunstallednonstationary");
    assertThat(run.path("why").toString()).contains("weights stationary in law");
  }

  @Test
  void onlyTheExpectedAlertsFire() throws Exception {
    List<String> firing = new ArrayList<>();
    for (JsonNode a : prometheus.get("/api/v1/alerts").path("data").path("alerts")) {
      if (a.path("state").asText().equals("firing")) {
        firing.add(a.path("labels").path("alertname").asText() + "/" + a.path("labels").path("run").asText());
      }
    }
    // Other stalled runs keep the default stall time (15 min); the monitor is up; nothing was rejected.
    assertThat(firing).containsExactlyInAnyOrder("ErgowatchRunDiverged/" + DIVERGE_RUN,
        "ErgowatchRunStalledNonstationary/" + STALL_RUN);
  }

  /** Names in the monitor's own /metrics, plus what the rules record and what Prometheus makes. */
  private Set<String> allowedNames() throws Exception {
    Set<String> names = new TreeSet<>(PROMETHEUS_SERIES);
    Matcher m = Pattern.compile("(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]").matcher(monitor.get("/metrics", null).body());
    while (m.find()) {
      names.add(m.group(1));
    }
    for (JsonNode g : Repo.yaml(AlertRulesTest.RULES).path("groups")) {
      for (JsonNode r : g.path("rules")) {
        if (r.has("record")) {
          names.add(r.get("record").asText());
        }
      }
    }
    return names;
  }

  private Set<String> presentNames() throws Exception {
    Set<String> out = new TreeSet<>();
    prometheus.get("/api/v1/label/__name__/values").path("data").forEach(n -> out.add(n.asText()));
    return out;
  }

  /** Evaluates {@code expr}; returns a problem or null (and whether it had data in {@code hadData}). */
  private String evaluate(String where, String expr, Set<String> allowed, Set<String> present, boolean[] hadData)
      throws Exception {
    JsonNode r = prometheus.query(expr);
    if (!"success".equals(r.path("status").asText())) {
      return where + ": " + r.path("errorType").asText() + ": " + r.path("error").asText() + "\n    " + expr;
    }
    for (String name : PromQl.metricNames(expr)) {
      if (!allowed.contains(name)) {
        return where + ": selects " + name + ", which the monitor does not export\n    " + expr;
      }
      if (!present.contains(name)) {
        return where + ": selects " + name + ", which Prometheus has not scraped\n    " + expr;
      }
    }
    JsonNode result = r.path("data").path("result");
    hadData[0] |= result.isArray() ? !result.isEmpty() : !result.isMissingNode();
    return null;
  }

  @Test
  void everyDashboardQueryParsesSelectsExportedMetricsAndHasData() throws Exception {
    Set<String> allowed = allowedNames();
    Set<String> present = presentNames();
    List<String> problems = new ArrayList<>();
    int evaluated = 0;
    for (Dashboards.Query q : Dashboards.queries()) {
      boolean[] hadData = {false};
      String problem = null;
      for (Map.Entry<String, String> run : fleet.runs().entrySet()) {
        Map<String, String> vars = new LinkedHashMap<>(Map.of("job", run.getValue(), "run", run.getKey(),
            "series", "loss", "instance", instance(), "__rate_interval", "10s", "__interval", "1s", "__range", "1m"));
        problem = evaluate(q.dashboard() + " " + q.where(), PromQl.substitute(q.expr(), vars), allowed, present, hadData);
        evaluated++;
        if (problem != null || hadData[0]) {
          break;
        }
      }
      if (problem != null) {
        problems.add(problem);
      } else if (!hadData[0]) {
        problems.add(q.dashboard() + " " + q.where() + ": no data for any of the test's runs\n    " + q.expr());
      }
    }
    assertThat(evaluated).isGreaterThan(50);
    assertThat(problems).as("broken dashboard queries").isEmpty();
  }

  @Test
  void everyRuleExpressionAndAnnotationQueryParsesAndSelectsExportedMetrics() throws Exception {
    Set<String> allowed = allowedNames();
    Set<String> present = presentNames();
    List<String> problems = new ArrayList<>();
    int annotationQueries = 0;
    // The queries of the annotation templates: {{ with printf "QUERY" $labels.a $labels.b | query }}.
    Pattern annotationQuery = Pattern.compile("printf \"([^\"]+)\"(?:\\s+\\$labels\\.\\w+)*\\s*\\|\\s*query");
    for (JsonNode g : Repo.yaml(AlertRulesTest.RULES).path("groups")) {
      for (JsonNode r : g.path("rules")) {
        String name = r.has("record") ? r.get("record").asText() : r.path("alert").asText();
        boolean[] hadData = {false};
        String problem = evaluate("rule " + name, r.path("expr").asText(), allowed, present, hadData);
        if (problem != null) {
          problems.add(problem);
        } else if (r.has("record") && !hadData[0]) {
          problems.add("recording rule " + name + " has no data");
        }
        for (JsonNode a : r.path("annotations")) {
          Matcher m = annotationQuery.matcher(a.asText());
          while (m.find()) {
            annotationQueries++;
            String expr = m.group(1).replace("='%s'", "=~'.+'");
            String p = evaluate("annotation query of " + name, expr, allowed, present, new boolean[1]);
            if (p != null) {
              problems.add(p);
            }
          }
        }
      }
    }
    assertThat(annotationQueries).as("annotation queries found").isGreaterThan(20);
    assertThat(problems).as("broken rule expressions").isEmpty();
  }
}

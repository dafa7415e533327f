package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboards' structure: provisioned, datasource by variable, job and run
 * variables, units, and the panels issue 6 asks for. Their PromQL is evaluated against a real
 * Prometheus in {@link PrometheusAlertsEndToEndTest}.
 */
class GrafanaDashboardsTest {
  private static final Set<String> NO_UNIT = Set.of("row", "text", "state-timeline");

  private static Map<String, JsonNode> byUid() {
    Map<String, JsonNode> out = new TreeMap<>();
    for (Path f : Dashboards.files()) {
      JsonNode d = Repo.json(f);
      assertThat(out.put(d.path("uid").asText(), d)).as("uid of %s is unique", f).isNull();
    }
    return out;
  }

  @Test
  void theFourDashboardsExistWithARecentSchema() {
    Map<String, JsonNode> all = byUid();
    assertThat(all).containsOnlyKeys("ergowatch-run", "ergowatch-fleet", "ergowatch-sweep", "ergowatch-monitor");
    all.forEach((uid, d) -> {
      assertThat(d.path("schemaVersion").asInt()).as("%s schemaVersion", uid).isGreaterThanOrEqualTo(39);
      assertThat(d.path("title").asText()).as("%s title", uid).startsWith("ergowatch / ");
      assertThat(d.path("tags").toString()).as("%s tags", uid).contains("\"ergowatch\"");
    });
  }

  @Test
  void everyDashboardSelectsPrometheusByVariableAndHasJobAndRunVariables() {
    byUid().forEach((uid, d) -> {
      Map<String, JsonNode> vars = new TreeMap<>();
      d.path("templating").path("list").forEach(v -> vars.put(v.path("name").asText(), v));
      assertThat(vars).as("%s variables", uid).containsKeys("datasource", "job", "run");
      assertThat(vars.get("datasource").path("type").asText()).isEqualTo("datasource");
      assertThat(vars.get("datasource").path("query").asText()).isEqualTo("prometheus");
      for (String v : List.of("job", "run")) {
        assertThat(vars.get(v).path("type").asText()).as("%s $%s", uid, v).isEqualTo("query");
        assertThat(vars.get(v).path("datasource").path("uid").asText()).as("%s $%s", uid, v).isEqualTo("${datasource}");
      }
      for (JsonNode p : Dashboards.panels(d)) {
        if (p.has("targets")) {
          assertThat(p.path("datasource").path("uid").asText()).as("%s panel %s datasource", uid, p.path("title"))
              .isEqualTo("${datasource}");
          p.path("targets").forEach(t -> assertThat(t.path("datasource").path("uid").asText())
              .as("%s panel %s target datasource", uid, p.path("title")).isEqualTo("${datasource}"));
        }
      }
    });
  }

  @Test
  void everyDataPanelHasAUnitAndQueries() {
    List<String> missing = new ArrayList<>();
    byUid().forEach((uid, d) -> {
      Set<Integer> ids = new HashSet<>();
      for (JsonNode p : Dashboards.panels(d)) {
        assertThat(ids.add(p.path("id").asInt())).as("%s panel id %s unique", uid, p.path("id")).isTrue();
        String type = p.path("type").asText();
        if (NO_UNIT.contains(type)) {
          continue;
        }
        if (p.path("fieldConfig").path("defaults").path("unit").asText().isBlank()) {
          missing.add(uid + ": " + p.path("title").asText());
        }
        assertThat(p.path("targets")).as("%s panel %s targets", uid, p.path("title")).isNotEmpty();
        p.path("targets").forEach(t -> assertThat(t.path("expr").asText()).as("%s %s", uid, p.path("title")).isNotBlank());
      }
    });
    assertThat(missing).as("panels without a unit").isEmpty();
  }

  @Test
  void theDashboardsShowWhatIssue6AsksFor() {
    Map<String, JsonNode> all = byUid();
    assertThat(metrics(all.get("ergowatch-run"))).contains("ergowatch_loss", "ergowatch_series_ergodic_mean",
        "ergowatch_series_ergodic_stderr", "ergowatch_grad_norm", "ergowatch_gradient_signal",
        "ergowatch_series_window_quantile", "ergowatch_series_drift", "ergowatch_stationarity_ratio", "ergowatch_rsi",
        "ergowatch_error_bound", "ergowatch_gradient_alignment", "ergowatch_learning_rate", "ergowatch_lr_safe",
        "ergowatch_sharpness_ratio", "ergowatch:run_state:code", "ALERTS");
    assertThat(metrics(all.get("ergowatch-fleet"))).contains("ergowatch:run_state:code", "ergowatch:run_live", "ALERTS",
        "ergowatch_frames_rejected_total", "ergowatch_records_total", "ergowatch_pipeline_lag_seconds_bucket");
    assertThat(metrics(all.get("ergowatch-sweep"))).contains("ergowatch_job_asymptotic_gradient_signal",
        "ergowatch_job_critical_lr", "ergowatch_job_rhat");
    assertThat(metrics(all.get("ergowatch-monitor"))).contains("up", "ergowatch_connections", "ergowatch_runs",
        "ergowatch_frames_total", "ergowatch_records_duplicate_total", "jvm_memory_used_bytes",
        "process_cpu_seconds_total");
    // A state timeline of the run, linked to the reasons on the monitor's API.
    JsonNode timeline = Dashboards.panels(all.get("ergowatch-run")).stream()
        .filter(p -> p.path("type").asText().equals("state-timeline")).findFirst().orElseThrow();
    assertThat(timeline.path("links").toString()).contains("${monitor_url}/api/runs/${run}");
    assertThat(timeline.path("fieldConfig").path("defaults").path("mappings").toString())
        .contains("stalled_nonstationary", "diverged", "oscillating", "converged", "progressing", "unstable", "warmup");
  }

  private static Set<String> metrics(JsonNode dashboard) {
    Set<String> out = new TreeSet<>();
    for (JsonNode p : Dashboards.panels(dashboard)) {
      p.path("targets").forEach(t -> out.addAll(PromQl.metricNames(PromQl.substitute(t.path("expr").asText(),
          Map.of("job", "j", "run", "r", "series", "loss", "instance", ".*", "__rate_interval", "1m")))));
    }
    return out;
  }

  @Test
  void provisioningPointsGrafanaAtTheDashboardsAndPrometheus() {
    JsonNode ds = Repo.yaml("dashboards/grafana/provisioning/datasources/ergowatch.yml");
    JsonNode prometheus = null;
    for (JsonNode d : ds.path("datasources")) {
      if (d.path("type").asText().equals("prometheus")) {
        prometheus = d;
      }
    }
    assertThat(prometheus).as("a prometheus datasource").isNotNull();
    assertThat(prometheus.path("uid").asText()).isEqualTo("prometheus");
    assertThat(prometheus.path("url").asText()).isEqualTo("http://prometheus:9090");
    assertThat(prometheus.path("isDefault").asBoolean()).isTrue();
    JsonNode providers = Repo.yaml("dashboards/grafana/provisioning/dashboards/ergowatch.yml");
    assertThat(providers.path("apiVersion").asInt()).isEqualTo(1);
    assertThat(providers.path("providers").get(0).path("type").asText()).isEqualTo("file");
    assertThat(providers.path("providers").get(0).path("options").path("path").asText())
        .isEqualTo("/etc/grafana/dashboards/ergowatch");
  }
}

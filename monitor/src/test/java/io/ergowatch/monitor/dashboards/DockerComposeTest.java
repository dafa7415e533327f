package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docker-compose.yml cannot run here (no Docker engine), so its structure is checked: the four
 * services, their ports, healthchecks and data volumes, that every mounted file exists and is
 * mounted where the services' configurations look for it, and that the monitor's image is the
 * one Jib builds.
 */
class DockerComposeTest {
  private final JsonNode compose = Repo.yaml("docker-compose.yml");

  private JsonNode service(String name) {
    JsonNode s = compose.path("services").path(name);
    assertThat(s.isObject()).as("service %s", name).isTrue();
    return s;
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** Volume mounts of a service, source → target (short syntax, ":ro" dropped). */
  private Map<String, String> mounts(String service) {
    Map<String, String> out = new TreeMap<>();
    for (String v : strings(service(service).path("volumes"))) {
      String[] parts = v.split(":");
      assertThat(parts.length).as("volume %s of %s", v, service).isBetween(2, 3);
      out.put(parts[0], parts[1]);
    }
    return out;
  }

  @Test
  void theStackHasTheFourServicesWithTheirPorts() {
    assertThat(compose.path("services").fieldNames()).toIterable()
        .containsExactlyInAnyOrder("monitor", "prometheus", "alertmanager", "grafana");
    assertThat(strings(service("monitor").path("ports"))).containsExactlyInAnyOrder("7479:7479", "9479:9479");
    assertThat(strings(service("prometheus").path("ports"))).containsExactly("9090:9090");
    assertThat(strings(service("alertmanager").path("ports"))).containsExactly("9093:9093");
    assertThat(strings(service("grafana").path("ports"))).containsExactly("3000:3000");
    assertThat(strings(service("monitor").path("command"))).containsExactly("serve");
  }

  @Test
  void everyServiceHasAHealthcheckAndTheMonitorsProbesHealthz() {
    for (String name : List.of("monitor", "prometheus", "alertmanager", "grafana")) {
      JsonNode h = service(name).path("healthcheck");
      assertThat(strings(h.path("test"))).as("%s healthcheck", name).isNotEmpty();
      assertThat(h.path("test").get(0).asText()).as("%s healthcheck form", name).isEqualTo("CMD");
      assertThat(h.path("interval").asText()).as("%s healthcheck interval", name).isNotBlank();
      assertThat(h.path("retries").asInt()).as("%s healthcheck retries", name).isPositive();
    }
    assertThat(String.join(" ", strings(service("monitor").path("healthcheck").path("test"))))
        .contains("/dev/tcp/127.0.0.1/9479", "GET /healthz", " 200");
    assertThat(strings(service("prometheus").path("healthcheck").path("test"))).contains("http://localhost:9090/-/ready");
    assertThat(strings(service("grafana").path("healthcheck").path("test"))).contains("http://localhost:3000/api/health");
  }

  @Test
  void dataLivesInNamedVolumesWhereEachServiceWritesIt() {
    Set<String> declared = new TreeSet<>();
    compose.path("volumes").fieldNames().forEachRemaining(declared::add);
    assertThat(declared).containsExactlyInAnyOrder("ergowatch-data", "prometheus-data", "alertmanager-data", "grafana-data");
    Set<String> used = new TreeSet<>();
    for (String s : List.of("monitor", "prometheus", "alertmanager", "grafana")) {
      mounts(s).keySet().stream().filter(src -> !src.startsWith(".")).forEach(used::add);
    }
    assertThat(used).isEqualTo(declared);
    assertThat(mounts("monitor")).containsEntry("ergowatch-data",
        service("monitor").path("environment").path("ERGOWATCH_DATA_DIR").asText());
    assertThat(strings(service("prometheus").path("command")))
        .contains("--storage.tsdb.path=" + mounts("prometheus").get("prometheus-data"));
    assertThat(strings(service("alertmanager").path("command")))
        .contains("--storage.path=" + mounts("alertmanager").get("alertmanager-data"));
    assertThat(mounts("grafana")).containsEntry("grafana-data", "/var/lib/grafana");
  }

  @Test
  void mountedFilesExistAndAreWhereTheServicesLookForThem() {
    for (String s : List.of("monitor", "prometheus", "alertmanager", "grafana")) {
      mounts(s).keySet().stream().filter(src -> src.startsWith(".")).forEach(src ->
          assertThat(Files.exists(Repo.root().resolve(src))).as("%s mounts %s", s, src).isTrue());
    }
    // Prometheus: its --config.file is inside the mounted dashboards/prometheus, whose rule files exist.
    String promDir = mounts("prometheus").get("./dashboards/prometheus");
    assertThat(strings(service("prometheus").path("command"))).contains("--config.file=" + promDir + "/prometheus.yml");
    for (JsonNode rf : Repo.yaml("dashboards/prometheus/prometheus.yml").path("rule_files")) {
      assertThat(Repo.file("dashboards/prometheus").resolve(rf.asText())).exists();
    }
    // Alertmanager reads the mounted file.
    assertThat(strings(service("alertmanager").path("command")))
        .contains("--config.file=" + mounts("alertmanager").get("./dashboards/alertmanager/alertmanager.yml"));
    // Grafana: provisioning at its default place, dashboards where the provider looks.
    assertThat(mounts("grafana")).containsEntry("./dashboards/grafana/provisioning", "/etc/grafana/provisioning");
    String providerPath = Repo.yaml("dashboards/grafana/provisioning/dashboards/ergowatch.yml")
        .path("providers").get(0).path("options").path("path").asText();
    assertThat(mounts("grafana")).containsEntry("./dashboards/grafana/dashboards", providerPath);
    String home = service("grafana").path("environment").path("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH").asText();
    assertThat(home).startsWith(providerPath + "/");
    assertThat(Repo.file("dashboards/grafana/dashboards").resolve(home.substring(providerPath.length() + 1))).exists();
  }

  @Test
  void servicesFindEachOtherByTheirComposeNames() {
    JsonNode prom = Repo.yaml("dashboards/prometheus/prometheus.yml");
    assertThat(prom.path("scrape_configs").toString()).contains("monitor:9479");
    assertThat(prom.path("alerting").toString()).contains("alertmanager:9093");
    assertThat(Repo.yaml("dashboards/grafana/provisioning/datasources/ergowatch.yml").toString())
        .contains("http://prometheus:9090", "http://alertmanager:9093");
  }

  @Test
  void theMonitorImageIsTheOneJibBuildsOnlyWhenAskedTo() {
    String image = service("monitor").path("image").asText();
    assertThat(image).contains("ergowatch/monitor:latest");
    String pom = Repo.text("monitor/pom.xml");
    Matcher jib = Pattern.compile("(?s)<artifactId>jib-maven-plugin</artifactId>(.*?)</plugin>").matcher(pom);
    assertThat(jib.find()).as("jib-maven-plugin in monitor/pom.xml").isTrue();
    String config = jib.group(1);
    assertThat(config).contains("<image>ergowatch/monitor</image>", "<tag>latest</tag>", "<arg>serve</arg>",
        "<mainClass>io.ergowatch.monitor.cli.Main</mainClass>");
    assertThat(config).as("no execution: mvn verify never runs Jib").doesNotContain("<executions>");
    assertThat(Files.exists(Repo.root().resolve("Dockerfile"))).isFalse();
    assertThat(Files.exists(Repo.root().resolve("monitor/Dockerfile"))).isFalse();
  }
}

package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The alert rules' contract, checked on the files: every alert has a summary, a description
 * and a runbook section that exists in docs/operations.md, and a unit test of its own in
 * ergowatch_test.yml. (promtool runs those tests in {@link PromtoolTest}.)
 */
class AlertRulesTest {
  static final String RULES = "dashboards/prometheus/rules/ergowatch.yml";
  static final String RULE_TESTS = "dashboards/prometheus/rules/ergowatch_test.yml";
  private static final Set<String> EXPECTED = Set.of("ErgowatchRunStalledNonstationary", "ErgowatchRunDiverged",
      "ErgowatchRunOscillating", "ErgowatchRunUnstable", "ErgowatchAgentSilent", "ErgowatchMonitorDown",
      "ErgowatchIngestionRejects");

  static Map<String, JsonNode> alerts() {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    for (JsonNode g : Repo.yaml(RULES).path("groups")) {
      for (JsonNode r : g.path("rules")) {
        if (r.has("alert")) {
          out.put(r.get("alert").asText(), r);
        }
      }
    }
    return out;
  }

  /** GitHub's anchors of the headings of a Markdown file. */
  static Set<String> anchors(String markdown) {
    Set<String> out = new TreeSet<>();
    Matcher m = Pattern.compile("(?m)^#{1,6}\\s+(.+?)\\s*$").matcher(markdown);
    while (m.find()) {
      out.add(m.group(1).toLowerCase().replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-'));
    }
    return out;
  }

  @Test
  void theIssuesAlertsAreAllThere() {
    assertThat(alerts().keySet()).containsExactlyInAnyOrderElementsOf(EXPECTED);
  }

  @Test
  void everyAlertHasASummaryADescriptionASeverityAndARunbookInOperationsMd() {
    Set<String> anchors = anchors(Repo.text("docs/operations.md"));
    alerts().forEach((name, rule) -> {
      JsonNode a = rule.path("annotations");
      assertThat(a.path("summary").asText()).as("%s summary", name).isNotBlank();
      assertThat(a.path("description").asText()).as("%s description", name).isNotBlank();
      assertThat(rule.path("labels").path("severity").asText()).as("%s severity", name).isIn("warning", "critical");
      String url = a.path("runbook_url").asText();
      // The runbook's address is configured once (ergowatch:runbook_url_info), never per alert.
      assertThat(url).as("%s runbook_url", name)
          .startsWith("{{ with query \"ergowatch:runbook_url_info\" }}{{ . | first | label \"url\" }}{{ end }}#");
      String anchor = url.substring(url.lastIndexOf('#') + 1);
      assertThat(anchor).as("%s runbook anchor", name).isEqualTo(name.toLowerCase());
      assertThat(anchors).as("headings of docs/operations.md (runbook of %s)", name).contains(anchor);
      if (name.startsWith("ErgowatchRun") || name.equals("ErgowatchAgentSilent")) {
        assertThat(a.path("why_url").asText()).as("%s why_url", name).endsWith("/api/runs/{{ $labels.run }}");
        assertThat(a.path("run_page").asText()).as("%s run_page", name).endsWith("/runs/{{ $labels.run }}")
            .doesNotContain("/api/");
        // The numbers behind the alert come from the metrics at evaluation time.
        assertThat(a.path("description").asText()).as("%s description queries metrics", name).contains("| query }}");
      }
    });
  }

  @Test
  void everyRecordingRuleIsDocumented() {
    String docs = Repo.text("docs/operations.md");
    for (JsonNode g : Repo.yaml(RULES).path("groups")) {
      for (JsonNode r : g.path("rules")) {
        if (r.has("record")) {
          assertThat(docs).as("docs/operations.md documents %s", r.get("record").asText())
              .contains("`" + r.get("record").asText());
        }
      }
    }
  }

  @Test
  void everyAlertIsExercisedByARuleUnitTestThatSeesItFire() {
    Set<String> firing = new TreeSet<>();
    Set<String> tested = new TreeSet<>();
    for (JsonNode t : Repo.yaml(RULE_TESTS).path("tests")) {
      for (JsonNode a : t.path("alert_rule_test")) {
        tested.add(a.path("alertname").asText());
        if (!a.path("exp_alerts").isEmpty()) {
          firing.add(a.path("alertname").asText());
        }
      }
    }
    assertThat(tested).containsExactlyInAnyOrderElementsOf(alerts().keySet());
    assertThat(firing).containsExactlyInAnyOrderElementsOf(alerts().keySet());
  }

  @Test
  void prometheusScrapesTheMonitorKeepingItsJobLabel() {
    JsonNode config = Repo.yaml("dashboards/prometheus/prometheus.yml");
    JsonNode job = null;
    for (JsonNode j : config.path("scrape_configs")) {
      if (j.path("job_name").asText().equals("ergowatch")) {
        job = j;
      }
    }
    assertThat(job).as("scrape job \"ergowatch\" (the rules use up{job=\"ergowatch\"})").isNotNull();
    assertThat(job.path("honor_labels").asBoolean()).as("honor_labels keeps the training job's label").isTrue();
    assertThat(job.path("static_configs").get(0).path("targets").get(0).asText()).isEqualTo("monitor:9479");
    assertThat(config.path("rule_files").toString()).contains("rules/ergowatch.yml");
  }
}

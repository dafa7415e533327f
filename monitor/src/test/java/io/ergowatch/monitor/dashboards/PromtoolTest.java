package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * promtool and amtool on the shipped files: the Prometheus config and rules are valid, the rule
 * unit tests (every alert on synthetic series) pass, and Alertmanager's routing is valid and
 * sends a run's critical alert to the webhook. Needs Debian's prometheus and
 * prometheus-alertmanager: skipped locally without them, failed under CI.
 */
class PromtoolTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private static ExternalTool.Result promtool(Path dir, String... args) {
    Path promtool = ExternalTool.require("/usr/bin/promtool", "prometheus");
    List<String> cmd = new java.util.ArrayList<>(List.of(promtool.toString()));
    cmd.addAll(List.of(args));
    return ExternalTool.run(TIMEOUT, dir, cmd);
  }

  @Test
  void prometheusConfigIsValidAndLoadsTheRules() {
    ExternalTool.Result r = promtool(Repo.file("dashboards/prometheus"), "check", "config", "prometheus.yml");
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS: 1 rule files found", "rules/ergowatch.yml");
  }

  @Test
  void rulesAreValid() {
    ExternalTool.Result r = promtool(Repo.file("dashboards/prometheus/rules"), "check", "rules", "ergowatch.yml");
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).containsPattern("SUCCESS: \\d+ rules found");
  }

  @Test
  void ruleUnitTestsPass() {
    ExternalTool.Result r = promtool(Repo.file("dashboards/prometheus/rules"), "test", "rules", "ergowatch_test.yml");
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS").doesNotContain("FAILED");
  }

  @Test
  void alertmanagerConfigIsValidAndRoutesARunsAlertsToTheWebhook() {
    Path amtool = ExternalTool.require("/usr/bin/amtool", "prometheus-alertmanager");
    Path dir = Repo.file("dashboards/alertmanager");
    ExternalTool.Result check = ExternalTool.run(TIMEOUT, dir, List.of(amtool.toString(), "check-config", "alertmanager.yml"));
    assertThat(check.exitCode()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS", "1 receivers");
    for (String severity : List.of("critical", "warning")) {
      ExternalTool.Result route = ExternalTool.run(TIMEOUT, dir, List.of(amtool.toString(), "config", "routes", "test",
          "--config.file=alertmanager.yml", "--verify.receivers=webhook",
          "alertname=ErgowatchRunDiverged", "severity=" + severity, "job=sweep-7", "run=resnet-lr0.1"));
      assertThat(route.exitCode()).as(route.output()).isZero();
      assertThat(route.stdout().trim()).isEqualTo("webhook");
    }
  }
}

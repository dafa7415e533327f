package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.monitor.testing.TestMonitor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code promtool check metrics} on a live monitor's /metrics reports nothing (issue 15, item 7: it
 * reported 404 problems, gauges carrying the summaries' {@code quantile} label). Two runs of the
 * well-known series (a stall and a divergence), so every family is exposed with data points.
 * Needs Debian's prometheus: skipped locally without it, failed under CI.
 */
class ExpositionLintEndToEndTest {
  @TempDir
  Path tmp;

  @Test
  void promtoolFindsNoProblemInALiveExposition() throws Exception {
    Path promtool = ExternalTool.require("/usr/bin/promtool", "prometheus");
    try (TestMonitor m = new TestMonitor(tmp.resolve("data"));
        TrainingFleet fleet = new TrainingFleet(m.ingestPort())
            .gd("lint", "lint-a", TrainingFleet.stallingSgd(), 1000, "optimizer", "sgd")
            .gd("lint", "lint-b", TrainingFleet.divergingGd(), 1000, "optimizer", "gd")) {
      fleet.awaitProcessed(run -> m.run(run).map(r -> r.steps()).orElse(0L), Duration.ofSeconds(30));
      Path exposition = tmp.resolve("metrics.txt");
      Files.writeString(exposition, m.get("/metrics").body());
      assertThat(Files.readString(exposition)).contains("ergowatch_series_window_quantile{", "ergowatch_rsi{");
      ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(30), tmp,
          List.of("sh", "-c", promtool + " check metrics < metrics.txt"));
      assertThat(r.exitCode()).as(r.output()).isZero();
      assertThat(r.output().trim()).as("promtool's problems").isEmpty();
    }
  }
}

package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.agent.ErgowatchAgent;
import io.ergowatch.monitor.demo.GradientDescent;
import io.ergowatch.monitor.demo.Objective;
import io.ergowatch.monitor.testing.TestMonitor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code promtool check metrics} on a live monitor's /metrics reports nothing (issue 15, item 7: it
 * reported 404 problems, gauges carrying the summaries' {@code quantile} label). Two runs of every
 * well-known series, so every family is exposed with data points. Needs Debian's prometheus:
 * skipped locally without it, failed under CI.
 */
class ExpositionLintEndToEndTest {
  @TempDir
  Path tmp;

  @Test
  void promtoolFindsNoProblemInALiveExposition() throws Exception {
    Path promtool = ExternalTool.require("/usr/bin/promtool", "prometheus");
    try (TestMonitor m = new TestMonitor(tmp.resolve("data"))) {
      for (String run : List.of("lint-a", "lint-b")) {
        double[] ones = new double[10];
        Arrays.fill(ones, 1);
        GradientDescent gd = new GradientDescent(Objective.quadratic(ones), ones.clone(), 0.3, 1, 32, 8, 300, 5);
        try (ErgowatchAgent agent = ErgowatchAgent.builder().address("127.0.0.1:" + m.ingestPort()).run(run)
            .job("lint").series(GradientDescent.SERIES).label("optimizer", "sgd").build()) {
          double[] v = new double[GradientDescent.SERIES.size()];
          boolean[] p = new boolean[v.length];
          int[] ids = new int[v.length];
          double[] vals = new double[v.length];
          for (int t = 0; t < 1000; t++) {
            gd.step(v, p);
            int n = 0;
            for (int i = 0; i < v.length; i++) {
              if (p[i]) {
                ids[n] = i;
                vals[n++] = v[i];
              }
            }
            agent.record(t, ids, vals, n);
          }
          assertThat(agent.flush(Duration.ofSeconds(30))).isTrue();
        }
      }
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

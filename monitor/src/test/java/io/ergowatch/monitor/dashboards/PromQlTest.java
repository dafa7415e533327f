package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PromQlTest {
  @Test
  void findsTheSelectedMetricsAndNothingElse() {
    assertThat(PromQl.metricNames(
        "histogram_quantile(0.99, sum by (le) (rate(ergowatch_pipeline_lag_seconds_bucket{job=\"ergowatch\"}[5m])))"))
        .containsExactly("ergowatch_pipeline_lag_seconds_bucket");
    assertThat(PromQl.metricNames("max without (state) (ergowatch_run_state{state=\"diverged\"} == 1)"
        + " and on (instance, job, run) ergowatch:run_live"))
        .containsExactly("ergowatch:run_live", "ergowatch_run_state");
    assertThat(PromQl.metricNames("sum(rate(x_total[5m] offset 1h)) / ignoring(a) group_left(b) y * 1e-6 + 0x1F"))
        .containsExactly("x_total", "y");
    assertThat(PromQl.metricNames("count(ALERTS{alertstate='firing', run=\"a{b}\"}) or vector(0)"))
        .containsExactly("ALERTS");
    assertThat(PromQl.metricNames("label_replace(ergowatch_lr_ratio > 1, \"cause\", \"lr_ratio\", \"\", \"\")"))
        .containsExactly("ergowatch_lr_ratio");
    assertThat(PromQl.metricNames("time() - ergowatch_last_record_timestamp_seconds"))
        .containsExactly("ergowatch_last_record_timestamp_seconds");
    assertThat(PromQl.metricNames("max_over_time(up[1h:1m]) > bool 0.5")).containsExactly("up");
  }

  @Test
  void substitutesGrafanaVariablesAndRejectsUnknownOnes() {
    assertThat(PromQl.substitute("rate(x{job=\"$job\",run=~\"${run}\"}[$__rate_interval])",
        Map.of("job", "j", "run", "r.*", "__rate_interval", "10s")))
        .isEqualTo("rate(x{job=\"j\",run=~\"r.*\"}[10s])");
    assertThatThrownBy(() -> PromQl.substitute("x{a=\"$nope\"}", Map.of()))
        .hasMessage("unknown template variable $nope in: x{a=\"$nope\"}");
  }

  @Test
  void extractsThePromQlOfAVariableQuery() {
    assertThat(PromQl.variableQuery("label_values(ergowatch_run_info{job=\"$job\"}, run)"))
        .isEqualTo("ergowatch_run_info{job=\"$job\"}");
    assertThat(PromQl.variableQuery("query_result(topk(3, up))")).isEqualTo("topk(3, up)");
  }
}

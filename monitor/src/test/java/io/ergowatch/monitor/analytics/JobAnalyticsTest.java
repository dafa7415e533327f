package io.ergowatch.monitor.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A job's runs are a learning-rate sweep only when they differ in nothing but the lr (math.md §4). */
class JobAnalyticsTest {
  private static RunSnapshot run(String name, double lr, Map<String, String> labels, String... extraSeries) {
    RunCore core = new RunCore(name, "job", labels, AnalyticsSettings.defaults());
    int loss = core.seriesIndex("loss");
    int eta = core.seriesIndex("lr");
    StepRecord r = new StepRecord(8);
    for (String s : extraSeries) {
      core.seriesIndex(s);
    }
    for (int t = 0; t < 300; t++) {
      core.onRecord(r.reset(t, t).put(loss, 1.0).put(eta, lr), t);
    }
    return core.snapshot();
  }

  @Test
  void runsThatDifferOnlyInTheirLearningRateAreASweep() {
    Map<String, String> same = Map.of("optimizer", "sgd", "params", "1000");
    JobSnapshot j = JobAnalytics.of("job", List.of(run("a", 0.1, same), run("b", 0.2, same)));
    assertThat(j.kind()).isEqualTo("sweep");
    assertThat(j.why()).doesNotStartWith("not a sweep");
  }

  @Test
  void unrelatedRunsOfOneJobMakeNoCriticalStepClaim() {
    // The demo's job of three unrelated DL4J runs used to report "critical step below 0.001".
    JobSnapshot models = JobAnalytics.of("job", List.of(run("mlp", 0.001, Map.of("optimizer", "adam", "params", "269322")),
        run("linreg", 0.1, Map.of("optimizer", "sgd", "params", "11"))));
    assertThat(models.kind()).isEqualTo("unrelated");
    assertThat(models.criticalLr()).isNaN();
    assertThat(models.why()).isEqualTo("not a sweep: the runs differ in more than the learning rate (label optimizer: "
        + "mlp has adam, linreg has sgd), so no critical step");
    JobSnapshot series = JobAnalytics.of("job", List.of(run("a", 0.1, Map.of()), run("b", 0.2, Map.of(), "acc")));
    assertThat(series.kind()).isEqualTo("unrelated");
    assertThat(series.why()).contains("series sent: a and b differ");
  }

  @Test
  void oneLearningRateIsSeeds() {
    assertThat(JobAnalytics.of("job", List.of(run("a", 0.1, Map.of()), run("b", 0.1, Map.of()))).kind())
        .isEqualTo("seeds");
  }
}
